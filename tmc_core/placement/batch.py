"""Place many workloads against shared capacity: the entry points the CLI, controller and simulator call.

Reference semantics are sequential: workloads go in order of priority (high first), then
namespace/name, and each decision sees the capacity the previous ones consumed. Nothing here keeps
state between calls: the capacity snapshot is copied from the index at the start of every call.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Literal, overload

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.decision import Decision, Explanation, TargetCluster
from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.resources import ResourceList
from tmc_core.model.workload import Workload
from tmc_core.placement import kernels
from tmc_core.placement.index import FleetIndex, replicas_vector, resource_vector
from tmc_core.placement.pipeline import Outcome, PolicyCache, place_workload
from tmc_core.placement.registry import DEFAULT_REGISTRY, Registry
from tmc_core.placement.single import (
    ProgramRows,
    place_group,
    place_sequential_run,
    program,
    single_policy,
)
from tmc_core.placement.task import PlacementTask

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "Assignment",
    "PlacementTask",
    "assign_batch",
    "place",
    "place_batch",
    "placement_order",
]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

DEFAULT_BATCH_SIZE = 64
"""Workloads per batched round. Smaller rounds re-score fewer conflict losers (1.03 rows per
workload at 64 against 1.23 at 256, 10k x 1k) and stay closer to sequential decisions; with the
rounds in compiled code, a round costs little beyond its rows (docs/performance.md)."""


def placement_order(tasks: Sequence[PlacementTask]) -> list[int]:
    """Positions of ``tasks`` in placement order: priority desc, then namespace, name, kind,
    apiVersion and workspace, so the order never depends on how the tasks were listed."""
    keys = [_order_key(t.workload) for t in tasks]
    return sorted(range(len(tasks)), key=keys.__getitem__)


def _order_key(w: Workload) -> tuple[int, str, str, str, str, str]:
    """A workload's place in placement order (see ``placement_order``)."""
    return (-w.priority, w.namespace, w.name, w.kind, w.api_version, w.workspace)


def _index_for(fleet: FleetIndex | Fleet | Sequence[Cluster], requests: Iterable[ResourceList]) -> FleetIndex:
    """The fleet's index, with a capacity column for every resource the ``requests`` name."""
    asked = {r for rl in requests for r in rl}
    if isinstance(fleet, FleetIndex):
        if asked <= set(fleet.resources):
            return fleet
        fleet = fleet.fleet
    return FleetIndex.from_fleet(fleet, extra_resources=asked)


