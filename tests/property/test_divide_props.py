"""Properties of replica division: the fast Webster equals the seat-by-seat one, and the laws hold."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from tmc_core.placement import divide as divide_module
from tmc_core.placement.divide import (
    _webster_reference,
    _webster_within,
    divide_dynamic,
    divide_static,
    webster,
)

UIDS = ["", "uid-1", "uid-2", "uid-3"]  # uid-1 and uid-3 hash odd: names descending
names_st = st.lists(st.text(alphabet="abmz-09", min_size=1, max_size=3), min_size=1, max_size=8, unique=True)
# small numbers give plenty of exact float ties (3/3 == 1/1, 10/5 == 2/1, ...)
vote_st = st.one_of(
    st.integers(0, 6),
    st.integers(0, 1000),
    st.builds(lambda m, p: m * 3**p, st.integers(0, 5), st.integers(0, 6)),
)


@contextmanager
def vectorised() -> Iterator[None]:
    """Force the vectorised path, which small problems otherwise skip in favour of a heap."""
    saved = divide_module._SMALL_PROBLEM
    divide_module._SMALL_PROBLEM = 0
    try:
        yield
    finally:
        divide_module._SMALL_PROBLEM = saved


@dataclass(frozen=True)
class Parties:
    """A random Webster problem."""

    seats: int
    votes: list[int]
    names: list[str]
    initial: list[int]
    uid: str


@st.composite
def parties(draw: st.DrawFn, *, max_seats: int = 60, votes: st.SearchStrategy[int] = vote_st) -> Parties:
    """Names, votes, initial seats, a seat count and a UID."""
    names = draw(names_st)
    n = len(names)
    return Parties(
        seats=draw(st.integers(0, max_seats)),
        votes=draw(st.lists(votes, min_size=n, max_size=n)),
        names=names,
        initial=draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)),
        uid=draw(st.sampled_from(UIDS)),
    )


def run(p: Parties, seats: int | None = None, votes: list[int] | None = None) -> list[int]:
    """The fast Webster on ``p`` (optionally with other seats or votes), as a list."""
    s = p.seats if seats is None else seats
    v = p.votes if votes is None else votes
    return [int(x) for x in webster(s, v, p.names, initial=p.initial, uid=p.uid)]


# --------------------------------------------------------------------------------------------------
# Webster


@given(parties())
def test_webster_equals_seat_by_seat_reference(p: Parties) -> None:
    ref = _webster_reference(p.seats, p.votes, p.names, initial=p.initial, uid=p.uid).tolist()
    assert run(p) == ref
    with vectorised():
        assert run(p) == ref


@settings(max_examples=40, deadline=None)
@given(parties(max_seats=3000, votes=st.integers(1, 10_000)))
def test_webster_equals_reference_for_many_seats(p: Parties) -> None:
    ref = _webster_reference(p.seats, p.votes, p.names, initial=p.initial, uid=p.uid)
    assert run(p) == ref.tolist()


@settings(max_examples=60)
@given(parties(votes=st.one_of(st.integers(0, 2**62), st.integers(2**52, 2**52 + 8))))
def test_webster_equals_reference_for_huge_votes(p: Parties) -> None:
    ref = _webster_reference(p.seats, p.votes, p.names, initial=p.initial, uid=p.uid).tolist()
    assert run(p) == ref
    with vectorised():
        assert run(p) == ref


@given(parties())
def test_webster_sums_exactly_and_never_takes_initial_seats(p: Parties) -> None:
    got = run(p)
    assert sum(got) == p.seats + sum(p.initial)
    assert all(g >= i for g, i in zip(got, p.initial, strict=True))


@given(parties())
def test_webster_is_house_monotone(p: Parties) -> None:
    """One more seat never costs any party a seat: seats are handed out one at a time."""
    now, after = run(p), run(p, seats=p.seats + 1)
    assert all(b >= a for a, b in zip(now, after, strict=True))
    assert sum(after) == sum(now) + 1


@given(parties(), st.data())
def test_webster_more_votes_never_fewer_seats(p: Parties, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(p.names) - 1))
    more = list(p.votes)
    more[i] += data.draw(st.integers(1, 50))
    assert run(p, votes=more)[i] >= run(p)[i]


@given(parties())
def test_webster_is_deterministic_and_order_free(p: Parties) -> None:
    got = run(p)
    assert run(p) == got
    perm = list(reversed(range(len(p.names))))
    shuffled = webster(
        p.seats,
        [p.votes[i] for i in perm],
        [p.names[i] for i in perm],
        initial=[p.initial[i] for i in perm],
        uid=p.uid,
    ).tolist()
    assert shuffled == [got[i] for i in perm]


@given(parties())
def test_webster_never_exceeds_votes_when_seats_fit_the_votes(p: Parties) -> None:
    """Why tmc's capacity guard is a no-op under Karmada's all-or-nothing check."""
    seats = min(p.seats, sum(p.votes))
    got = webster(seats, p.votes, p.names, uid=p.uid).tolist()
    assert all(g <= v for g, v in zip(got, p.votes, strict=True))


@given(parties(), st.data())
def test_capacity_guard_equals_seat_by_seat_with_full_parties_skipped(
    p: Parties, data: st.DataObject
) -> None:
    n = len(p.names)
    room = data.draw(st.lists(st.integers(0, 20), min_size=n, max_size=n))
    fits = sum(r for r, v in zip(room, p.votes, strict=True) if v > 0)
    seats = min(p.seats, fits)
    got = _webster_within(seats, p.votes, p.names, room=room, uid=p.uid).tolist()
    ref = _webster_reference(seats, p.votes, p.names, uid=p.uid, room=room).tolist()
    assert got == ref
    with vectorised():
        assert _webster_within(seats, p.votes, p.names, room=room, uid=p.uid).tolist() == ref
    assert all(g <= r for g, r in zip(got, room, strict=True))
    # with room to spare the guard changes nothing
    if seats <= sum(p.votes):
        same = _webster_within(seats, p.votes, p.names, room=p.votes, uid=p.uid)
        assert same.tolist() == webster(seats, p.votes, p.names, uid=p.uid).tolist()


# --------------------------------------------------------------------------------------------------
# StaticWeight


@given(parties(), st.data())
def test_static_weight_and_replica_monotone(p: Parties, data: st.DataObject) -> None:
    if not any(p.votes):
        return
    base = divide_static(p.seats, p.votes, p.names, p.uid).tolist()
    assert sum(base) == p.seats
    assert all(b == 0 for b, v in zip(base, p.votes, strict=True) if v == 0)
    more_replicas = divide_static(p.seats + 1, p.votes, p.names, p.uid).tolist()
    assert all(b >= a for a, b in zip(base, more_replicas, strict=True))
    i = data.draw(st.integers(0, len(p.names) - 1))
    heavier = list(p.votes)
    heavier[i] += data.draw(st.integers(1, 50))
    assert divide_static(p.seats, heavier, p.names, p.uid)[i] >= base[i]


# --------------------------------------------------------------------------------------------------
# DynamicWeight / Aggregated


@dataclass(frozen=True)
class Dynamic:
    """A random dynamic division problem."""

    replicas: int
    free: list[int]
    prev: list[int]
    names: list[str]
    uid: str
    aggregated: bool
    fresh: bool


@st.composite
def dynamics(draw: st.DrawFn) -> Dynamic:
    """Candidates with free capacity and previous replicas, a new total and the mode flags."""
    names = draw(names_st)
    n = len(names)
    small = st.one_of(st.just(0), st.integers(0, 12))
    prev = draw(st.lists(st.one_of(st.just(0), st.integers(0, 8)), min_size=n, max_size=n))
    assigned = sum(prev)
    replicas = draw(
        st.one_of(st.just(assigned), st.integers(0, 60), st.integers(max(0, assigned - 3), assigned + 3))
    )
    return Dynamic(
        replicas=replicas,
        free=draw(st.lists(small, min_size=n, max_size=n)),
        prev=prev,
        names=names,
        uid=draw(st.sampled_from(UIDS)),
        aggregated=draw(st.booleans()),
        fresh=draw(st.booleans()),
    )


def divide(d: Dynamic) -> tuple[list[int] | None, int, str]:
    """The dynamic division of ``d`` as plain values."""
    got = divide_dynamic(d.replicas, d.free, d.prev, d.names, d.uid, aggregated=d.aggregated, fresh=d.fresh)
    assert got.schedulable == (got.replicas is not None)
    out = None if got.replicas is None else got.replicas.tolist()
    return out, got.shortfall, got.message


def reference(d: Dynamic) -> tuple[list[int] | None, int]:
    """Karmada's Steady / Fresh mode spelled out with lists and the seat-by-seat Webster."""
    n = len(d.names)
    assigned = sum(d.prev)
    if d.fresh:
        weights = [f + p for f, p in zip(d.free, d.prev, strict=True)]
        target, base, members = d.replicas, [0] * n, list(range(n))
    elif assigned > d.replicas:
        weights, target, base = list(d.prev), d.replicas, [0] * n
        # Karmada's spec.clusters: the previous clusters listed by name
        members = sorted((i for i in range(n) if d.prev[i] > 0), key=lambda i: d.names[i])
    elif assigned < d.replicas:
        weights, target, base = list(d.free), d.replicas - assigned, list(d.prev)
        members = list(range(n))
    else:
        return list(d.prev), 0
    order = sorted(members, key=lambda i: -weights[i])  # stable
    if d.aggregated and not d.fresh and assigned < d.replicas:
        order = [i for i in order if d.prev[i] > 0] + [i for i in order if d.prev[i] == 0]
    total = sum(weights[i] for i in order)
    if total < target:
        return None, target - total
    if d.aggregated:
        running = 0
        for cut, i in enumerate(order):
            running += weights[i]
            if running >= target:
                order = order[: cut + 1]
                break
    seats = _webster_reference(
        target, [weights[i] for i in order], [d.names[i] for i in order], uid=d.uid
    ).tolist()
    for i, s in zip(order, seats, strict=True):
        base[i] += s
    return base, 0


