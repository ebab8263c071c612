"""Compiled kernels for single-cluster placement (optional: the ``fast`` extra, numba).

One fused pass over the clusters does what the numpy pipeline does in a dozen vector operations for
a workload that goes to exactly one cluster: the resource-fit filter, the capacity-dependent scores
(LeastAllocated, MostAllocated, BalancedAllocation, Balance) added to the policy term's cached
static total, and the pick (score desc, room desc, name asc). The arithmetic is written in the same
order as the numpy plugins, so both give bit-identical scores; the property tests check it.

Without numba, ``AVAILABLE`` is False and the pipeline runs in numpy only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import numpy as np

__all__ = ["AVAILABLE", "BALANCE", "BALANCED", "LEAST", "MOST", "choose_rows", "place_run"]

LEAST, MOST, BALANCED, BALANCE = 1, 2, 3, 4
"""Codes of the capacity-dependent prioritizers in a term's dynamic program."""

_numba: Any
try:  # pragma: no cover - exercised when the extra is installed
    import numba as _numba
except ImportError:  # pragma: no cover
    _numba = None

AVAILABLE = _numba is not None


def _room(free: Any, c: int, request: Any, r_count: int) -> int:
    """Replicas that fit on cluster ``c`` (min over requested resources of free // request)."""
    room = np.int64(1) << np.int64(62)
    for r in range(r_count):
        q = request[r]
        if q > 0:
            room = min(room, free[c, r] // q)
    return int(room)


def _best(
    c_count: int,
    r_count: int,
    part: int,
    request: Any,
    need: int,
    scored: Any,
    k: int,
    free: Any,
    alloc_f: Any,
    inverse: Any,
    limited: Any,
    name_rank: Any,
    placed: Any,
    static_ok: Any,
    static_total: Any,
    dyn_code: Any,
    dyn_weight: Any,
    ok_buf: Any,
) -> int:
    """The chosen cluster for one workload, or -1 when no cluster passes.

    Fit is checked by multiplication (free >= need x request per resource), the division that
    gives a cluster's room is done only to break exact score ties.
    """
    need_util = False
    need_top = False
    for d in range(dyn_code.shape[1]):
        code = dyn_code[part, d]
        if dyn_weight[part, d] != 0.0:
            if code in (LEAST, MOST, BALANCED):
                need_util = True
            elif code == BALANCE:
                need_top = True
    top = 0.0
    if need_top:
        for c in range(c_count):
            ok = static_ok[part, c]
            if ok:
                for r in range(r_count):
                    if free[c, r] < need * request[r]:
                        ok = False
                        break
            ok_buf[c] = ok
            if ok:
                top = max(top, float(placed[c]))
    fr = np.empty(r_count)
    best = -1
    best_total = 0.0
    best_room = -1
    for c in range(c_count):
        if need_top:
            if not ok_buf[c]:
                continue
        else:
            if not static_ok[part, c]:
                continue
            fits = True
            for r in range(r_count):
                if free[c, r] < need * request[r]:
                    fits = False
                    break
            if not fits:
                continue
        mean = 0.0
        std = 0.0
        if need_util and k > 0:
            j = 0
            for r in range(r_count):
                if scored[r]:
                    v = (
                        ((alloc_f[c, r] - float(free[c, r])) + float(request[r])) * inverse[c, r]
                        if limited[c, r]
                        else 1.0
                    )
                    fr[j] = min(max(v, 0.0), 1.0)
                    j += 1
            s = 0.0
            for i in range(k):
                s += fr[i]
            mean = s / k
            ss = 0.0
            for i in range(k):
                dv = fr[i] - mean
                ss += dv * dv
            std = np.sqrt(ss / k)
        total = static_total[part, c]
        for d in range(dyn_code.shape[1]):
            code = dyn_code[part, d]
            w = dyn_weight[part, d]
            if code == 0 or w == 0.0:
                continue
            if code == LEAST:
                sc = (1.0 - mean) * 100.0 if k > 0 else 100.0
            elif code == MOST:
                sc = mean * 100.0 if k > 0 else 0.0
            elif code == BALANCED:
                sc = min(max((1.0 - std) * 100.0, 0.0), 100.0) if k >= 2 else 100.0
            else:
                sc = (1.0 - float(placed[c]) / top) * 100.0 if top > 0 else 100.0
            total += w * sc
        if best < 0 or total > best_total:
            best = c
            best_total = total
            best_room = -1
        elif total == best_total:
            # Exact tie: more room first, then the lower name (the pipeline's rank order).
            if best_room < 0:
                best_room = _room_jit(free, best, request, r_count)
            room = _room_jit(free, c, request, r_count)
            if room > best_room or (room == best_room and name_rank[c] < name_rank[best]):
                best = c
                best_room = room
    return best


def _place_run(
    parts: Any,
    requests: Any,
    replicas: Any,
    scored: Any,
    ks: Any,
    free: Any,
    alloc_f: Any,
    inverse: Any,
    limited: Any,
    name_rank: Any,
    placed: Any,
    static_ok: Any,
    static_total: Any,
    dyn_code: Any,
    dyn_weight: Any,
    chosen: Any,
) -> int:
    """Sequentially place single-cluster workloads, updating ``free`` and ``placed``; stops at the
    first workload nothing fits and returns its position (``len`` when all were placed)."""
    c_count, r_count = free.shape
    ok_buf = np.zeros(c_count, dtype=np.bool_)
    for i in range(parts.shape[0]):
        c = _best_jit(
            c_count,
            r_count,
            parts[i],
            requests[i],
            replicas[i],
            scored[i],
            ks[i],
            free,
            alloc_f,
            inverse,
            limited,
            name_rank,
            placed,
            static_ok,
            static_total,
            dyn_code,
            dyn_weight,
            ok_buf,
        )
        chosen[i] = c
        if c < 0:
            return i
        for r in range(r_count):
            free[c, r] -= replicas[i] * requests[i, r]
        if replicas[i] > 0:
            placed[c] += 1
    done: int = parts.shape[0]
    return done


def _choose_rows(
    parts: Any,
    requests: Any,
    replicas: Any,
    scored: Any,
    ks: Any,
    free: Any,
    alloc_f: Any,
    inverse: Any,
    limited: Any,
    name_rank: Any,
    placed: Any,
    static_ok: Any,
    static_total: Any,
    dyn_code: Any,
    dyn_weight: Any,
    chosen: Any,
) -> None:
    """Best cluster per workload against one snapshot, workloads in parallel."""
    c_count, r_count = free.shape
    n = parts.shape[0]
    for i in _prange(n):
        ok_buf = np.zeros(c_count, dtype=np.bool_)
        chosen[i] = _best_jit(
            c_count,
            r_count,
            parts[i],
            requests[i],
            replicas[i],
            scored[i],
            ks[i],
            free,
            alloc_f,
            inverse,
            limited,
            name_rank,
            placed,
            static_ok,
            static_total,
            dyn_code,
            dyn_weight,
            ok_buf,
        )


_prange: Any
_best_jit: Callable[..., int]
_room_jit: Callable[..., int]
place_run: Callable[..., int]
choose_rows: Callable[..., None]
if AVAILABLE:  # pragma: no branch
    _prange = _numba.prange
    _room_jit = cast(Callable[..., int], _numba.njit(cache=True, nogil=True)(_room))
    _best_jit = cast(Callable[..., int], _numba.njit(cache=True, nogil=True)(_best))
    place_run = cast(Callable[..., int], _numba.njit(cache=True, nogil=True)(_place_run))
    choose_rows = cast(Callable[..., None], _numba.njit(cache=True, nogil=True, parallel=True)(_choose_rows))
else:  # pragma: no cover
    _prange = range
    _room_jit = _room
    _best_jit = _best
    place_run = _place_run
    choose_rows = _choose_rows
