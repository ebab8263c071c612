"""The solver foundation: problems compile the policy faithfully, the validator catches what it
should, the objective counts what it says, and greedy keeps anti-affinity."""

from __future__ import annotations

import numpy as np

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement import PlacementTask, assign_batch
from tmc_core.placement.batch import Assignment
from tmc_core.solvers import Greedy, Objective, Problem, violations


def _cluster(name: str, cpu: str = "4", **labels: str) -> Cluster:
    return Cluster.model_validate(
        {"name": name, "labels": labels, "allocatable": {"cpu": cpu, "pods": "100"}}
    )


def _task(
    name: str, replicas: int, cpu: str, policy: dict[str, object], current: dict[str, int] | None = None
) -> PlacementTask:
    w = Workload(name=name, namespace="ns", replicas=replicas, requests={"cpu": cpu})
    return PlacementTask(w, PlacementPolicy.model_validate(policy), current=current or {})


DIVIDED = {"replicaScheduling": {"weightPreference": {"dynamicWeight": "AvailableReplicas"}}}
SINGLE = {
    "placementType": "PickN",
    "numberOfClusters": 1,
    "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
}


def test_candidates_follow_the_policy_and_fallback_groups_rank_lower() -> None:
    fleet = [_cluster("a", env="prod"), _cluster("b", env="dev"), _cluster("c", env="prod")]
    policy = {
        "clusterAffinities": [
            {"affinityName": "prod", "labelSelector": {"matchLabels": {"env": "prod"}}},
            {"affinityName": "any"},
        ]
    }
    p = Problem.build(fleet, [_task("w", 1, "1", policy)])
    cand, score, _ = p.candidates(0)
    assert [p.index.names[c] for c in cand] == ["a", "b", "c"]
    assert score[1] < min(score[0], score[2])  # b only through the fallback group


def test_capacity_counts_what_the_batch_already_runs() -> None:
    fleet = [
        Cluster.model_validate(
            {"name": "a", "allocatable": {"cpu": "4", "pods": "100"}, "allocated": {"cpu": "3"}}
        )
    ]
    p = Problem.build(fleet, [_task("w", 3, "1", DIVIDED, current={"a": 3})])
    cpu = p.index.resource_position("cpu")
    assert p.capacity[0, cpu] == 4000  # 1000m free + the 3 x 1000m the task runs there


