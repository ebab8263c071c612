"""The flow solver: exact on slot models (checked against brute force), always valid, never worse
than greedy where it is exact, honest about its bound, deterministic."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping, Sequence

import numpy as np
import pytest

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement import PlacementTask
from tmc_core.placement.batch import Assignment
from tmc_core.simulate import synthetic_fleet, synthetic_workloads
from tmc_core.solvers import Flow, Greedy, Objective, Problem, violations
from tmc_core.solvers.flow import flow_tasks, top_k_entries

DIVIDED = {"replicaScheduling": {"weightPreference": {"dynamicWeight": "AvailableReplicas"}}}
BY_COST = {**DIVIDED, "prioritizers": [{"name": "ClusterProperty", "property": "cost", "prefer": "Lower"}]}
BY_LATENCY = {
    **DIVIDED,
    "prioritizers": [{"name": "ClusterProperty", "property": "latencyMs", "prefer": "Lower"}],
}


def _cluster(name: str, cpu: int, cost: float, latency: float, memory: str = "64Gi") -> Cluster:
    return Cluster.model_validate(
        {
            "name": name,
            "properties": {"cost": str(cost), "latencyMs": str(latency)},
            "allocatable": {"cpu": str(cpu), "memory": memory, "pods": "100"},
        }
    )


def _task(
    name: str,
    replicas: int,
    policy: Mapping[str, object],
    cpu: str = "1",
    memory: str = "1Gi",
    current: dict[str, int] | None = None,
) -> PlacementTask:
    w = Workload(name=name, namespace="ns", replicas=replicas, requests={"cpu": cpu, "memory": memory})
    return PlacementTask(w, PlacementPolicy.model_validate(policy), current=current or {})


def _slot_instance(seed: int, *, scarce: bool = False, churn: bool = False) -> Problem:
    """3 clusters, 3 tasks of 1 cpu per replica (a slot model: memory and pods never bind)."""
    rng = np.random.default_rng(seed)
    fleet = [
        _cluster(f"c{k}", int(rng.integers(1, 5)), float(rng.uniform(0.1, 1.0)), float(rng.uniform(5, 100)))
        for k in range(3)
    ]
    total = sum(int(c.allocatable["cpu"].milli_value()) // 1000 for c in fleet)
    tasks = []
    for t in range(3):
        reps = int(rng.integers(1, 4))
        policy = BY_COST if rng.random() < 0.5 else BY_LATENCY
        current = {}
        if churn and rng.random() < 0.7:
            current = {f"c{int(rng.integers(0, 3))}": reps}
        tasks.append(_task(f"w{t}", reps, policy, current=current))
    need = sum(t.workload.replicas for t in tasks)
    if not scarce and need > total:  # ample total capacity: only the good clusters are contended
        fleet.append(_cluster("spare", need, 5.0, 500.0))
    return Problem.build(fleet, tasks)


def _options(problem: Problem, i: int) -> Iterator[dict[int, int]]:
    """Every all-or-nothing placement of task ``i`` over its candidates (cluster -> replicas)."""
    cand = problem.candidates(i)[0].tolist()
    reps = int(problem.replicas[i])
    yield {}
    for split in itertools.product(range(reps + 1), repeat=len(cand)):
        if sum(split) == reps:
            yield {c: n for c, n in zip(cand, split, strict=True) if n > 0}


def _assignment(problem: Problem, plan: Sequence[dict[int, int]]) -> Assignment:
    offsets, clusters, replicas = [0], [], []
    for part in plan:
        order = sorted(part, key=lambda c: int(problem.index.name_rank[c]))
        clusters += order
        replicas += [part[c] for c in order]
        offsets.append(len(clusters))
    return Assignment(
        cluster_names=problem.index.names,
        offsets=np.array(offsets, dtype=np.int64),
        clusters=np.array(clusters, dtype=np.int64),
        replicas=np.array(replicas, dtype=np.int64),
        schedulable=np.array([bool(p) or r == 0 for p, r in zip(plan, problem.replicas, strict=True)]),
        reasons=("",) * len(plan),
        explanations=(None,) * len(plan),
    )


def brute_force(problem: Problem, objective: Objective | None = None) -> float:
    """The best objective over every valid all-or-nothing assignment."""
    objective = objective or Objective()
    best = -np.inf
    choices = [list(_options(problem, i)) for i in range(problem.size)]
    for plan in itertools.product(*choices):
        a = _assignment(problem, plan)
        if not violations(problem, a):
            best = max(best, objective.evaluate(problem, a).value)
    return float(best)


@pytest.mark.parametrize("churn", [False, True])
def test_flow_is_exact_on_slot_models(churn: bool) -> None:
    optimal = 0
    for seed in range(8):
        p = _slot_instance(seed, churn=churn)
        s = Flow(top_k=None).solve(p)
        best = brute_force(p)
        assert violations(p, s.assignment) == []
        assert s.bound is not None and s.bound >= best - 1e-6
        assert s.objective <= best + 1e-6
        if s.status == "OPTIMAL":
            optimal += 1
            assert s.objective == pytest.approx(best, rel=1e-9, abs=1e-6)
    assert optimal >= 6  # ample capacity: the flow's own optimum is all or nothing almost always


def test_flow_is_valid_and_bounded_when_capacity_is_scarce() -> None:
    for seed in range(8):
        p = _slot_instance(100 + seed, scarce=True)
        s = Flow(top_k=None).solve(p)
        best = brute_force(p)
        assert violations(p, s.assignment) == []
        assert s.objective <= best + 1e-6
        assert s.bound is not None and s.bound >= best - 1e-6
        for i in np.flatnonzero(~s.assignment.schedulable).tolist():
            assert s.assignment.replicas_of(i) == {}  # all or nothing
            assert "all or nothing" in s.assignment.reasons[i]


def test_flow_is_not_worse_than_greedy_on_slot_models() -> None:
    rng = np.random.default_rng(7)
    for seed in range(5):
        fleet = [
            _cluster(
                f"c{k:02d}", int(rng.integers(2, 30)), float(rng.uniform(0.1, 1)), float(rng.uniform(5, 99))
            )
            for k in range(12)
        ]
        tasks = [
            _task(f"w{t:02d}", int(rng.integers(1, 12)), BY_COST if t % 2 else BY_LATENCY, cpu="500m")
            for t in range(25)
        ]
        p = Problem.build(fleet, tasks)
        g = Greedy().solve(p)
        s = Flow(top_k=None).solve(p)
        assert violations(p, s.assignment) == [], seed
        assert s.objective >= g.objective - 1e-6, seed
        assert s.bound is not None and s.bound >= s.objective


def test_multi_resource_instances_are_repaired_to_valid_assignments() -> None:
    # cpu per replica differs (no slot model) and memory binds on some clusters.
    rng = np.random.default_rng(3)
    for seed in range(6):
        fleet = [
            _cluster(
                f"c{k}",
                int(rng.integers(2, 12)),
                float(rng.uniform(0.1, 1)),
                10.0,
                f"{rng.integers(2, 16)}Gi",
            )
            for k in range(6)
        ]
        tasks = [
            _task(
                f"w{t}",
                int(rng.integers(1, 6)),
                BY_COST,
                cpu=str(rng.choice(["250m", "500m", "1", "2"])),
                memory=str(rng.choice(["512Mi", "1Gi", "3Gi"])),
            )
            for t in range(10)
        ]
        p = Problem.build(fleet, tasks)
        s = Flow(top_k=None).solve(p)
        assert violations(p, s.assignment) == [], seed
        assert s.bound is not None and s.bound >= s.objective
        assert s.objective == pytest.approx(Objective().evaluate(p, s.assignment).value)


def test_synthetic_mixed_batches_are_valid_and_others_go_to_the_engine() -> None:
    fleet = synthetic_fleet(40, seed=11)
    for seed in range(3):
        tasks = synthetic_workloads(120, seed=seed, fleet=fleet, shape="mixed", load=0.9)
        p = Problem.build(fleet, tasks, anti_affinity=[[0, 1, 2], [3, 4]])
        s = Flow().solve(p)
        assert violations(p, s.assignment) == [], seed
        mask = flow_tasks(p)
        assert not mask.all() and mask.any()
        assert s.bound is None  # engine-placed tasks and pruning: the flow bounds nothing
        assert any("greedy engine" in r for r in s.reasons)
        assert s.status == "FEASIBLE"


def test_pruning_matches_problem_prune_and_removes_the_bound() -> None:
    fleet = synthetic_fleet(60, seed=5)
    tasks = synthetic_workloads(80, seed=6, fleet=fleet, shape="divided")
    p = Problem.build(fleet, tasks)
    keep = top_k_entries(p, 5)
    pruned = p.prune(5)
    for i in range(p.size):
        lo, hi = int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])
        assert p.cand_idx[lo:hi][keep[lo:hi]].tolist() == pruned.candidates(i)[0].tolist()
    s = Flow(top_k=5).solve(p)
    assert violations(p, s.assignment) == []
    assert s.bound is None and any("top_k=5" in r for r in s.reasons)
    on_pruned = Flow(top_k=None).solve(pruned)  # the same network; its bound holds for ``pruned``
    assert on_pruned.bound is not None and on_pruned.bound >= on_pruned.objective
    network = [r.split(", dominant")[0] for r in s.reasons if r.startswith("flow:")]
    assert network == [r.split(", dominant")[0] for r in on_pruned.reasons if r.startswith("flow:")]
    # the repair pass may use every candidate of the full problem, so pruning first never helps
    assert s.objective >= on_pruned.objective - 1e-6


def test_flow_is_deterministic() -> None:
    fleet = synthetic_fleet(30, seed=2)
    tasks = synthetic_workloads(100, seed=3, fleet=fleet, shape="mixed")
    p = Problem.build(fleet, tasks)
    a, b = Flow().solve(p), Flow().solve(p)
    assert a.objective == b.objective and a.status == b.status and a.bound == b.bound
    for name in ("offsets", "clusters", "replicas", "schedulable"):
        assert np.array_equal(getattr(a.assignment, name), getattr(b.assignment, name))


def test_declared_slot_model_and_bad_settings() -> None:
    p = _slot_instance(1)
    s = Flow(top_k=None, resource="pods").solve(p)
    assert violations(p, s.assignment) == []
    assert any("dominant resource pods" in r and "slot model" in r for r in s.reasons)
    with pytest.raises(ValueError, match="unknown resource"):
        Flow(resource="gpu").solve(p)
    with pytest.raises(ValueError, match="at least 1"):
        Flow(top_k=0).solve(p)
    with pytest.raises(ValueError, match="expected flow or lp"):
        Flow(relaxation="simplex").solve(p)  # type: ignore[arg-type]


def test_the_lp_relaxation_places_the_multi_resource_batch_better_and_validly() -> None:
    """On the mixed 500 x 50 batch the cpu-only flow overfills memory and its repair loses value;
    the LP over every resource, rounded down and repaired, keeps much closer to the bound."""
    from tmc_core.solvers.bounds import lp_bound

    fleet = synthetic_fleet(50, seed=2)
    p = Problem.build(fleet, synthetic_workloads(500, seed=3, fleet=fleet, shape="mixed", load=0.8))
    by_flow, by_lp = Flow().solve(p), Flow(relaxation="lp").solve(p)
    assert violations(p, by_lp.assignment) == []
    assert any(r.startswith("LP relaxation over") for r in by_lp.reasons)
    assert any("placed where the LP relaxation of the whole batch puts them" in r for r in by_lp.reasons)
    bound = lp_bound(p)
    assert by_flow.objective < by_lp.objective <= bound
    assert (bound - by_lp.objective) / bound < 0.5 * (bound - by_flow.objective) / bound


def test_compiled_and_numpy_kernels_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    from tmc_core.solvers import flow

    fleet = synthetic_fleet(50, seed=8)
    tasks = synthetic_workloads(300, seed=9, fleet=fleet, shape="mixed", load=1.1)
    p = Problem.build(fleet, tasks)
    first = Flow(top_k=4).solve(p)
    assert any("repair" in r for r in first.reasons)  # the completion kernel did run
    monkeypatch.setattr(flow, "_select", flow._select_numpy)
    monkeypatch.setattr(flow, "_complete", flow._complete_numpy)
    monkeypatch.setattr(flow, "_add_at", np.add.at)
    second = Flow(top_k=4).solve(p)
    assert first.objective == second.objective
    for name in ("offsets", "clusters", "replicas", "schedulable"):
        assert np.array_equal(getattr(first.assignment, name), getattr(second.assignment, name))
    kept = top_k_entries(p, 3)
    assert kept.sum() == p.prune(3).cand_idx.size


def test_the_repair_pass_looks_beyond_the_best_candidates_when_it_must(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tmc_core.solvers import flow

    fleet = [_cluster(f"c{k:03d}", 1, 0.1 + k / 100, 10.0) for k in range(100)]
    p = Problem.build(fleet, [_task("big", 80, BY_COST), _task("small", 30, BY_COST)])
    first = Flow(top_k=4).solve(p)
    assert violations(p, first.assignment) == []
    assert first.assignment.schedulable.tolist() == [True, False]  # 80 + 30 > 100: all or nothing
    assert len(first.assignment.replicas_of(0)) == 80
    monkeypatch.setattr(flow, "_complete", flow._complete_numpy)
    monkeypatch.setattr(flow, "_add_at", np.add.at)
    second = Flow(top_k=4).solve(p)
    assert np.array_equal(first.assignment.clusters, second.assignment.clusters)
    assert first.objective == second.objective


def test_pruning_keeps_current_clusters_in_both_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    import dataclasses

    from tmc_core.solvers import flow

    fleet = synthetic_fleet(40, seed=4)
    fresh = Problem.build(fleet, synthetic_workloads(60, seed=4, fleet=fleet, shape="divided"))
    decisions = Greedy().solve(fresh).decisions()
    tasks = [
        dataclasses.replace(t, current={c.name: c.replicas for c in d.clusters})
        for t, d in zip(fresh.tasks, decisions, strict=True)
    ]
    p = Problem.build(fleet, tasks)
    assert int(p.current.sum()) > 0

    def same_as_prune() -> None:
        keep = top_k_entries(p, 2)
        pruned = p.prune(2)
        for i in range(p.size):
            lo, hi = int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])
            assert p.cand_idx[lo:hi][keep[lo:hi]].tolist() == pruned.candidates(i)[0].tolist()

    same_as_prune()
    compiled = Flow(top_k=2).solve(p)
    monkeypatch.setattr(flow, "_select", flow._select_numpy)
    monkeypatch.setattr(flow, "_complete", flow._complete_numpy)
    same_as_prune()
    numpy = Flow(top_k=2).solve(p)
    assert violations(p, numpy.assignment) == []
    assert compiled.objective == numpy.objective
    assert np.array_equal(compiled.assignment.replicas, numpy.assignment.replicas)
    terms = Objective().evaluate(p, compiled.assignment)
    assert terms.moved > 0 and compiled.objective == pytest.approx(terms.value, rel=1e-12)


def _memory_trap() -> Problem:
    """The flow counts cpu; "t" may only run on "a", whose memory "s" fills unless it moves to "b"."""
    fleet = [_cluster("a", 8, 0.1, 10.0, memory="8Gi"), _cluster("b", 8, 0.9, 10.0, memory="64Gi")]
    only_a = {**BY_COST, "clusterAffinity": {"clusterNames": ["a"]}}
    return Problem.build(
        fleet,
        [_task("s", 4, BY_COST, cpu="1", memory="2Gi"), _task("t", 1, only_a, cpu="1", memory="4Gi")],
    )


def test_the_move_pass_places_a_task_by_moving_others_out_of_its_way(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tmc_core.solvers import flow

    p = _memory_trap()
    moved = Flow(top_k=None).solve(p)
    assert violations(p, moved.assignment) == []
    assert moved.assignment.schedulable.tolist() == [True, True]
    assert moved.objective == pytest.approx(brute_force(p))
    monkeypatch.setattr(flow, "_move", flow._move_kernel)  # the uncompiled kernel: the same answer
    plain = Flow(top_k=None).solve(p)
    assert np.array_equal(plain.assignment.clusters, moved.assignment.clusters)
    assert np.array_equal(plain.assignment.replicas, moved.assignment.replicas)
    monkeypatch.setattr(flow, "_MOVE_PASSES", 0)
    stuck = Flow(top_k=None).solve(p)
    assert stuck.assignment.schedulable.tolist() == [True, False]
    assert stuck.objective < moved.objective


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_more_repair_orders_and_moves_never_lower_the_objective(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tmc_core.solvers import flow

    fleet = synthetic_fleet(30, seed=seed)
    p = Problem.build(fleet, synthetic_workloads(400, seed=seed, fleet=fleet, shape="divided"), top_k=8)
    full = Flow(top_k=3).solve(p)
    monkeypatch.setattr(flow, "_ATTEMPTS", 1)
    monkeypatch.setattr(flow, "_MOVE_PASSES", 0)
    single = Flow(top_k=3).solve(p)
    assert violations(p, full.assignment) == []
    assert full.objective >= single.objective - 1e-9 * abs(single.objective)


def test_flow_on_a_pruned_mixed_problem_stays_inside_the_candidates() -> None:
    """Flow hands Duplicated/PickN/spread workloads to the engine, which places over the whole fleet;
    on a top_k problem those placements must still stay inside each workload's pool."""
    fleet = synthetic_fleet(20, seed=1)
    p = Problem.build(fleet, synthetic_workloads(60, seed=2, fleet=fleet, shape="mixed"), top_k=2)
    s = Flow().solve(p)
    assert violations(p, s.assignment) == []
    assert any("outside this problem's candidates" in r for r in s.assignment.reasons)


