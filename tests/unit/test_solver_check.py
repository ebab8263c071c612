"""The public solver check suite passes for greedy and catches a solver that breaks the contract."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pytest

from tmc_core.placement.batch import Assignment
from tmc_core.solvers import Flow, Greedy, Objective, Optimal, Problem, Solution, check_solver
from tmc_core.solvers.solution import Solver


def test_greedy_passes_the_contract() -> None:
    check_solver(Greedy(), max_examples=15)


def test_batched_greedy_passes_the_contract() -> None:
    check_solver(Greedy(mode="batched", batch_size=4), max_examples=10)


@pytest.mark.parametrize(
    "solver",
    [
        Flow(),
        Flow(top_k=None),
        Flow(relaxation="lp"),
        Flow(relaxation="lp", top_k=None),
        Optimal(time_limit=5, work_limit=0.2),
    ],
    ids=["flow", "flow-unpruned", "flow-lp", "flow-lp-unpruned", "optimal"],
)
def test_our_solvers_pass_the_contract(solver: Solver) -> None:
    check_solver(solver, max_examples=12)


@dataclass(frozen=True)
class Overcommitting:
    """Puts every replica of every task on its first candidate, capacity or not."""

    objective: Objective = field(default_factory=Objective)
    name: str = "overcommitting"

    def solve(self, problem: Problem) -> Solution:
        offsets, clusters, replicas = [0], [], []
        for i in range(problem.size):
            cand, _, _ = problem.candidates(i)
            if cand.size:
                clusters.append(int(cand[0]))
                replicas.append(int(problem.replicas[i]))
            offsets.append(len(clusters))
        a = Assignment(
            cluster_names=problem.index.names,
            offsets=np.array(offsets, dtype=np.int64),
            clusters=np.array(clusters, dtype=np.int64),
            replicas=np.array(replicas, dtype=np.int64),
            schedulable=np.ones(problem.size, dtype=np.bool_),
            reasons=("",) * problem.size,
            explanations=(None,) * problem.size,
        )
        return Solution(self.name, "FEASIBLE", problem, a, self.objective.evaluate(problem, a).value)


def test_a_solver_that_overcommits_fails_the_contract() -> None:
    with pytest.raises(AssertionError):
        check_solver(Overcommitting(), max_examples=15)


@dataclass(frozen=True)
class Flaky:
    """Greedy, but claims a bound below its own objective."""

    objective: Objective = field(default_factory=Objective)
    name: str = "flaky"

    def solve(self, problem: Problem) -> Solution:
        s = Greedy(objective=self.objective).solve(problem)
        return Solution(self.name, "FEASIBLE", problem, s.assignment, s.objective, bound=s.objective - 10.0)


def test_a_bound_below_the_objective_fails_the_contract() -> None:
    with pytest.raises(AssertionError):
        check_solver(Flaky(), max_examples=5)