@dataclass(frozen=True, slots=True, eq=False)
class Assignment:
    """The engine's raw result, as arrays in task order: which clusters run how many replicas.

    Task ``i`` runs ``replicas[offsets[i]:offsets[i+1]]`` on fleet indices
    ``clusters[offsets[i]:offsets[i+1]]`` (sorted by cluster name; Divided lists only clusters with
    replicas, Duplicated every selected cluster). ``decisions(tasks)`` turns it into ``Decision`` values.
    """

    cluster_names: tuple[str, ...]
    offsets: IntArray
    clusters: IntArray
    replicas: IntArray
    schedulable: NDArray[np.bool_]
    reasons: tuple[str, ...]
    explanations: tuple[Explanation | None, ...]

    def __len__(self) -> int:
        return len(self.reasons)

    def replicas_of(self, i: int) -> dict[str, int]:
        """Cluster name -> replicas of task ``i``."""
        lo, hi = int(self.offsets[i]), int(self.offsets[i + 1])
        names = self.cluster_names
        return {
            names[c]: int(r)
            for c, r in zip(self.clusters[lo:hi].tolist(), self.replicas[lo:hi].tolist(), strict=True)
        }

    def decisions(self, tasks: Sequence[PlacementTask]) -> tuple[Decision, ...]:
        """One ``Decision`` per task (the same order)."""
        names = self.cluster_names
        clusters = self.clusters.tolist()
        replicas = self.replicas.tolist()
        offsets = self.offsets.tolist()
        schedulable = self.schedulable.tolist()
        out = []
        with _collector_paused():
            for i, task in enumerate(tasks):
                targets = tuple(
                    TargetCluster.trusted(name=names[clusters[j]], replicas=replicas[j])
                    for j in range(offsets[i], offsets[i + 1])
                )
                out.append(
                    Decision.trusted(
                        workload=task.workload.ref,
                        placement=task.placement,
                        clusters=targets,
                        schedulable=schedulable[i],
                        reason=self.reasons[i],
                        explanation=self.explanations[i],
                    )
                )
        return tuple(out)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while building many small values that hold no cycles.

    Each batch of new objects triggers collections that walk the caller's whole heap (100k tasks
    are millions of objects): building 10k Decisions took 210-246 ms with the collector on and
    89-92 ms with it paused; ``assign_batch`` at 10k x 1k (batched) took 46 ms with it on and 42
    ms with it paused once earlier results were alive in the process. It is restored as it was,
    also on error.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _assignment(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    outcomes: Sequence[Outcome | None],
    single: IntArray,
    single_replicas: IntArray,
) -> Assignment:
    """Pack the results into name-sorted CSR arrays: ``single[k] >= 0`` is the one cluster task ``k``
    runs all its ``single_replicas[k]`` replicas on (a single-cluster run placed it), otherwise
    ``outcomes[k]`` says what it got."""
    n = len(tasks)
    counts = np.zeros(n, dtype=np.int64)
    counts[single >= 0] = 1
    packed: dict[int, tuple[IntArray, IntArray]] = {}
    schedulable = single >= 0
    reasons = [""] * n
    explanations: list[Explanation | None] = [None] * n
    for i, o in enumerate(outcomes):
        if o is None:
            continue
        schedulable[i] = o.schedulable
        reasons[i] = o.reason
        explanations[i] = o.explanation
        c, r = o.clusters, o.replicas
        strategy = tasks[i].policy.replica_strategy
        if c.size > 1:
            if strategy != "Duplicated":
                keep = r > 0
                c, r = c[keep], r[keep]
            order = np.argsort(index.name_rank[c], kind="stable")
            c, r = c[order], r[order]
        elif c.size == 1 and r[0] == 0 and strategy != "Duplicated":
            c, r = c[:0], r[:0]
        packed[i] = (c, r)
        counts[i] = c.size
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    clusters = np.zeros(int(offsets[-1]), dtype=np.int64)
    replicas = np.zeros(int(offsets[-1]), dtype=np.int64)
    whole = np.flatnonzero(single >= 0)
    if whole.size:
        clusters[offsets[whole]] = single[whole]
        replicas[offsets[whole]] = single_replicas[whole]
    for i, (c, r) in packed.items():
        clusters[offsets[i] : offsets[i + 1]] = c
        replicas[offsets[i] : offsets[i + 1]] = r
    return Assignment(
        cluster_names=index.names,
        offsets=offsets,
        clusters=clusters,
        replicas=replicas,
        schedulable=schedulable,
        reasons=tuple(reasons),
        explanations=tuple(explanations),
    )


@dataclass(frozen=True, slots=True)
class _Survey:
    """One pass over a batch in task order (reading 100k objects in the order they were built is
    several times faster than in placement order): the distinct request lists, the placement
    order, which tasks single-cluster runs take and, for those, the rows of their program (whose
    ``requests`` are the distinct request lists of the whole batch)."""

    order: IntArray
    eligible: BoolArray
    rows: ProgramRows


def _order(workloads: Sequence[Workload]) -> IntArray:
    """``placement_order`` of these workloads, faster: one string per workload (namespace, a NUL,
    name) sorted by Python's string sort, then a stable sort by priority in numpy.

    Comparing such strings is comparing (namespace, name) pairs as long as no namespace holds a NUL
    (NUL sorts first, so a namespace ending early sorts first, as in a tuple); when one does, or two
    workloads share namespace and name (kind, apiVersion and workspace then decide), the tuple sort
    of ``placement_order`` runs instead. 2.7x faster than sorting tuples at 10k workloads.
    """
    n = len(workloads)
    spaces = [w.namespace for w in workloads]
    keys = [f"{ns}\0{w.name}" for ns, w in zip(spaces, workloads, strict=True)]
    if len(set(keys)) < n or any("\0" in ns for ns in set(spaces)):
        tuples = [_order_key(w) for w in workloads]
        return np.asarray(sorted(range(n), key=tuples.__getitem__), dtype=np.int64)
    order = np.asarray(sorted(range(n), key=keys.__getitem__), dtype=np.int64)
    priority = np.fromiter((w.priority for w in workloads), dtype=np.int64, count=n)
    if n and priority.min() != priority.max():
        order = order[np.argsort(-priority[order], kind="stable")]
    return order


