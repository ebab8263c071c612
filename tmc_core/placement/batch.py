"""Place many workloads against shared capacity: the entry points the CLI, controller and simulator call.

Reference semantics are sequential: workloads go in order of priority (high first), then
namespace/name, and each decision sees the capacity the previous ones consumed. Nothing here keeps
state between calls: the capacity snapshot is copied from the index at the start of every call.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.decision import Decision, TargetCluster
from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.workload import Workload
from tmc_core.placement.batched import batchable, place_group
from tmc_core.placement.index import FleetIndex, resource_vector
from tmc_core.placement.pipeline import Outcome, PolicyCache, place_workload
from tmc_core.placement.registry import DEFAULT_REGISTRY, Registry
from tmc_core.placement.task import PlacementTask

__all__ = ["PlacementTask", "place", "place_batch", "placement_order"]

IntArray = NDArray[np.int64]


def placement_order(tasks: Sequence[PlacementTask]) -> list[int]:
    """Positions of ``tasks`` in placement order: priority desc, then namespace, name, kind,
    apiVersion and workspace, so the order never depends on how the tasks were listed."""
    return sorted(
        range(len(tasks)),
        key=lambda k: (
            -tasks[k].workload.priority,
            tasks[k].workload.namespace,
            tasks[k].workload.name,
            tasks[k].workload.kind,
            tasks[k].workload.api_version,
            tasks[k].workload.workspace,
        ),
    )


def _index_for(fleet: FleetIndex | Fleet | Sequence[Cluster], tasks: Sequence[PlacementTask]) -> FleetIndex:
    asked = {r for t in tasks for r in t.workload.requests}
    if isinstance(fleet, FleetIndex):
        if asked <= set(fleet.resources):
            return fleet
        fleet = fleet.fleet
    return FleetIndex.from_fleet(fleet, extra_resources=asked)


def _decision(index: FleetIndex, task: PlacementTask, outcome: Outcome) -> Decision:
    duplicated = task.policy.replica_strategy == "Duplicated"
    targets = sorted(
        (
            TargetCluster.model_construct(name=index.names[c], replicas=int(r))
            for c, r in zip(outcome.clusters.tolist(), outcome.replicas.tolist(), strict=True)
            if duplicated or r > 0
        ),
        key=lambda t: t.name,
    )
    return Decision.model_construct(
        workload=task.workload.ref,
        placement=task.placement,
        clusters=tuple(targets),
        schedulable=outcome.schedulable,
        reason=outcome.reason,
        explanation=outcome.explanation,
    )


def _previous(index: FleetIndex, task: PlacementTask) -> IntArray:
    previous = np.zeros(index.size, dtype=np.int64)
    for name, n in task.current.items():
        pos = index.position.get(name)
        if pos is not None and n > 0:
            previous[pos] = n
    return previous


def place_batch(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    tasks: Sequence[PlacementTask],
    *,
    explain: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    mode: Literal["sequential", "batched"] = "sequential",
    batch_size: int = 256,
) -> tuple[Decision, ...]:
    """Decide every task against shared capacity; decisions come back in task order.

    ``sequential`` (the reference semantics): each decision sees what the previous ones consumed,
    releasing the replicas a workload leaves and consuming what it newly runs. ``batched``: runs of
    single-cluster workloads (see ``tmc_core.placement.batched``) are scored ``batch_size`` at a time
    against one snapshot with exact conflict resolution; every other workload, and every workload
    when ``explain`` is set or a custom ``registry`` is given, goes the sequential way. Capacity is
    never exceeded in either mode.
    """
    if mode not in ("sequential", "batched"):
        raise InvalidInput(f"unknown mode {mode!r}: expected sequential or batched", path="mode")
    if batch_size < 1:
        raise InvalidInput(f"must be at least 1, got {batch_size}", path="batch_size")
    index = _index_for(fleet, tasks)
    free = index.free.copy()
    placed = np.zeros(index.size, dtype=np.int64)
    cache = PolicyCache()
    out: list[Decision | None] = [None] * len(tasks)
    use_batches = mode == "batched" and not explain and registry is DEFAULT_REGISTRY
    group: list[int] = []

    def flush() -> None:
        if not group:
            return
        members = [tasks[k] for k in group]
        requests = [resource_vector(t.workload.requests, index.resources) for t in members]
        for k, outcome in zip(
            group, place_group(index, members, requests, free, placed, cache, batch_size), strict=True
        ):
            out[k] = _decision(index, tasks[k], outcome)
        group.clear()

    for k in placement_order(tasks):
        task = tasks[k]
        if use_batches and batchable(task):
            group.append(k)
            continue
        flush()
        request = resource_vector(task.workload.requests, index.resources)
        previous = _previous(index, task)
        outcome = place_workload(
            index,
            task.workload,
            task.policy,
            free=free,
            request=request,
            previous=previous,
            placed=placed,
            registry=registry,
            cache=cache,
            explain=explain,
            policy_changed=task.policy_changed,
        )
        new = np.zeros(index.size, dtype=np.int64)
        new[outcome.clusters] = outcome.replicas
        changed = np.flatnonzero(new != previous)
        if changed.size:
            free[changed] -= (new[changed] - previous[changed])[:, None] * request[None, :]
        placed[outcome.clusters[outcome.replicas > 0]] += 1
        out[k] = _decision(index, task, outcome)
    flush()
    return tuple(d for d in out if d is not None)


def place(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    workload: Workload,
    policy: PlacementPolicy | None = None,
    *,
    current: Mapping[str, int] | None = None,
    explain: bool = False,
    policy_changed: bool = False,
) -> Decision:
    """Place a single workload (a batch of one); ``policy_changed`` as in ``PlacementTask``."""
    task = PlacementTask(
        workload, policy or PlacementPolicy(), current=dict(current or {}), policy_changed=policy_changed
    )
    return place_batch(fleet, [task], explain=explain)[0]
