"""Single-cluster workloads: the fast path of both placement modes.

A workload whose policy sends the whole of it to exactly one cluster (``placementType: PickN``,
``numberOfClusters: 1``, ``Duplicated``, one affinity term, no spread) needs no selection or division
step: only "which feasible cluster scores best". Such workloads are placed in runs:

- sequential mode: with the ``fast`` extra, a compiled kernel (``tmc_core.placement.kernels``) walks
  the run one workload at a time with the numpy pipeline's exact arithmetic, so the decisions are
  identical; without it the pipeline places them one by one.
- batched mode: a group of up to ``batch_size`` workloads is scored against the capacity at the start
  of a round; each picks its best feasible cluster; conflicts are resolved exactly, in placement
  order: per chosen cluster the longest prefix of workloads whose summed demand fits is accepted, and
  the rest are re-scored in the next round. Capacity is never exceeded and, on the cluster they both
  chose, an earlier workload keeps precedence over a later one (across clusters it need not: a later
  workload may take the room an earlier loser would have fallen back to), and a workload may see a
  snapshot older than the previous decision (utilisation and
  Balance scores lag by up to one round). With ``batch_size=1`` the decisions are the sequential
  ones. Without the compiled kernel, batched scoring uses a factored numpy form (matrix products over
  resources) whose last bits can differ, so a near-tie may go the other way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.resources import ResourceList
from tmc_core.placement import kernels
from tmc_core.placement.cycle import Cycle
from tmc_core.placement.index import FleetIndex, resource_vector
from tmc_core.placement.pipeline import (
    SUM_ORDER,
    Outcome,
    PolicyCache,
    _static_part,
    _StaticPart,
    gvk_of,
    place_workload,
)
from tmc_core.placement.registry import DEFAULT_REGISTRY
from tmc_core.placement.task import PlacementTask

__all__ = [
    "BATCHED_DYNAMIC",
    "Program",
    "ProgramRows",
    "Run",
    "batchable",
    "choose_batch",
    "place_group",
    "place_sequential_run",
    "program",
    "resolve_conflicts",
    "single_policy",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

BATCHED_DYNAMIC = ("LeastAllocated", "MostAllocated", "BalancedAllocation", "Balance", "Steady")
"""Capacity-dependent prioritizers the batched kernel evaluates; others send a workload to the
sequential path."""


def batchable(task: PlacementTask, policy_fits: bool | None = None) -> bool:
    """Whether a single-cluster run takes this task: ``single_policy`` holds for its policy (pass
    ``policy_fits`` when already known, e.g. cached per policy over a batch), nothing runs yet, and
    (for the numpy fallback, whose factored scores need every scored resource to fit) at least one
    replica."""
    fits = single_policy(task.policy) if policy_fits is None else policy_fits
    current = task.current
    return (
        fits
        and (not current or not any(n > 0 for n in current.values()))
        and (kernels.AVAILABLE or task.workload.replicas >= 1)
    )


_STATIC_SCORES = frozenset(
    {
        "PreferredAffinity",
        "TaintPreference",
        "ClusterProperty",
        "TopologySpread",
        "ResourceAllocatableCPU",
        "ResourceAllocatableMemory",
    }
)


def single_policy(policy: PlacementPolicy) -> bool:
    """A policy that sends the whole workload to one cluster, with only scores the fast path knows
    (``PickN`` 1, ``Duplicated``, one affinity term, no spread, no hard topology spread)."""
    if policy.placement_type != "PickN" or policy.number_of_clusters != 1:
        return False
    if policy.replica_strategy != "Duplicated" or len(policy.cluster_affinities) > 1:
        return False
    if policy.spread_constraints:
        return False
    if any(t.when_unsatisfiable == "DoNotSchedule" for t in policy.topology_spread_constraints):
        return False
    return all(p.name in _STATIC_SCORES or p.name in BATCHED_DYNAMIC for p in policy.prioritizers)


def _part(
    index: FleetIndex,
    task: PlacementTask,
    request: IntArray,
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
) -> _StaticPart:
    """The compiled first term of a task's policy (from the batch cache when already built)."""
    policy = task.policy
    gvk = gvk_of(task.workload)
    part = cache.statics.get((id(policy), 0, gvk))
    if part is not None:
        return part
    terms = cache.terms.get(id(policy))
    if terms is None:
        terms = cache.terms[id(policy)] = policy.affinity_terms()
    zeros = np.zeros(index.size, dtype=np.int64)
    cycle = Cycle(
        index=index,
        policy=policy,
        term=terms[0],
        term_index=0,
        workload=task.workload,
        gvk=gvk,
        request=request,
        free=free,
        available=zeros,
        previous=zeros,
        placed=placed,
        requirements=cache.requirements,
    )
    return _static_part(cycle, DEFAULT_REGISTRY, cache)