def _survey(tasks: Sequence[PlacementTask], *, runs_single: bool) -> _Survey:
    """The batch's survey (see ``_Survey``); ``single_policy`` is computed once per policy. The loop
    body is the call's hottest Python (10k tasks: ~0.5 µs each), hence ``batchable`` written out."""
    workloads = [t.workload for t in tasks]
    order = _order(workloads)
    policies: dict[int, bool] = {}
    requests: dict[int, int] = {}  # request lists are often shared objects: try identity first
    # (only the first object of each value is remembered by identity: a batch read from manifests
    # has one object per workload, and remembering them all cost more than the lookups it saved)
    by_value: dict[ResourceList, int] = {}
    distinct: list[ResourceList] = []
    term_rows: dict[tuple[int, str, str], int] = {}
    leads: list[PlacementTask] = []
    lead_which: list[int] = []
    n = len(tasks)
    eligible = np.zeros(n, dtype=np.bool_)
    part: list[int] = []
    which: list[int] = []
    replicas: list[int] = []
    compiled = kernels.AVAILABLE
    for k, task in enumerate(tasks):
        w = workloads[k]
        rl = w.requests
        v = requests.get(id(rl))
        if v is None:
            v = by_value.get(rl)
            if v is None:  # the first list of its value: later uses of this object hit by identity
                v = by_value[rl] = requests[id(rl)] = len(distinct)
                distinct.append(rl)
        if not runs_single:
            continue
        policy = task.policy
        fits = policies.get(id(policy))
        if fits is None:
            fits = policies[id(policy)] = single_policy(policy)
        # batchable(task, fits), written out (a unit test keeps the two in step)
        if not fits:
            continue
        current = task.current
        if current and any(c > 0 for c in current.values()):
            continue
        if not compiled and w.replicas < 1:
            continue
        eligible[k] = True
        key = (id(policy), w.api_version, w.kind)
        row = term_rows.get(key)
        if row is None:
            row = term_rows[key] = len(leads)
            leads.append(task)
            lead_which.append(v)
        part.append(row)
        which.append(v)
        replicas.append(w.replicas)
    rows = ProgramRows(
        part=np.asarray(part, dtype=np.int64),
        which=np.asarray(which, dtype=np.int64),
        replicas=np.asarray(replicas, dtype=np.int64),
        leads=tuple(leads),
        lead_which=tuple(lead_which),
        requests=tuple(distinct),
    )
    return _Survey(order=order, eligible=eligible, rows=rows)


class _Members(Sequence[PlacementTask]):
    """The tasks of a run, by position in the run, without copying them out of the batch."""

    __slots__ = ("_positions", "_tasks")

    def __init__(self, tasks: Sequence[PlacementTask], positions: Sequence[int]) -> None:
        self._tasks = tasks
        self._positions = positions

    def __len__(self) -> int:
        return len(self._positions)

    @overload
    def __getitem__(self, i: int) -> PlacementTask: ...
    @overload
    def __getitem__(self, i: slice) -> Sequence[PlacementTask]: ...
    def __getitem__(self, i: int | slice) -> PlacementTask | Sequence[PlacementTask]:
        if isinstance(i, slice):
            return [self._tasks[k] for k in self._positions[i]]
        return self._tasks[self._positions[i]]


