"""Work queue semantics (dedup, no double processing, per-item backoff, shutdown) and the backoff policy."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tmc_kube import Backoff, Conflict, Unavailable, WorkQueue, retry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_waiting_key_is_queued_once() -> None:
    q: WorkQueue[str] = WorkQueue()
    for k in ["a", "b", "a", "a", "b"]:
        q.add(k)
    assert len(q) == 2
    assert [q.get(0), q.get(0), q.get(0)] == ["a", "b", None]


def test_a_key_in_flight_is_not_handed_out_again_until_done() -> None:
    q: WorkQueue[str] = WorkQueue()
    q.add("a")
    assert q.get(0) == "a"
    q.add("a")  # changed again while being processed
    assert q.get(0) is None
    q.done("a")
    assert q.get(0) == "a"
    q.done("a")
    assert q.get(0) is None


def test_rate_limited_keys_wait_for_their_growing_delay() -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(backoff=Backoff(base=1.0, cap=8.0), clock=clock)
    delays = [q.add_rate_limited("a") for _ in range(5)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 8.0]
    assert q.get(0) is None and q.delayed == 1
    clock.now = 0.99
    assert q.get(0) is None
    clock.now = 1.0  # the earliest pending delay wins
    assert q.get(0) == "a"
    q.done("a")
    q.forget("a")
    assert q.num_requeues("a") == 0 and q.add_rate_limited("a") == 1.0


def test_shutdown_wakes_waiting_workers() -> None:
    q: WorkQueue[str] = WorkQueue()
    got: list[str | None] = []
    workers = [threading.Thread(target=lambda: got.append(q.get())) for _ in range(3)]
    for w in workers:
        w.start()
    q.shutdown()
    for w in workers:
        w.join(5)
    assert got == [None, None, None]
    q.add("late")
    assert q.get(0) is None


ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from("abcd")),
        st.tuples(st.just("rate"), st.sampled_from("abcd")),
        st.tuples(st.just("get"), st.just("")),
        st.tuples(st.just("done"), st.sampled_from("abcd")),
        st.tuples(st.just("tick"), st.sampled_from("123")),
    ),
    max_size=60,
)


@given(ops)
def test_queue_hands_out_every_wanted_key_once_and_never_twice_at_a_time(
    script: list[tuple[str, str]],
) -> None:
    clock = Clock()
    q: WorkQueue[str] = WorkQueue(backoff=Backoff(base=1.0, cap=4.0), clock=clock)
    wanted: set[str] = set()  # added (or due) since last handed out
    due: dict[str, float] = {}  # rate-limited keys and when they become wanted
    processing: set[str] = set()

    def promote() -> None:
        for key, at in list(due.items()):
            if at <= clock.now:
                wanted.add(key)
                del due[key]

    for op, arg in script:
        if op == "add":
            q.add(arg)
            wanted.add(arg)
        elif op == "rate":
            delay = q.add_rate_limited(arg)
            assert delay == min(4.0, 2.0 ** q.num_requeues(arg) / 2)
            due[arg] = min(due.get(arg, float("inf")), clock.now + delay)
        elif op == "get":
            promote()
            key = q.get(0)
            if key is not None:
                assert key not in processing, "handed out while in flight"
                assert key in wanted, "handed out without being added"
                processing.add(key)
                wanted.discard(key)
            else:
                assert not wanted - processing, "a wanted key was not handed out"
        elif op == "done" and arg in processing:
            q.done(arg)
            processing.discard(arg)
        elif op == "tick":
            clock.now += int(arg)
        promote()
        assert len(q) <= len(wanted)
    for key in list(processing):
        q.done(key)
    clock.now += 1000
    promote()
    drained = []
    while (key := q.get(0)) is not None:
        drained.append(key)
        q.done(key)
    assert sorted(drained) == sorted(wanted)  # each wanted key exactly once: dedup and no loss


@given(st.floats(0.001, 10), st.floats(0.001, 100), st.floats(1, 4), st.floats(0, 1), st.integers(0, 10_000))
def test_backoff_grows_and_stays_within_the_cap(
    base: float, cap: float, factor: float, jitter: float, n: int
) -> None:
    plain = Backoff(base=base, cap=cap, factor=factor)
    assert plain.delay(n) <= plain.delay(n + 1) <= cap
    jittered = Backoff(base=base, cap=cap, factor=factor, jitter=jitter, seed=n)
    assert (1 - jitter) * plain.delay(n) - 1e-12 <= jittered.delay(n) <= plain.delay(n) + 1e-12


def test_retry_retries_transient_errors_only() -> None:
    slept: list[float] = []
    calls = iter([Unavailable("down"), Unavailable("down"), "ok"])

    def flaky() -> str:
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert retry(flaky, policy=Backoff(base=0.5), sleep=slept.append) == "ok"
    assert slept == [0.5, 1.0]

    def conflicting() -> str:
        raise Conflict("stale")

    with pytest.raises(Conflict):
        retry(conflicting, sleep=slept.append)
    assert len(slept) == 2  # a conflict is not retried blindly