def test_validator_reports_overcommit_wrong_sums_and_forbidden_clusters() -> None:
    fleet = [_cluster("a", "2", env="prod"), _cluster("b", "8", env="dev")]
    only_prod = {**DIVIDED, "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}}}
    p = Problem.build(fleet, [_task("w", 4, "1", only_prod)])
    a, b = p.index.position["a"], p.index.position["b"]

    def one(clusters: list[int], replicas: list[int], schedulable: bool = True) -> Assignment:
        return Assignment(
            cluster_names=p.index.names,
            offsets=np.array([0, len(clusters)]),
            clusters=np.array(clusters, dtype=np.int64),
            replicas=np.array(replicas, dtype=np.int64),
            schedulable=np.array([schedulable]),
            reasons=("",),
            explanations=(None,),
        )

    assert any("cpu used 4000 > capacity 2000" in v for v in violations(p, one([a], [4])))
    assert any("3 replicas placed, 4 wanted" in v for v in violations(p, one([a], [3])))
    assert any("b is not allowed" in v for v in violations(p, one([a, b], [2, 2])))
    assert violations(p, one([a], [2])) != []  # a schedulable task short of replicas
    assert violations(p, one([a], [2], schedulable=False)) == []  # partial, unschedulable: allowed
    assert any("at most 4 wanted" in v for v in violations(p, one([a], [5], schedulable=False)))


def test_greedy_solution_is_valid_and_its_objective_adds_up() -> None:
    fleet = [_cluster(f"c{i}", "4") for i in range(4)]
    tasks = [_task(f"w{i}", 2, "1", DIVIDED) for i in range(5)]
    p = Problem.build(fleet, tasks)
    s = Greedy().solve(p)
    assert violations(p, s.assignment) == []
    terms = Objective().evaluate(p, s.assignment)
    assert terms.placed == int(s.assignment.replicas.sum()) == 10
    assert s.objective == terms.value
    assert s.decisions()[0].workload.name == p.tasks[0].workload.name


def test_greedy_drops_a_later_anti_affinity_member_that_shares_a_cluster() -> None:
    fleet = [_cluster("big", "64"), _cluster("small", "1")]
    tasks = [_task("w0", 1, "1", SINGLE), _task("w1", 1, "1", SINGLE)]
    plain = assign_batch(fleet, tasks)
    assert plain.replicas_of(0) == plain.replicas_of(1) == {"big": 1}
    p = Problem.build(fleet, tasks, anti_affinity=[[0, 1]])
    s = Greedy().solve(p)
    assert violations(p, s.assignment) == []
    assert not s.assignment.schedulable[1] and "anti-affinity" in s.assignment.reasons[1]


def test_pruning_keeps_the_best_candidates_and_current_clusters() -> None:
    fleet = [_cluster(f"c{i}", str(2 + i)) for i in range(6)]
    spread = {**DIVIDED, "prioritizers": [{"name": "LeastAllocated"}]}
    p = Problem.build(fleet, [_task("w", 2, "1", spread, current={"c0": 2})])
    pruned = p.prune(2)
    cand, _, current = pruned.candidates(0)
    full_cand, full_score, _ = p.candidates(0)
    best_two = set(full_cand[np.argsort(-full_score, kind="stable")[:2]].tolist())
    assert set(cand.tolist()) == best_two | {p.index.position["c0"]}
    assert int(current.sum()) == 2


def test_top_k_while_building_equals_pruning_after_building() -> None:
    from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads

    fleet = synthetic_fleet(40, seed=3)
    tasks = [
        PlacementTask(t.workload, t.policy, current={fleet.clusters[i % 40].name: 1} if i % 3 == 0 else {})
        for i, t in enumerate(synthetic_workloads(60, seed=4, fleet=fleet, shape="mixed"))
    ]
    full = Problem.build(fleet, tasks)
    for k in (1, 3, 10):
        pruned, built = full.prune(k), Problem.build(fleet, tasks, top_k=k)
        assert built.cand_idx.size < full.cand_idx.size
        for field in ("cand_ptr", "cand_idx", "score", "current", "moved_anyway", "capacity"):
            assert np.array_equal(getattr(built, field), getattr(pruned, field)), (k, field)


def test_greedy_stays_inside_a_pruned_problems_candidates() -> None:
    from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads

    fleet = synthetic_fleet(30, seed=7)
    tasks = synthetic_workloads(80, seed=8, fleet=fleet, shape="divided")
    full = Greedy().solve(Problem.build(fleet, tasks))
    assert not any("outside this problem" in r for r in full.assignment.reasons)  # unpruned: none
    pruned = Problem.build(fleet, tasks, top_k=3)
    s = Greedy().solve(pruned)
    assert violations(pruned, s.assignment) == []
    left_pool = [i for i, r in enumerate(s.assignment.reasons) if "outside this problem's candidates" in r]
    assert left_pool  # the engine's answer leaves the pools for some tasks on this batch
    for i in range(pruned.size):
        if i not in left_pool:  # every other task keeps exactly the engine's answer
            assert s.assignment.replicas_of(i) == full.assignment.replicas_of(i)
            assert s.assignment.schedulable[i] == full.assignment.schedulable[i]


def test_tasks_share_a_computed_view_only_when_nothing_else_differs() -> None:
    """Build computes one view per (policy, kind, request) of fresh tasks; every task's entries must
    still equal its own view, computed alone (tasks that run somewhere now get their own)."""
    from tmc_core.placement.index import replicas_vector
    from tmc_core.placement.pipeline import term_view
    from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads

    fleet = synthetic_fleet(30, seed=11)
    drawn = synthetic_workloads(150, seed=12, fleet=fleet, shape="mixed", policies=4)
    tasks = [
        PlacementTask(t.workload, t.policy, current={fleet.clusters[i % 30].name: 1} if i % 7 == 0 else {})
        for i, t in enumerate(drawn)
    ]
    p = Problem.build(fleet, tasks)
    index = p.index
    requests = {(id(t.policy), t.workload.requests) for t in p.tasks}
    assert len(requests) < len(p.tasks)  # the batch does share views
    placed = np.zeros(index.size, dtype=np.int64)
    for i, task in enumerate(p.tasks):
        previous = replicas_vector(index.position, index.size, task.current)
        view = term_view(
            index,
            task.workload,
            task.policy,
            free=p.capacity,
            request=p.requests[i],
            previous=previous,
            placed=placed,
        )
        span = float(view.score.max(initial=0.0)) + 1.0
        cand, score, current = p.candidates(i)
        assert np.array_equal(cand, view.eligible), task.workload.name
        assert np.array_equal(score, view.score - span * view.level), task.workload.name
        assert np.array_equal(current, previous[view.eligible]), task.workload.name


def test_a_twin_that_cannot_be_one_is_refused() -> None:
    import dataclasses

    import pytest

    from tmc_core.errors import InvalidInput

    fleet = [_cluster(f"c{i}", "4") for i in range(3)]
    policy = PlacementPolicy.model_validate(DIVIDED)  # one policy object: its view is shared
    tasks = [
        PlacementTask(Workload(name=name, namespace="ns", replicas=1, requests={"cpu": cpu}), policy)
        for name, cpu in (("a", "1"), ("b", "1"), ("c", "2"))
    ]
    p = Problem.build(fleet, tasks)
    assert p.twin is not None and p.twin.tolist() == [0, 0, 2]  # a and b share everything, c asks more
    for bad in ([0, 0, 0], [1, 1, 2], [0, 2, 2], [0, 0]):
        with pytest.raises(InvalidInput, match="twin"):
            dataclasses.replace(p, twin=np.asarray(bad, dtype=np.int64))
