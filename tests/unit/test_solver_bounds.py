"""The LP bound is an upper bound on every feasible answer (brute force, greedy, flow, CP-SAT), and
``certify`` turns it into a certified gap."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from tmc_core.simulate import synthetic_fleet, synthetic_workloads
from tmc_core.simulate.generate import Shape
from tmc_core.solvers import Flow, Greedy, Objective, Problem, certify, lp_bound

from .test_solver_flow import _slot_instance, brute_force


def _mixed(seed: int, n: int = 40, clusters: int = 12, load: float = 0.9) -> Problem:
    fleet = synthetic_fleet(clusters, seed=seed)
    tasks = synthetic_workloads(n, seed=seed + 1, fleet=fleet, shape="mixed", load=load)
    groups = [[0, 1, 2]] if n >= 3 else []
    return Problem.build(fleet, tasks, anti_affinity=groups)


def _with_current(p: Problem) -> Problem:
    """Re-placement: the tasks run where greedy put them, on a fleet whose capacity shrank."""
    decisions = Greedy().solve(p).decisions()
    tasks = [
        dataclasses.replace(t, current={c.name: c.replicas for c in d.clusters})
        for t, d in zip(p.tasks, decisions, strict=True)
    ]
    return Problem.build(p.index, tasks)


def test_lp_bound_is_above_brute_force_optima() -> None:
    for seed in range(6):
        for scarce, churn in ((False, False), (True, False), (False, True)):
            p = _slot_instance(seed, scarce=scarce, churn=churn)
            assert lp_bound(p) >= brute_force(p) - 1e-6, (seed, scarce, churn)


def test_lp_bound_is_above_greedy_and_flow_on_random_problems() -> None:
    for seed in range(6):
        p = _mixed(seed, load=(0.5, 0.9, 1.3)[seed % 3])
        if seed % 2:
            p = _with_current(p)
        bound = lp_bound(p)
        for solver in (Greedy(), Flow(), Flow(top_k=None)):
            assert bound >= solver.solve(p).objective - 1e-6, (seed, solver.name)


def test_lp_bound_holds_for_other_objectives() -> None:
    p = _with_current(_mixed(3, load=1.2))
    for objective in (Objective(churn=0.0), Objective(churn=50.0), Objective(placed=1.0, cost=2.0)):
        bound = lp_bound(p, objective)
        assert bound >= Greedy(objective=objective).solve(p).objective - 1e-6
        assert bound >= Flow(objective=objective).solve(p).objective - 1e-6


def test_lp_bound_is_above_the_cp_sat_optimum() -> None:
    optimal = pytest.importorskip("tmc_core.solvers.optimal")
    solver_cls = getattr(optimal, "Optimal", None)
    if solver_cls is None:
        pytest.skip("no Optimal solver in this build")
    for seed in range(3):
        p = _mixed(seed, n=12, clusters=5, load=1.2)
        s = solver_cls(time_limit=2.0).solve(p)
        assert lp_bound(p) >= s.objective - 1e-6, (seed, s.status)


def test_certify_gives_greedy_a_certified_gap() -> None:
    p = _mixed(1)
    g = Greedy().solve(p)
    assert g.bound is None
    c = certify(g)
    assert c.bound is not None and c.bound >= c.objective
    assert c.gap is not None and c.gap >= 0
    assert c.assignment is g.assignment and c.objective == g.objective
    assert any("LP relaxation" in r for r in c.reasons)


def test_certify_keeps_the_tighter_bound_and_proves_optimality() -> None:
    p = _slot_instance(2)
    f = Flow(top_k=None).solve(p)
    assert f.status == "OPTIMAL" and f.bound is not None
    c = certify(f)
    assert c.bound is not None and f.objective <= c.bound <= f.bound  # the smaller of the two
    assert c.bound == pytest.approx(f.objective, rel=1e-8)
    loose = dataclasses.replace(f, status="FEASIBLE", bound=None)
    assert certify(loose).status == "OPTIMAL"  # the LP is tight on a slot model with room


def test_certify_rejects_a_solution_scored_by_another_objective() -> None:
    p = _mixed(2)
    g = Greedy(objective=Objective(placed=1e6)).solve(p)
    with pytest.raises(ValueError, match="above the LP bound"):
        certify(g)


def test_lp_bound_is_deterministic_and_time_limits_keep_it_valid() -> None:
    p = _mixed(4, n=60, clusters=15)
    a, b = lp_bound(p), lp_bound(p)
    assert a == b
    quick = lp_bound(p, time_limit=1e-6)  # HiGHS stops at once: the per-task bound remains
    assert quick >= a - 1e-6
    assert np.isfinite(quick)
    with pytest.raises(ValueError, match="positive"):
        lp_bound(p, time_limit=0)


def test_a_pruned_lp_still_bounds_the_full_problem_and_converges_to_it() -> None:
    cases: tuple[tuple[int, Shape], ...] = ((1, "mixed"), (2, "divided"), (3, "single"))
    for seed, shape in cases:
        fleet = synthetic_fleet(15, seed=seed)
        tasks = synthetic_workloads(50, seed=seed, fleet=fleet, shape=shape, load=1.1)
        p = Problem.build(fleet, tasks)
        full = lp_bound(p)
        one = lp_bound(p, top_k=2, rounds=1)  # duals of the pruned LP, priced over every candidate
        assert one >= full - 1e-6 * abs(full)
        assert one >= Flow().solve(p).objective
        converged = lp_bound(p, top_k=2, rounds=12)  # column generation: back to the full LP
        assert converged == pytest.approx(full, rel=1e-7)
    with pytest.raises(ValueError, match="at least 1"):
        lp_bound(p, top_k=0)
