"""``check_solver``: the contract every solver (ours or a third party's) must pass, as properties.

Run it in a test: ``check_solver(MySolver(time_limit=2))``. It draws small seeded batches (fleets and
workloads of every policy shape, some with anti-affinity groups) and checks, for each:

- the assignment satisfies every constraint, by the independent validator (not the solver's model);
- the reported objective is the shared ``Objective``'s value of the assignment, and a reported bound
  is not below it;
- a solver that claims OPTIMAL, or declares ``improves_on_greedy``, is never worse than greedy;
- an INFEASIBLE answer places nothing and says why;
- the same problem and settings give the same answer, and the problem is not modified.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmc_core.solvers.greedy import Greedy
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution, Solver
from tmc_core.solvers.validate import violations

__all__ = ["check_solver", "problems"]

_EPS = 1e-6


@st.composite
def problems(draw: st.DrawFn, max_clusters: int = 12, max_workloads: int = 24) -> Problem:
    """Small batches from the seeded generators: every shape, tight or loose capacity, and
    sometimes anti-affinity groups."""
    from tmc_core.simulate import synthetic_fleet, synthetic_workloads
    from tmc_core.simulate.generate import SHAPES, Shape

    n_clusters = draw(st.integers(2, max_clusters))
    n_workloads = draw(st.integers(1, max_workloads))
    seed = draw(st.integers(0, 2**16))
    shape: Shape = draw(st.sampled_from(SHAPES))
    load = draw(st.sampled_from([0.3, 0.8, 1.2]))
    fleet = synthetic_fleet(n_clusters, seed=seed)
    tasks = synthetic_workloads(n_workloads, seed=seed + 1, fleet=fleet, shape=shape, load=load)
    groups: list[list[int]] = []
    if n_workloads >= 2 and draw(st.booleans()):
        members = draw(st.lists(st.integers(0, n_workloads - 1), min_size=2, max_size=4, unique=True))
        groups.append(members)
    return Problem.build(fleet, tasks, anti_affinity=groups)


def _fingerprint(problem: Problem) -> str:
    digest = hashlib.sha256()
    for arr in (
        problem.requests,
        problem.replicas,
        problem.cand_ptr,
        problem.cand_idx,
        problem.score,
        problem.current,
        problem.capacity,
    ):
        digest.update(np.ascontiguousarray(arr).tobytes())
    return digest.hexdigest()


def _same(a: Solution, b: Solution) -> bool:
    x, y = a.assignment, b.assignment
    return (
        a.status == b.status
        and a.objective == b.objective
        and np.array_equal(x.offsets, y.offsets)
        and np.array_equal(x.clusters, y.clusters)
        and np.array_equal(x.replicas, y.replicas)
        and np.array_equal(x.schedulable, y.schedulable)
    )


def check_solver(solver: Solver, *, max_examples: int = 20, seed: int | None = 0) -> None:
    """Raise ``AssertionError`` (with a reproducible falsifying batch) if ``solver`` breaks the
    contract. Deterministic for a given ``seed`` (``None`` = random examples)."""
    improves = bool(getattr(solver, "improves_on_greedy", False))

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=seed is not None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(problems())
    def contract(problem: Problem) -> None:
        before = _fingerprint(problem)
        first = solver.solve(problem)
        assert _fingerprint(problem) == before, "solve() modified the problem"
        assert first.problem is problem, "the solution must refer to the problem it solved"
        assert first.status in ("OPTIMAL", "FEASIBLE", "INFEASIBLE", "UNKNOWN"), first.status
        assert len(first.assignment) == problem.size
        broken = violations(problem, first.assignment)
        assert not broken, f"{solver.name}: {broken[:5]}"
        value = solver.objective.evaluate(problem, first.assignment).value
        assert abs(value - first.objective) <= _EPS * max(1.0, abs(value)), (value, first.objective)
        if first.bound is not None:
            assert first.bound >= first.objective - _EPS * max(1.0, abs(first.bound)), (
                first.bound,
                first.objective,
            )
        if first.status == "INFEASIBLE":
            assert first.reasons, "an infeasible answer must say which constraints conflict"
            assert int(first.assignment.replicas.sum()) == 0
        if first.status == "OPTIMAL" or improves:
            greedy = Greedy(objective=solver.objective).solve(problem)
            assert first.objective >= greedy.objective - _EPS * max(1.0, abs(greedy.objective)), (
                f"{solver.name} ({first.status}) {first.objective} < greedy {greedy.objective}"
            )
        again = solver.solve(problem)
        assert _same(first, again), f"{solver.name}: same input, different answer"

    run: Any = contract
    run()
