"""Solvers by name, for the CLI and the controller: greedy, optimal (CP-SAT) and flow."""

from __future__ import annotations

from importlib import import_module

from tmc_core.errors import InvalidInput
from tmc_core.manifests.inventory import Inventory
from tmc_core.placement.inventory import inventory_tasks
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution, Solver

__all__ = ["SOLVER_NAMES", "make_solver", "solve_inventory"]

_WHERE = {
    "greedy": ("tmc_core.solvers.greedy", "Greedy"),
    "optimal": ("tmc_core.solvers.optimal", "Optimal"),
    "flow": ("tmc_core.solvers.flow", "Flow"),
}
SOLVER_NAMES = tuple(_WHERE)


def make_solver(name: str, *, time_limit: float | None = None) -> Solver:
    """A solver by name with its default settings (and ``time_limit`` where it has one)."""
    where = _WHERE.get(name)
    if where is None:
        raise InvalidInput(
            f"unknown solver {name!r}: expected one of {', '.join(SOLVER_NAMES)}", path="solver"
        )
    try:
        cls = getattr(import_module(where[0]), where[1])
    except (ImportError, AttributeError):
        raise InvalidInput(f"solver {name!r} is not available in this build", path="solver") from None
    if time_limit is not None and "time_limit" in getattr(cls, "__dataclass_fields__", {}):
        solver: Solver = cls(time_limit=time_limit)
    else:
        solver = cls()
    return solver


def solve_inventory(inventory: Inventory, solver: Solver) -> Solution:
    """Every workload the inventory's placements select, placed together by ``solver``."""
    return solver.solve(Problem.build(inventory.fleet, inventory_tasks(inventory)))
