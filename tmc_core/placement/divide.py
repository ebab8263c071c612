"""Replica division, the "divide" step of placement: Karmada v1.16+ arithmetic, exactly.

Karmada semantics reproduced (pkg/util/helper/webstermethod.go, pkg/scheduler/core/assignment.go
and division_algorithm.go):

* Every dividing strategy uses the Webster / Sainte-Laguë method: seats (replicas) are handed out
  one at a time to the party (cluster) with the largest ``votes / (2 * seats + 1)`` in float64,
  seats counting any initial ones. Exact ties go to the party with fewer seats, then by name,
  ascending, or descending when the FNV-32a hash of the workload UID is odd (never for an empty
  UID). There is no floor-and-remainder phase; initial seats are never taken away.
* Duplicated: every candidate gets all replicas, no capacity check.
* StaticWeight: a cluster's weight is the largest weight among the rules that match it; weight-0
  clusters are not eligible; if no cluster has a positive weight all weigh 1. Webster from zero
  seats, memoryless (the previous assignment is ignored) and blind to capacity.
* DynamicWeight / Aggregated, "Steady" mode: an unchanged total keeps the previous assignment;
  a scale-down divides the new total over the previous replicas as weights; a scale-up (or first
  schedule) divides only the increase over each cluster's free capacity and adds it to the previous
  assignment; a "fresh" reschedule divides everything over free capacity plus previous replicas.
  Aggregated first cuts the weight list (sorted by weight, descending, stable; on scale-up clusters
  already running replicas go first; on scale-down equal previous replicas keep name order, as
  Karmada's list of previous clusters does) to its shortest prefix that covers the replicas to place.
  All or nothing: when the weights cannot cover the replicas to place the result is unschedulable
  with Karmada's message and no partial placement.

tmc's one deliberate difference, a capacity guard: on the dynamic scale-up and fresh paths no
cluster may receive more than its capacity (its weight there); a cluster that is full is skipped
and the Sainte-Laguë sequence continues among the clusters that still have room, where Karmada
would overcommit. Static and duplicated stay capacity-blind, as in Karmada (the pipeline checks
fit separately). In practice the guard never changes an answer: the all-or-nothing check ensures
the weights cover the replicas to place, and Sainte-Laguë never hands a party more seats than its
votes when the seats do not exceed the total vote (entries below a party's vote count have
quotient > 1/2, entries at or beyond it < 1/2), exactly in float64 for weights below 2**52. So
tmc's answers coincide with Karmada's, and the guard stands as a defence of that invariant.

Everything here is pure: arrays in, arrays out, candidates in "candidate order" (the order the
selection step produced) and results aligned with that order.
"""

from __future__ import annotations

import heapq
import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import SupportsIndex

import numpy as np
from numpy.typing import ArrayLike, NDArray

from tmc_core.errors import InvalidInput

__all__ = [
    "Division",
    "divide_duplicated",
    "divide_dynamic",
    "divide_static",
    "fnv32a",
    "static_weights",
    "tie_descending",
    "webster",
]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193
_MASK32 = 0xFFFFFFFF
_SMALL_PROBLEM = 96  # seats + parties up to which a plain heap beats the vectorised path


# --------------------------------------------------------------------------------------------------
# tie-breaking identity


def fnv32a(text: str) -> int:
    """FNV-1a 32-bit hash of the UTF-8 bytes of ``text`` (Go's ``hash/fnv`` New32a)."""
    h = _FNV32_OFFSET
    for byte in text.encode("utf-8"):
        h = ((h ^ byte) * _FNV32_PRIME) & _MASK32
    return h


def tie_descending(uid: str) -> bool:
    """Whether exact ties go to names in descending order: FNV-32a(uid) odd, never for empty UID."""
    return bool(uid) and fnv32a(uid) % 2 == 1


# --------------------------------------------------------------------------------------------------
# input checking


def _int_vector(value: ArrayLike, field: str, n: int | None = None) -> IntArray:
    """A fresh 1-D int64 copy of ``value`` with no negative entry, of length ``n`` when given."""
    arr = np.asarray(value)
    if arr.ndim != 1:
        raise InvalidInput(f"must be a 1-D array, got {arr.ndim}-D", path=field)
    whole = np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.bool_)
    if not whole and arr.size:
        whole = np.issubdtype(arr.dtype, np.floating) and bool(np.all(np.floor(arr) == arr))
        if not whole:
            raise InvalidInput(f"must hold whole numbers, got dtype {arr.dtype}", path=field)
    out = arr.astype(np.int64, copy=True)
    if n is not None and out.shape[0] != n:
        raise InvalidInput(f"has {out.shape[0]} entries, expected {n}", path=field)
    if out.size and int(out.min()) < 0:
        raise InvalidInput("must not be negative", path=field)
    return out