def test_flow_nodes_group_exactly_the_interchangeable_tasks() -> None:
    """``_classes`` against a plain dictionary grouping on random tasks, many of them copies."""
    from tmc_core.solvers.flow import _classes

    rng = np.random.default_rng(5)
    for _ in range(20):
        n = int(rng.integers(1, 40))
        kinds = [
            (rng.integers(0, 3, size=2), np.sort(rng.choice(8, size=int(rng.integers(0, 4)), replace=False)))
            for _ in range(4)
        ]
        chosen = rng.integers(0, 4, size=n)
        requests = np.array([kinds[k][0] for k in chosen], dtype=np.int64)
        parts = [kinds[k][1] for k in chosen]
        t_ptr = np.concatenate([[0], np.cumsum([len(x) for x in parts])]).astype(np.int64)
        clusters = np.concatenate(parts).astype(np.int64) if t_ptr[-1] else np.zeros(0, dtype=np.int64)
        value = clusters * 0.5 + 1.0
        value[rng.random(value.size) < 0.05] += 0.25  # a few tasks differ in one value only
        cur = (rng.random(clusters.size) < 0.05).astype(np.int64)
        reps = rng.integers(0, 4, size=n)
        cls, rep_entry = _classes(requests, clusters, value, t_ptr, cur, reps)
        expected: dict[object, int] = {}
        for t in range(n):
            lo, hi = t_ptr[t], t_ptr[t + 1]
            if reps[t] <= 0 or cur[lo:hi].any():
                key: object = ("alone", t)
            else:
                key = (requests[t].tobytes(), clusters[lo:hi].tobytes(), value[lo:hi].tobytes())
            expected.setdefault(key, len(expected))
            assert cls[t] == expected[key]  # same grouping, numbered by first appearance
        assert np.array_equal(clusters[rep_entry], clusters)
        assert np.array_equal(value[rep_entry], value)


