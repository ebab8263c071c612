"""Batched placement: score many single-cluster workloads against one capacity snapshot at once.

For workloads whose policy picks exactly one cluster for the whole workload (``placementType: PickN``,
``numberOfClusters: 1``, ``Duplicated``), a group of up to ``batch_size`` workloads is scored as one
(workloads x clusters) array against the capacity at the start of the round. Each picks its best
feasible cluster; conflicts are then resolved exactly, in placement order: per chosen cluster the
longest prefix of workloads whose summed demand fits is accepted, the rest are re-scored in the next
round against the updated capacity. So capacity is never exceeded and earlier workloads keep
precedence, but a workload may see a snapshot that is older than the previous decision.

Differences from sequential mode (documented in docs/placement.md): decisions inside a round see the
round's snapshot (so the utilisation and Balance scores lag by up to one round), and utilisation
scores are evaluated in a factored form (matrix products over resources) whose last bits can differ
from the per-cluster form, so a near-tie may go the other way. With ``batch_size=1`` the answers are
the sequential ones up to such ties.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from tmc_core.placement.cycle import Cycle
from tmc_core.placement.index import FleetIndex
from tmc_core.placement.pipeline import (
    Outcome,
    PolicyCache,
    _static_part,
    _StaticPart,
    gvk_of,
    place_workload,
)
from tmc_core.placement.registry import DEFAULT_REGISTRY
from tmc_core.placement.task import PlacementTask

__all__ = ["BATCHED_DYNAMIC", "batchable", "choose_batch", "place_group", "resolve_conflicts"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

BATCHED_DYNAMIC = ("LeastAllocated", "MostAllocated", "BalancedAllocation", "Balance", "Steady")
"""Capacity-dependent prioritizers the batched kernel evaluates; others send a workload to the
sequential path."""


def batchable(task: PlacementTask) -> bool:
    """Whether the batched kernel can place this task: a single-cluster policy, at least one replica
    (so every scored resource fits and utilisation needs no clipping), nothing running yet."""
    policy = task.policy
    if task.workload.replicas < 1 or any(n > 0 for n in task.current.values()):
        return False
    if policy.placement_type != "PickN" or policy.number_of_clusters != 1:
        return False
    if policy.replica_strategy != "Duplicated" or len(policy.cluster_affinities) > 1:
        return False
    if policy.spread_constraints:
        return False
    if any(t.when_unsatisfiable == "DoNotSchedule" for t in policy.topology_spread_constraints):
        return False
    static = {"PreferredAffinity", "TaintPreference", "ClusterProperty", "TopologySpread"}
    static |= {"ResourceAllocatableCPU", "ResourceAllocatableMemory"}
    return all(p.name in static or p.name in BATCHED_DYNAMIC for p in policy.prioritizers)


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
    )
    return _static_part(cycle, DEFAULT_REGISTRY, cache)


def _weights(parts: Sequence[_StaticPart]) -> FloatArray:
    """(n, 4) weights of LeastAllocated, MostAllocated, BalancedAllocation, Balance per workload."""
    cols = {"LeastAllocated": 0, "MostAllocated": 1, "BalancedAllocation": 2, "Balance": 3}
    w = np.zeros((len(parts), 4))
    for i, part in enumerate(parts):
        for _, p in part.dynamic:
            if p.name in cols:
                w[i, cols[p.name]] += p.weight
    return w


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
    policy terms, ``weights`` (n, 4) as in ``_weights``. Exact ties go to more room, then the
    lower name, as in sequential mode.
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


def place_group(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    requests: Sequence[IntArray],
    free: IntArray,
    placed: IntArray,
    cache: PolicyCache,
    batch_size: int,
) -> list[Outcome]:
    """Place batchable tasks (in placement order) round by round; updates ``free`` and ``placed``."""
    n = len(tasks)
    req = np.stack(requests) if n else np.zeros((0, len(index.resources)), dtype=np.int64)
    reps = np.array([t.workload.replicas for t in tasks], dtype=np.int64)
    parts = [_part(index, t, req[i], free, placed, cache) for i, t in enumerate(tasks)]
    weights = _weights(parts)
    outcomes: list[Outcome | None] = [None] * n
    pending = list(range(n))
    empty = np.zeros(0, dtype=np.int64)
    while pending:
        head = np.asarray(pending[:batch_size], dtype=np.int64)
        rows = [parts[i] for i in head.tolist()]
        chosen = choose_batch(
            index,
            req[head],
            reps[head],
            np.stack([p.both for p in rows]),
            np.stack([p.static_total for p in rows]),
            weights[head],
            free,
            placed,
        )
        need = req[head] * reps[head, None]
        accepted = resolve_conflicts(chosen, need, free)
        for j in np.flatnonzero(accepted).tolist():
            c = int(chosen[j])
            free[c] -= need[j]
            placed[c] += 1
            outcomes[int(head[j])] = Outcome(
                np.array([c], dtype=np.int64), reps[head[j] : head[j] + 1].copy(), True
            )
        for j in np.flatnonzero(chosen < 0).tolist():
            k = int(head[j])
            # Nothing fits now and capacity only shrinks within a batch: the sequential path says why.
            outcomes[k] = place_workload(
                index,
                tasks[k].workload,
                tasks[k].policy,
                free=free,
                request=req[k],
                previous=np.zeros(index.size, dtype=np.int64),
                placed=placed,
                cache=cache,
            )
        done = set(head[accepted | (chosen < 0)].tolist())
        pending = [k for k in pending if k not in done]
    return [o if o is not None else Outcome(empty, empty, False) for o in outcomes]
