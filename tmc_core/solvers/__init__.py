"""Solvers behind one contract: greedy (the engine), and the batch optimisers built on the same
problem arrays, each judged by the same objective and checked by the same validator.

``check_solver`` (the public contract suite) needs hypothesis, so it is imported on first use.
"""

from typing import Any

from tmc_core.solvers.bounds import certify, lp_bound
from tmc_core.solvers.explain import explain
from tmc_core.solvers.flow import Flow
from tmc_core.solvers.greedy import Greedy
from tmc_core.solvers.objective import Objective, Terms
from tmc_core.solvers.optimal import Optimal
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution, Solver, Status
from tmc_core.solvers.validate import violations

__all__ = [
    "Flow",
    "Greedy",
    "Objective",
    "Optimal",
    "Problem",
    "Solution",
    "Solver",
    "Status",
    "Terms",
    "certify",
    "check_solver",
    "explain",
    "lp_bound",
    "violations",
]


def __getattr__(name: str) -> Any:
    if name == "check_solver":
        from tmc_core.solvers.check import check_solver

        return check_solver
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