def choose_batch(
    index: FleetIndex,
    requests: IntArray,
    replicas: IntArray,
    static_ok: BoolArray,
    static_total: FloatArray,
    weights: FloatArray,
    free: IntArray,
    placed: IntArray,
) -> IntArray:
    """Best feasible cluster per workload against the snapshot ``free`` (-1 when none fits).

    ``requests`` (n, R) per replica, ``static_ok``/``static_total`` (n, C) rows of the workloads'
    policy terms, ``weights`` (n, 4) of LeastAllocated, MostAllocated, BalancedAllocation and
    Balance (``Program.dyn_weight``'s columns). Exact ties go to more room, then the lower name, as
    in sequential mode.
    """
    n = requests.shape[0]
    need = requests * replicas[:, None]
    ok = static_ok.copy()
    for r in range(requests.shape[1]):
        asked = need[:, r] > 0
        if asked.any():
            ok[asked] &= free[None, :, r] >= need[asked, r, None]
    total = static_total.copy()
    if weights[:, :3].any():
        total += _utilisation(index, requests, free, weights)
    if weights[:, 3].any():
        bal = placed.astype(np.float64)
        top = np.where(ok, bal[None, :], 0.0).max(axis=1)
        safe = np.where(top > 0, top, 1.0)
        score = np.where(top[:, None] > 0, (1.0 - bal[None, :] / safe[:, None]) * 100.0, 100.0)
        total += weights[:, 3:4] * score
    masked = np.where(ok, total, -np.inf)
    chosen: IntArray = masked.argmax(axis=1).astype(np.int64)
    top = masked[np.arange(n), chosen]
    tied = np.flatnonzero((masked == top[:, None]).sum(axis=1) > 1)
    for row in tied.tolist():
        # Exact ties: as in sequential mode, more room first, then the lower name.
        cands = np.flatnonzero(masked[row] == top[row])
        asked = requests[row] > 0
        room = (free[cands][:, asked] // requests[row, asked]).min(axis=1)
        chosen[row] = cands[np.lexsort((index.name_rank[cands], -room))[0]]
    chosen[~ok.any(axis=1)] = -1
    return chosen


def _utilisation(index: FleetIndex, requests: IntArray, free: IntArray, weights: FloatArray) -> FloatArray:
    """Weighted LeastAllocated + MostAllocated + BalancedAllocation, factored over resources.

    With u = 1 - free/alloc and v = 1/alloc (u = 1, v = 0 where a cluster does not limit a resource),
    a workload's used fraction after one replica is u + q v; means over its scored resources are
    matrix products of per-workload rows (which resources, q, q squared) and per-cluster columns.
    """
    alloc = index.allocatable_f
    lim = index.limited
    safe = np.where(lim, alloc, 1.0)
    u = np.where(lim, 1.0 - free / safe, 1.0)
    v = np.where(lim, 1.0 / safe, 0.0)
    res = index.resources
    pods = np.array([name == "pods" for name in res])
    scored = (requests > 0) & ~pods[None, :]
    none = ~scored.any(axis=1)
    if none.any():
        default = np.array([name in ("cpu", "memory") for name in res])
        scored[none] = default[None, :]
    s = scored.astype(np.float64)
    k = s.sum(axis=1)
    k_safe = np.where(k > 0, k, 1.0)[:, None]
    q = requests.astype(np.float64) * s
    m1 = (s @ u.T + q @ v.T) / k_safe
    m1 = np.where(k[:, None] > 0, m1, 0.0)
    out = np.zeros_like(m1)
    if weights[:, 0].any():
        out += weights[:, 0:1] * np.where(k[:, None] > 0, (1.0 - m1) * 100.0, 100.0)
    if weights[:, 1].any():
        out += weights[:, 1:2] * (m1 * 100.0)
    if weights[:, 2].any():
        m2 = (s @ (u * u).T + 2.0 * (q @ (u * v).T) + (q * q) @ (v * v).T) / k_safe
        spread = np.sqrt(np.maximum(m2 - m1 * m1, 0.0))
        ba = np.clip((1.0 - spread) * 100.0, 0.0, 100.0)
        out += weights[:, 2:3] * np.where(k[:, None] >= 2, ba, 100.0)
    return out


def resolve_conflicts(chosen: IntArray, need: IntArray, free: IntArray) -> BoolArray:
    """Accept, per chosen cluster, the longest prefix (in workload order) whose demand fits.

    ``chosen`` (n,) fleet indices (-1 = none), ``need`` (n, R) total demand of each workload.
    """
    n = chosen.size
    accepted = np.zeros(n, dtype=np.bool_)
    has = np.flatnonzero(chosen >= 0)
    if has.size == 0:
        return accepted
    order = has[np.argsort(chosen[has], kind="stable")]
    clusters = chosen[order]
    demand = need[order]
    starts = np.flatnonzero(np.r_[True, clusters[1:] != clusters[:-1]])
    sizes = np.diff(np.r_[starts, order.size])
    group = np.repeat(np.arange(starts.size), sizes)
    cum = np.cumsum(demand, axis=0)
    before = np.vstack([np.zeros((1, demand.shape[1]), dtype=np.int64), cum[starts[1:] - 1]])
    within = cum - before[group]
    fits = (within <= free[clusters]).all(axis=1)
    # A prefix per group: once one workload does not fit, the later ones of that group wait.
    position = np.arange(order.size)
    first_bad = np.full(starts.size, order.size)
    np.minimum.at(first_bad, group, np.where(fits, order.size, position))
    ok = position < first_bad[group]
    accepted[order[ok]] = True
    return accepted


@dataclass(frozen=True, slots=True)
class Run:
    """What a run of single-cluster tasks came to, in the run's order.

    ``chosen[i]`` is the fleet index task ``i`` runs on (all its replicas), or -1 when nothing fits
    it; ``failed`` holds the pipeline's outcome (the reasons) for each of the latter.
    """

    chosen: IntArray
    failed: dict[int, Outcome]


@dataclass(frozen=True, slots=True)
class Program:
    """Arrays the kernels read: one row per distinct policy term, one per workload."""

    part: IntArray
    masked: FloatArray
    dyn_weight: FloatArray
    requests: IntArray
    replicas: IntArray
    scored: BoolArray
    k: IntArray
    which: IntArray
    """Per workload, its row in the distinct request tables below (the kernels' score cache key)."""
    table: IntArray
    table_scored: BoolArray

    def take(self, rows: IntArray) -> Program:
        """The program of the workloads ``rows`` (in that order); the term and request tables are
        shared."""
        return Program(
            part=self.part[rows],
            masked=self.masked,
            dyn_weight=self.dyn_weight,
            requests=self.requests[rows],
            replicas=self.replicas[rows],
            scored=self.scored[rows],
            k=self.k[rows],
            which=self.which[rows],
            table=self.table,
            table_scored=self.table_scored,
        )

    def columns(self) -> tuple[NDArray[Any], ...]:
        """The per-workload arrays in the order the kernels take them (the last, each workload's
        slot in the score cache, comes from ``_moments``)."""
        return (self.part, self.requests, self.replicas, self.scored, self.k)


@dataclass(frozen=True, slots=True)
class ProgramRows:
    """What a program needs from a batch's single pass over its tasks: per task (of the run) its
    policy-term row ``part``, its distinct request ``which`` and its replicas; per row the first task
    that has it (``leads``, for the static filters and scores) and that task's request
    (``lead_which``); the distinct request lists."""

    part: IntArray
    which: IntArray
    replicas: IntArray
    leads: tuple[PlacementTask, ...]
    lead_which: tuple[int, ...]
    requests: tuple[ResourceList, ...]


def program(
    index: FleetIndex, rows: ProgramRows, free: IntArray, placed: IntArray, cache: PolicyCache
) -> Program:
    """Per-task arrays with each distinct request and policy term computed once (a run of 100k
    tasks typically holds a few hundred of each)."""
    resources = index.resources
    distinct = [resource_vector(rl, resources) for rl in rows.requests]
    unique: list[_StaticPart] = [
        _part(index, t, distinct[v], free, placed, cache)
        for t, v in zip(rows.leads, rows.lead_which, strict=True)
    ]
    part, which, reps = rows.part, rows.which, rows.replicas
    table = np.stack(distinct) if distinct else np.zeros((0, len(resources)), dtype=np.int64)
    dyn_weight = np.zeros((len(unique), len(SUM_ORDER)))
    for row, p in enumerate(unique):
        for _, prio in p.dynamic:
            col = SUM_ORDER.get(prio.name)  # Steady adds nothing: nothing runs anywhere yet
            if col is not None:
                dyn_weight[row, col] = prio.weight
    pods = np.array([name == "pods" for name in resources])
    scored = (table > 0) & ~pods[None, :]
    none = ~scored.any(axis=1)
    if none.any():
        scored[none] = np.array([name in ("cpu", "memory") for name in resources])[None, :]
    if unique:
        masked = np.where(
            np.stack([p.both for p in unique]), np.stack([p.static_total for p in unique]), -np.inf
        )
    else:
        masked = np.zeros((0, index.size))
    return Program(
        part=part,
        masked=np.ascontiguousarray(masked),
        dyn_weight=dyn_weight,
        requests=np.ascontiguousarray(table[which]),
        replicas=reps,
        scored=np.ascontiguousarray(scored[which]),
        k=scored.sum(axis=1).astype(np.int64)[which],
        which=which,
        table=table,
        table_scored=scored,
    )


COMPACT_MIN_TASKS_PER_TERM = 4
"""Compaction needs at least this many tasks per distinct policy term: a copy of a term's columns
costs about as much as scoring one row."""

COMPACT_MAX_SHARE = 0.4
"""Compact when an average row would touch at most this share of the clusters. One copy of the
columns per term saves each row the clusters its term excludes, but the copies together are larger
than the caches; measured on the benchmark fleets (70% admitted), shared columns were faster at
both 1k and 5k clusters, so compaction waits for terms that exclude most of the fleet."""


@dataclass(frozen=True, slots=True)
class _Columns:
    """The state the kernels read and change, in columns (see ``tmc_core.placement.kernels``)."""

    state: tuple[Any, ...]
    terms: tuple[Any, ...]

    @classmethod
    def of(
        cls, index: FleetIndex, prog: Program, free: IntArray, placed: IntArray, compact: bool
    ) -> _Columns:
        """Columns for the capacity ``free`` and ``placed``: one range per policy term of ``prog``
        holding only the clusters its static filters admit (``compact``), or one range of every
        cluster that all terms share. The float rows get a spare last row (zero used, zero
        inverse, limited) that the fused kernel reads for an absent scored resource."""
        p_count, c_count = prog.masked.shape
        r_count = len(index.resources)
        if compact:
            ok = np.isfinite(prog.masked)
            count = ok.sum(axis=1).astype(np.int64)
            cluster_of = np.flatnonzero(ok.ravel()) % max(c_count, 1)
            start = np.zeros(p_count, dtype=np.int64)
            np.cumsum(count[:-1], out=start[1:])
            static = np.ascontiguousarray(prog.masked[ok])
            sofs = start
        else:
            count = np.full(p_count, c_count, dtype=np.int64)
            cluster_of = np.arange(c_count, dtype=np.int64)
            start = np.zeros(p_count, dtype=np.int64)
            static = np.ascontiguousarray(prog.masked.ravel())
            sofs = np.arange(p_count, dtype=np.int64) * c_count
        k_count = cluster_of.size
        free_t = np.full((r_count + 1, k_count), np.iinfo(np.int64).max, dtype=np.int64)
        free_t[:r_count] = free.T[:, cluster_of]
        alloc_t = np.zeros((r_count + 1, k_count))
        alloc_t[:r_count] = index.allocatable_f.T[:, cluster_of]
        inv_t = np.zeros((r_count + 1, k_count))
        inv_t[:r_count] = index.inverse_allocatable.T[:, cluster_of]
        lim_t = np.ones((r_count + 1, k_count), dtype=np.bool_)
        lim_t[:r_count] = index.limited.T[:, cluster_of]
        used_t = alloc_t.copy()
        used_t[:r_count] -= free_t[:r_count].astype(np.float64)
        ccols = np.argsort(cluster_of, kind="stable").astype(np.int64)
        cstart = np.zeros(c_count + 1, dtype=np.int64)
        np.cumsum(np.bincount(cluster_of, minlength=c_count), out=cstart[1:])
        state = (
            free_t,
            used_t,
            alloc_t,
            inv_t,
            lim_t,
            placed[cluster_of],  # fancy indexing: a copy the kernels may change
            index.name_rank[cluster_of],
            cluster_of,
            ccols,
            cstart,
            np.array([bool((free < 0).any())]),
        )
        return cls(state=state, terms=(start, count, static, sofs, prog.dyn_weight))

    def write_back(self, free: IntArray, placed: IntArray) -> None:
        """Copy the kernels' capacity and placement counts back into ``free`` and ``placed``."""
        free_t = self.state[kernels.FREE]
        ccols = self.state[kernels.CCOLS]
        cstart = self.state[kernels.CSTART]
        clusters = np.flatnonzero(np.diff(cstart) > 0)
        cols = ccols[cstart[clusters]]
        free[clusters] = free_t[: free.shape[1], cols].T
        placed[clusters] = self.state[kernels.PLACED][cols]


MOMENTS_MAX_BYTES = 256 << 20
"""Largest score cache (two float64 arrays, distinct requests x columns) the kernels keep."""

MOMENTS_COST_RATIO = 3.0
"""What recomputing one cache entry costs against what reading one instead of computing it saves
(measured on the 2-core machine: about 3.5 ns against 1.2 ns). A request is cached when its
workloads' rows save more than its entries cost: every column up front, and one entry for every
cluster that takes a workload (about one per workload of the run)."""


def _moments(prog: Program, cols: _Columns) -> tuple[tuple[Any, ...], IntArray]:
    """The kernels' score cache for this run (see ``kernels.MEAN``), filled for every column, and
    each workload's slot in it (-1: not cached, the fused pass scores it). A request is cached when
    its workloads are many enough to pay for its entries (``MOMENTS_COST_RATIO``): at 10k x 1k
    single, 83 of 140 requests, holding 92% of the workloads."""
    n_columns = int(cols.state[kernels.CLUSTER].size)
    fused = (prog.k >= 2) & (prog.k <= 4)
    per_request = np.bincount(prog.which[fused], minlength=prog.table.shape[0])
    need = MOMENTS_COST_RATIO * (int(fused.sum()) + n_columns) / max(n_columns, 1)
    used = (per_request > 0) & (per_request >= need)
    n_used = int(used.sum())
    if n_used == 0 or 16 * n_used * n_columns > MOMENTS_MAX_BYTES:
        off = (
            np.zeros((0, 0)),
            np.zeros((0, 0)),
            np.zeros((0, 4), dtype=np.int64),
            np.zeros(0, dtype=np.int64),
            np.zeros(1, dtype=np.int64),
            np.zeros((4, 0)),
        )
        return off, np.full(prog.which.size, -1, dtype=np.int64)
    spare = prog.table.shape[1]  # the state's spare last row stands in for an unscored slot
    requests = np.flatnonzero(used)
    # Per cached request its scored rows in order (2 to 4 of them), padded with the spare row.
    scored = prog.table_scored[requests]
    first = np.argsort(~scored, axis=1, kind="stable")[:, :4]  # scored rows first, in order
    real = np.take_along_axis(scored, first, axis=1)
    width = first.shape[1]  # fewer than 4 when the fleet has fewer resources
    rows = np.full((requests.size, 4), spare, dtype=np.int64)
    rows[:, :width] = np.where(real, first, spare)
    amounts = np.zeros((4, requests.size))
    amounts[:width] = np.where(real, np.take_along_axis(prog.table[requests], first, axis=1), 0).T
    groups, group_of = np.unique(rows, axis=0, return_inverse=True)
    by_group = np.argsort(group_of.ravel(), kind="stable")  # slot order: grouped
    starts = np.zeros(groups.shape[0] + 1, dtype=np.int64)
    np.cumsum(np.bincount(group_of.ravel(), minlength=groups.shape[0]), out=starts[1:])
    slot_of = np.full(prog.table.shape[0], -1, dtype=np.int64)
    slot_of[requests[by_group]] = np.arange(requests.size, dtype=np.int64)
    moments = (
        np.empty((requests.size, n_columns)),
        np.empty((requests.size, n_columns)),
        np.ascontiguousarray(groups.astype(np.int64)),
        (groups != spare).sum(axis=1).astype(np.int64),
        starts,
        np.ascontiguousarray(amounts[:, by_group]),
    )
    kernels.fill(moments, cols.state, np.arange(n_columns, dtype=np.int64), _threads())
    return moments, np.where(fused, slot_of[prog.which], -1)  # -1 where not cached, too


def _compact(prog: Program) -> bool:
    """Whether a run's columns should be compacted per policy term (see ``COMPACT_MAX_SHARE``)."""
    terms, clusters = prog.masked.shape
    if prog.part.size < COMPACT_MIN_TASKS_PER_TERM * max(terms, 1) or clusters == 0:
        return False
    admitted = np.isfinite(prog.masked).mean(axis=1)
    return bool(admitted[prog.part].mean() <= COMPACT_MAX_SHARE)


def _threads() -> int:
    """Threads for a round's rows: numba's setting (``NUMBA_NUM_THREADS``, ``numba.set_num_threads``)."""
    import numba

    return int(numba.get_num_threads())


def _explain_failures(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    prog: Program,
    rows: Sequence[int],
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
    failed: dict[int, Outcome],
) -> None:
    """Nothing fits these tasks: the pipeline says why (it changes nothing)."""
    previous = np.zeros(index.size, dtype=np.int64)
    for i in rows:
        task = tasks[i]
        failed[i] = place_workload(
            index,
            task.workload,
            task.policy,
            free=free,
            request=prog.requests[i],
            previous=previous,
            placed=placed,
            cache=cache,
        )


def place_sequential_run(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    prog: Program,
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
) -> Run:
    """Place single-shape tasks (in placement order; ``prog`` is their program) one by one with the
    compiled kernel, exactly as the pipeline would; updates ``free`` and ``placed``. Requires
    ``kernels.AVAILABLE``."""
    n = len(tasks)
    cols = _Columns.of(index, prog, free, placed, _compact(prog))
    chosen = np.full(n, -1, dtype=np.int64)
    failed: dict[int, Outcome] = {}
    start = 0
    moments, slots = _moments(prog, cols)
    columns = (*prog.columns(), slots)
    while start < n:
        rest = tuple(a[start:] for a in columns)
        stop = start + int(kernels.place_run(rest, cols.state, cols.terms, moments, chosen[start:]))
        if stop < n:
            cols.write_back(free, placed)
            _explain_failures(index, tasks, prog, [stop], free, placed, cache, failed)
        start = stop + 1
    cols.write_back(free, placed)
    return Run(chosen, failed)


def place_group(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    prog: Program,
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
    batch_size: int,
) -> Run:
    """Place batchable tasks (in placement order; ``prog`` is their program) round by round;
    updates ``free`` and ``placed``."""
    if kernels.AVAILABLE:
        return _rounds_compiled(index, tasks, prog, free, placed, cache, batch_size)
    return _rounds_numpy(index, tasks, prog, free, placed, cache, batch_size)


def _rounds_compiled(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    prog: Program,
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
    batch_size: int,
) -> Run:
    """All rounds in compiled code; it returns to Python only to explain a task nothing fits."""
    n = len(tasks)
    cols = _Columns.of(index, prog, free, placed, _compact(prog))
    moments, slots = _moments(prog, cols)
    columns = (*prog.columns(), slots)
    chosen = np.full(n, -2, dtype=np.int64)
    failed: dict[int, Outcome] = {}
    order = np.arange(n, dtype=np.int64)
    carry = np.full(batch_size, -1, dtype=np.int64)
    threads = _threads()
    while True:
        consumed, waiting, _ = kernels.place_rounds(
            order, columns, cols.state, cols.terms, moments, batch_size, threads, chosen, carry
        )
        lost = np.flatnonzero(chosen == -1).tolist()
        if lost:
            # Nothing fits now and capacity only shrinks within a run: the pipeline says why.
            cols.write_back(free, placed)
            _explain_failures(index, tasks, prog, lost, free, placed, cache, failed)
            chosen[lost] = -3
        order = order[int(consumed) :]
        if order.size == 0 and int(waiting) == 0:
            break
        carry[int(waiting) :] = -1
    cols.write_back(free, placed)
    chosen[chosen < 0] = -1
    return Run(chosen, failed)


def _rounds_numpy(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    prog: Program,
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
    batch_size: int,
) -> Run:
    """The same rounds without numba: factored numpy scores, vectorised conflict resolution."""
    n = len(tasks)
    req, reps = prog.requests, prog.replicas
    weights = prog.dyn_weight[prog.part]
    admitted = np.isfinite(prog.masked)
    static_total = np.where(admitted, prog.masked, 0.0)
    chosen_all = np.full(n, -1, dtype=np.int64)
    failed: dict[int, Outcome] = {}
    carry: list[int] = []  # losers of the last round, still ahead of every task not yet scored
    nxt = 0
    while carry or nxt < n:
        fresh = range(nxt, min(n, nxt + batch_size - len(carry)))
        nxt = fresh.stop
        head = np.asarray([*carry, *fresh], dtype=np.int64)
        terms = prog.part[head]
        chosen = choose_batch(
            index,
            req[head],
            reps[head],
            admitted[terms],
            static_total[terms],
            weights[head],
            free,
            placed,
        )
        need = req[head] * reps[head, None]
        accepted = resolve_conflicts(chosen, need, free)
        for j in np.flatnonzero(accepted).tolist():
            c, k = int(chosen[j]), int(head[j])
            free[c] -= need[j]
            if reps[k] > 0:
                placed[c] += 1
            chosen_all[k] = c
        _explain_failures(index, tasks, prog, head[chosen < 0].tolist(), free, placed, cache, failed)
        carry = head[~(accepted | (chosen < 0))].tolist()
    return Run(chosen_all, failed)