def _count(value: SupportsIndex, field: str) -> int:
    """``value`` (an int, or a numpy integer) as a non-negative Python int, or InvalidInput."""
    if isinstance(value, bool | np.bool_) or not hasattr(value, "__index__"):
        raise InvalidInput(f"must be an integer, got {type(value).__name__}", path=field)
    out = operator.index(value)
    if out < 0:
        raise InvalidInput(f"must not be negative, got {out}", path=field)
    return out


def _name_rank(names: Sequence[str] | IntArray, descending: bool) -> IntArray:
    """Each name's position in the tie-break order (ascending or descending); names are unique.

    ``names`` may also be the names' ranks in ascending name order, as a unique integer array (the
    engine passes its fleet index's ranks, sparing a sort of strings per decision).
    """
    if isinstance(names, np.ndarray):
        given = names.astype(np.int64)
        if np.unique(given).size != given.size:
            raise InvalidInput("cluster name ranks must be unique", path="names")
        return -given if descending else given
    n = len(names)
    if len(set(names)) != n:
        raise InvalidInput("cluster names must be unique", path="names")
    order = sorted(range(n), key=names.__getitem__)
    rank = np.empty(n, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(n, dtype=np.int64)
    if descending:
        rank = (n - 1) - rank
    return rank


# --------------------------------------------------------------------------------------------------
# Webster / Sainte-Laguë
#
# The sequential method is a merge: party i offers the entries k = s0_i, s0_i + 1, ... (its next
# seat when it holds k) with quotient q = v_i / (2k + 1); the dispenser repeatedly takes the first
# entry in the strict total order (q descending, k ascending, name rank ascending). Each party's
# entries already come in that order, so the result of S steps is simply the first S entries of the
# union. The fast path finds them without stepping: a vectorised bisection on a threshold quotient
# gives a provisional count per party (a closed form in float), an exact check repairs it into a
# true prefix of the order, and a sort of the few entries around the threshold hands out the rest.
# Small problems (seats + parties <= _SMALL_PROBLEM) simply run the definition on a heap.


def _quot(vf: FloatArray, k: IntArray) -> FloatArray:
    """Sainte-Laguë quotient of the entry ``k`` (a party's next seat when it holds ``k``)."""
    return vf / (2 * k + 1).astype(np.float64)


def _before(qa: FloatArray, ka: IntArray, ra: IntArray, qb: float, kb: int, rb: int) -> BoolArray:
    """Whether entries ``a`` come before entry ``b`` in the dispensing order."""
    out: BoolArray = (qa > qb) | ((qa == qb) & ((ka < kb) | ((ka == kb) & (ra < rb))))
    return out


def _first(q: FloatArray, k: IntArray, r: IntArray, mask: BoolArray) -> int:
    """Index of the entry that comes first in the dispensing order among ``mask``; -1 if none."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return -1
    idx = idx[q[idx] == q[idx].max()]
    idx = idx[k[idx] == k[idx].min()]
    return int(idx[np.argmin(r[idx])])


def _level(seats: int, s0: IntArray, rank: IntArray) -> IntArray:
    """New seats when no party has votes: all quotients tie, so the fewest seats go first."""
    low = int(s0.min())
    lo, hi = low, low + seats + 1  # filling everyone to lo costs <= seats, to hi costs > seats
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if int(np.maximum(mid - s0, 0).sum()) <= seats:
            lo = mid
        else:
            hi = mid
    new = np.maximum(lo - s0, 0)
    rest = seats - int(new.sum())
    at_level = np.flatnonzero(s0 <= lo)
    new[at_level[np.argsort(rank[at_level], kind="stable")[:rest]]] += 1
    return new


def _dispense_heap(seats: int, v: IntArray, s0: IntArray, rank: IntArray, ceiling: IntArray) -> IntArray:
    """New seats by the definition, one at a time from a heap: the quickest way for small problems."""
    vf = [float(x) for x in v.tolist()]
    held = s0.tolist()
    ranks = rank.tolist()
    cap = (s0 + ceiling).tolist()
    heap = [(-(vf[i] / float(2 * k + 1)), k, ranks[i], i) for i, k in enumerate(held) if k < cap[i]]
    heapq.heapify(heap)
    new = [0] * len(held)
    for _ in range(seats):
        _, k, r, i = heapq.heappop(heap)
        new[i] += 1
        k += 1
        if k < cap[i]:
            heapq.heappush(heap, (-(vf[i] / float(2 * k + 1)), k, r, i))
    return np.asarray(new, dtype=np.int64)


def _dispense(seats: int, v: IntArray, s0: IntArray, rank: IntArray, room: IntArray | None) -> IntArray:
    """New seats for parties with positive votes; a party holds at most ``s0 + room`` when given."""
    n = v.shape[0]
    vf = v.astype(np.float64)
    ceiling = np.full(n, seats, dtype=np.int64) if room is None else np.minimum(room, seats)
    if int(ceiling.sum()) < seats:
        raise InvalidInput(f"{seats} seats do not fit in the room of the parties", path="seats")
    if seats + n <= _SMALL_PROBLEM:
        return _dispense_heap(seats, v, s0, rank, ceiling)
    if 4 * seats < n:
        # Few seats, many parties: only parties whose next quotient is among the best ``seats``
        # (ties included) can win any seat, since each of those can take at least one and every
        # party's quotients only fall. Hand the seats out among them exactly.
        first = np.where(ceiling > 0, _quot(vf, s0), -np.inf)
        kth = np.partition(first, n - seats)[n - seats]
        cand = np.flatnonzero(first >= kth)
        if cand.size + seats <= 4 * _SMALL_PROBLEM:
            out = np.zeros(n, dtype=np.int64)
            out[cand] = _dispense_heap(seats, v[cand], s0[cand], rank[cand], ceiling[cand])
            return out
    ceiling_f = ceiling.astype(np.float64)
    s0f = s0.astype(np.float64)

    def new_above(t: float) -> IntArray:
        """Entries per party whose quotient exceeds ``t``, by the closed form (not yet exact)."""
        taken = np.ceil((vf / t - 1.0) / 2.0) - s0f
        return np.minimum(np.maximum(taken, 0.0), ceiling_f).astype(np.int64)

    # bracket the threshold, count(hi) < seats <= count(lo), until few entries lie between: the
    # final sort below takes care of those, so the bracket need not be tight
    hi = float(vf.max())
    lo = float(vf.sum()) / (2.0 * (seats + float(s0.sum()) + n))
    if room is not None:  # below every party's saturation point, so count(lo) = sum(ceiling)
        lo = min(lo, float(np.min(vf / (2.0 * (s0f + ceiling_f) + 1.0))))
    lo *= 0.5
    for _ in range(64):
        count_lo = int(new_above(lo).sum())
        if count_lo >= seats:
            break
        lo *= 0.5
    count_hi, slack = 0, n // 2 + 32
    for _ in range(256):
        if count_lo - count_hi <= slack:
            break
        mid = float(np.sqrt(lo * hi)) if hi > 4.0 * lo else 0.5 * (lo + hi)
        if not lo < mid < hi:
            break
        count_mid = int(new_above(mid).sum())
        if count_mid >= seats:
            lo, count_lo = mid, count_mid
        else:
            hi, count_hi = mid, count_mid

    # provisional counts (sum <= seats by construction), repaired into an exact prefix of the order
    new = new_above(hi)
    while True:
        k_head = s0 + new
        q_head = _quot(vf, k_head)
        h = _first(q_head, k_head, rank, new < ceiling)
        if h < 0:
            break
        k_last = k_head - 1
        late = (new > 0) & ~_before(_quot(vf, k_last), k_last, rank, q_head[h], k_head[h], rank[h])
        if not late.any():
            break
        new[late] -= 1

    rest = seats - int(new.sum())
    if rest == 0:
        return new

    # hand out the rest: sort the entries near the threshold, widening the window until exact
    window = np.minimum(np.maximum(new_above(lo) - new, 0) + 1, ceiling - new)
    while True:
        if int(window.sum()) < rest:  # only if the bracket above failed: widen everyone
            window = np.minimum(2 * window + 1, ceiling - new)
            continue
        owner = np.repeat(np.arange(n, dtype=np.int64), window)
        starts = np.cumsum(window) - window
        offset = np.arange(owner.shape[0], dtype=np.int64) - np.repeat(starts, window)
        k = np.repeat(s0 + new, window) + offset
        q = _quot(vf[owner], k)
        r = rank[owner]
        top = np.lexsort((r, k, -q))[:rest]
        got = np.bincount(owner[top], minlength=n).astype(np.int64)
        last = int(top[-1])
        k_next = s0 + new + window
        unseen = (got == window) & (new + window < ceiling)
        early = unseen & _before(_quot(vf, k_next), k_next, rank, float(q[last]), int(k[last]), int(r[last]))
        if not early.any():
            return new + got
        window[early] = np.minimum(2 * window[early] + 1, ceiling[early] - new[early])


def _webster(
    seats: int, votes: IntArray, s0: IntArray, rank: IntArray, room: IntArray | None = None
) -> IntArray:
    """Total seats after handing out ``seats`` more (checked inputs; ``room`` caps new seats)."""
    total = s0.copy()
    if seats == 0:
        return total
    if votes.shape[0] == 0:
        raise InvalidInput(f"{seats} seats but no party to hand them to", path="seats")
    voters = np.flatnonzero(votes > 0)
    if voters.size == 0:
        if room is not None:
            raise InvalidInput("parties without votes have no room", path="votes")
        return total + _level(seats, s0, rank)
    sub_room = None if room is None else room[voters]
    total[voters] += _dispense(seats, votes[voters], s0[voters], rank[voters], sub_room)
    return total


def webster(
    seats: SupportsIndex,
    votes: ArrayLike,
    names: Sequence[str] | IntArray,
    *,
    initial: ArrayLike | None = None,
    uid: str = "",
) -> IntArray:
    """Sainte-Laguë: hand ``seats`` out one at a time as Karmada does; totals in input order."""
    seats = _count(seats, "seats")
    v = _int_vector(votes, "votes")
    n = v.shape[0]
    if len(names) != n:
        raise InvalidInput(f"has {len(names)} entries, expected {n}", path="names")
    s0 = np.zeros(n, dtype=np.int64) if initial is None else _int_vector(initial, "initial", n)
    return _webster(seats, v, s0, _name_rank(names, tie_descending(uid)))


def _webster_within(
    seats: SupportsIndex, votes: ArrayLike, names: Sequence[str] | IntArray, *, room: ArrayLike, uid: str = ""
) -> IntArray:
    """Sainte-Laguë from zero seats, skipping a party once it holds ``room``: the capacity guard."""
    seats = _count(seats, "seats")
    v = _int_vector(votes, "votes")
    n = v.shape[0]
    if len(names) != n:
        raise InvalidInput(f"has {len(names)} entries, expected {n}", path="names")
    cap = _int_vector(room, "room", n)
    if int(cap[v > 0].sum()) < seats:
        raise InvalidInput(f"{seats} seats do not fit in the room of the parties", path="seats")
    rank = _name_rank(names, tie_descending(uid))
    return _webster(seats, v, np.zeros(n, dtype=np.int64), rank, room=cap)


def _webster_reference(
    seats: int,
    votes: ArrayLike,
    names: Sequence[str] | IntArray,
    *,
    initial: ArrayLike | None = None,
    uid: str = "",
    room: ArrayLike | None = None,
) -> IntArray:
    """Seat-by-seat Sainte-Laguë the obvious way, for tests; parties out of ``room`` are skipped."""
    v = [int(x) for x in np.asarray(votes).tolist()]
    n = len(v)
    s = [0] * n if initial is None else [int(x) for x in np.asarray(initial).tolist()]
    cap = None if room is None else [s[i] + int(x) for i, x in enumerate(np.asarray(room).tolist())]
    ordered = sorted(names)
    if tie_descending(uid):
        ordered.reverse()
    rank = {name: i for i, name in enumerate(ordered)}
    for _ in range(seats):
        best = -1
        best_key: tuple[float, int, int] = (0.0, 0, 0)
        for i in range(n):
            if cap is not None and s[i] >= cap[i]:
                continue
            key = (-(float(v[i]) / float(2 * s[i] + 1)), s[i], rank[names[i]])
            if best < 0 or key < best_key:
                best, best_key = i, key
        if best < 0:
            raise InvalidInput(f"{seats} seats do not fit in the room of the parties", path="seats")
        s[best] += 1
    return np.asarray(s, dtype=np.int64)


# --------------------------------------------------------------------------------------------------
# strategies


def divide_duplicated(replicas: SupportsIndex, n: SupportsIndex) -> IntArray:
    """Duplicated: every one of the ``n`` candidates runs all ``replicas`` (no capacity check)."""
    return np.full(_count(n, "n"), _count(replicas, "replicas"), dtype=np.int64)


def static_weights(matches: ArrayLike, weights: ArrayLike) -> IntArray:
    """Karmada's static weight per candidate: max over matching rules; all 1 if none is positive."""
    m = np.asarray(matches, dtype=np.bool_)
    w = np.asarray(weights).astype(np.int64)
    if m.ndim != 2:
        raise InvalidInput(f"must be a 2-D (rules x candidates) array, got {m.ndim}-D", path="matches")
    if w.ndim != 1 or w.shape[0] != m.shape[0]:
        raise InvalidInput(f"must hold one weight per rule ({m.shape[0]})", path="weights")
    if m.shape[0] == 0:
        return np.ones(m.shape[1], dtype=np.int64)
    best = np.where(m, w[:, None], 0).max(axis=0)
    out: IntArray = np.maximum(best, 0).astype(np.int64)
    if not out.any():
        return np.ones(m.shape[1], dtype=np.int64)
    return out


def divide_static(
    replicas: SupportsIndex, weights: ArrayLike, names: Sequence[str] | IntArray, uid: str = ""
) -> IntArray:
    """StaticWeight: Webster over positive weights from zero seats; memoryless, capacity-blind."""
    replicas = _count(replicas, "replicas")
    w = _int_vector(weights, "weights", len(names))
    out = np.zeros(w.shape[0], dtype=np.int64)
    eligible = np.flatnonzero(w > 0)
    if eligible.size == 0:
        if replicas:
            raise InvalidInput("no cluster has a positive weight", path="weights")
        return out
    sub_names = names[eligible] if isinstance(names, np.ndarray) else [names[i] for i in eligible.tolist()]
    out[eligible] = webster(replicas, w[eligible], sub_names, uid=uid)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Division:
    """The outcome of a dynamic division: replicas per candidate, or why it could not be placed."""

    replicas: IntArray | None
    schedulable: bool
    message: str = ""
    shortfall: int = 0

    def __eq__(self, other: object) -> bool:
        """Value equality, comparing the replica arrays element by element."""
        if not isinstance(other, Division):
            return NotImplemented
        same = (self.replicas is None and other.replicas is None) or (
            self.replicas is not None
            and other.replicas is not None
            and np.array_equal(self.replicas, other.replicas)
        )
        return (
            same
            and self.schedulable == other.schedulable
            and self.message == other.message
            and self.shortfall == other.shortfall
        )

    __hash__ = None  # type: ignore[assignment]


def _placed(replicas: IntArray) -> Division:
    """A schedulable division holding a read-only copy of ``replicas``."""
    out = np.array(replicas, dtype=np.int64, copy=True)
    out.setflags(write=False)
    return Division(replicas=out, schedulable=True)


def _by_weight(weights: IntArray, members: IntArray) -> IntArray:
    """``members`` sorted by weight, descending, keeping candidate order among equals (stable)."""
    return members[np.argsort(-weights[members], kind="stable")]


def divide_dynamic(
    replicas: SupportsIndex,
    available: ArrayLike,
    previous: ArrayLike,
    names: Sequence[str] | IntArray,
    uid: str = "",
    *,
    aggregated: bool,
    fresh: bool = False,
) -> Division:
    """DynamicWeight / Aggregated in Karmada's Steady (or Fresh) mode, plus tmc's capacity guard."""
    replicas = _count(replicas, "replicas")
    n = len(names)
    free = _int_vector(available, "available", n)
    prev = _int_vector(previous, "previous", n)
    rank = _name_rank(names, tie_descending(uid))
    everyone = np.arange(n, dtype=np.int64)
    assigned = int(prev.sum())

    if fresh:
        weights, target, base, guard = free + prev, replicas, np.zeros(n, dtype=np.int64), True
        order = _by_weight(weights, everyone)
    elif assigned > replicas:
        weights, target, base, guard = prev, replicas, np.zeros(n, dtype=np.int64), False
        # Karmada sorts the previous result (spec.clusters, listed by name) by replicas, stably:
        # equal previous replicas keep name order, whatever the candidate order.
        holders = np.flatnonzero(prev > 0)
        order = _by_weight(weights, holders[np.argsort(_name_rank(names, False)[holders], kind="stable")])
    elif assigned < replicas:
        weights, target, base, guard = free, replicas - assigned, prev, True
        order = _by_weight(weights, everyone)
        if aggregated:
            running = prev[order] > 0
            order = np.concatenate([order[running], order[~running]])
    else:
        return _placed(prev)

    total = int(weights[order].sum())
    if total < target:
        return Division(
            replicas=None,
            schedulable=False,
            message=f"Clusters available replicas {total} are not enough to schedule.",
            shortfall=target - total,
        )
    if aggregated and order.size:
        covered = int(np.searchsorted(np.cumsum(weights[order]), target, side="left"))
        order = order[: covered + 1]

    w = weights[order]
    zero = np.zeros(order.shape[0], dtype=np.int64)
    # the capacity guard: on scale-up and fresh a cluster's weight is its room (a no-op, see above)
    seats = _webster(target, w, zero, rank[order], room=w if guard else None)
    result = base.copy()
    result[order] += seats
    return _placed(result)