def place_batch(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    tasks: Sequence[PlacementTask],
    *,
    explain: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    mode: Literal["sequential", "batched", "independent"] = "sequential",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> tuple[Decision, ...]:
    """Decide every task against shared capacity; decisions come back in task order.

    ``assign_batch`` with the same arguments gives the same result as arrays.
    """
    assignment = assign_batch(
        fleet, tasks, explain=explain, registry=registry, mode=mode, batch_size=batch_size
    )
    return assignment.decisions(tasks)


def assign_batch(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    tasks: Sequence[PlacementTask],
    *,
    explain: bool = False,
    registry: Registry = DEFAULT_REGISTRY,
    mode: Literal["sequential", "batched", "independent"] = "sequential",
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Assignment:
    """Decide every task against shared capacity; the result as arrays, in task order.

    ``sequential`` (the reference semantics): each decision sees what the previous ones consumed,
    releasing the replicas a workload leaves and consuming what it newly runs. ``batched``: runs of
    single-cluster workloads (see ``tmc_core.placement.single``) are scored ``batch_size`` at a time
    against one snapshot with exact conflict resolution; every other workload, and every workload
    when ``explain`` is set or a custom ``registry`` is given, goes the sequential way. Capacity is
    never exceeded in either mode. ``independent``: every task is decided alone against the fleet's
    capacity as given, as Karmada schedules each binding against the same snapshot; nothing is
    consumed between tasks, so together the decisions may overcommit (a what-if per workload).
    """
    if mode not in ("sequential", "batched", "independent"):
        raise InvalidInput(f"unknown mode {mode!r}: expected sequential, batched or independent", path="mode")
    if batch_size < 1:
        raise InvalidInput(f"must be at least 1, got {batch_size}", path="batch_size")
    with _collector_paused():  # allocation-heavy, cycle-free: see _collector_paused
        return _assign(fleet, tasks, explain, registry, mode, batch_size)


def _assign(
    fleet: FleetIndex | Fleet | Sequence[Cluster],
    tasks: Sequence[PlacementTask],
    explain: bool,
    registry: Registry,
    mode: str,
    batch_size: int,
) -> Assignment:
    """``assign_batch`` after its arguments were checked."""
    plain = not explain and registry is DEFAULT_REGISTRY
    use_batches = mode == "batched" and plain
    use_kernel = mode == "sequential" and plain and kernels.AVAILABLE
    survey = _survey(tasks, runs_single=use_batches or use_kernel)
    eligible = survey.eligible
    index = _index_for(fleet, survey.rows.requests)
    free = index.free.copy()
    placed = np.zeros(index.size, dtype=np.int64)
    cache = PolicyCache()
    n = len(tasks)
    out: list[Outcome | None] = [None] * n
    single = np.full(n, -1, dtype=np.int64)
    chosen_rows = np.flatnonzero(eligible)
    prog = None
    if chosen_rows.size:
        prog = program(index, survey.rows, free, placed, cache)
    row_of = np.full(n, -1, dtype=np.int64)
    row_of[chosen_rows] = np.arange(chosen_rows.size, dtype=np.int64)
    single_replicas = np.zeros(n, dtype=np.int64)
    if prog is not None:
        single_replicas[chosen_rows] = prog.replicas

    def run_single(ks: IntArray) -> None:
        assert prog is not None
        sub = prog.take(row_of[ks])
        members = _Members(tasks, ks.tolist())
        if use_batches:
            run = place_group(index, members, sub, free, placed, cache, batch_size)
        else:
            run = place_sequential_run(index, members, sub, free, placed, cache)
        single[ks] = run.chosen
        for i, outcome in run.failed.items():
            out[int(ks[i])] = outcome

    order = survey.order
    # Segments of placement order: a maximal stretch of run tasks goes to the kernels whole.
    takes = eligible[order]
    starts = np.flatnonzero(np.r_[True, takes[1:] != takes[:-1]]) if n else np.zeros(0, dtype=np.int64)
    for lo, hi in zip(starts.tolist(), [*starts[1:].tolist(), n], strict=True):
        if takes[lo]:
            run_single(order[lo:hi])
            continue
        for k in order[lo:hi].tolist():
            out[k] = _place_one(index, tasks[k], free, placed, registry, cache, explain, mode)
    return _assignment(index, tasks, out, single, single_replicas)


def _place_one(
    index: FleetIndex,
    task: PlacementTask,
    free: IntArray,
    placed: IntArray,
    registry: Registry,
    cache: PolicyCache,
    explain: bool,
    mode: str,
) -> Outcome:
    """One task through the pipeline; unless ``mode`` is independent, ``free`` and ``placed`` take
    what it newly runs and give back what it leaves."""
    request = resource_vector(task.workload.requests, index.resources)
    previous = replicas_vector(index.position, index.size, task.current)
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
    if mode != "independent":
        new = np.zeros(index.size, dtype=np.int64)
        new[outcome.clusters] = outcome.replicas
        changed = np.flatnonzero(new != previous)
        if changed.size:
            free[changed] -= (new[changed] - previous[changed])[:, None] * request[None, :]
        placed[outcome.clusters[outcome.replicas > 0]] += 1
    if task.policy.replica_strategy != "Duplicated" and outcome.clusters.size > 1:
        # Keep only clusters that run replicas: a divided outcome covers every selected
        # cluster, and 100k of them over 5k clusters would otherwise hold gigabytes.
        used = outcome.replicas > 0
        outcome = replace(outcome, clusters=outcome.clusters[used], replicas=outcome.replicas[used])
    return outcome


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