def test_merged_copies_are_placed_whole_and_the_bound_holds() -> None:
    """Six copies of one workload (merged into one node) over room for four of them: the flow's
    split gives whole workloads, never a part, and brute force agrees on the optimum."""
    fleet = [_cluster("a", 4, 0.2, 10.0), _cluster("b", 4, 0.5, 20.0)]
    tasks = [_task(f"w{k}", 2, BY_COST) for k in range(6)]
    p = Problem.build(fleet, tasks)
    s = Flow(top_k=None).solve(p)
    assert violations(p, s.assignment) == []
    best = brute_force(p)
    assert s.bound is not None and s.bound >= best - 1e-6
    assert s.objective == pytest.approx(best, rel=1e-9)
    assert int(s.assignment.schedulable.sum()) == 4
    assert s.status == "OPTIMAL"


def test_twins_are_equal_tasks_and_only_save_work() -> None:
    """Build's twins share request and entries; the flow gives the same answer with or without them."""
    import dataclasses

    fleet = synthetic_fleet(40, seed=21)
    drawn = synthetic_workloads(300, seed=22, fleet=fleet, shape="divided", policies=5)
    tasks = [
        PlacementTask(t.workload, t.policy, current={fleet.clusters[i % 40].name: 1} if i % 9 == 0 else {})
        for i, t in enumerate(drawn)
    ]
    p = Problem.build(fleet, tasks)
    assert p.twin is not None and int((p.twin != np.arange(p.size)).sum()) > 50  # many share
    for i, j in enumerate(p.twin.tolist()):
        assert np.array_equal(p.requests[i], p.requests[j])
        for a, b in zip(p.candidates(i), p.candidates(j), strict=True):
            assert np.array_equal(a, b)
    # Anti-affinity sends some tasks to the engine: a twin set whose first task is one of them must
    # pick its own first task among the rest.
    firsts = sorted({int(j) for j in p.twin.tolist() if (p.twin == j).sum() > 2})[:4]
    positions = {task.workload.name: k for k, task in enumerate(tasks)}
    group = [positions[p.tasks[j].workload.name] for j in firsts]
    q = Problem.build(fleet, tasks, anti_affinity=[group])
    assert q.anti_affinity and set(q.anti_affinity[0]) == set(firsts)
    for problem in (p, p.prune(6), q):
        alone = dataclasses.replace(problem, twin=None)
        for top_k in (None, 3):
            a, b = Flow(top_k=top_k).solve(problem), Flow(top_k=top_k).solve(alone)
            assert a.objective == b.objective and a.bound == b.bound and a.status == b.status
            for field in ("offsets", "clusters", "replicas", "schedulable"):
                assert np.array_equal(getattr(a.assignment, field), getattr(b.assignment, field))


