"""Compiled kernels for single-cluster placement (optional: the ``fast`` extra, numba).

For a workload that goes whole to exactly one cluster, placement is "which feasible cluster scores
best". One row of that question is answered in a few straight passes, each a branch-free loop the
compiler vectorises: the policy term's static scores, the resource-fit filter, one fused pass for
the used fractions of the scored resources, their mean and standard deviation and the four
capacity-dependent prioritizers (LeastAllocated, MostAllocated, BalancedAllocation, Balance), then
the pick (score desc, room desc, name asc). The arithmetic is written in the same order as the
numpy plugins, so both give bit-identical scores; the property tests check it.

The state is laid out in *columns*, clusters-last (``free_t``, ``used_t``, ... of shape (R, K)), so
every pass reads contiguous memory. Each policy term owns a range of columns ``start[p]`` ..
``start[p] + count[p]``: either every cluster (ranges shared by all terms) or only the clusters its
static filters admit (one compacted copy per term, so a row never touches a cluster its term
excludes). ``cluster_of`` maps a column to its cluster; ``ccols[cstart[c]:cstart[c + 1]]`` lists the
columns of cluster ``c``, all of which change together when a workload lands on it.

Two drivers use the row: ``place_run`` (sequential semantics, one workload after the other) and
``place_rounds`` (batched semantics: rounds of rows scored against one snapshot, in parallel, then
conflicts resolved in placement order), so a whole run is one compiled call.

Without numba, ``AVAILABLE`` is False and the pipeline runs in numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

__all__ = ["AVAILABLE", "fill", "place_rounds", "place_run"]

_numba: Any
try:  # pragma: no cover - exercised when the extra is installed
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None

AVAILABLE = _numba is not None

# Positions in the ``state`` tuple the drivers take (arrays over columns, see the module text).
FREE, USED, ALLOC, INV, LIM, PLACED, RANK, CLUSTER, CCOLS, CSTART, NEGATIVE = range(11)
# Positions in the ``terms`` tuple: per policy term its column range, the offset of its static
# scores (-inf where a static filter excludes) in the flat ``STATIC`` array, and its dynamic weights.
START, COUNT, STATIC, SOFS, WEIGHTS = range(5)
# Positions in the ``moments`` tuple, the score cache: per cached request (a "slot") and column, the
# mean used fraction and BalancedAllocation's score (both depend only on the request and the
# column's usage, so they are recomputed only for the columns of a cluster that just took a
# workload); slots are grouped by the rows they score: per group its 4 rows (the spare last row
# fills the unused), how many it scores and its first slot; per slot the 4 amounts (MQ, 4 x slots).
# Empty arrays switch the cache off.
MEAN, BALANCED, MROWS, MK, MSTART, MQ = range(6)


def _room(free_t: Any, col: int, request: Any) -> int:
    """Replicas that fit in column ``col`` (min over requested resources of free // request)."""
    room = np.int64(1) << np.int64(62)
    for r in range(request.shape[0]):
        q = request[r]
        if q > 0:
            room = min(room, free_t[r, col] // q)
    return int(room)


def _row(
    part: int,
    request: Any,
    need: int,
    scored: Any,
    k: int,
    which: int,
    state: Any,
    terms: Any,
    moments: Any,
    buf: Any,
) -> int:
    """The chosen column for one workload, or -1 when no cluster passes.

    ``buf`` is scratch of shape (R + 3, K) (the row's totals go in ``buf[0][:count]``); ``used_t``,
    ``inv_t`` and ``lim_t`` carry one extra, last row (zero, zero, limited) that stands in for an
    absent scored resource. Fit is checked by multiplication (free >= need x request per resource);
    the division that gives a cluster's room is done only to break exact score ties.
    """
    free_t = state[FREE]
    lo = terms[START][part]
    n = terms[COUNT][part]
    # Slices, not offsets into whole rows: the compiler vectorises loops over a slice's own indices.
    total = buf[0][:n]
    so = terms[SOFS][part]
    static = terms[STATIC][so : so + n]
    # Fit: up to four resources in one pass; the spare last row of free_t (never short) fills the
    # unused slots. A resource the workload does not ask for needs no check while no free amount
    # is negative (the drivers' ``state`` says so), otherwise every resource is checked.
    # (Scalars, not small arrays: an allocation per row costs as much as a pass over 100 columns.)
    spare = free_t.shape[0] - 1
    c0 = c1 = c2 = c3 = spare
    l0 = l1 = l2 = l3 = 0
    m = 0
    for r in range(request.shape[0]):
        limit = need * request[r]
        if limit > 0 or state[NEGATIVE][0]:
            if m == 0:
                c0, l0 = r, limit
            elif m == 1:
                c1, l1 = r, limit
            elif m == 2:
                c2, l2 = r, limit
            elif m == 3:
                c3, l3 = r, limit
            m += 1
    f0, f1 = free_t[c0, lo : lo + n], free_t[c1, lo : lo + n]
    f2, f3 = free_t[c2, lo : lo + n], free_t[c3, lo : lo + n]
    weights = terms[WEIGHTS][part]
    top = 0.0
    if weights[3] != 0.0 and m <= 4:
        # Balance's scale in the same pass: the most workloads a feasible column holds.
        placed = state[PLACED][lo : lo + n]
        most = 0
        for j in range(n):
            fits = (f0[j] >= l0) & (f1[j] >= l1) & (f2[j] >= l2) & (f3[j] >= l3)
            t = static[j] if fits else -np.inf
            total[j] = t
            most = max(most, placed[j] if t > -np.inf else 0)
        top = float(most)
    else:
        for j in range(n):
            fits = (f0[j] >= l0) & (f1[j] >= l1) & (f2[j] >= l2) & (f3[j] >= l3)
            total[j] = static[j] if fits else -np.inf
        if m > 4:  # more than four resources to check: the rest one by one
            for r in range(request.shape[0]):
                limit = need * request[r]
                fr = free_t[r, lo : lo + n]
                for j in range(n):
                    if fr[j] < limit:
                        total[j] = -np.inf
        if weights[3] != 0.0:
            top = _top_placed_jit(total, state[PLACED][lo : lo + n])
    if weights[0] != 0.0 or weights[1] != 0.0 or weights[2] != 0.0 or weights[3] != 0.0:
        if k < 2 or k > 4:
            _general_jit(request, k, scored, state, lo, n, top, weights, buf)
        elif 0 <= which < moments[MEAN].shape[0]:  # a cached request (see ``MEAN``)
            _cached_jit(which, moments, state, lo, n, top, weights, total)
        else:
            _fused_jit(request, k, scored, state, lo, n, top, weights, buf)
    best, ties = _argmax_jit(total)
    if best < 0:
        return -1
    if ties > 1:
        # Exact tie: more room first, then the lower name (the pipeline's rank order).
        rank = state[RANK]
        best_total = total[best]
        best_room = _room_jit(free_t, lo + best, request)
        for j in range(best + 1, n):
            if total[j] == best_total:
                room = _room_jit(free_t, lo + j, request)
                if room > best_room or (room == best_room and rank[lo + j] < rank[lo + best]):
                    best = j
                    best_room = room
    result: int = lo + best
    return result


def _argmax(total: Any) -> tuple[int, int]:
    """The first index of the largest of ``total`` and how many entries equal it; (-1, 0) when
    all are -inf. The maximum is kept in 8 independent lanes so that the compiler vectorises the
    scan (a single running maximum is one long dependency chain); the index and the count are
    integer reductions, which vectorise as they are."""
    n = total.shape[0]
    body = n - n % 8
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = -np.inf
    for c in range(0, body, 8):
        m0 = total[c] if total[c] > m0 else m0
        m1 = total[c + 1] if total[c + 1] > m1 else m1
        m2 = total[c + 2] if total[c + 2] > m2 else m2
        m3 = total[c + 3] if total[c + 3] > m3 else m3
        m4 = total[c + 4] if total[c + 4] > m4 else m4
        m5 = total[c + 5] if total[c + 5] > m5 else m5
        m6 = total[c + 6] if total[c + 6] > m6 else m6
        m7 = total[c + 7] if total[c + 7] > m7 else m7
    for c in range(body, n):
        m0 = total[c] if total[c] > m0 else m0
    best_value = max(max(max(m0, m1), max(m2, m3)), max(max(m4, m5), max(m6, m7)))
    if best_value == -np.inf:
        return -1, 0
    first = n
    ties = 0
    for c in range(n):
        hit = total[c] == best_value
        first = min(first, c if hit else n)
        ties += hit
    return first, ties


def _top_placed(total: Any, placed: Any) -> float:
    """The most workloads any still-feasible column (total above -inf) holds (Balance's scale)."""
    best = 0
    for c in range(total.shape[0]):
        v = placed[c] if total[c] > -np.inf else 0
        best = max(best, v)
    return float(best)


def _fraction(used: float, request: float, inverse: float, limited: bool) -> float:
    """A cluster's used fraction of one scored resource after one more replica, clipped to 0..1
    (a resource it does not limit counts as full)."""
    return min(max((used + request) * inverse if limited else 1.0, 0.0), 1.0)


def _moment(k: int, x0: float, x1: float, x2: float, x3: float) -> tuple[float, float]:
    """Mean and variance of the first ``k`` (2 to 4) used fractions, summed in a fixed order.
    Dividing by 2 or 4 is multiplying by 0.5 or 0.25, bit for bit, so only k == 3 divides."""
    if k == 2:
        m = (x0 + x1) * 0.5
        d0 = x0 - m
        d1 = x1 - m
        return m, ((d0 * d0) + (d1 * d1)) * 0.5
    if k == 3:
        m = ((x0 + x1) + x2) / 3.0
        d0 = x0 - m
        d1 = x1 - m
        d2 = x2 - m
        return m, (((d0 * d0) + (d1 * d1)) + (d2 * d2)) / 3.0
    m = (((x0 + x1) + x2) + x3) * 0.25
    d0 = x0 - m
    d1 = x1 - m
    d2 = x2 - m
    d3 = x3 - m
    return m, ((((d0 * d0) + (d1 * d1)) + (d2 * d2)) + (d3 * d3)) * 0.25


def _balanced(variance: float) -> float:
    """BalancedAllocation's score from the variance of the used fractions."""
    return min(max((1.0 - float(np.sqrt(variance))) * 100.0, 0.0), 100.0)


def _moments_of(k: int, used: Any, amounts: Any, inverse: Any, limited: Any, mean: Any, var: Any) -> None:
    """Per column, the mean and variance of the used fractions of ``k`` scored resources (their
    used, inverse-allocatable and limited columns in the 4-tuples ``used``, ``inverse``,
    ``limited``; the request's ``amounts``) into ``mean`` and ``var``. One loop per k, each
    calling the helpers with a constant k: a k tested inside the loop stopped the vectoriser (26.7
    against 20.3 ms for the whole kernel at 10k x 1k)."""
    u0, u1, u2, u3 = used
    q0, q1, q2, q3 = amounts
    i0, i1, i2, i3 = inverse
    l0, l1, l2, l3 = limited
    if k == 2:
        for c in range(mean.shape[0]):
            x0 = _fraction_jit(u0[c], q0, i0[c], l0[c])
            x1 = _fraction_jit(u1[c], q1, i1[c], l1[c])
            mean[c], var[c] = _moment_jit(2, x0, x1, 0.0, 0.0)
    elif k == 3:
        for c in range(mean.shape[0]):
            x0 = _fraction_jit(u0[c], q0, i0[c], l0[c])
            x1 = _fraction_jit(u1[c], q1, i1[c], l1[c])
            x2 = _fraction_jit(u2[c], q2, i2[c], l2[c])
            mean[c], var[c] = _moment_jit(3, x0, x1, x2, 0.0)
    else:
        for c in range(mean.shape[0]):
            x0 = _fraction_jit(u0[c], q0, i0[c], l0[c])
            x1 = _fraction_jit(u1[c], q1, i1[c], l1[c])
            x2 = _fraction_jit(u2[c], q2, i2[c], l2[c])
            x3 = _fraction_jit(u3[c], q3, i3[c], l3[c])
            mean[c], var[c] = _moment_jit(4, x0, x1, x2, x3)


def _scores_fused(
    request: Any, k: int, scored: Any, state: Any, lo: int, n: int, top: float, weights: Any, buf: Any
) -> None:
    """Add the capacity-dependent scores to ``total = buf[0][:n]`` (2 to 4 scored resources;
    ``buf[1:4]`` is scratch).

    Every total is bit-identical to the pipeline's: the same sums in the same order (``SUM_ORDER``),
    and what is left out (an absent resource, a prioritizer of weight 0) would only add exact
    zeros. Each pass is a branch-free loop the compiler vectorises.
    """
    used_t = state[USED]
    inv_t = state[INV]
    lim_t = state[LIM]
    placed = state[PLACED]
    # The scored rows and amounts as scalars (as in _row: no array allocated per row); the spare
    # last row (used 0, inverse 0, limited) fills the unused ones.
    r0 = r1 = r2 = r3 = used_t.shape[0] - 1
    q0 = q1 = q2 = q3 = 0.0
    j = 0
    for r in range(scored.shape[0]):
        if scored[r]:
            if j == 0:
                r0, q0 = r, float(request[r])
            elif j == 1:
                r1, q1 = r, float(request[r])
            elif j == 2:
                r2, q2 = r, float(request[r])
            elif j == 3:
                r3, q3 = r, float(request[r])
            j += 1
    hi = lo + n
    u0, u1, u2, u3 = used_t[r0, lo:hi], used_t[r1, lo:hi], used_t[r2, lo:hi], used_t[r3, lo:hi]
    i0, i1, i2, i3 = inv_t[r0, lo:hi], inv_t[r1, lo:hi], inv_t[r2, lo:hi], inv_t[r3, lo:hi]
    l0, l1, l2, l3 = lim_t[r0, lo:hi], lim_t[r1, lo:hi], lim_t[r2, lo:hi], lim_t[r3, lo:hi]
    placed = placed[lo:hi]
    total = buf[0][:n]
    # Pass 1: each column's mean used fraction and their variance (a resource the workload does not
    # score would add an exact zero, so leaving it out changes no bit).
    mean = buf[1][:n]
    var = buf[2][:n]
    _moments_jit(k, (u0, u1, u2, u3), (q0, q1, q2, q3), (i0, i1, i2, i3), (l0, l1, l2, l3), mean, var)
    # Then one pass per prioritizer in SUM_ORDER; a weight of 0 would add an exact zero, so its
    # pass is skipped (and with it the square root or the division it would cost).
    w_least, w_most, w_balanced, w_balance = weights[0], weights[1], weights[2], weights[3]
    if w_least != 0.0 or w_most != 0.0:
        for c in range(n):
            t = total[c]
            t += w_least * ((1.0 - mean[c]) * 100.0)
            t += w_most * (mean[c] * 100.0)
            total[c] = t
    if w_balanced != 0.0:
        for c in range(n):
            total[c] += w_balanced * _balanced_jit(var[c])
    if w_balance != 0.0:
        # With top == 0 every feasible column holds nothing, so placed / 1 gives Balance's 100.
        safe_top = top if top > 0.0 else 1.0
        for c in range(n):
            total[c] += w_balance * ((1.0 - float(placed[c]) / safe_top) * 100.0)


def _scores_cached(
    which: int, moments: Any, state: Any, lo: int, n: int, top: float, weights: Any, total: Any
) -> None:
    """``_scores_fused`` from the cache: the mean and BalancedAllocation's score of request
    ``which`` are read, not computed (no square root, no division but Balance's). Bit-identical:
    the cache holds what the fused pass computes, and the sums run in the same order."""
    mean = moments[MEAN][which, lo : lo + n]
    balanced = moments[BALANCED][which, lo : lo + n]
    w_least, w_most, w_balanced, w_balance = weights[0], weights[1], weights[2], weights[3]
    if w_balance != 0.0:
        placed = state[PLACED][lo : lo + n]
        safe_top = top if top > 0.0 else 1.0  # top == 0: nothing feasible holds a workload
        for c in range(n):
            t = total[c]
            t += w_least * ((1.0 - mean[c]) * 100.0)
            t += w_most * (mean[c] * 100.0)
            t += w_balanced * balanced[c]
            t += w_balance * ((1.0 - float(placed[c]) / safe_top) * 100.0)
            total[c] = t
    else:
        for c in range(n):
            t = total[c]
            t += w_least * ((1.0 - mean[c]) * 100.0)
            t += w_most * (mean[c] * 100.0)
            t += w_balanced * balanced[c]
            total[c] = t


def _fill_slots(moments: Any, state: Any, cols: Any, first: int, last: int) -> None:
    """Compute the cache's entries of columns ``cols`` for slots ``first`` to ``last`` (excluded):
    the mean used fraction and BalancedAllocation's score, with the fused pass's arithmetic. The
    columns' usage is copied out first, and slots are grouped by the rows they score, so each
    slot's loop over the columns reads contiguous memory and vectorises (entries of one slot lie in
    one row of the cache)."""
    used_t = state[USED]
    inv_t = state[INV]
    lim_t = state[LIM]
    n = cols.shape[0]
    rows = used_t.shape[0]
    ut = np.empty((rows, n))
    it = np.empty((rows, n))
    lt = np.empty((rows, n), dtype=np.bool_)
    for r in range(rows):
        for j in range(n):
            ut[r, j] = used_t[r, cols[j]]
            it[r, j] = inv_t[r, cols[j]]
            lt[r, j] = lim_t[r, cols[j]]
    mean = moments[MEAN]
    balanced = moments[BALANCED]
    grows = moments[MROWS]
    gk = moments[MK]
    gstart = moments[MSTART]
    mq = moments[MQ]
    m = np.empty(n)
    b = np.empty(n)
    for g in range(gk.shape[0]):
        u0, u1, u2, u3 = ut[grows[g, 0]], ut[grows[g, 1]], ut[grows[g, 2]], ut[grows[g, 3]]
        i0, i1, i2, i3 = it[grows[g, 0]], it[grows[g, 1]], it[grows[g, 2]], it[grows[g, 3]]
        l0, l1, l2, l3 = lt[grows[g, 0]], lt[grows[g, 1]], lt[grows[g, 2]], lt[grows[g, 3]]
        k = gk[g]
        for w in range(max(gstart[g], first), min(gstart[g + 1], last)):
            q0, q1, q2, q3 = mq[0, w], mq[1, w], mq[2, w], mq[3, w]
            # _moments_of's loops, written out with the score in the same loop: calling it per
            # slot and scoring in a second pass made the kernel 40% slower (23 against 16.5 ms).
            if k == 2:
                for j in range(n):
                    x0 = _fraction_jit(u0[j], q0, i0[j], l0[j])
                    x1 = _fraction_jit(u1[j], q1, i1[j], l1[j])
                    m[j], var = _moment_jit(2, x0, x1, 0.0, 0.0)
                    b[j] = _balanced_jit(var)
            elif k == 3:
                for j in range(n):
                    x0 = _fraction_jit(u0[j], q0, i0[j], l0[j])
                    x1 = _fraction_jit(u1[j], q1, i1[j], l1[j])
                    x2 = _fraction_jit(u2[j], q2, i2[j], l2[j])
                    m[j], var = _moment_jit(3, x0, x1, x2, 0.0)
                    b[j] = _balanced_jit(var)
            else:
                for j in range(n):
                    x0 = _fraction_jit(u0[j], q0, i0[j], l0[j])
                    x1 = _fraction_jit(u1[j], q1, i1[j], l1[j])
                    x2 = _fraction_jit(u2[j], q2, i2[j], l2[j])
                    x3 = _fraction_jit(u3[j], q3, i3[j], l3[j])
                    m[j], var = _moment_jit(4, x0, x1, x2, x3)
                    b[j] = _balanced_jit(var)
            mean_w = mean[w]
            balanced_w = balanced[w]
            for j in range(n):
                mean_w[cols[j]] = m[j]
                balanced_w[cols[j]] = b[j]


def _fill_threads(moments: Any, state: Any, cols: Any, threads: int) -> None:
    """``_fill_slots`` for every slot, the slots split evenly over ``threads`` threads (one thread
    storing into every slot's row measured no faster than one thread)."""
    slots = moments[MEAN].shape[0]
    for t in _prange(threads):
        _fill_slots_jit(moments, state, cols, t * slots // threads, (t + 1) * slots // threads)


def _refresh(c: int, moments: Any, state: Any) -> None:
    """Recompute the cache for the columns of cluster ``c`` (its usage just changed), as
    ``_fill_slots`` does for many columns; for one cluster the copies that make that vectorise
    would cost more than they save, so this is a plain loop over the slots."""
    if moments[MEAN].shape[0] == 0:
        return
    used_t = state[USED]
    inv_t = state[INV]
    lim_t = state[LIM]
    ccols = state[CCOLS]
    cstart = state[CSTART]
    mean = moments[MEAN]
    balanced = moments[BALANCED]
    grows = moments[MROWS]
    gk = moments[MK]
    gstart = moments[MSTART]
    q0, q1, q2, q3 = moments[MQ][0], moments[MQ][1], moments[MQ][2], moments[MQ][3]
    for m_ in range(cstart[c], cstart[c + 1]):
        col = ccols[m_]
        for g in range(gk.shape[0]):
            r0, r1, r2, r3 = grows[g, 0], grows[g, 1], grows[g, 2], grows[g, 3]
            u0, u1, u2, u3 = used_t[r0, col], used_t[r1, col], used_t[r2, col], used_t[r3, col]
            i0, i1, i2, i3 = inv_t[r0, col], inv_t[r1, col], inv_t[r2, col], inv_t[r3, col]
            l0, l1, l2, l3 = lim_t[r0, col], lim_t[r1, col], lim_t[r2, col], lim_t[r3, col]
            k = gk[g]
            for w in range(gstart[g], gstart[g + 1]):
                x0 = _fraction_jit(u0, q0[w], i0, l0)
                x1 = _fraction_jit(u1, q1[w], i1, l1)
                x2 = _fraction_jit(u2, q2[w], i2, l2) if k > 2 else 0.0
                x3 = _fraction_jit(u3, q3[w], i3, l3) if k > 3 else 0.0
                mean[w, col], var = _moment_jit(k, x0, x1, x2, x3)
                balanced[w, col] = _balanced_jit(var)


def _scores_general(
    request: Any, k: int, scored: Any, state: Any, lo: int, n: int, top: float, weights: Any, buf: Any
) -> None:
    """Add the capacity-dependent scores to ``buf[0][:n]``, one pass per step (any number of scored
    resources, none included), in the same order as the fused pass."""
    used_t = state[USED]
    inv_t = state[INV]
    lim_t = state[LIM]
    placed = state[PLACED]
    total = buf[0]
    r_count = buf.shape[0] - 3
    mean = buf[r_count + 1]
    std = buf[r_count + 2]
    i = 0
    for r in range(scored.shape[0]):
        if scored[r]:
            q = float(request[r])
            used = used_t[r, lo : lo + n]
            inv = inv_t[r, lo : lo + n]
            lim = lim_t[r, lo : lo + n]
            x = buf[1 + i]
            for j in range(n):
                v = (used[j] + q) * inv[j] if lim[j] else 1.0
                x[j] = min(max(v, 0.0), 1.0)
            i += 1
    for j in range(n):
        mean[j] = 0.0
    for i in range(k):
        x = buf[1 + i]
        for j in range(n):
            mean[j] += x[j]
    for j in range(n):
        mean[j] = mean[j] / max(k, 1)
    for j in range(n):
        std[j] = 0.0
    for i in range(k):
        x = buf[1 + i]
        for j in range(n):
            dv = x[j] - mean[j]
            std[j] += dv * dv
    for j in range(n):
        std[j] = np.sqrt(std[j] / max(k, 1))
    for j in range(n):
        t = total[j]
        t += weights[0] * ((1.0 - mean[j]) * 100.0 if k > 0 else 100.0)
        t += weights[1] * (mean[j] * 100.0 if k > 0 else 0.0)
        t += weights[2] * (min(max((1.0 - std[j]) * 100.0, 0.0), 100.0) if k >= 2 else 100.0)
        t += weights[3] * ((1.0 - float(placed[lo + j]) / top) * 100.0 if top > 0.0 else 100.0)
        total[j] = t


def _take(c: int, request: Any, need: int, state: Any) -> None:
    """Consume ``need`` replicas of ``request`` on cluster ``c`` (every column of it)."""
    free_t = state[FREE]
    used_t = state[USED]
    alloc_t = state[ALLOC]
    placed = state[PLACED]
    ccols = state[CCOLS]
    cstart = state[CSTART]
    for m in range(cstart[c], cstart[c + 1]):
        col = ccols[m]
        for r in range(request.shape[0]):
            free_t[r, col] -= need * request[r]
            used_t[r, col] = alloc_t[r, col] - float(free_t[r, col])
        if need > 0:
            placed[col] += 1


def _place_run(tasks: Any, state: Any, terms: Any, moments: Any, chosen: Any) -> int:
    """Sequentially place single-cluster workloads (``tasks``: part, requests, replicas, scored,
    k, which), updating the state and the cache; ``chosen[i]`` receives the cluster of workload
    ``i``. Stops at the first workload nothing fits and returns its position (``len`` when all were
    placed)."""
    parts, requests, replicas, scored, ks, whichs = tasks
    buf = np.empty((requests.shape[1] + 3, terms[COUNT].max() if terms[COUNT].size else 0))
    cluster_of = state[CLUSTER]
    for i in range(parts.shape[0]):
        col = _row_jit(
            parts[i], requests[i], replicas[i], scored[i], ks[i], whichs[i], state, terms, moments, buf
        )
        if col < 0:
            chosen[i] = -1
            return i
        c = cluster_of[col]
        chosen[i] = c
        _take_jit(c, requests[i], replicas[i], state)
        _refresh_jit(c, moments, state)
    done: int = parts.shape[0]
    return done


def _choose_rows(rows: Any, tasks: Any, state: Any, terms: Any, moments: Any, bufs: Any, picks: Any) -> None:
    """Best cluster for each workload ``rows[j]`` against one snapshot, into ``picks[j]`` (-1 when
    none fits). ``bufs`` holds one scratch block per thread; thread ``t`` takes rows t, t + T, ..."""
    parts, requests, replicas, scored, ks, whichs = tasks
    cluster_of = state[CLUSTER]
    threads = bufs.shape[0]
    n = rows.shape[0]
    for t in _prange(threads):
        buf = bufs[t]
        for j in range(t, n, threads):
            i = rows[j]
            col = _row_jit(
                parts[i], requests[i], replicas[i], scored[i], ks[i], whichs[i], state, terms, moments, buf
            )
            picks[j] = cluster_of[col] if col >= 0 else -1


def _place_rounds(
    order: Any,
    tasks: Any,
    state: Any,
    terms: Any,
    moments: Any,
    batch_size: int,
    threads: int,
    chosen: Any,
    carry: Any,
) -> tuple[int, int, int]:
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
    requests = tasks[1]
    replicas = tasks[2]
    free_t = state[FREE]
    first_col = state[CCOLS]
    cstart = state[CSTART]
    n = order.shape[0]
    head = np.empty(batch_size, dtype=np.int64)
    pick = np.empty(batch_size, dtype=np.int64)
    width = terms[COUNT].max() if terms[COUNT].size else 0
    bufs = np.empty((threads, requests.shape[1] + 3, width))
    blocked = np.zeros(cstart.shape[0] - 1, dtype=np.bool_)
    touched = np.zeros(cstart.shape[0] - 1, dtype=np.bool_)
    taken = np.empty(batch_size, dtype=np.int64)
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
            _choose_rows_par(rows, tasks, state, terms, moments, bufs, pick)
        else:
            _choose_rows_ser(rows, tasks, state, terms, moments, bufs[:1], pick)
        waiting = 0
        unplaceable = False
        n_taken = 0
        for j in range(h):
            i = head[j]
            c = pick[j]
            if c < 0:
                chosen[i] = -1
                unplaceable = True
                continue
            fits = not blocked[c]
            if fits:
                col = first_col[cstart[c]]
                for r in range(requests.shape[1]):
                    if free_t[r, col] < replicas[i] * requests[i, r]:
                        fits = False
                        break
            if fits:
                _take_jit(c, requests[i], replicas[i], state)
                chosen[i] = c
                if not touched[c]:
                    touched[c] = True
                    taken[n_taken] = c
                    n_taken += 1
            else:
                blocked[c] = True
                carry[waiting] = i
                waiting += 1
        for j in range(h):
            if pick[j] >= 0:
                blocked[pick[j]] = False
        if n_taken > 0 and moments[MEAN].shape[0] > 0:  # the next round scores the new usage
            n_cols = 0
            for j in range(n_taken):
                n_cols += cstart[taken[j] + 1] - cstart[taken[j]]
            cols = np.empty(n_cols, dtype=np.int64)
            n_cols = 0
            for j in range(n_taken):
                for m in range(cstart[taken[j]], cstart[taken[j] + 1]):
                    cols[n_cols] = first_col[m]
                    n_cols += 1
            if threads > 1:
                _fill_threads_par(moments, state, cols, threads)
            else:
                _fill_slots_jit(moments, state, cols, 0, moments[MEAN].shape[0])
        for j in range(n_taken):
            touched[taken[j]] = False
        if unplaceable:
            return nxt, waiting, scored_rows
    return nxt, 0, scored_rows


_prange: Any
_room_jit: Callable[..., int]
_argmax_jit: Callable[..., tuple[int, int]]
_top_placed_jit: Callable[..., float]
_fused_jit: Callable[..., None]
_moments_jit: Callable[..., None]
_fraction_jit: Callable[..., float]
_moment_jit: Callable[..., tuple[float, float]]
_balanced_jit: Callable[..., float]
_cached_jit: Callable[..., None]
_refresh_jit: Callable[..., None]
_fill_slots_jit: Callable[..., None]
_fill_threads_par: Callable[..., None]
_general_jit: Callable[..., None]
_row_jit: Callable[..., int]
_take_jit: Callable[..., None]
_choose_rows_par: Callable[..., None]
_choose_rows_ser: Callable[..., None]
place_run: Callable[..., int]
fill: Callable[..., None]
place_rounds: Callable[..., tuple[int, int, int]]
if AVAILABLE:  # pragma: no branch
    _prange = _numba.prange
    _jit = _numba.njit(cache=True, nogil=True)
    _room_jit = cast(Callable[..., int], _jit(_room))
    _argmax_jit = cast(Callable[..., tuple[int, int]], _jit(_argmax))
    _top_placed_jit = cast(Callable[..., float], _jit(_top_placed))
    _fraction_jit = cast(Callable[..., float], _jit(_fraction))
    _moment_jit = cast(Callable[..., tuple[float, float]], _jit(_moment))
    _balanced_jit = cast(Callable[..., float], _jit(_balanced))
    _moments_jit = cast(Callable[..., None], _jit(_moments_of))
    _fused_jit = cast(Callable[..., None], _jit(_scores_fused))
    _cached_jit = cast(Callable[..., None], _jit(_scores_cached))
    _refresh_jit = cast(Callable[..., None], _jit(_refresh))
    _fill_slots_jit = cast(Callable[..., None], _jit(_fill_slots))
    _general_jit = cast(Callable[..., None], _jit(_scores_general))
    _row_jit = cast(Callable[..., int], _jit(_row))
    _take_jit = cast(Callable[..., None], _jit(_take))
    _choose_rows_ser = cast(Callable[..., None], _jit(_choose_rows))
    _par = _numba.njit(cache=True, nogil=True, parallel=True)
    _choose_rows_par = cast(Callable[..., None], _par(_choose_rows))
    _fill_threads_par = cast(Callable[..., None], _par(_fill_threads))
    place_run = cast(Callable[..., int], _jit(_place_run))
    fill = _fill_threads_par
    place_rounds = cast(Callable[..., tuple[int, int, int]], _jit(_place_rounds))
else:  # pragma: no cover
    _prange = range
    _room_jit = _room
    _argmax_jit = _argmax
    _top_placed_jit = _top_placed
    _fraction_jit = _fraction
    _moment_jit = _moment
    _balanced_jit = _balanced
    _moments_jit = _moments_of
    _fused_jit = _scores_fused
    _cached_jit = _scores_cached
    _refresh_jit = _refresh
    _fill_slots_jit = _fill_slots
    _fill_threads_par = _fill_threads
    _general_jit = _scores_general
    _row_jit = _row
    _take_jit = _take
    _choose_rows_ser = _choose_rows_par = _choose_rows
    place_run = _place_run
    fill = _fill_threads
    place_rounds = _place_rounds
