"""What a solver returns: the assignment, how good it is, and how sure the solver is of that."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from tmc_core.model.decision import Decision
from tmc_core.placement.batch import Assignment
from tmc_core.solvers.objective import Objective
from tmc_core.solvers.problem import Problem

__all__ = ["Solution", "Solver", "Status"]

Status = Literal["OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"]


@dataclass(frozen=True, slots=True, eq=False)
class Solution:
    """A frozen result: assignment (problem's task order), status, objective, best bound and gap.

    ``bound`` is an upper bound on the objective of any feasible assignment (``None`` when the solver
    proves none); ``gap`` = (bound - objective) / max(1, |bound|). ``reasons`` says why a batch is
    infeasible or what was relaxed.
    """

    solver: str
    status: Status
    problem: Problem
    assignment: Assignment
    objective: float
    bound: float | None = None
    seconds: float = 0.0
    reasons: tuple[str, ...] = ()

    @property
    def gap(self) -> float | None:
        """Relative distance to the bound (0 = proven optimal)."""
        if self.bound is None:
            return None
        return max(0.0, (self.bound - self.objective) / max(1.0, abs(self.bound)))

    def decisions(self) -> tuple[Decision, ...]:
        """One Decision per task, in the problem's (placement) order."""
        return self.assignment.decisions(self.problem.tasks)


class Solver(Protocol):
    """The solver contract (scikit-learn's shape): settings in the constructor, data in ``solve``.

    ``solve`` must not change the problem; the same problem and settings (incl. ``seed``) give the
    same solution.
    """

    name: str
    objective: Objective

    def solve(self, problem: Problem) -> Solution:
        """Place the problem's tasks."""
        ...