@given(dynamics())
def test_dynamic_equals_the_spelled_out_reference(d: Dynamic) -> None:
    got, shortfall, message = divide(d)
    assert (got, shortfall) == reference(d)
    with vectorised():
        assert divide(d) == (got, shortfall, message)
    if got is None:
        assert message.startswith("Clusters available replicas ")
        assert message.endswith(" are not enough to schedule.")


@given(dynamics())
def test_dynamic_laws(d: Dynamic) -> None:
    got, shortfall, _ = divide(d)
    assigned = sum(d.prev)
    if got is None:
        assert shortfall > 0
        return
    assert shortfall == 0
    assert sum(got) == d.replicas
    cap = [f + p for f, p in zip(d.free, d.prev, strict=True)]
    if d.fresh:
        assert all(g <= c for g, c in zip(got, cap, strict=True))
    elif assigned == d.replicas:
        assert got == d.prev
    elif assigned > d.replicas:  # scale-down only removes
        assert all(g <= p for g, p in zip(got, d.prev, strict=True))
    else:  # scale-up only adds, within free capacity
        assert all(p <= g <= c for p, g, c in zip(d.prev, got, cap, strict=True))


@given(dynamics())
def test_dynamic_is_deterministic_and_weighted_is_order_free(d: Dynamic) -> None:
    got = divide(d)
    assert divide(d) == got
    if d.aggregated or got[0] is None:
        return
    perm = list(reversed(range(len(d.names))))
    flipped = Dynamic(
        replicas=d.replicas,
        free=[d.free[i] for i in perm],
        prev=[d.prev[i] for i in perm],
        names=[d.names[i] for i in perm],
        uid=d.uid,
        aggregated=False,
        fresh=d.fresh,
    )
    again = divide(flipped)[0]
    assert again is not None
    assert again == [got[0][i] for i in perm]


