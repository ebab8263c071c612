"""Many workloads against shared capacity through ``place_batch``, and the bundled example.

Reference semantics (tmc_core/placement/batch.py, DESIGN.md "Interface contract"): workloads are
placed one after another in order of priority (high first), then namespace, then name; each sees the
capacity the earlier ones consumed or released; decisions come back in input order, and the same
batch in any input order gives the same decisions.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from typing import Any

import pytest

from tmc_core.model import Decision, ResourceList, Workload
from tmc_core.placement.batch import PlacementTask, place, place_batch

from .test_placement_helpers import AGGREGATED, DYNAMIC, STATIC_EQUAL, cluster, policy, static, workload


def _task(w: Workload, strategy: dict[str, Any] = DYNAMIC, **kw: Any) -> PlacementTask:
    return PlacementTask(w, policy(replicaScheduling=strategy), **kw)


def _by_key(decisions: tuple[Decision, ...]) -> dict[str, tuple[dict[str, int], bool]]:
    return {d.workload.key: (d.replicas, d.schedulable) for d in decisions}


def test_higher_priority_goes_first_whatever_the_name() -> None:
    # Room for 3; both want 2. "zeta" (priority 10) is placed before "alpha" (priority 0).
    fleet = [cluster("c", cpu=3)]
    alpha = _task(workload(2, name="alpha"))
    zeta = _task(workload(2, name="zeta", priority=10))
    low, high = place_batch(fleet, [alpha, zeta])
    assert high.replicas == {"c": 2}
    assert not low.schedulable
    assert low.reason.startswith("Clusters available replicas 1 are not enough to schedule")


def test_equal_priority_goes_by_namespace_then_name() -> None:
    fleet = [cluster("c", cpu=2)]
    tasks = [
        _task(workload(2, name="a", namespace="zzz")),
        _task(workload(2, name="z", namespace="aaa")),
        _task(workload(2, name="b", namespace="aaa")),
    ]
    decisions = place_batch(fleet, tasks)
    assert [d.schedulable for d in decisions] == [False, False, True]  # aaa/b first
    assert decisions[2].replicas == {"c": 2}


def test_decisions_come_back_in_input_order() -> None:
    fleet = [cluster("c")]
    tasks = [_task(workload(1, name=n)) for n in ("c", "a", "b")]
    assert [d.workload.name for d in place_batch(fleet, tasks)] == ["c", "a", "b"]


def test_later_workloads_see_the_capacity_earlier_ones_consumed() -> None:
    # m1 and m2 have room 3 each. first (3, Aggregated): equal room, m1 by name -> m1 3.
    # second (3): m1 is full now (filtered) -> m2 3. third (1): nothing left anywhere.
    fleet = [cluster("m1", cpu=3), cluster("m2", cpu=3)]
    names = (("first", 3), ("second", 3), ("third", 1))  # alphabetical = placement order
    first, second, third = place_batch(fleet, [_task(workload(r, name=n), AGGREGATED) for n, r in names])
    assert first.replicas == {"m1": 3}
    assert second.replicas == {"m2": 3}
    assert third.replicas == {}
    assert third.reason == "0/2 clusters fit: 2 insufficient cpu"


def test_replicas_moved_away_free_room_for_later_workloads() -> None:
    # "a" runs 3 on m1 (counted in m1's allocated) but its policy now excludes m1: it moves to m2,
    # and "b", placed after it, finds m1's 3 CPUs free again.
    fleet = [cluster("m1", cpu=3, used=3), cluster("m2", cpu=3)]
    moving = PlacementTask(
        workload(3, name="a"),
        policy(clusterAffinity={"exclude": ["m1"]}, replicaScheduling=DYNAMIC),
        current={"m1": 3},
    )
    a, b = place_batch(fleet, [moving, _task(workload(3, name="b"))])
    assert a.replicas == {"m2": 3}
    assert b.replicas == {"m1": 3}


def test_a_batch_never_overcommits_a_cluster() -> None:
    fleet = [cluster("m1", cpu=7), cluster("m2", cpu=5), cluster("m3", cpu=4)]
    tasks = [
        _task(workload(5, name="dyn"), DYNAMIC),
        _task(workload(4, name="agg"), AGGREGATED),
        _task(workload(3, name="sta"), STATIC_EQUAL),
        _task(workload(3, name="wei"), static(({"clusterNames": ["m1"]}, 1), ({"clusterNames": ["m2"]}, 2))),
    ]
    # In order: agg m1 4 (most room) | dyn 5 over free 3:5:4 -> 1/2/2 | sta 3 over 1:1:1 -> 1/1/1 |
    # wei 3 over m1 1 : m2 2 with room 1 and 2 -> 1/2. m1 7/7, m2 5/5, m3 3/4.
    used: dict[str, int] = defaultdict(int)
    for d in place_batch(fleet, tasks):
        for name, n in d.replicas.items():
            used[name] += n
    assert used["m1"] <= 7 and used["m2"] <= 5 and used["m3"] <= 4
    assert sum(used.values()) == 15  # everything fits: 16 CPUs for 15 replicas


def test_the_same_batch_in_any_order_gives_the_same_decisions() -> None:
    fleet = [cluster("m1", cpu=6), cluster("m2", cpu=4), cluster("m3", cpu=3)]
    tasks = [
        _task(workload(4, name="a")),
        _task(workload(3, name="b", priority=5), AGGREGATED),
        _task(workload(4, name="c", uid="uid-1"), STATIC_EQUAL),
        _task(workload(2, name="d", namespace="other")),
    ]
    expected = _by_key(place_batch(fleet, tasks))
    assert sum(1 for replicas, ok in expected.values() if ok) >= 3
    for order in itertools.permutations(tasks):
        assert _by_key(place_batch(fleet, list(order))) == expected


def test_workloads_in_different_workspaces_are_ordered_independently_of_input() -> None:
    fleet = [cluster("c", cpu=1)]
    east = _task(workload(1, workspace="root:east"))
    west = _task(workload(1, workspace="root:west"))
    forward = place_batch(fleet, [east, west])
    backward = place_batch(fleet, [west, east])
    assert [d.schedulable for d in forward] == [backward[1].schedulable, backward[0].schedulable]


# --------------------------------------------------------------------------------------------------
# re-placement and the explain flag


def test_editing_static_weights_redivides_with_unchanged_replicas() -> None:
    fleet = [cluster("m1"), cluster("m2")]
    edited = policy(replicaScheduling=static(({"clusterNames": ["m1"]}, 3), ({"clusterNames": ["m2"]}, 1)))
    kept = place(fleet, workload(4), edited, current={"m1": 2, "m2": 2})
    assert kept.replicas == {"m1": 2, "m2": 2}  # nothing says the policy changed: steady
    d = place(fleet, workload(4), edited, current={"m1": 2, "m2": 2}, policy_changed=True)
    # Karmada re-schedules when the placement changed, and static division is memoryless:
    # 4 over 3:1: m1 3; m2 1 (ties m1's 3/3, fewer seats); m1 3/3 > 1/3; m1 3/5 > 1/3 -> 3/1.
    assert d.replicas == {"m1": 3, "m2": 1}


def test_the_reason_does_not_depend_on_the_explain_flag() -> None:
    fleet = [cluster("m1", cpu=1), cluster("m2", cpu=2)]
    p = policy(replicaScheduling=STATIC_EQUAL)
    plain = place(fleet, workload(4), p)
    explained = place(fleet, workload(4), p, explain=True)
    assert plain.to_record() == explained.to_record()


# --------------------------------------------------------------------------------------------------
# the bundled example


def test_the_bundled_example_places_without_exceptions() -> None:
    examples = pytest.importorskip("tmc_core.examples")
    inventory = examples.example_inventory()
    tasks = []
    for placement in inventory.placements:
        current = {d.workload.key: d.replicas for d in placement.decisions}
        for w in inventory.selected(placement):
            tasks.append(PlacementTask(w, placement.placement, placement.key, current.get(w.key, {})))
    assert tasks
    decisions = place_batch(inventory.fleet, tasks, explain=True)
    assert len(decisions) == len(tasks)
    free = {c.name: c.free for c in inventory.fleet}
    added: dict[str, ResourceList] = defaultdict(ResourceList.empty)
    pods: dict[str, int] = defaultdict(int)
    for task, d in zip(tasks, decisions, strict=True):
        assert d.workload == task.workload.ref
        assert d.placement == task.placement
        assert d.explanation is not None
        assert bool(d.reason) == (not d.schedulable), (d.workload.key, d.reason)
        if d.schedulable and task.policy.replica_strategy != "Duplicated":
            assert d.total_replicas == task.workload.replicas, d.workload.key
        if d.schedulable and task.policy.replica_strategy == "Duplicated":
            assert set(d.replicas.values()) <= {task.workload.replicas}
        for name in set(d.replicas) | set(task.current):
            assert name in free
            delta = d.replicas.get(name, 0) - task.current.get(name, 0)
            added[name] = added[name] + task.workload.requests.scale(delta)
            pods[name] += delta
    assert any(d.schedulable for d in decisions)
    # What the batch adds never exceeds a cluster's free capacity (allocatable - allocated).
    for name, extra in added.items():
        for resource, amount in extra.items():
            if resource in free[name]:
                assert amount <= free[name][resource], (name, resource)
        if "pods" in free[name]:
            assert pods[name] <= free[name]["pods"].value(), name


def test_an_edited_placement_is_redivided_when_its_recorded_fingerprint_differs() -> None:
    """status.observedPlacement records the policy the decisions were made under (Karmada's
    applied-placement annotation); editing spec.placement makes the next run re-divide."""
    import yaml

    from tmc_core.manifests import placements_yaml, read_inventory
    from tmc_core.placement import place_inventory

    clusters = """
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: m1}
status: {allocatable: {cpu: "8", pods: "100"}}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: m2}
status: {allocatable: {cpu: "8", pods: "100"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 4, template: {spec: {containers: [{name: c, resources: {requests: {cpu: 100m}}}]}}}
"""

    def placement(w1: int, w2: int) -> str:
        return f"""
---
apiVersion: tmc.kcp.io/v1alpha1
kind: WorkloadPlacement
metadata: {{name: web, namespace: shop}}
spec:
  resourceSelectors: [{{apiVersion: apps/v1, kind: Deployment, name: web}}]
  placement:
    replicaScheduling:
      weightPreference:
        staticWeightList:
          - {{targetCluster: {{clusterNames: [m1]}}, weight: {w1}}}
          - {{targetCluster: {{clusterNames: [m2]}}, weight: {w2}}}
"""

    first = read_inventory([("a.yaml", clusters + placement(1, 1))])
    decided = place_inventory(first)
    assert decided[0].replicas == {"m1": 2, "m2": 2}
    written = placements_yaml(first.placements, decided)
    # Same policy, recorded fingerprint matches: the decision is kept as is.
    again = read_inventory([("a.yaml", clusters), ("b.yaml", written)])
    assert place_inventory(again)[0].replicas == {"m1": 2, "m2": 2}
    # Weights edited, status left as written: re-divided 3:1.
    doc = yaml.safe_load(written)
    doc["spec"]["placement"]["replicaScheduling"]["weightPreference"]["staticWeightList"][0]["weight"] = 3
    edited = yaml.safe_dump(doc)
    redivided = place_inventory(read_inventory([("a.yaml", clusters), ("b.yaml", edited)]))
    assert redivided[0].replicas == {"m1": 3, "m2": 1}


@pytest.mark.parametrize("enabled", [True, False])
def test_building_decisions_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    """Decisions are built with the cycle collector paused (it re-walks the caller's heap on every
    batch of new objects); it must come back exactly as it was, also when it was off."""
    import gc

    fleet = [cluster("a"), cluster("b")]
    tasks = [_task(workload(2, name=f"w{i}")) for i in range(3)]
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        decisions = place_batch(fleet, tasks)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()
    assert [d.total_replicas for d in decisions] == [2, 2, 2]


def test_request_lists_are_shared_by_value_whether_or_not_they_are_the_same_object() -> None:
    """The survey keeps one request list per value: read from manifests every workload has its own
    object, built in code many share one; equal values must meet either way."""
    from tmc_core.placement.batch import _survey

    shared = ResourceList({"cpu": "500m", "memory": "1Gi"})
    lists = [shared, ResourceList({"cpu": "0.5", "memory": "1024Mi"}), shared, ResourceList({"cpu": "1"})]
    lists += [ResourceList({"memory": "1Gi", "cpu": "500m"}), ResourceList({"cpu": "1000m"})]
    pol = policy(
        placementType="PickN", numberOfClusters=1, replicaScheduling={"replicaSchedulingType": "Duplicated"}
    )
    tasks = [PlacementTask(Workload(name=f"w{k}", requests=rl), pol) for k, rl in enumerate(lists)]
    rows = _survey(tasks, runs_single=True).rows
    assert [dict(r) for r in rows.requests] == [dict(shared), {"cpu": lists[3]["cpu"]}]
    assert rows.which.tolist() == [0, 0, 0, 1, 0, 1]


@pytest.mark.parametrize("compiled", [True, False])
def test_the_survey_takes_exactly_the_tasks_batchable_takes(
    compiled: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``_survey`` writes ``batchable``'s rule out for speed (0.3-0.4 ms per 10k tasks); the two
    must agree on every kind of task: single-cluster or not, running somewhere, zero replicas."""
    from tmc_core.placement import kernels
    from tmc_core.placement.batch import _survey
    from tmc_core.placement.single import batchable

    monkeypatch.setattr(kernels, "AVAILABLE", kernels.AVAILABLE and compiled)
    single = policy(
        placementType="PickN", numberOfClusters=1, replicaScheduling={"replicaSchedulingType": "Duplicated"}
    )
    spread = policy(replicaScheduling=DYNAMIC)
    tasks = [
        PlacementTask(workload(replicas, name=f"w{k}"), pol, current=current or {})
        for k, (pol, replicas, current) in enumerate(
            itertools.product([single, spread], [0, 2], [None, {"a": 0}, {"a": 2}])
        )
    ]
    eligible = _survey(tasks, runs_single=True).eligible
    assert eligible.tolist() == [batchable(t) for t in tasks]
    assert any(eligible) and not all(eligible)
