"""The large-scale solver: a transportation (min-cost flow) model solved by OR-Tools' SimpleMinCostFlow.

The network, in flow *units* of one resource (the dominant one, ``d``):

    task i --(replicas_i x w_i, value 0: "not placed")------------------------------> sink
    task i --(ub_e x w_i, value per unit v_e / w_i, one arc per candidate entry e)---> cluster c
    cluster c --(floor(capacity[c, d] / g))-------------------------------------------> sink

with supply ``replicas_i x w_i`` at task ``i``. ``g`` is the greatest common divisor of the tasks'
requests of ``d`` and ``w_i = request_i[d] / g``: one unit is ``g`` of the resource, and a replica
of task ``i`` is ``w_i`` units. When every task asks the same amount of ``d`` (``w_i = 1``; e.g.
``resource="pods"``, where each replica is one pod slot) this is the classic slot model and every
flow is a whole number of replicas. A task that does not ask for ``d`` at all goes straight to the
sink (one unit per replica). ``v_e`` is ``Objective.coefficients`` (the value of one replica on
that cluster); churn is concave in the replicas kept on a cluster, so an entry that runs ``cur``
replicas now gets two parallel arcs: the first ``min(cur, ub_e)`` replicas worth ``v_e + churn``
each, the rest ``v_e``. ``ub_e`` = min(replicas_i, the replicas of the task that fit on the cluster
alone in every resource). Integer costs are ``-round(value per unit x S)`` with ``S`` chosen so
that the largest is 2^24 (less on graphs large enough to risk overflow inside the solver); the
rounding is accounted for in the bound below. Arcs are built as numpy arrays and added in one call.

Interchangeable tasks share one node: tasks with the same request, the same candidate clusters and
values and nothing running now (a 100k-workload batch of 32 policies has ~4k such sets). The
node's supply and arc capacities are the members' sums, so every assignment of the tasks is still
a flow of the merged network (the model stays a relaxation and its optimum a bound); the flow on
each of its arcs is split back over the members whole, one after the other in placement order, so
at most one member of a node is left partly placed where the flow placed part of the set.

Which tasks go through the flow, and the semantics of the others:

- Divided tasks (Aggregated, Weighted static or dynamic: the batch model divides replicas by the
  objective, as every batch optimiser does, not by the policy's weights) without PickN, without a
  binding spreadConstraint (maxGroups > 0 or minGroups > 1), without topologySpreadConstraints and
  outside every anti-affinity group.
- Every other task (Duplicated, PickN, spread, anti-affinity) is placed *first*, in the same run,
  by the greedy engine (the policy's own semantics) on the batch's capacity, with Greedy's
  anti-affinity rule (a later member that shares a cluster is dropped); the flow then places the
  Divided tasks in the capacity left. Last, a Divided PickN task the engine left unschedulable (no
  spread, no anti-affinity) gets up to N of its candidates by value, or its roomiest N, in the
  capacity still free, all or nothing: Karmada's selection picks the N best-scoring clusters before
  dividing, so such a task stays out although N others could take it.
- All or nothing per task, as the engine: the flow may leave part of a task out. After the flow,
  replicas are rounded down to whole replicas; clusters over capacity in ANY resource shed replicas
  (of partly placed tasks first, then the lowest value first); then a repair pass completes each
  short task on ALL its candidates (not only the top-k; best value first, every resource checked)
  or removes it entirely, releasing its capacity; removed tasks get one more try at the end. The
  repair runs in several task orders (the placement order; the smallest tasks first; while the
  batch is small enough, orders that put the tasks the previous one left out first) and keeps the
  most valuable result, so it never does worse than the single placement-order pass. Last, a move
  pass tries to place each task still left out (smallest first): on its best candidates short of
  room, tasks already placed there move just enough replicas to their most valuable other
  candidate with room (every resource checked); the task is kept only when it then fits whole and
  the objective gains, else every move is undone (a bounded amount of work per task). A task that
  is not fully placed is unschedulable with no clusters. The result always passes ``violations``.

When the result is OPTIMAL, and what the bound means:

- The flow model is a *relaxation* of the Divided tasks' problem (other resources, whole replicas
  when the ``w_i`` differ, and all-or-nothing are dropped), provided the unit is exact (``g``
  divides every request; it does unless the total would exceed 2^40 units, when requests are
  rounded up to a coarser unit) and nothing was pruned. Its optimum (plus the cost-rounding
  allowance) is then an upper bound on the objective of every feasible assignment: it is reported
  as ``bound`` when every task went through the flow, no candidate was pruned by ``top_k`` and the
  unit is exact.
- OPTIMAL is reported exactly when that bound holds and the final assignment reaches it (within
  twice the rounding allowance and 1e-9 relative), i.e. when the flow's own optimum was already
  feasible: whole replicas, every resource within capacity, every task all or nothing. For
  instance: every task requests the same amount of the dominant resource (a slot model), the other
  resources do not bind, and the capacity suffices for every task the flow chooses to place.
- Otherwise FEASIBLE, with ``bound`` = the flow optimum when it is a valid bound (above), else
  ``None``. With ``top_k`` pruning the flow is optimal for the pruned problem only and says nothing
  about pruned clusters, so no bound is reported; ``Flow(top_k=None).solve(problem.prune(k))``
  certifies the pruned problem itself, and ``bounds.certify`` adds an LP bound for the full one.

With the ``fast`` extra (numba), the top-k selection, the repair and the move passes run compiled;
without it, the same steps run in numpy or plain Python (same answers, slower on large batches).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

import numpy as np
from numpy.typing import NDArray
from ortools.graph.python import min_cost_flow

from tmc_core.errors import InvalidInput, TmcError
from tmc_core.model.decision import Explanation
from tmc_core.placement.batch import Assignment, assign_batch
from tmc_core.solvers.bounds import lp_replicas
from tmc_core.solvers.greedy import keep_anti_affinity, keep_candidates
from tmc_core.solvers.objective import Objective
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution, Status

__all__ = ["Flow", "flow_tasks", "top_k_entries"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_UNIT_LIMIT = 1 << 40
"""Most flow units (total supply) before requests are rounded up to a coarser unit."""
_COST_LIMIT = 1 << 24
"""Largest integer unit cost; smaller when the graph is large enough to risk overflow. (2^28 measured
20% slower at 10k x 1k; the rounding allowance at 2^24 is ~1e-6 of the objective.)"""
_ATTEMPTS = 16
"""Completion orders tried at most: each puts the tasks the previous one left out first."""
_ATTEMPT_WORK = 8_000_000
"""Candidate entries the completion orders may visit in all (fewer orders on large batches)."""
_MOVE_CLUSTERS = 64
"""Candidates of a task left out on which the move pass tries to make room."""
_MOVE_WORK = 1 << 18
"""Candidate entries the move pass may look at per task left out, at most."""
_MOVE_TOTAL = 1 << 23
"""... and over all the tasks left out in one pass (bounds its time on large batches: at 100k x 5k,
2^25 spent 1.3 s to place 2 of 1,226 tasks left out, 2^23 0.2 s to place none)."""
_MOVE_FULL = 1 << 23
"""Candidate entries up to which the move pass lets residents move anywhere in their pools."""
_MOVE_PASSES = 3
"""Move passes at most (each over the tasks still left out)."""
_NONE = np.zeros(0, dtype=np.int64)
"""No tasks, entries or replicas (what a pass that places nothing returns)."""
_MOVE_LOG = 4096
"""Moves at most per task left out (undone together when the task still does not fit)."""

_numba: Any
try:  # pragma: no cover - exercised when the extra is installed
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None


# -- kernels (plain Python over arrays; compiled by numba when it is installed) ---------------------


def _select_kernel(
    ptr: IntArray, score: FloatArray, running: IntArray, take: BoolArray, k: int, out: IntArray
) -> IntArray:
    """Per task in ``take``: its ``k`` best-scoring entries (ties: the earlier entry) and every entry
    in ``running`` (ascending: the entries that run replicas now), written ascending into ``out``;
    returns the kept count per task."""
    n = ptr.size - 1
    counts = np.zeros(n, dtype=np.int64)
    best = np.empty(k, dtype=np.float64)  # the k largest scores seen, descending
    pos = 0
    rp = 0  # next entry of ``running``
    for i in range(n):
        if not take[i]:
            continue
        lo, hi = ptr[i], ptr[i + 1]
        while rp < running.size and running[rp] < lo:
            rp += 1
        if hi - lo <= k:
            for j in range(lo, hi):
                out[pos] = j
                pos += 1
            counts[i] = hi - lo
            continue
        for j in range(k):
            best[j] = score[lo + j]
        best[:] = -np.sort(-best)
        for j in range(lo + k, hi):
            s = score[j]
            if s > best[k - 1]:
                m = k - 1
                while m > 0 and best[m - 1] < s:
                    best[m] = best[m - 1]
                    m -= 1
                best[m] = s
        threshold = best[k - 1]
        quota = 0  # how many entries equal to the threshold make the top k
        for j in range(k):
            if best[j] == threshold:
                quota += 1
        start = pos
        for j in range(lo, hi):
            s = score[j]
            now = rp < running.size and running[rp] == j
            if now:
                rp += 1
            keep = s > threshold or now
            if s == threshold and quota > 0:
                quota -= 1
                keep = True
            if keep:
                out[pos] = j
                pos += 1
        counts[i] = pos - start
    return counts


def _room(free: IntArray, c: int, request: IntArray, cap: int) -> int:
    """Replicas of ``request`` that fit on cluster ``c`` (at most ``cap``)."""
    room = cap
    for r in range(request.size):
        q = request[r]
        if q > 0:
            room = min(room, max(free[c, r], 0) // q)
    return room


def _complete_kernel(
    order: IntArray,
    scratch: bool,
    ptr: IntArray,
    cand_idx: IntArray,
    current: IntArray,
    score: FloatArray,
    costs: FloatArray,
    weights: FloatArray,
    requests: IntArray,
    replicas: IntArray,
    free: IntArray,
    k_ptr: IntArray,
    kept: IntArray,
    x_kept: IntArray,
    rank_at: IntArray,
    rank: IntArray,
    out_entry: IntArray,
    out_reps: IntArray,
    out_ptr: IntArray,
    ok: BoolArray,
) -> None:
    """Complete each task of ``order`` on all its candidates or remove it (see ``Flow._repair``).

    ``weights`` = (placed weight, cost weight, churn). A task starts from its kept entries' flow
    replicas (``scratch``: from nothing) and fills the rest in value order (ties: the earlier
    candidate), each cluster up to what fits in every resource; if all its candidates together
    cannot take the rest, the task is removed and its replicas released. Fills ``out_*`` with each
    task's whole placement (entry index, replicas) and ``ok``; ``free`` is updated in place.

    ``rank_at[i] >= 0``: task ``i`` runs nothing now, so its candidates' values do not depend on
    the replicas it holds, and ``rank[rank_at[i]:rank_at[i] + m]`` lists its candidates in value
    order (computed once per twin); it then takes room in that order and stops as soon as the rest
    is covered (the same answer as scanning every candidate, without the room of all of them).
    """
    pos = 0
    for t in range(order.size):
        i = order[t]
        lo, hi = ptr[i], ptr[i + 1]
        m = hi - lo
        request = requests[i]
        local = np.zeros(m, dtype=np.int64)
        if not scratch:
            for p in range(k_ptr[i], k_ptr[i + 1]):
                local[kept[p] - lo] = x_kept[p]
        need = replicas[i] - local.sum()
        add = np.zeros(m, dtype=np.int64)
        if need > 0 and rank_at[i] >= 0:
            got = 0
            base = rank_at[i]
            for q in range(m):
                j = rank[base + q]
                room = _room(free, cand_idx[lo + j], request, need - got)
                if room > 0:
                    add[j] = room
                    got += room
                    if got >= need:
                        break
            if got >= need:
                need = 0
        elif need > 0:
            fit = np.zeros(m, dtype=np.int64)
            total = 0
            for j in range(m):
                fit[j] = _room(free, cand_idx[lo + j], request, need)
                total += fit[j]
            if total >= need:
                while need > 0:  # the best candidate with room, then the next, ...
                    pick = -1
                    best = 0.0
                    for j in range(m):
                        if fit[j] > 0:
                            e = lo + j
                            value = weights[0] + score[e] - weights[1] * costs[cand_idx[e]]
                            if current[e] > local[j]:
                                value += weights[2]
                            if pick < 0 or value > best:
                                pick = j
                                best = value
                    got = min(fit[pick], need)
                    add[pick] = got
                    fit[pick] = 0
                    need -= got
        if need > 0:  # not enough room anywhere: remove the task, release what it held
            for j in range(m):
                if local[j] > 0:
                    c = cand_idx[lo + j]
                    for r in range(request.size):
                        free[c, r] += local[j] * request[r]
            ok[t] = False
            out_ptr[t + 1] = pos
            continue
        for j in range(m):
            if add[j] > 0:
                c = cand_idx[lo + j]
                for r in range(request.size):
                    free[c, r] -= add[j] * request[r]
                local[j] += add[j]
            if local[j] > 0:
                out_entry[pos] = lo + j
                out_reps[pos] = local[j]
                pos += 1
        ok[t] = True
        out_ptr[t + 1] = pos


def _value(score: FloatArray, costs: FloatArray, cand_idx: IntArray, weights: FloatArray, e: int) -> float:
    """What one replica on candidate entry ``e`` adds (churn aside)."""
    return float(weights[0] + score[e] - weights[1] * costs[cand_idx[e]])


def _best_move(
    ptr: IntArray,
    cand_idx: IntArray,
    score: FloatArray,
    costs: FloatArray,
    weights: FloatArray,
    free: IntArray,
    j: int,
    away: int,
    request: IntArray,
) -> int:
    """The most valuable candidate entry of task ``j`` (not on cluster ``away``) with room for one
    more replica in every resource; -1 when there is none."""
    pick = -1
    best = 0.0
    for ek in range(ptr[j], ptr[j + 1]):
        ck = cand_idx[ek]
        if ck != away and _room(free, ck, request, 1) > 0:
            v = _value(score, costs, cand_idx, weights, ek)
            if pick < 0 or v > best:
                pick = ek
                best = v
    return pick


def _kept_churn(current: IntArray, e: int, before: int, after: int) -> int:
    """Change in the replicas entry ``e`` keeps where they run now, going from ``before`` to ``after``."""
    return int(min(current[e], after) - min(current[e], before))


def _move_kernel(
    order: IntArray,
    ptr: IntArray,
    cand_idx: IntArray,
    current: IntArray,
    score: FloatArray,
    costs: FloatArray,
    weights: FloatArray,
    requests: IntArray,
    replicas: IntArray,
    free: IntArray,
    at: IntArray,
    res_ptr: IntArray,
    res_entry: IntArray,
    clusters_tried: int,
    budget: int,
    log_size: int,
    ok: BoolArray,
) -> None:
    """Place each task of ``order`` (placed nowhere) by moving replicas of placed tasks away from its
    candidates (see ``Flow._move``). ``at``: replicas per candidate entry; ``res_*``: the placed
    entries per cluster; ``weights`` = (placed weight, cost weight, churn). A task is placed only
    when it fits whole and the objective gains; otherwise every move is undone."""
    churn = weights[2]
    log_from = np.zeros(log_size, dtype=np.int64)
    log_to = np.zeros(log_size, dtype=np.int64)
    log_n = np.zeros(log_size, dtype=np.int64)
    for t in range(order.size):
        task = order[t]
        lo, hi = ptr[task], ptr[task + 1]
        request = requests[task]
        need = replicas[task]
        value = np.empty(hi - lo, dtype=np.float64)
        for j in range(hi - lo):
            value[j] = _value(score, costs, cand_idx, weights, lo + j)
        rank = np.argsort(-value, kind="mergesort")
        take = np.zeros(hi - lo, dtype=np.int64)
        moves = 0
        gain = 0.0
        freed = 0
        work = 0  # candidate entries looked at while making room
        for b in range(hi - lo):
            if need == 0:
                break
            e = lo + rank[b]
            c = cand_idx[e]
            if _room(free, c, request, need) < need and freed < clusters_tried:
                freed += 1
                for k in range(res_ptr[c], res_ptr[c + 1]):
                    if _room(free, c, request, need) >= need or moves == log_size or work > budget:
                        break
                    ej = res_entry[k]
                    j = np.searchsorted(ptr, ej, side="right") - 1
                    if at[ej] <= 0 or j == task:
                        continue
                    other = requests[j]
                    want = 0  # replicas of j to move: enough to cover every resource's shortfall
                    for r in range(request.size):
                        short = need * request[r] - max(free[c, r], 0)
                        if request[r] > 0 and short > 0 and other[r] > 0:
                            want = max(want, -(-short // other[r]))
                    want = min(want, at[ej])
                    while want > 0 and moves < log_size:
                        ek = _best_move(ptr, cand_idx, score, costs, weights, free, j, c, other)
                        work += ptr[j + 1] - ptr[j]
                        if ek < 0:
                            break
                        n = min(want, _room(free, cand_idx[ek], other, want))
                        step = _value(score, costs, cand_idx, weights, ek) - _value(
                            score, costs, cand_idx, weights, ej
                        )
                        gain += n * step + churn * (
                            _kept_churn(current, ej, at[ej], at[ej] - n)
                            + _kept_churn(current, ek, at[ek], at[ek] + n)
                        )
                        at[ej] -= n
                        at[ek] += n
                        for r in range(request.size):
                            free[c, r] += n * other[r]
                            free[cand_idx[ek], r] -= n * other[r]
                        log_from[moves] = ej
                        log_to[moves] = ek
                        log_n[moves] = n
                        moves += 1
                        want -= n
            got = min(_room(free, c, request, need), need)
            if got > 0:
                take[rank[b]] = got
                gain += got * value[rank[b]] + churn * _kept_churn(current, e, 0, got)
                at[e] += got
                for r in range(request.size):
                    free[c, r] -= got * request[r]
                need -= got
        if need == 0 and gain > 0:
            ok[t] = True
            continue
        for j in range(hi - lo):  # undo: the task's replicas, then the moves, last first
            if take[j] > 0:
                at[lo + j] -= take[j]
                for r in range(request.size):
                    free[cand_idx[lo + j], r] += take[j] * request[r]
        for m in range(moves - 1, -1, -1):
            ej, ek, n = log_from[m], log_to[m], log_n[m]
            other = requests[np.searchsorted(ptr, ej, side="right") - 1]
            at[ej] += n
            at[ek] -= n
            for r in range(request.size):
                free[cand_idx[ej], r] -= n * other[r]
                free[cand_idx[ek], r] += n * other[r]


def _select_numpy(
    ptr: IntArray, score: FloatArray, running: IntArray, take: BoolArray, k: int, out: IntArray
) -> IntArray:
    """``_select_kernel`` in numpy, one task at a time (``Problem.prune``'s rule)."""
    n = ptr.size - 1
    counts = np.zeros(n, dtype=np.int64)
    pos = 0
    for i in np.flatnonzero(take).tolist():
        lo, hi = int(ptr[i]), int(ptr[i + 1])
        if hi - lo <= k:
            idx = np.arange(lo, hi)
        else:
            mask = np.zeros(hi - lo, dtype=np.bool_)
            mask[np.argsort(-score[lo:hi], kind="stable")[:k]] = True
            now = running[np.searchsorted(running, lo) : np.searchsorted(running, hi)]
            mask[now - lo] = True
            idx = lo + np.flatnonzero(mask)
        counts[i] = idx.size
        out[pos : pos + idx.size] = idx
        pos += idx.size
    return counts


def _complete_numpy(
    order: IntArray,
    scratch: bool,
    ptr: IntArray,
    cand_idx: IntArray,
    current: IntArray,
    score: FloatArray,
    costs: FloatArray,
    weights: FloatArray,
    requests: IntArray,
    replicas: IntArray,
    free: IntArray,
    k_ptr: IntArray,
    kept: IntArray,
    x_kept: IntArray,
    rank_at: IntArray,
    rank: IntArray,
    out_entry: IntArray,
    out_reps: IntArray,
    out_ptr: IntArray,
    ok: BoolArray,
) -> None:
    """``_complete_kernel`` in numpy, one task at a time (the same answers; the value order is
    recomputed per task, so ``rank_at`` and ``rank`` are not read)."""
    pos = 0
    for t, i in enumerate(order.tolist()):
        lo, hi = int(ptr[i]), int(ptr[i + 1])
        cand = cand_idx[lo:hi]
        req = requests[i]
        local = np.zeros(hi - lo, dtype=np.int64)
        if not scratch:
            a, b = int(k_ptr[i]), int(k_ptr[i + 1])
            local[kept[a:b] - lo] = x_kept[a:b]
        need = int(replicas[i] - local.sum())
        if need > 0:
            fit = np.full(cand.size, need, dtype=np.int64)
            for r in np.flatnonzero(req > 0).tolist():
                fit = np.minimum(fit, np.maximum(free[cand, r], 0) // req[r])
            if int(fit.sum()) < need:
                free[cand] += local[:, None] * req[None, :]
                ok[t] = False
                out_ptr[t + 1] = pos
                continue
            value = (
                weights[0] + score[lo:hi] - weights[1] * costs[cand] + weights[2] * (current[lo:hi] > local)
            )
            best = np.argsort(-value, kind="stable")
            got = fit[best]
            add = np.minimum(got, np.maximum(need - (np.cumsum(got) - got), 0))
            local[best] += add
            free[cand[best]] -= add[:, None] * req[None, :]
        nz = np.flatnonzero(local > 0)
        out_entry[pos : pos + nz.size] = lo + nz
        out_reps[pos : pos + nz.size] = local[nz]
        pos += nz.size
        ok[t] = True
        out_ptr[t + 1] = pos


def _split_kernel(
    cls_ptr: IntArray,
    members: IntArray,
    t_ptr: IntArray,
    reps: IntArray,
    ub: IntArray,
    merged: IntArray,
    out: IntArray,
) -> None:
    """Split each merged node's replicas per entry (``merged``, on the entries of its first task)
    over its tasks: whole tasks first, in placement order, each on the entries in their order and
    never above its own ``ub``; written per task entry into ``out``. Filling tasks one after the
    other leaves at most one task of a node partly placed where the flow's whole-task split would."""
    for c in range(cls_ptr.size - 1):
        first = members[cls_ptr[c]]
        lo = t_ptr[first]
        m = t_ptr[first + 1] - lo
        for k in range(cls_ptr[c], cls_ptr[c + 1]):
            t = members[k]
            need = reps[t]
            base = t_ptr[t]
            for j in range(m):
                if need <= 0:
                    break
                take = min(merged[lo + j], ub[base + j], need)
                if take > 0:
                    out[base + j] = take
                    merged[lo + j] -= take
                    need -= take


def _add_at_kernel(out: IntArray, groups: IntArray, values: IntArray) -> None:
    """``np.add.at(out, groups, values)`` as a loop (compiled: ~50x faster than the ufunc method)."""
    for k in range(groups.size):
        out[groups[k]] += values[k]


_add_at: Callable[..., None] = np.add.at
_select: Callable[..., IntArray] = _select_numpy
_split: Callable[..., None] = _split_kernel
_complete: Callable[..., None] = _complete_numpy
_move: Callable[..., None] = _move_kernel  # plain Python without numba: the same answers, slower
if _numba is not None:  # pragma: no branch
    _room = _numba.njit(cache=True, nogil=True, inline="always")(_room)
    _value = _numba.njit(cache=True, nogil=True, inline="always")(_value)
    _best_move = _numba.njit(cache=True, nogil=True)(_best_move)
    _kept_churn = _numba.njit(cache=True, nogil=True, inline="always")(_kept_churn)
    _move = cast(Callable[..., None], _numba.njit(cache=True, nogil=True)(_move_kernel))
    _select = cast(Callable[..., IntArray], _numba.njit(cache=True, nogil=True)(_select_kernel))
    _complete = cast(Callable[..., None], _numba.njit(cache=True, nogil=True)(_complete_kernel))
    _split = cast(Callable[..., None], _numba.njit(cache=True, nogil=True)(_split_kernel))
    _add_at = cast(Callable[..., None], _numba.njit(cache=True, nogil=True)(_add_at_kernel))


# -- helpers ---------------------------------------------------------------------------------------


def _kept_entries(
    problem: Problem, take: BoolArray, top_k: int | None, running: IntArray | None = None
) -> tuple[IntArray, IntArray]:
    """Kept candidate entries (ascending) of the tasks in ``take`` and their CSR pointer per task;
    ``running``: the entries with current replicas (computed when not given). With the problem's
    ``twin``, the top-k is selected once per twin and copied to the tasks that share its entries."""
    ptr = problem.cand_ptr
    if top_k is None:
        counts = np.where(take, np.diff(ptr), 0)
        kept = np.flatnonzero(np.repeat(take, np.diff(ptr)))
        return kept, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    top_k = min(top_k, max(1, int(np.diff(ptr).max(initial=1))))  # the kernel buffers top_k scores
    running = np.flatnonzero(problem.current) if running is None else running
    tasks = np.arange(problem.size, dtype=np.int64)
    twin = tasks if problem.twin is None else np.where(take[problem.twin], problem.twin, tasks)
    lead = take & (twin == tasks)
    room = int(np.minimum(np.diff(ptr), top_k)[lead].sum() + running.size)
    out = np.empty(room, dtype=np.int64)
    lead_counts = _select(ptr, problem.score, running, lead, top_k, out)
    if bool((lead == take).all()):
        kept = out[: int(lead_counts.sum())]
        return kept, np.concatenate([[0], np.cumsum(lead_counts)]).astype(np.int64)
    lead_ptr = np.concatenate([[0], np.cumsum(lead_counts)]).astype(np.int64)
    counts = np.where(take, lead_counts[twin], 0)
    k_ptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    task = np.repeat(tasks, counts)
    j = np.arange(task.size, dtype=np.int64) - k_ptr[task]
    source = twin[task]
    return ptr[task] + (out[lead_ptr[source] + j] - ptr[source]), k_ptr


def best_per_task(ptr: IntArray, values: FloatArray, k: int) -> IntArray:
    """Positions (ascending) of the ``k`` largest ``values`` of each segment ``ptr[i]:ptr[i+1]``
    (ties: the earlier position first)."""
    n = ptr.size - 1
    k = min(k, max(1, int(np.diff(ptr).max(initial=1))))
    out = np.empty(int(np.minimum(np.diff(ptr), k).sum()), dtype=np.int64)
    counts = _select(ptr, values, np.zeros(0, dtype=np.int64), np.ones(n, dtype=np.bool_), k, out)
    return out[: int(counts.sum())]


def top_k_entries(problem: Problem, top_k: int) -> BoolArray:
    """The candidate entries ``problem.prune(top_k)`` keeps, as a mask over the problem's entries."""
    if top_k < 1:
        raise InvalidInput(f"must be at least 1, got {top_k}", path="top_k")
    kept, _ = _kept_entries(problem, np.ones(problem.size, dtype=np.bool_), top_k)
    mask = np.zeros(problem.cand_idx.size, dtype=np.bool_)
    mask[kept] = True
    return mask


def flow_tasks(problem: Problem) -> BoolArray:
    """Which tasks the flow model places (see the module docstring); the rest go to the engine."""
    return _in_flow(problem, _unbound(problem))


def _in_flow(problem: Problem, unbound: BoolArray) -> BoolArray:
    """``flow_tasks`` from the tasks ``_unbound`` already found."""
    return ~problem.duplicated & (problem.pick_n < 0) & unbound


def _unbound(problem: Problem) -> BoolArray:
    """Tasks outside every anti-affinity group whose policy binds no spread (no maxGroups, no
    minGroups above 1, no topologySpreadConstraints); each policy is looked at once."""
    ok = np.ones(problem.size, dtype=np.bool_)
    for members in problem.anti_affinity:
        if len(members) > 1:
            ok[list(members)] = False
    binding: dict[int, bool] = {}
    for i, task in enumerate(problem.tasks):
        if not ok[i]:
            continue
        policy = task.policy
        spread = binding.get(id(policy))
        if spread is None:
            spread = binding[id(policy)] = bool(policy.topology_spread_constraints) or any(
                sc.max_groups > 0 or sc.effective_min > 1 for sc in policy.spread_constraints
            )
        if spread:
            ok[i] = False
    return ok


def _classes(
    requests: IntArray,
    clusters: IntArray,
    value: FloatArray,
    t_ptr: IntArray,
    cur: IntArray,
    reps: IntArray,
    hint: IntArray | None = None,
) -> tuple[IntArray, IntArray]:
    """Nodes of the flow network: tasks (rows of ``requests``; their entries ``t_ptr[t]:t_ptr[t+1]``
    of ``clusters`` and ``value``) with the same request, clusters and values, replicas to place and
    nothing running now share one. Returns the node of each task (numbered in order of first
    appearance) and, per entry, the entry of its node's first task at the same position.

    Tasks are grouped by ``hint`` (a label per task that equal tasks share, such as the problem's
    twins) or else by a hash of their entries, then every member is compared entry by entry with its
    node's first task; a member that differs gets a node of its own, so the grouping is exact."""
    n = t_ptr.size - 1
    counts = np.diff(t_ptr)
    task = np.repeat(np.arange(n, dtype=np.int64), counts)
    alone = reps <= 0
    alone[task[cur > 0]] = True
    pos = np.arange(task.size, dtype=np.int64) - t_ptr[task]
    if hint is not None:
        label = np.where(alone, n + np.arange(n, dtype=np.int64), hint)
        _, lead_of_label, inverse = np.unique(label, return_index=True, return_inverse=True)
        lead = lead_of_label[inverse.reshape(-1)]
    else:
        fp = _fingerprint(clusters, value, t_ptr, task, pos)
        solo = np.where(alone, np.arange(1, n + 1, dtype=np.int64), 0).astype(np.uint64)
        keys = np.column_stack([solo, fp, counts.astype(np.uint64), requests.astype(np.uint64)])
        _, lead_of_key, inverse = np.unique(keys, axis=0, return_index=True, return_inverse=True)
        lead = lead_of_key[inverse.reshape(-1)]
    bad = (counts != counts[lead]) | (requests != requests[lead]).any(axis=1)
    lead[bad] = np.flatnonzero(bad)
    rep_entry = t_ptr[lead][task] + pos
    differs = (clusters != clusters[rep_entry]) | (value.view(np.uint64) != value.view(np.uint64)[rep_entry])
    if differs.any():  # a hash collision or a wrong hint: those tasks stand alone
        odd = np.zeros(n, dtype=np.bool_)
        odd[task[differs]] = True
        lead[odd] = np.flatnonzero(odd)
        rep_entry = t_ptr[lead][task] + pos
    _, cls = np.unique(lead, return_inverse=True)  # numbered by first task: first appearance
    return cls.reshape(-1).astype(np.int64), rep_entry


def _fingerprint(
    clusters: IntArray, value: FloatArray, t_ptr: IntArray, task: IntArray, pos: IntArray
) -> NDArray[np.uint64]:
    """A 64-bit hash per task of its entries (cluster, value, position), for grouping."""
    n = t_ptr.size - 1
    counts = np.diff(t_ptr)
    fp = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        mix = (clusters.astype(np.uint64) + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
        mix ^= value.view(np.uint64) * np.uint64(0xC2B2AE3D27D4EB4F)
        mix += pos.astype(np.uint64) * np.uint64(0x165667B19E3779F9)
        mix ^= mix >> np.uint64(29)
        nz = counts > 0
        if task.size:
            fp[nz] = np.add.reduceat(mix, t_ptr[:-1][nz])
    return fp


def _value_ranks(
    problem: Problem, todo: IntArray, costs: FloatArray, weights: FloatArray
) -> tuple[IntArray, IntArray]:
    """For the completion kernel: per task of ``todo`` that runs nothing now, the offset in the
    returned ``rank`` of its candidates' positions in value order (ties: the earlier candidate),
    computed once per twin; -1 for every other task. The value is the kernel's own expression."""
    ptr = problem.cand_ptr
    rank_at = np.full(problem.size, -1, dtype=np.int64)
    running = _running(problem)
    twin = np.arange(problem.size, dtype=np.int64) if problem.twin is None else problem.twin
    parts: list[IntArray] = []
    size = 0
    done: dict[int, int] = {}
    for i in todo[~running[todo]].tolist():
        lead = int(twin[i]) if not running[int(twin[i])] else i
        at = done.get(lead)
        if at is None:
            lo, hi = int(ptr[lead]), int(ptr[lead + 1])
            value = weights[0] + problem.score[lo:hi] - weights[1] * costs[problem.cand_idx[lo:hi]]
            parts.append(np.argsort(-value, kind="stable").astype(np.int64))
            at = done[lead] = size
            size += hi - lo
        rank_at[i] = at
    return rank_at, np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def _segment_sum(values: IntArray, groups: IntArray, size: int) -> IntArray:
    """Exact integer sums of ``values`` by group (``np.bincount`` would sum in float64)."""
    out = np.zeros(size, dtype=np.int64)
    if values.size:
        _add_at(out, groups, values.astype(np.int64, copy=False))
    return out


def _usage(problem: Problem, clusters: IntArray, task: IntArray, x: IntArray) -> IntArray:
    """C x R capacity used by ``x`` replicas of tasks ``task`` on ``clusters``."""
    size, r_count = problem.capacity.shape
    used = np.zeros((size, r_count), dtype=np.int64)
    live = x > 0
    c, t, n = clusters[live], task[live], x[live]
    for r in range(r_count):
        used[:, r] = _segment_sum(n * problem.requests[t, r], c, size)
    return used


@dataclass(frozen=True, slots=True)
class _Network:
    """The min-cost-flow model of the flow tasks and what is needed to read its solution back."""

    entries: IntArray  # positions (into the kept entries) a task can use (room for a replica)
    entry_task: IntArray  # per such entry: position of its task among the flow tasks
    task_ptr: IntArray  # a flow task's entries: ``entries[task_ptr[t]:task_ptr[t + 1]]``
    task_class: IntArray  # per flow task: its node (interchangeable tasks share one)
    ub: IntArray  # per entry: replicas of its task that fit on the cluster alone
    reps: IntArray  # per flow task: replicas to place
    arc_entry: IntArray  # per node->cluster arc: position in ``entries`` (of the node's first task)
    first_arc: int  # arcs before this are the "not placed" arcs, one per node
    units: IntArray  # per flow task: units per replica (w_i)
    scale: float  # integer cost = -round(value per unit x scale)
    allowance: float  # max |true - rounded| flow value over any flow, in objective units
    exact_unit: bool
    unit: int
    resource: str
    tails: NDArray[np.int32]
    heads: NDArray[np.int32]
    caps: IntArray
    costs: IntArray
    supplies: IntArray


@dataclass(frozen=True)
class Flow:
    """Min-cost flow over each task's top-k candidates (see the module docstring for the model,
    the semantics of tasks it cannot express, and when the result is OPTIMAL).

    ``resource`` is the dominant resource the flow counts in (default: the one with the highest
    total demand / capacity ratio among the flow tasks); ``top_k=None`` keeps every candidate.
    ``relaxation="lp"`` replaces the min-cost flow by the LP relaxation over every resource
    (HiGHS, ``bounds.lp_replicas``), rounded down and then repaired the same way, and first places
    the PickN workloads without spread or anti-affinity where the LP of the whole batch puts them
    (``_guided``) instead of by the engine: much better answers on multi-resource batches, at LP
    cost (a second or two at thousands of workloads; not meant for 100k).
    Deterministic: the same problem and settings give the same solution.
    """

    top_k: int | None = 20
    resource: str | None = None
    objective: Objective = field(default_factory=Objective)
    relaxation: Literal["flow", "lp"] = "flow"
    name: str = "flow"

    def solve(self, problem: Problem) -> Solution:
        """Place the problem's tasks: the engine for the tasks flow cannot express, then the flow."""
        start = time.perf_counter()
        if self.top_k is not None and (isinstance(self.top_k, bool) or self.top_k < 1):
            raise InvalidInput(f"must be at least 1, got {self.top_k}", path="top_k")
        if self.relaxation not in ("flow", "lp"):
            raise InvalidInput(f"expected flow or lp, got {self.relaxation!r}", path="relaxation")
        if self.resource is not None and self.resource not in problem.index.resources:
            raise InvalidInput(
                f"unknown resource {self.resource!r}: expected one of {', '.join(problem.index.resources)}",
                path="resource",
            )
        notes: list[str] = []
        unbound = _unbound(problem)
        in_flow = _in_flow(problem, unbound)
        others = np.flatnonzero(~in_flow)
        tasks_f = np.flatnonzero(in_flow)
        modelled = not others.size and tasks_f.size > 0  # every task in the flow model: it bounds them all

        # 1. Tasks the flow cannot express: with the LP relaxation, PickN workloads without spread
        # or anti-affinity go where the whole batch's LP puts them; the rest through the engine.
        guided, g_entries, g_reps = (
            _guided(problem, others[unbound[others]], self.objective)
            if self.relaxation == "lp"
            else (_NONE, _NONE, _NONE)
        )
        if guided.size:
            others = others[~np.isin(others, guided)]
            notes.append(
                f"{guided.size} PickN task(s) placed where the LP relaxation of the whole batch puts them"
            )
        g_used = _usage(
            problem,
            problem.cand_idx[g_entries],
            np.searchsorted(problem.cand_ptr, g_entries, side="right") - 1,
            g_reps,
        )
        rest, used = self._engine(problem, others, g_used)
        capacity = problem.capacity - used - g_used
        if others.size:
            notes.append(
                f"{others.size} task(s) placed by the greedy engine first (Duplicated, PickN, spread or "
                "anti-affinity: not expressible as flow)"
            )

        # 2. The flow over the Divided tasks' (top-k) candidates.
        running = np.flatnonzero(problem.current)
        kept, k_ptr = _kept_entries(problem, in_flow, self.top_k, running)
        k_task = np.repeat(np.arange(problem.size, dtype=np.int64), np.diff(k_ptr))
        pruned = bool((np.diff(k_ptr) < np.diff(problem.cand_ptr))[in_flow].any())
        if pruned:
            notes.append(
                f"top_k={self.top_k}: the flow is optimal over each task's top {self.top_k} candidates "
                "only, so it proves no bound for the full problem"
            )
        costs = self.objective.costs(problem)
        weights = np.array(
            [self.objective.placed_weight(problem), self.objective.cost, self.objective.churn],
            dtype=np.float64,
        )
        # 2-3. The flow, then whole replicas, every resource within capacity, all or nothing per task.
        flow_entries, flow_reps, placed, net, flow_value, flow_notes = self._flow_and_repair(
            problem, tasks_f, kept, k_ptr, k_task, capacity, weights, costs
        )
        notes += flow_notes
        flow_entries, flow_reps, placed, moved = self._move(
            problem, tasks_f, flow_entries, flow_reps, placed, capacity, weights, costs, kept
        )
        if moved:
            notes.append(f"moved: {moved} task(s) placed by moving other tasks' replicas out of their way")
        if guided.size:
            flow_entries, flow_reps, placed, tasks_f = _join(
                (flow_entries, flow_reps, placed, tasks_f), guided, g_entries, g_reps
            )
        if rest is not None:
            picked, p_entries, p_reps = _pick_left_out(
                problem, rest, others, unbound, capacity + g_used, flow_entries, flow_reps, weights, costs
            )
            if picked.size:
                notes.append(
                    f"picked: {picked.size} Divided PickN task(s) the engine's selection left out, "
                    "placed on clusters of theirs with room"
                )
                flow_entries, flow_reps, placed, tasks_f = _join(
                    (flow_entries, flow_reps, placed, tasks_f), picked, p_entries, p_reps
                )
                stay = ~np.isin(others, picked)
                rest, others = _rows(rest, stay), others[stay]
        assignment, entries = self._assemble(problem, tasks_f, flow_entries, flow_reps, placed, rest, others)
        value = _evaluate(problem, self.objective, assignment, entries, costs, weights, running)

        # 4. Status and bound.
        status: Status = "FEASIBLE"
        bound: float | None = None
        if net is not None and flow_value is not None and net.exact_unit and not pruned and modelled:
            const = -weights[2] * float(problem.current[running].sum() + problem.moved_anyway.sum())
            bound = max(flow_value + net.allowance + const, value)
            if value >= bound - 2.0 * net.allowance - 1e-9 * max(1.0, abs(bound)):
                status = "OPTIMAL"
        elif problem.size == 0:
            status, bound = "OPTIMAL", value
        return Solution(
            solver=self.name,
            status=status,
            problem=problem,
            assignment=assignment,
            objective=value,
            bound=bound,
            seconds=time.perf_counter() - start,
            reasons=tuple(notes),
        )

    def _flow_and_repair(
        self,
        problem: Problem,
        tasks_f: IntArray,
        kept: IntArray,
        k_ptr: IntArray,
        k_task: IntArray,
        capacity: IntArray,
        weights: FloatArray,
        costs: FloatArray,
    ) -> tuple[IntArray, IntArray, BoolArray, _Network | None, float | None, list[str]]:
        """The flow over the kept entries, then the repair: the placed (entry, replicas) pairs, which
        tasks are placed, the network, the flow's value and notes."""
        notes: list[str] = []
        coef = weights[0] + problem.score[kept] - weights[1] * costs[problem.cand_idx[kept]]
        x = np.zeros(kept.size, dtype=np.int64)
        flow_value: float | None = None
        if self.relaxation == "lp" and tasks_f.size:
            # Every resource's capacity at once, fractional: whole replicas are what it rounds down to.
            rest_capacity = dataclasses.replace(problem, capacity=capacity)
            x = np.floor(lp_replicas(rest_capacity, kept, self.objective) + 1e-9).astype(np.int64)
            notes.append(
                f"LP relaxation over {tasks_f.size} task(s) and {kept.size} candidate(s), rounded down"
            )
            net = None
        else:
            net = self._network(problem, tasks_f, kept, k_task, coef, capacity)
        if net is not None:
            flow_value, x_net = self._run(net)
            x[net.entries] = x_net
            kind = "slot model" if bool((net.units == 1).all()) else "resource units"
            notes.append(
                f"flow: {tasks_f.size} task(s), {net.tails.size} arcs, dominant resource {net.resource} "
                f"in units of {net.unit} ({kind}{'' if net.exact_unit else ', rounded up: no bound'})"
            )
        entries, reps, placed, counts = self._repair(
            problem, tasks_f, kept, k_ptr, k_task, x, coef, capacity, weights, costs
        )
        if any(counts):
            notes.append(
                f"rounded/repaired: {counts[0]} replica(s) shed from clusters over capacity, {counts[1]} "
                f"task(s) completed by the repair pass, {counts[2]} task(s) left unplaced (all or nothing)"
                + (f", best of {counts[3]} completion orders" if counts[3] > 1 else "")
            )
        return entries, reps, placed, net, flow_value, notes

    def _move(
        self,
        problem: Problem,
        tasks_f: IntArray,
        entries: IntArray,
        reps: IntArray,
        placed: BoolArray,
        capacity: IntArray,
        weights: FloatArray,
        costs: FloatArray,
        kept: IntArray,
    ) -> tuple[IntArray, IntArray, BoolArray, int]:
        """Place the flow tasks the repair left out by moving placed flow tasks' replicas to their other
        candidates with room: the smallest first; on each of its best ``_MOVE_CLUSTERS`` candidates
        short of room, the tasks there move just enough replicas (to their most valuable candidate
        with room) for it to fit. Kept only when the task then fits whole and the objective gains.
        Returns the placement, which tasks are placed, and how many the moves placed.

        On problems of more than ``_MOVE_FULL`` candidate entries the pass works on a compact set:
        every candidate of the tasks left out, and of the others the network's (``kept``, each
        task's top-k) and the ones they run on, so a resident moves to one of its top-k clusters
        only (at 100k x 5k with pools of 500 the full entry set alone took seconds to lay out; on
        small batches the whole pools matter: 500 x 50 mixed lost 5 % of its objective with top-k
        only)."""
        moved = 0
        left = tasks_f[~placed[tasks_f]]
        if not left.size or not entries.size:
            return entries, reps, placed, moved
        ptr = problem.cand_ptr
        counts = np.diff(ptr)[left]
        mine = np.repeat(left, counts)  # every candidate entry of the tasks left out
        own = ptr[mine] + np.arange(mine.size, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)
        if problem.cand_idx.size <= _MOVE_FULL:
            universe = np.arange(problem.cand_idx.size, dtype=np.int64)
        else:
            member = np.zeros(problem.cand_idx.size, dtype=np.bool_)  # a mask: sorting is slower
            member[kept] = True
            member[entries] = True
            member[own] = True
            universe = np.flatnonzero(member)
        task_bounds = np.searchsorted(universe, ptr).astype(np.int64)
        u_idx, u_score, u_cur = problem.cand_idx[universe], problem.score[universe], problem.current[universe]
        at = np.zeros(universe.size, dtype=np.int64)
        at[np.searchsorted(universe, entries)] = reps
        for _ in range(_MOVE_PASSES):  # again while it helps: the residents' lists are rebuilt
            left = tasks_f[~placed[tasks_f]]
            here = np.flatnonzero(at)
            if not left.size or not here.size:
                break
            task_of = np.searchsorted(task_bounds, here, side="right") - 1
            clusters = u_idx[here]
            free = capacity - _usage(problem, clusters, task_of, at[here])
            by_cluster = np.argsort(clusters, kind="stable")
            res_ptr = np.searchsorted(clusters[by_cluster], np.arange(problem.index.size + 1))
            total = np.maximum(problem.capacity.sum(axis=0), 1).astype(np.float64)
            size = (problem.replicas[left, None] * problem.requests[left] / total).max(axis=1, initial=0.0)
            order = left[np.argsort(size, kind="stable")]
            ok = np.zeros(order.size, dtype=np.bool_)
            _move(
                order,
                task_bounds,
                u_idx,
                u_cur,
                u_score,
                costs,
                weights,
                problem.requests,
                problem.replicas,
                free,
                at,
                res_ptr.astype(np.int64),
                here[by_cluster],
                _MOVE_CLUSTERS,
                min(_MOVE_WORK, _MOVE_TOTAL // left.size),
                _MOVE_LOG,
                ok,
            )
            if not ok.any():
                break
            placed = placed.copy()
            placed[order[ok]] = True
            moved += int(ok.sum())
        here = np.flatnonzero(at)
        return universe[here], at[here], placed, moved

    # -- the engine for the tasks flow cannot express ---------------------------------------------

    def _engine(
        self, problem: Problem, others: IntArray, taken: IntArray
    ) -> tuple[Assignment | None, IntArray]:
        """The engine's assignment of tasks ``others`` (in their order) in the capacity ``taken`` does
        not use, and the capacity it uses."""
        used = np.zeros_like(problem.capacity)
        if not others.size:
            return None, used
        index = problem.index
        free = problem.capacity - taken
        for i in others.tolist():  # the engine releases what these tasks run now itself
            for name, n in problem.tasks[i].current.items():
                pos = index.position.get(name)
                if pos is not None and n > 0:
                    free[pos] -= n * problem.requests[i]
        free.setflags(write=False)
        assignment = assign_batch(dataclasses.replace(index, free=free), [problem.tasks[i] for i in others])
        assignment = keep_anti_affinity(problem, assignment, others.tolist())
        assignment = keep_candidates(problem, assignment, others.tolist())
        task_of = np.repeat(others, np.diff(assignment.offsets))
        return assignment, _usage(problem, assignment.clusters, task_of, assignment.replicas)

    # -- the network -------------------------------------------------------------------------------

    def _dominant(self, problem: Problem, tasks_f: IntArray, capacity: IntArray) -> int:
        if self.resource is not None:
            return problem.index.resource_position(self.resource)
        demand = (problem.replicas[tasks_f, None] * problem.requests[tasks_f]).sum(axis=0).astype(np.float64)
        supply = np.maximum(capacity, 0).astype(np.float64).sum(axis=0)
        ratio = np.divide(demand, supply, out=np.full(demand.shape, np.inf), where=supply > 0)
        ratio[demand <= 0] = -1.0
        return int(np.argmax(ratio))

    def _network(
        self,
        problem: Problem,
        tasks_f: IntArray,
        kept: IntArray,
        k_task: IntArray,
        coef: FloatArray,
        capacity: IntArray,
        replicas: IntArray | None = None,
    ) -> _Network | None:
        """The network of tasks ``tasks_f`` over entries ``kept`` (of tasks ``k_task``, worth ``coef``
        per replica) in ``capacity``, for ``replicas`` per task (default: all of each task's)."""
        if not tasks_f.size:
            return None
        n_f, size = tasks_f.size, problem.index.size
        d = self._dominant(problem, tasks_f, capacity)
        q = problem.requests[tasks_f, d]
        reps = problem.replicas[tasks_f] if replicas is None else replicas
        asks = q > 0
        unit = int(np.gcd.reduce(q[asks])) if asks.any() else 1
        units = np.where(asks, q // unit, 1)
        total = int((reps * units).sum())
        exact = True
        if total > _UNIT_LIMIT:  # too many units: round requests up to a coarser unit (no bound)
            unit *= -(-total // _UNIT_LIMIT)
            units = np.where(asks, -(-q // unit), 1)
            total = int((reps * units).sum())
            exact = False
        local = np.full(problem.size, -1, dtype=np.int64)
        local[tasks_f] = np.arange(n_f)

        # per kept entry: replicas that fit alone (every resource), and the two churn segments
        e_local = local[k_task]
        clusters = problem.cand_idx[kept]
        ub = reps[e_local].copy()
        for r in range(problem.capacity.shape[1]):
            req = problem.requests[k_task, r]
            ask = req > 0
            ub[ask] = np.minimum(ub[ask], np.maximum(capacity[clusters[ask], r], 0) // req[ask])
        entries = np.flatnonzero(ub > 0)
        e_local, clusters, ub = e_local[entries], clusters[entries], ub[entries]
        cur = np.minimum(problem.current[kept[entries]], ub)
        w = units[e_local]
        value = coef[entries]

        # Interchangeable tasks share one node: same request, same candidates and values, nothing
        # running now (the churn arcs are per task). Their arcs carry the sum of the members' caps,
        # which keeps the model a relaxation (every assignment of the tasks is a flow of the merged
        # network), and ``_run`` splits each merged flow over the members in placement order.
        t_ptr = np.searchsorted(e_local, np.arange(n_f + 1)).astype(np.int64)
        hint = None if problem.twin is None else problem.twin[tasks_f]
        cls, rep_entry = _classes(problem.requests[tasks_f], clusters, value, t_ptr, cur, reps, hint)
        n_c = int(cls.max(initial=-1)) + 1
        is_rep = rep_entry == np.arange(entries.size)
        class_supply = _segment_sum(reps * units, cls, n_c)
        rest_cap = _segment_sum((ub - cur) * w, rep_entry, entries.size)
        seg_first = np.flatnonzero(cur > 0)  # tasks with replicas running now are never merged
        seg_rest = np.flatnonzero(is_rep & (rest_cap > 0))
        arc_entry = np.concatenate([seg_first, seg_rest])
        arc_cap = np.concatenate([cur[seg_first] * w[seg_first], rest_cap[seg_rest]])
        arc_val = np.concatenate([value[seg_first] + self.objective.churn, value[seg_rest]]) / w[arc_entry]
        order = np.argsort(arc_entry, kind="stable")  # an entry's arcs next to each other
        arc_entry, arc_cap, arc_val = arc_entry[order], arc_cap[order], arc_val[order]

        sink = n_c + size
        top = float(np.abs(arc_val).max(initial=0.0))
        limit = min(_COST_LIMIT, (1 << 62) // (3 * (sink + 2) ** 2), (1 << 62) // max(1, total))
        scale = limit / top if top > 0 else 1.0
        scaled = arc_val * scale
        costs = -np.rint(scaled).astype(np.int64)
        allowance = float(np.abs(scaled + costs).max(initial=0.0)) * total / scale

        heads_entry = np.where(asks[e_local], n_c + clusters, sink)  # a task that does not ask d: no limit
        cluster_cap = np.minimum(np.maximum(capacity[:, d], 0) // unit, total)
        return _Network(
            entries=entries,
            entry_task=e_local,
            task_ptr=t_ptr,
            task_class=cls,
            ub=ub,
            reps=reps,
            arc_entry=arc_entry,
            first_arc=n_c,
            units=units,
            scale=scale,
            allowance=allowance,
            exact_unit=exact,
            unit=unit,
            resource=problem.index.resources[d],
            tails=np.concatenate([np.arange(n_c), cls[e_local[arc_entry]], n_c + np.arange(size)]).astype(
                np.int32
            ),
            heads=np.concatenate([np.full(n_c, sink), heads_entry[arc_entry], np.full(size, sink)]).astype(
                np.int32
            ),
            caps=np.concatenate([class_supply, arc_cap, cluster_cap]).astype(np.int64),
            costs=np.concatenate([np.zeros(n_c, dtype=np.int64), costs, np.zeros(size, dtype=np.int64)]),
            supplies=np.concatenate([class_supply, np.zeros(size, dtype=np.int64), [-total]]).astype(
                np.int64
            ),
        )

    @staticmethod
    def _run(net: _Network) -> tuple[float, IntArray]:
        """Solve; the flow's value (objective units, churn constant excluded) and whole replicas per
        entry of the network (rounded down; a merged node's flow split over its tasks)."""
        smcf = min_cost_flow.SimpleMinCostFlow()
        smcf.add_arcs_with_capacity_and_unit_cost(net.tails, net.heads, net.caps, net.costs)
        smcf.set_nodes_supplies(np.arange(net.supplies.size, dtype=np.int32), net.supplies)
        status = smcf.solve()
        if status != smcf.OPTIMAL:  # pragma: no cover - the "not placed" arcs make it always feasible
            raise TmcError(f"min-cost flow failed with status {status}")
        flows = np.asarray(smcf.flows(np.arange(net.tails.size, dtype=np.int32)), dtype=np.int64)
        value = -float(smcf.optimal_cost()) / net.scale
        per_arc = flows[net.first_arc : net.first_arc + net.arc_entry.size]
        units = _segment_sum(per_arc, net.arc_entry, net.entries.size)
        merged = units // net.units[net.entry_task]
        out = np.zeros(net.entries.size, dtype=np.int64)
        order = np.argsort(net.task_class, kind="stable")
        cls_ptr = np.searchsorted(net.task_class[order], np.arange(int(net.task_class.max(initial=-1)) + 2))
        _split(cls_ptr.astype(np.int64), order.astype(np.int64), net.task_ptr, net.reps, net.ub, merged, out)
        return value, out

    # -- rounding and repair -----------------------------------------------------------------------

    def _repair(
        self,
        problem: Problem,
        tasks_f: IntArray,
        kept: IntArray,
        k_ptr: IntArray,
        k_task: IntArray,
        x: IntArray,
        coef: FloatArray,
        capacity: IntArray,
        weights: FloatArray,
        costs: FloatArray,
    ) -> tuple[IntArray, IntArray, BoolArray, tuple[int, int, int, int]]:
        """Make the flow's replicas (``x`` per kept entry) feasible in every resource and all or
        nothing per task. Returns the placed (entry, replicas) pairs, which tasks are placed, and
        (replicas shed, tasks completed, tasks dropped)."""
        n = problem.size
        placed = np.zeros(n, dtype=np.bool_)
        if not tasks_f.size:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, placed, (0, 0, 0, 0)
        short = np.zeros(n, dtype=np.bool_)
        short[tasks_f] = _segment_sum(x, k_task, n)[tasks_f] < problem.replicas[tasks_f]
        clusters = problem.cand_idx[kept]

        # Clusters over capacity (the flow counted one resource) shed replicas: of partly placed
        # tasks first, then the lowest value first. One pass covers every excess: an entry cut
        # short covers the remaining excess of every resource it requests.
        shed = 0
        excess = _usage(problem, clusters, k_task, x) - capacity
        over: BoolArray = np.asarray((excess > 0).any(axis=1))
        if over.any():
            e = np.flatnonzero((x > 0) & over[clusters])
            c, t = clusters[e], k_task[e]
            order = np.lexsort((-t, coef[e], ~short[t], c))
            e, c, t = e[order], c[order], t[order]
            new_group = np.r_[True, c[1:] != c[:-1]]
            starts = np.flatnonzero(new_group)
            group = np.cumsum(new_group) - 1
            need = np.zeros(e.size, dtype=np.int64)
            for r in range(problem.capacity.shape[1]):
                req = problem.requests[t, r]
                load = x[e] * req
                before = np.cumsum(load) - load
                before -= before[starts][group]
                remaining = excess[c, r] - before
                ask = (req > 0) & (remaining > 0)
                need[ask] = np.maximum(need[ask], -(-remaining[ask] // req[ask]))
            cut = np.minimum(x[e], need)
            x[e] -= cut
            shed = int(cut.sum())
            short[t[cut > 0]] = True

        # Complete each short task on all its candidates, or remove it; removed ones try again from
        # scratch. Several orders: the placement order, the smallest tasks first (they fit in the
        # gaps the flow left) and, while the batch is small enough, orders that put the tasks the
        # previous one left out first. The most valuable result wins (the earlier on ties).
        free = capacity - _usage(problem, clusters, k_task, x)
        todo = np.flatnonzero(short)
        total = np.maximum(problem.capacity.sum(axis=0), 1).astype(np.float64)
        size = (problem.replicas[todo, None] * problem.requests[todo] / total).max(axis=1, initial=0.0)
        args = (problem.cand_ptr, problem.cand_idx, problem.current, problem.score, costs, weights)
        ranks = _value_ranks(problem, todo, costs, weights)
        best: tuple[IntArray, IntArray, IntArray, IntArray] | None = None
        best_value = -np.inf
        work = int(np.diff(problem.cand_ptr)[todo].sum())
        attempts = min(_ATTEMPTS, max(2, _ATTEMPT_WORK // max(1, work))) if todo.size > 1 else 1
        order = todo
        tried = 0
        for tried in range(1, attempts + 1):
            attempt = self._complete_twice(
                order, args, (problem.requests, problem.replicas, free.copy(), k_ptr, kept, x, *ranks)
            )
            a_e, a_r = attempt[0], attempt[1]
            value = float(
                (a_r * (weights[0] + problem.score[a_e] - weights[1] * costs[problem.cand_idx[a_e]])).sum()
                + weights[2] * np.minimum(problem.current[a_e], a_r).sum()
            )
            if value > best_value:
                best, best_value = attempt, value
            if not attempt[3].size:
                break
            if tried == 1:
                order = todo[np.argsort(size, kind="stable")]
                continue
            late = np.zeros(n, dtype=np.bool_)
            late[attempt[3]] = True
            order = np.concatenate([attempt[3], order[~late[order]]])
        assert best is not None
        done = np.zeros(n, dtype=np.bool_)
        done[todo] = True
        keep = ~done[k_task] & (x > 0)
        placed[tasks_f] = ~short[tasks_f]
        placed[best[2]] = True
        return (
            np.concatenate([kept[keep], best[0]]),
            np.concatenate([x[keep], best[1]]),
            placed,
            (shed, int(best[2].size), int(best[3].size), tried),
        )

    def _complete_twice(
        self, order: IntArray, args: tuple[Any, ...], rest: tuple[Any, ...]
    ) -> tuple[IntArray, IntArray, IntArray, IntArray]:
        """Complete the tasks of ``order`` from their flow replicas, then the ones that failed from
        scratch: the (entries, replicas) placed, the tasks placed and the tasks left out."""
        first = self._complete_all(order, False, args, rest)
        failed = order[~first[2]]
        second = self._complete_all(failed, True, args, rest)
        return (
            np.concatenate([first[0], second[0]]),
            np.concatenate([first[1], second[1]]),
            np.concatenate([order[first[2]], failed[second[2]]]),
            failed[~second[2]],
        )

    @staticmethod
    def _complete_all(
        order: IntArray, scratch: bool, args: tuple[Any, ...], rest: tuple[Any, ...]
    ) -> tuple[IntArray, IntArray, BoolArray]:
        """Run the completion kernel over ``order``: (entries, replicas) placed, and ok per task."""
        replicas = rest[1]
        counts = np.diff(args[0])[order]
        room = int(np.minimum(counts, replicas[order]).sum())
        out_entry = np.zeros(room, dtype=np.int64)
        out_reps = np.zeros(room, dtype=np.int64)
        out_ptr = np.zeros(order.size + 1, dtype=np.int64)
        ok = np.zeros(order.size, dtype=np.bool_)
        if order.size:
            _complete(order, scratch, *args, *rest, out_entry, out_reps, out_ptr, ok)
        size = int(out_ptr[-1])
        keep = np.repeat(ok, np.diff(out_ptr))
        return out_entry[:size][keep], out_reps[:size][keep], ok

    # -- the result --------------------------------------------------------------------------------

    def _assemble(
        self,
        problem: Problem,
        tasks_f: IntArray,
        flow_entries: IntArray,
        flow_reps: IntArray,
        placed: BoolArray,
        rest: Assignment | None,
        others: IntArray,
    ) -> tuple[Assignment, IntArray]:
        """The assignment, and per listed (task, cluster) its candidate entry (-1: not a candidate)."""
        n = problem.size
        ptr = problem.cand_ptr
        f_task = np.searchsorted(ptr, flow_entries, side="right") - 1
        t_parts = [f_task]
        c_parts = [problem.cand_idx[flow_entries]]
        r_parts = [flow_reps]
        e_parts = [flow_entries]
        schedulable = np.zeros(n, dtype=np.bool_)
        schedulable[tasks_f] = placed[tasks_f]
        reasons = [""] * n
        explanations: list[Explanation | None] = [None] * n
        counts = np.diff(ptr)
        for i in tasks_f[~placed[tasks_f]].tolist():
            reasons[i] = (
                f"flow: the batch's capacity left no room for all {int(problem.replicas[i])} replicas on "
                f"its {int(counts[i])} candidate clusters (all or nothing)"
            )
        if rest is not None:
            r_task = np.repeat(others, np.diff(rest.offsets))
            t_parts.append(r_task)
            c_parts.append(rest.clusters)
            r_parts.append(rest.replicas)
            e_parts.append(_entries_of(problem, r_task, rest.clusters))
            schedulable[others] = rest.schedulable
            for k, i in enumerate(others.tolist()):
                reasons[i] = rest.reasons[k]
                explanations[i] = rest.explanations[k]
        t_all, c_all = np.concatenate(t_parts), np.concatenate(c_parts)
        r_all, e_all = np.concatenate(r_parts), np.concatenate(e_parts)
        order = np.lexsort((problem.index.name_rank[c_all], t_all))
        t_all, c_all, r_all, e_all = t_all[order], c_all[order], r_all[order], e_all[order]
        offsets = np.concatenate([[0], np.cumsum(np.bincount(t_all, minlength=n))]).astype(np.int64)
        assignment = Assignment(
            cluster_names=problem.index.names,
            offsets=offsets,
            clusters=c_all.astype(np.int64),
            replicas=r_all.astype(np.int64),
            schedulable=schedulable,
            reasons=tuple(reasons),
            explanations=tuple(explanations),
        )
        return assignment, e_all


def _join(
    part: tuple[IntArray, IntArray, BoolArray, IntArray], tasks: IntArray, entries: IntArray, reps: IntArray
) -> tuple[IntArray, IntArray, BoolArray, IntArray]:
    """The solver's own placement ``part`` = (entries ascending, replicas, placed per task, its
    tasks) with ``tasks`` placed on (``entries``, ``reps``) added."""
    all_entries = np.concatenate([part[0], entries])
    all_reps = np.concatenate([part[1], reps])
    order = np.argsort(all_entries, kind="stable")
    placed = part[2].copy()
    placed[tasks] = True
    return all_entries[order], all_reps[order], placed, np.sort(np.concatenate([part[3], tasks]))


def _rows(assignment: Assignment, keep: BoolArray) -> Assignment:
    """The rows ``keep`` of an assignment (in order)."""
    counts = np.diff(assignment.offsets)
    entry_keep = np.repeat(keep, counts)
    return Assignment(
        cluster_names=assignment.cluster_names,
        offsets=np.concatenate([[0], np.cumsum(counts[keep])]).astype(np.int64),
        clusters=assignment.clusters[entry_keep],
        replicas=assignment.replicas[entry_keep],
        schedulable=assignment.schedulable[keep],
        reasons=tuple(r for r, k in zip(assignment.reasons, keep.tolist(), strict=True) if k),
        explanations=tuple(e for e, k in zip(assignment.explanations, keep.tolist(), strict=True) if k),
    )


def _running(problem: Problem) -> BoolArray:
    """Per task: whether it runs replicas on one of its candidates now."""
    out = np.zeros(problem.size, dtype=np.bool_)
    out[np.searchsorted(problem.cand_ptr, np.flatnonzero(problem.current), side="right") - 1] = True
    return out


def _task_room(problem: Problem, i: int, free: IntArray) -> tuple[int, IntArray, IntArray, IntArray]:
    """Task ``i``'s first candidate entry, its candidate clusters, its request, and how many of its
    replicas fit on each candidate in ``free`` (at most all of them)."""
    lo, hi = int(problem.cand_ptr[i]), int(problem.cand_ptr[i + 1])
    cand = problem.cand_idx[lo:hi]
    req = problem.requests[i]
    room = np.full(cand.size, int(problem.replicas[i]), dtype=np.int64)
    for r in np.flatnonzero(req > 0).tolist():
        room = np.minimum(room, np.maximum(free[cand, r], 0) // req[r])
    return lo, cand, req, room


def _divide_in_order(order: IntArray, room: IntArray, need: int, n: int) -> tuple[IntArray, IntArray] | None:
    """``need`` replicas on at most ``n`` candidates: the first ``n`` of ``order`` with room, each
    filled in turn; when those cannot take them all, the roomiest ``n`` (used in ``order``). The
    chosen positions and their replicas, or None when no ``n`` candidates can take them all."""
    chosen = order[room[order] > 0][:n]
    if int(room[chosen].sum()) < need:
        roomiest = np.argsort(-room, kind="stable")[:n]
        chosen = order[np.isin(order, roomiest) & (room[order] > 0)]
        if int(room[chosen].sum()) < need:
            return None
    got = room[chosen]
    take = np.minimum(got, np.maximum(need - (np.cumsum(got) - got), 0))
    use = take > 0
    return chosen[use], take[use].astype(np.int64)


def _guided(problem: Problem, others: IntArray, objective: Objective) -> tuple[IntArray, IntArray, IntArray]:
    """PickN tasks among ``others`` (given without spread or anti-affinity; those running now are
    skipped), placed in placement order where the LP relaxation of the whole batch puts their
    replicas: candidates by the LP's replicas (then by value), each taken while it has room, up to
    ``numberOfClusters``; Duplicated: a whole copy per cluster; Divided: all replicas or none
    (``_divide_in_order``). The engine would pick the
    best-scoring clusters for each workload alone; the LP leaves the clusters other workloads need
    most. Returns the tasks placed and their (entry, replicas) pairs; the others stay with the
    engine."""
    tasks = others[(problem.pick_n[others] > 0) & (problem.replicas[others] > 0)]
    if not tasks.size:
        return _NONE, _NONE, _NONE
    tasks = tasks[~_running(problem)[tasks]]
    if not tasks.size:
        return _NONE, _NONE, _NONE
    value_all = objective.coefficients(problem)
    x_lp = lp_replicas(problem, np.arange(problem.cand_idx.size, dtype=np.int64), objective)
    free = problem.capacity.copy()
    done: list[int] = []
    parts_e: list[IntArray] = []
    parts_r: list[IntArray] = []
    for i in tasks.tolist():
        lo, cand, req, room = _task_room(problem, i, free)
        reps = int(problem.replicas[i])
        hi = lo + cand.size
        order = np.lexsort((-value_all[lo:hi], -x_lp[lo:hi]))
        n = int(problem.pick_n[i])
        if problem.duplicated[i]:
            chosen = order[room[order] >= reps][:n]
            take = np.full(chosen.size, reps, dtype=np.int64)
        else:
            divided = _divide_in_order(order, room, reps, n)
            if divided is None:
                continue
            chosen, take = divided
        if not chosen.size:
            continue
        free[cand[chosen]] -= take[:, None] * req[None, :]
        done.append(i)
        parts_e.append(lo + chosen.astype(np.int64))
        parts_r.append(take)
    if not done:
        return _NONE, _NONE, _NONE
    return np.asarray(done, dtype=np.int64), np.concatenate(parts_e), np.concatenate(parts_r)


def _pick_left_out(
    problem: Problem,
    rest: Assignment,
    others: IntArray,
    unbound: BoolArray,
    capacity: IntArray,
    flow_entries: IntArray,
    flow_reps: IntArray,
    weights: FloatArray,
    costs: FloatArray,
) -> tuple[IntArray, IntArray, IntArray]:
    """Place Divided PickN tasks the engine left unschedulable (no spread, no anti-affinity) in the
    capacity left after the engine and the flow: up to ``numberOfClusters`` of their candidates, by
    value (the clusters with the most room when the best-valued ones cannot take every replica),
    all or nothing. Karmada's selection picks the N best-scoring clusters before dividing, so a
    workload whose picks lack room stays out although others could take it; a batch optimiser may
    choose (``_divide_in_order`` by value). ``unbound``: per task, no spread and no anti-affinity.
    Returns the tasks placed and their (entry, replicas) pairs."""
    left = others[~rest.schedulable]
    left = left[
        (problem.pick_n[left] > 0) & ~problem.duplicated[left] & (problem.replicas[left] > 0) & unbound[left]
    ]
    if not left.size:
        return _NONE, _NONE, _NONE
    task_of = np.searchsorted(problem.cand_ptr, flow_entries, side="right") - 1
    free = capacity - _usage(problem, problem.cand_idx[flow_entries], task_of, flow_reps)
    picked: list[int] = []
    parts_e: list[IntArray] = []
    parts_r: list[IntArray] = []
    for i in left.tolist():
        lo, cand, req, room = _task_room(problem, i, free)
        need = int(problem.replicas[i])
        value = weights[0] + problem.score[lo : lo + cand.size] - weights[1] * costs[cand]
        divided = _divide_in_order(np.argsort(-value, kind="stable"), room, need, int(problem.pick_n[i]))
        if divided is None:
            continue
        chosen, take = divided
        free[cand[chosen]] -= take[:, None] * req[None, :]
        picked.append(i)
        parts_e.append(lo + chosen.astype(np.int64))
        parts_r.append(take)
    if not picked:
        return _NONE, _NONE, _NONE
    return np.asarray(picked, dtype=np.int64), np.concatenate(parts_e), np.concatenate(parts_r)


def _entries_of(problem: Problem, task: IntArray, clusters: IntArray) -> IntArray:
    """The candidate entry of each (task, cluster) pair, -1 where the cluster is not a candidate."""
    out = np.full(task.size, -1, dtype=np.int64)
    for k, (i, c) in enumerate(zip(task.tolist(), clusters.tolist(), strict=True)):
        cand = problem.candidates(i)[0]
        pos = int(np.searchsorted(cand, c))
        if pos < cand.size and cand[pos] == c:
            out[k] = int(problem.cand_ptr[i]) + pos
    return out


def _evaluate(
    problem: Problem,
    objective: Objective,
    assignment: Assignment,
    entries: IntArray,
    costs: FloatArray,
    weights: FloatArray,
    running: IntArray,
) -> float:
    """``objective.evaluate(problem, assignment).value`` without a loop over tasks, given the candidate
    entry of every listed (task, cluster) (-1: not a candidate: placed, but no score) and the
    entries that run replicas now."""
    reps = assignment.replicas
    found = entries >= 0
    score = float((reps[found] * problem.score[entries[found]]).sum())
    cost = float((reps * costs[assignment.clusters]).sum())
    now = np.zeros(running.size, dtype=np.int64)
    pos = np.searchsorted(running, entries[found])
    hit = pos < running.size
    hit[hit] = running[pos[hit]] == entries[found][hit]
    now[pos[hit]] = reps[found][hit]
    moved = int(problem.moved_anyway.sum()) + int(np.maximum(problem.current[running] - now, 0).sum())
    return float(weights[0] * int(reps.sum()) + score - objective.churn * moved - objective.cost * cost)
