"""Invariants of placement over random worlds: capacity, sums, constraints, determinism, steadiness."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmc_core.model import Cluster, Decision
from tmc_core.placement.batch import PlacementTask, place_batch
from tmc_core.placement.index import FleetIndex, resource_vector
from tmc_core.placement.reference import place_reference

from .placement_worlds import worlds

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _by_cluster(d: Decision) -> dict[str, int]:
    return {c.name: c.replicas for c in d.clusters}


@SETTINGS
@given(worlds())
def test_vectorised_engine_equals_the_per_cluster_oracle(
    world: tuple[list[Cluster], list[PlacementTask]],
) -> None:
    fleet, tasks = world
    fast = place_batch(fleet, tasks)
    slow = place_reference(fleet, tasks)
    for f, s in zip(fast, slow, strict=True):
        assert (_by_cluster(f), f.schedulable) == (_by_cluster(s), s.schedulable), f.workload.name


@SETTINGS
@given(worlds())
def test_capacity_is_never_exceeded(world: tuple[list[Cluster], list[PlacementTask]]) -> None:
    fleet, tasks = world
    decisions = place_batch(fleet, tasks)
    asked = {r for t in tasks for r in t.workload.requests}
    index = FleetIndex.from_fleet(fleet, extra_resources=asked)
    used = index.free * 0
    for task, d in zip(tasks, decisions, strict=True):
        req = resource_vector(task.workload.requests, index.resources)
        for name, n in _by_cluster(d).items():
            used[index.position[name]] += n * req
    assert (used <= index.free).all()


@SETTINGS
@given(worlds())
def test_replica_sums_are_exact_when_schedulable(world: tuple[list[Cluster], list[PlacementTask]]) -> None:
    fleet, tasks = world
    for task, d in zip(tasks, place_batch(fleet, tasks), strict=True):
        if not d.schedulable:
            assert d.reason, "an unschedulable decision must say why"
            continue
        if task.policy.replica_strategy == "Duplicated":
            assert all(c.replicas == task.workload.replicas for c in d.clusters)
        else:
            assert d.total_replicas == task.workload.replicas
            assert all(c.replicas > 0 for c in d.clusters)


@SETTINGS
@given(worlds())
def test_chosen_clusters_pass_affinity_taints_readiness_and_api(
    world: tuple[list[Cluster], list[PlacementTask]],
) -> None:
    fleet, tasks = world
    by_name = {c.name: c for c in fleet}
    for task, d in zip(tasks, place_batch(fleet, tasks), strict=True):
        policy = task.policy
        tolerations = policy.cluster_tolerations
        for target in d.clusters:
            c = by_name[target.name]
            assert c.serves("apps/v1", "Deployment")
            if policy.placement_type == "PickFixed":
                # Fleet's PickFixed skips the policy's rules: the name, the kind and room count.
                assert c.name in policy.cluster_names
                continue
            assert any(term.matches(c) for term in policy.affinity_terms())
            for taint in c.taints:
                if taint.effect in ("NoSchedule", "NoExecute"):
                    assert any(t.tolerates(taint) for t in tolerations), (c.name, str(taint))
            assert c.ready or any(t.key == "tmc.kcp.io/not-ready" for t in tolerations)
            assert c.serves("apps/v1", "Deployment")
            if policy.placement_type == "PickFixed":
                assert c.name in policy.cluster_names
        if policy.placement_type == "PickN":
            assert len(d.clusters) <= (policy.number_of_clusters or 0)


@SETTINGS
@given(worlds())
def test_spread_constraints_are_honoured(world: tuple[list[Cluster], list[PlacementTask]]) -> None:
    fleet, tasks = world
    by_name = {c.name: c for c in fleet}
    for task, d in zip(tasks, place_batch(fleet, tasks, explain=True), strict=True):
        policy = task.policy
        if (
            not d.schedulable
            or not policy.spread_constraints
            or policy.replica_strategy == "StaticWeight"
            or policy.placement_type == "PickFixed"
        ):
            continue
        assert d.explanation is not None
        selected = d.explanation.selected
        for sc in policy.spread_constraints:
            if sc.key == "cluster":
                groups = set(selected)
            elif sc.spread_by_label:
                groups = {by_name[n].labels[sc.spread_by_label] for n in selected}
            else:
                groups = {by_name[n].fields[sc.spread_by_field or ""] for n in selected}
            assert "" not in groups
            if sc.key == "cluster" or policy.placement_type != "PickN":
                assert len(groups) >= min(sc.effective_min, len(selected) or sc.effective_min)
            if sc.max_groups:
                assert len(groups) <= sc.max_groups


@SETTINGS
@given(worlds(), st.randoms(use_true_random=False))
def test_same_input_same_output_in_any_task_order(
    world: tuple[list[Cluster], list[PlacementTask]], rnd: random.Random
) -> None:
    fleet, tasks = world
    first = place_batch(fleet, tasks)
    assert place_batch(fleet, tasks) == first
    shuffled = list(range(len(tasks)))
    rnd.shuffle(shuffled)
    again = place_batch(fleet, [tasks[k] for k in shuffled])
    for pos, k in enumerate(shuffled):
        assert again[pos] == first[k]


@SETTINGS
@given(worlds())
def test_replacing_an_unchanged_world_moves_nothing(world: tuple[list[Cluster], list[PlacementTask]]) -> None:
    fleet, tasks = world
    decisions = place_batch(fleet, tasks)
    asked = {r for t in tasks for r in t.workload.requests}
    index = FleetIndex.from_fleet(fleet, extra_resources=asked)
    # The world after applying the decisions: each cluster's allocated grows by what it now runs.
    extra = {c.name: {} for c in fleet}  # type: dict[str, dict[str, int]]
    for task, d in zip(tasks, decisions, strict=True):
        req = resource_vector(task.workload.requests, index.resources)
        for name, n in _by_cluster(d).items():
            for r, res in enumerate(index.resources):
                extra[name][res] = extra[name].get(res, 0) + n * int(req[r])
    after = []
    for c in fleet:
        allocated = dict(c.allocated)
        for res, units in extra[c.name].items():
            if res == "pods" and "pods" not in c.allocatable:
                continue
            base = (
                (allocated[res].milli_value() if res == "cpu" else allocated[res].value())
                if res in allocated
                else 0
            )
            allocated[res] = f"{base + units}m" if res == "cpu" else str(base + units)
        after.append(c.model_copy(update={"allocated": type(c.allocated)(allocated)}))
    again_tasks = [
        PlacementTask(t.workload, t.policy, t.placement, current=_by_cluster(d))
        for t, d in zip(tasks, decisions, strict=True)
    ]
    again = place_batch(after, again_tasks)
    for before, now in zip(decisions, again, strict=True):
        # A workload running zero replicas has no assignment to keep (nothing runs anywhere).
        if before.schedulable and before.total_replicas > 0:
            assert _by_cluster(now) == _by_cluster(before), before.workload.name
            assert now.schedulable