def test_a_pickn_workload_the_engine_left_out_is_placed_on_clusters_with_room() -> None:
    """Karmada's selection picks the two best clusters (cheap, but room for 2 each) and then finds no
    room for 8 replicas; the batch solver may choose the roomy expensive cluster instead."""
    pick_two = {
        "placementType": "PickN",
        "numberOfClusters": 2,
        "replicaScheduling": {"weightPreference": {"dynamicWeight": "AvailableReplicas"}},
        "prioritizers": [{"name": "ClusterProperty", "property": "cost", "prefer": "Lower"}],
    }
    fleet = [_cluster("a", 2, 0.1, 10.0), _cluster("b", 2, 0.2, 10.0), _cluster("c", 10, 0.9, 10.0)]
    p = Problem.build(fleet, [_task("w", 8, pick_two), _task("v", 1, DIVIDED)])
    greedy = Greedy().solve(p)
    w = [t.workload.name for t in p.tasks].index("w")
    assert not greedy.assignment.schedulable[w]  # the engine's own answer leaves it out
    s = Flow(top_k=None).solve(p)
    assert violations(p, s.assignment) == []
    got = s.assignment.replicas_of(w)
    assert sum(got.values()) == 8 and len(got) <= 2 and "c" in got
    assert s.objective > greedy.objective
    assert any(r.startswith("picked: 1") for r in s.reasons)
    assert s.bound is None  # the pick pass is outside the flow model: no flow bound