@given(dynamics())
def test_unschedulable_exactly_when_weights_fall_short(d: Dynamic) -> None:
    got, shortfall, _ = divide(d)
    assigned = sum(d.prev)
    if d.fresh:
        need, have = d.replicas, sum(d.free) + assigned
    elif assigned < d.replicas:
        need, have = d.replicas - assigned, sum(d.free)
    else:
        need, have = 0, 0
    assert (got is None) == (have < need)
    assert shortfall == max(0, need - have)


@given(st.integers(1, 40), st.lists(st.integers(0, 12), min_size=1, max_size=8), st.data())
def test_aggregated_first_schedule_uses_the_shortest_prefix(
    replicas: int, free: list[int], data: st.DataObject
) -> None:
    names = [f"c{i}" for i in range(len(free))]
    d = divide_dynamic(replicas, free, [0] * len(free), names, aggregated=True)
    if d.replicas is None:
        assert sum(free) < replicas
        return
    used = int(np.count_nonzero(d.replicas))
    ranked = sorted(free, reverse=True)
    shortest = next(k for k in range(1, len(free) + 1) if sum(ranked[:k]) >= replicas)
    assert used <= shortest


@st.composite
def crowded(draw: st.DrawFn) -> Parties:
    """Many parties, few seats: the shape of a few replicas over a large fleet (the fast path that
    only considers parties whose next quotient is among the best)."""
    n = draw(st.integers(100, 400))
    names = [f"c{i:04d}" for i in draw(st.permutations(range(n)))]
    return Parties(
        seats=draw(st.integers(0, n // 4 - 1)),
        votes=draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)),  # many exact ties
        names=names,
        initial=draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)),
        uid=draw(st.sampled_from(UIDS)),
    )


@settings(max_examples=60, deadline=None)
@given(crowded(), st.booleans())
def test_webster_with_few_seats_over_many_parties_equals_reference(p: Parties, ranks: bool) -> None:
    ref = _webster_reference(p.seats, p.votes, p.names, initial=p.initial, uid=p.uid).tolist()
    # The engine passes name ranks instead of names; both must give the same answer.
    names = np.argsort(np.argsort(np.array(p.names))) if ranks else p.names
    assert webster(p.seats, p.votes, names, initial=p.initial, uid=p.uid).tolist() == ref


@settings(max_examples=60, deadline=None)
@given(crowded(), st.data())
def test_capacity_guard_with_few_seats_over_many_parties(p: Parties, data: st.DataObject) -> None:
    room = data.draw(st.lists(st.integers(0, 2), min_size=len(p.votes), max_size=len(p.votes)))
    seats = min(p.seats, sum(r for r, v in zip(room, p.votes, strict=True) if v > 0))
    ref = _webster_reference(seats, p.votes, p.names, uid=p.uid, room=room).tolist()
    assert _webster_within(seats, p.votes, p.names, room=room, uid=p.uid).tolist() == ref
