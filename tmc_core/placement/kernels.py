"""Compiled kernels for single-cluster placement (optional: the ``fast`` extra, numba).

For a workload that goes whole to exactly one cluster, placement is "which feasible cluster scores
best". One row of that question is answered in a few straight passes over the clusters, each a
branch-free loop the compiler vectorises: the policy term's static scores (excluded clusters already
at -inf), the resource-fit filter, the used fractions of the scored resources with their mean and
standard deviation, one pass per capacity-dependent prioritizer (LeastAllocated, MostAllocated,
BalancedAllocation, Balance), then the pick (score desc, room desc, name asc). The arithmetic is
written in the same order as the numpy plugins, so both give bit-identical scores; the property
tests check it.

Capacity is held clusters-last (``free_t``, ``used_t``, ... of shape (R, C)) so that every pass reads
contiguous memory. Two drivers use the row: ``place_run`` (sequential semantics, one workload after
the other) and ``place_rounds`` (batched semantics: rounds of rows scored against one snapshot, in
parallel, then conflicts resolved in placement order), so a whole run is one compiled call.

Without numba, ``AVAILABLE`` is False and the pipeline runs in numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

__all__ = ["AVAILABLE", "choose_rows", "place_rounds", "place_run"]


_numba: Any
try:  # pragma: no cover - exercised when the extra is installed
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None

AVAILABLE = _numba is not None


def _room(free_t: Any, c: int, request: Any) -> int:
    """Replicas that fit on cluster ``c`` (min over requested resources of free // request)."""
    room = np.int64(1) << np.int64(62)
    for r in range(free_t.shape[0]):
        q = request[r]
        if q > 0:
            room = min(room, free_t[r, c] // q)
    return int(room)


def _row(
    part: int,
    request: Any,
    need: int,
    scored: Any,
    k: int,
    free_t: Any,
    used_t: Any,
    inv_t: Any,
    lim_t: Any,
    name_rank: Any,
    placed: Any,
    masked: Any,
    dyn_weight: Any,
    buf: Any,
) -> int:
    """The chosen cluster for one workload, or -1 when no cluster passes.

    ``buf`` is scratch of shape (R + 3, C). ``used_t``, ``inv_t`` and ``lim_t`` carry one extra,
    last row (zero, zero, limited) that stands in for an absent scored resource. Fit is checked by
    multiplication (free >= need x request per resource); the division that gives a cluster's room
    is done only to break exact score ties.
    """
    r_count, c_count = free_t.shape
    total = buf[0]
    srow = masked[part]
    for c in range(c_count):
        total[c] = srow[c]
    for r in range(r_count):
        limit = need * request[r]
        fr = free_t[r]
        for c in range(c_count):
            if fr[c] < limit:
                total[c] = -np.inf
    weights = dyn_weight[part]
    top = _top_placed_jit(total, placed) if weights[3] != 0.0 else 0.0
    if weights[0] != 0.0 or weights[1] != 0.0 or weights[2] != 0.0 or weights[3] != 0.0:
        if k > 4:
            _general_jit(request, k, scored, used_t, inv_t, lim_t, placed, top, weights, buf)
        else:
            _fused_jit(request, k, scored, used_t, inv_t, lim_t, placed, top, weights, total)
    return _pick_jit(total, free_t, request, name_rank)


def _pick(total: Any, free_t: Any, request: Any, name_rank: Any) -> int:
    """Index of the highest total (-1 when every total is -inf); an exact tie goes to more room,
    then the lower name (the pipeline's rank order)."""
    c_count = total.shape[0]
    best_total = _top_jit(total)
    if best_total == -np.inf:
        return -1
    ties = 0
    for c in range(c_count):
        ties += total[c] == best_total
    best = 0
    while total[best] != best_total:
        best += 1
    if ties == 1:
        return best
    best_room = _room_jit(free_t, best, request)
    for c in range(best + 1, c_count):
        if total[c] == best_total:
            room = _room_jit(free_t, c, request)
            if room > best_room or (room == best_room and name_rank[c] < name_rank[best]):
                best = c
                best_room = room
    return best


def _top(total: Any) -> float:
    """The largest value, kept in 8 independent lanes so that the compiler vectorises the scan (a
    single running maximum is one long dependency chain)."""
    lanes = np.full(8, -np.inf)
    n = total.shape[0]
    body = n - n % 8
    for c in range(0, body, 8):
        for j in range(8):
            v = total[c + j]
            lanes[j] = v if v > lanes[j] else lanes[j]
    best = -np.inf
    for j in range(8):
        best = lanes[j] if lanes[j] > best else best
    for c in range(body, n):
        best = total[c] if total[c] > best else best
    return float(best)


def _top_placed(total: Any, placed: Any) -> float:
    """The most workloads any still-feasible cluster (total above -inf) holds (Balance's scale),
    in 8 lanes like ``_top``."""
    lanes = np.zeros(8, dtype=np.int64)
    n = total.shape[0]
    body = n - n % 8
    for c in range(0, body, 8):
        for j in range(8):
            v = placed[c + j] if total[c + j] > -np.inf else 0
            lanes[j] = v if v > lanes[j] else lanes[j]
    best = 0
    for j in range(8):
        best = lanes[j] if lanes[j] > best else best
    for c in range(body, n):
        v = placed[c] if total[c] > -np.inf else 0
        best = v if v > best else best
    return float(best)


def _scores_fused(
    request: Any,
    k: int,
    scored: Any,
    used_t: Any,
    inv_t: Any,
    lim_t: Any,
    placed: Any,
    top: float,
    weights: Any,
    total: Any,
) -> None:
    """Add the capacity-dependent scores to ``total`` in one pass (at most 4 scored resources).

    Absent resources read the spare last row and add exact zeros, and absent prioritizers have
    weight 0 (adding an exact zero), so every total is bit-identical to the pipeline's (the same
    sums in the same order, ``SUM_ORDER``) while the loop stays branch-free.
    """
    dummy = used_t.shape[0] - 1
    rows = np.full(4, dummy, dtype=np.int64)
    qs = np.zeros(4)
    on = np.zeros(4)
    j = 0
    for r in range(scored.shape[0]):
        if scored[r]:
            rows[j] = r
            qs[j] = float(request[r])
            on[j] = 1.0
            j += 1
    u0, u1, u2, u3 = used_t[rows[0]], used_t[rows[1]], used_t[rows[2]], used_t[rows[3]]
    i0, i1, i2, i3 = inv_t[rows[0]], inv_t[rows[1]], inv_t[rows[2]], inv_t[rows[3]]
    l0, l1, l2, l3 = lim_t[rows[0]], lim_t[rows[1]], lim_t[rows[2]], lim_t[rows[3]]
    q0, q1, q2, q3 = qs[0], qs[1], qs[2], qs[3]
    m1, m2, m3 = on[1], on[2], on[3]
    kf = float(max(k, 1))
    some = k > 0
    pair = k >= 2
    topped = top > 0.0
    safe_top = top if topped else 1.0
    w_least, w_most, w_balanced, w_balance = weights[0], weights[1], weights[2], weights[3]
    for c in range(total.shape[0]):
        x0 = min(max((u0[c] + q0) * i0[c] if l0[c] else 1.0, 0.0), 1.0)
        x1 = min(max((u1[c] + q1) * i1[c] if l1[c] else 1.0, 0.0), 1.0)
        x2 = min(max((u2[c] + q2) * i2[c] if l2[c] else 1.0, 0.0), 1.0)
        x3 = min(max((u3[c] + q3) * i3[c] if l3[c] else 1.0, 0.0), 1.0)
        mean = (((x0 + x1) + x2) + x3) / kf
        d0 = x0 - mean
        d1 = x1 - mean
        d2 = x2 - mean
        d3 = x3 - mean
        ss = (((d0 * d0) + (d1 * d1) * m1) + (d2 * d2) * m2) + (d3 * d3) * m3
        t = total[c]
        t += w_least * ((1.0 - mean) * 100.0 if some else 100.0)
        t += w_most * (mean * 100.0 if some else 0.0)
        t += w_balanced * (min(max((1.0 - np.sqrt(ss / kf)) * 100.0, 0.0), 100.0) if pair else 100.0)
        t += w_balance * ((1.0 - float(placed[c]) / safe_top) * 100.0 if topped else 100.0)
        total[c] = t


def _scores_general(
    request: Any,
    k: int,
    scored: Any,
    used_t: Any,
    inv_t: Any,
    lim_t: Any,
    placed: Any,
    top: float,
    weights: Any,
    buf: Any,
) -> None:
    """Add the capacity-dependent scores to ``buf[0]``, one pass per step (any number of scored
    resources), in the same order as the fused pass."""
    c_count = buf.shape[1]
    total = buf[0]
    r_count = buf.shape[0] - 3
    mean = buf[r_count + 1]
    std = buf[r_count + 2]
    j = 0
    for r in range(scored.shape[0]):
        if scored[r]:
            q = float(request[r])
            used = used_t[r]
            inv = inv_t[r]
            lim = lim_t[r]
            x = buf[1 + j]
            for c in range(c_count):
                v = (used[c] + q) * inv[c] if lim[c] else 1.0
                x[c] = min(max(v, 0.0), 1.0)
            j += 1
    for c in range(c_count):
        mean[c] = 0.0
    for i in range(k):
        x = buf[1 + i]
        for c in range(c_count):
            mean[c] += x[c]
    for c in range(c_count):
        mean[c] = mean[c] / k
    for c in range(c_count):
        std[c] = 0.0
    for i in range(k):
        x = buf[1 + i]
        for c in range(c_count):
            dv = x[c] - mean[c]
            std[c] += dv * dv
    for c in range(c_count):
        std[c] = np.sqrt(std[c] / k)
    for c in range(c_count):
        t = total[c]
        t += weights[0] * ((1.0 - mean[c]) * 100.0)
        t += weights[1] * (mean[c] * 100.0)
        t += weights[2] * min(max((1.0 - std[c]) * 100.0, 0.0), 100.0)
        t += weights[3] * ((1.0 - float(placed[c]) / top) * 100.0 if top > 0.0 else 100.0)
        total[c] = t


def _take(c: int, request: Any, need: int, free_t: Any, used_t: Any, alloc_t: Any, placed: Any) -> None:
    """Consume ``need`` replicas of ``request`` on cluster ``c``."""
    for r in range(free_t.shape[0]):
        free_t[r, c] -= need * request[r]
        used_t[r, c] = alloc_t[r, c] - float(free_t[r, c])
    if need > 0:
        placed[c] += 1


def _place_run(
    parts: Any,
    requests: Any,
    replicas: Any,
    scored: Any,
    ks: Any,
    free_t: Any,
    used_t: Any,
    alloc_t: Any,
    inv_t: Any,
    lim_t: Any,
    name_rank: Any,
    placed: Any,
    masked: Any,
    dyn_weight: Any,
    chosen: Any,
) -> int:
    """Sequentially place single-cluster workloads, updating capacity and ``placed``; stops at the
    first workload nothing fits and returns its position (``len`` when all were placed)."""
    r_count, c_count = free_t.shape
    buf = np.empty((r_count + 3, c_count))
    for i in range(parts.shape[0]):
        c = _row_jit(
            parts[i],
            requests[i],
            replicas[i],
            scored[i],
            ks[i],
            free_t,
            used_t,
            inv_t,
            lim_t,
            name_rank,
            placed,
            masked,
            dyn_weight,
            buf,
        )
        chosen[i] = c
        if c < 0:
            return i
        _take_jit(c, requests[i], replicas[i], free_t, used_t, alloc_t, placed)
    done: int = parts.shape[0]
    return done


def _choose_rows(
    rows: Any,
    parts: Any,
    requests: Any,
    replicas: Any,
    scored: Any,
    ks: Any,
    free_t: Any,
    used_t: Any,
    inv_t: Any,
    lim_t: Any,
    name_rank: Any,
    placed: Any,
    masked: Any,
    dyn_weight: Any,
    bufs: Any,
    chosen: Any,
) -> None:
    """Best cluster for each workload ``rows[j]`` against one snapshot, into ``chosen[j]``.

    ``bufs`` holds one scratch block per thread (T, R + 3, C); thread ``t`` takes rows t, t + T, ...
    """
    threads = bufs.shape[0]
    n = rows.shape[0]
    for t in _prange(threads):
        buf = bufs[t]
        for j in range(t, n, threads):
            i = rows[j]
            chosen[j] = _row_jit(
                parts[i],
                requests[i],
                replicas[i],
                scored[i],
                ks[i],
                free_t,
                used_t,
                inv_t,
                lim_t,
                name_rank,
                placed,
                masked,
                dyn_weight,
                buf,
            )


def _place_rounds(
    order: Any,
    parts: Any,
    requests: Any,
    replicas: Any,
    scored: Any,
    ks: Any,
    free_t: Any,
    used_t: Any,
    alloc_t: Any,
    inv_t: Any,
    lim_t: Any,
    name_rank: Any,
    placed: Any,
    masked: Any,
    dyn_weight: Any,
    batch_size: int,
    threads: int,
    chosen: Any,
    carry: Any,
) -> Any:
    """Place the workloads ``order`` lists (placement order) in rounds of ``batch_size``.

    Each round scores its rows against the capacity at its start; then, in placement order, a
    workload is accepted when its demand still fits on the cluster it chose, and a cluster that
    turns one away takes no later workload of the round (the longest fitting prefix per cluster).
    Losers go first into the next round. ``chosen[i]`` receives the cluster of workload ``i``, or
    -1 when nothing fits it. The call returns after the first round that had such a workload, so
    the caller can explain it against the capacity of that moment: ``(consumed, waiting, scored)``,
    how many of ``order`` were taken into rounds, how many losers wait in ``carry[:waiting]``, and
    how many rows were scored (losers are scored again in the next round).
    """
    r_count, c_count = free_t.shape
    n = order.shape[0]
    head = np.empty(batch_size, dtype=np.int64)
    pick = np.empty(batch_size, dtype=np.int64)
    bufs = np.empty((threads, r_count + 3, c_count))
    blocked = np.zeros(c_count, dtype=np.bool_)
    waiting = 0
    for j in range(carry.shape[0]):
        if carry[j] < 0:
            break
        waiting += 1
    nxt = 0
    scored_rows = 0
    while waiting > 0 or nxt < n:
        h = 0
        for j in range(waiting):
            head[h] = carry[j]
            h += 1
        while h < batch_size and nxt < n:
            head[h] = order[nxt]
            h += 1
            nxt += 1
        rows = head[:h]
        scored_rows += h
        if threads > 1 and h > 1:
            _choose_rows_par(
                rows,
                parts,
                requests,
                replicas,
                scored,
                ks,
                free_t,
                used_t,
                inv_t,
                lim_t,
                name_rank,
                placed,
                masked,
                dyn_weight,
                bufs,
                pick,
            )
        else:
            _choose_rows_ser(
                rows,
                parts,
                requests,
                replicas,
                scored,
                ks,
                free_t,
                used_t,
                inv_t,
                lim_t,
                name_rank,
                placed,
                masked,
                dyn_weight,
                bufs[:1],
                pick,
            )
        waiting = 0
        unplaceable = False
        for j in range(h):
            i = head[j]
            c = pick[j]
            if c < 0:
                chosen[i] = -1
                unplaceable = True
                continue
            fits = not blocked[c]
            if fits:
                for r in range(r_count):
                    if free_t[r, c] < replicas[i] * requests[i, r]:
                        fits = False
                        break
            if fits:
                _take_jit(c, requests[i], replicas[i], free_t, used_t, alloc_t, placed)
                chosen[i] = c
            else:
                blocked[c] = True
                carry[waiting] = i
                waiting += 1
        for j in range(h):
            if pick[j] >= 0:
                blocked[pick[j]] = False
        if unplaceable:
            return nxt, waiting, scored_rows
    return nxt, 0, scored_rows


_prange: Any
_room_jit: Callable[..., int]
_row_jit: Callable[..., int]
_pick_jit: Callable[..., int]
_top_jit: Callable[..., float]
_top_placed_jit: Callable[..., float]
_fused_jit: Callable[..., None]
_general_jit: Callable[..., None]
_take_jit: Callable[..., None]
_choose_rows_par: Callable[..., None]
_choose_rows_ser: Callable[..., None]
place_run: Callable[..., int]
place_rounds: Callable[..., tuple[int, int, int]]
choose_rows: Callable[..., None]
if AVAILABLE:  # pragma: no branch
    _prange = _numba.prange
    _jit = _numba.njit(cache=True, nogil=True)
    _room_jit = cast(Callable[..., int], _jit(_room))
    _top_jit = cast(Callable[..., float], _jit(_top))
    _top_placed_jit = cast(Callable[..., float], _jit(_top_placed))
    _pick_jit = cast(Callable[..., int], _jit(_pick))
    _fused_jit = cast(Callable[..., None], _jit(_scores_fused))
    _general_jit = cast(Callable[..., None], _jit(_scores_general))
    _row_jit = cast(Callable[..., int], _jit(_row))
    _take_jit = cast(Callable[..., None], _jit(_take))
    _choose_rows_ser = cast(Callable[..., None], _jit(_choose_rows))
    _par = _numba.njit(cache=True, nogil=True, parallel=True)
    _choose_rows_par = cast(Callable[..., None], _par(_choose_rows))
    place_run = cast(Callable[..., int], _jit(_place_run))
    place_rounds = cast(Callable[..., tuple[int, int, int]], _jit(_place_rounds))
    choose_rows = _choose_rows_par
else:  # pragma: no cover
    _prange = range
    _room_jit = _room
    _pick_jit = _pick
    _top_jit = _top
    _top_placed_jit = _top_placed
    _fused_jit = _scores_fused
    _general_jit = _scores_general
    _row_jit = _row
    _take_jit = _take
    _choose_rows_ser = _choose_rows_par = _choose_rows
    place_run = _place_run
    place_rounds = _place_rounds
    choose_rows = _choose_rows
