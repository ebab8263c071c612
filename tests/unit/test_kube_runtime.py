"""Controller runtime against the fake: reflector relist on 410 and reconnect, reconcile loop
requeues on conflicts, leader election over a fake Lease store with a fake clock."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tmc_kube import (
    Backoff,
    Controller,
    FakeKube,
    Informer,
    LeaderElector,
    ObjectRef,
    Reflector,
    Result,
    Store,
    Unavailable,
)
from tmc_kube.runtime import namespace_index


def _eventually(check: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def cm(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": "ns"},
        "data": data,
    }


@pytest.fixture
def fake() -> FakeKube:
    f = FakeKube()
    f.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
    return f


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __call__(self, kind: str, obj: dict[str, Any], prev: dict[str, Any] | None) -> None:
        self.events.append((kind, obj["metadata"]["name"]))


def test_reflector_relists_after_gone_and_reports_what_changed_meanwhile(fake: FakeKube) -> None:
    fake.create(cm("a"))
    fake.create(cm("b"))
    r = Reflector(fake, "v1", "ConfigMap", namespace="ns", watch_timeout=30)
    seen = Recorder()
    r.add_handler(seen)
    r.list_once()
    assert seen.events == [("ADDED", "a"), ("ADDED", "b")]
    # While the reflector is away: a deleted, b changed, c created, then history compacted.
    fake.delete(ObjectRef("v1", "ConfigMap", "ns", "a"))
    b = fake.get(ObjectRef("v1", "ConfigMap", "ns", "b"))
    fake.update({**b, "data": {"v": "2"}})
    fake.create(cm("c"))
    fake.compact()
    stop = threading.Event()
    sleeps: list[float] = []

    def sleep(s: float) -> None:
        sleeps.append(s)
        stop.set()

    r._sleep = sleep
    thread = threading.Thread(target=r.run, args=(stop,))
    thread.start()
    _eventually(lambda: r.lists == 2 and fake.open_watches == 1)  # relisted after Gone, watching again
    stop.set()
    fake.break_watches()
    thread.join(5)
    assert seen.events[2:5] == [("DELETED", "a"), ("MODIFIED", "b"), ("ADDED", "c")]
    assert r.store.keys() == ["ns/b", "ns/c"]
    assert sleeps == []  # Gone is not a failure: no backoff, straight to the relist


def test_reflector_reconnects_with_backoff_from_its_resource_version(fake: FakeKube) -> None:
    sleeps: list[float] = []
    r = Reflector(fake, "v1", "ConfigMap", backoff=Backoff(base=0.25, cap=1.0), sleep=sleeps.append)
    seen = Recorder()
    r.add_handler(seen)
    stop = threading.Event()
    thread = threading.Thread(target=r.run, args=(stop,))
    thread.start()
    assert r.synced.wait(5)
    fake.create(cm("a"))
    _eventually(lambda: r.store.get("ns/a") is not None)
    fake.fail_next("watch", Unavailable("connection refused"), times=2)
    fake.break_watches(Unavailable("connection reset"))  # the server goes away
    fake.create(cm("b"))  # written while the reflector is disconnected
    _eventually(lambda: r.store.get("ns/b") is not None)
    stop.set()
    fake.break_watches()
    thread.join(5)
    assert sleeps == [0.25, 0.5, 1.0]  # three failures in a row, growing backoff
    assert r.lists == 1  # resumed from its resourceVersion: no relist needed
    assert seen.events == [("ADDED", "a"), ("ADDED", "b")]


def test_store_indexes() -> None:
    store = Store({"ns": namespace_index})
    a, b = cm("a"), {**cm("b"), "metadata": {"name": "b", "namespace": "other"}}
    store.upsert(a)
    store.upsert(b)
    assert [o["metadata"]["name"] for o in store.by_index("ns", "ns")] == ["a"]
    store.upsert({**b, "metadata": {"name": "b", "namespace": "other", "labels": {}}})
    store.delete(a)
    assert store.by_index("ns", "ns") == [] and store.keys() == ["other/b"]


def test_conflict_requeues_with_backoff_and_the_fresh_read_wins(fake: FakeKube) -> None:
    fake.create(cm("counter", n="0"))
    ref = ObjectRef("v1", "ConfigMap", "ns", "counter")
    reads: list[str] = []

    def reconcile(key: ObjectRef) -> None:
        obj = fake.get(key)
        reads.append(obj["metadata"]["resourceVersion"])
        if len(reads) == 1:  # a concurrent writer sneaks in
            other = fake.get(key)
            fake.update({**other, "data": {**other["data"], "x": "1"}})
        fake.update({**obj, "data": {**obj["data"], "n": str(int(obj["data"]["n"]) + 1)}})

    c: Controller[ObjectRef] = Controller(reconcile, backoff=Backoff(base=0.0))
    c.enqueue(ref)
    c.process_one(0)
    assert c.conflicts == 1 and c.queue.num_requeues(ref) == 1
    c.process_one(1)
    assert fake.get(ref)["data"] == {"n": "1", "x": "1"}
    assert c.queue.num_requeues(ref) == 0  # forgotten after success
    assert len(set(reads)) == 2


def test_errors_requeue_and_results_can_ask_for_a_later_run() -> None:
    calls: list[str] = []

    def reconcile(key: str) -> Result | None:
        calls.append(key)
        if key == "bad":
            raise RuntimeError("boom")
        return Result(requeue_after=60.0)

    c: Controller[str] = Controller(reconcile, backoff=Backoff(base=30.0))
    c.enqueue("bad")
    c.enqueue("good")
    assert c.process_one(0) and c.process_one(0)
    assert c.errors == 1 and c.queue.delayed == 2 and len(c.queue) == 0


def test_workers_run_concurrently_but_never_on_the_same_key_and_stop_gracefully() -> None:
    active: dict[str, int] = {}
    peak = {"all": 0, "same": 0}
    lock = threading.Lock()
    finished: list[str] = []
    release = threading.Event()

    def reconcile(key: str) -> None:
        with lock:
            active[key] = active.get(key, 0) + 1
            peak["same"] = max(peak["same"], active[key])
            peak["all"] = max(peak["all"], sum(active.values()))
        release.wait(5)
        with lock:
            active[key] -= 1
            finished.append(key)

    c: Controller[str] = Controller(reconcile, workers=3)
    c.start()
    for key in ["a", "b", "c", "a", "a"]:
        c.enqueue(key)
    _eventually(lambda: peak["all"] == 3)
    c.enqueue("a")  # in flight: queued again for after it is done
    release.set()
    assert c.stop(5)
    assert peak["same"] == 1
    assert sorted(finished[:3]) == ["a", "b", "c"]


# -- leader election ------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t

    def wall(self) -> datetime:
        return datetime.fromtimestamp(self.t, UTC)


def _elector(fake: FakeKube, clock: FakeClock, who: str) -> LeaderElector:
    return LeaderElector(
        fake,
        name="tmc",
        namespace="ns",
        identity=who,
        lease_duration=15,
        renew_deadline=10,
        retry_period=2,
        clock=clock,
        now=clock.wall,
    )


def _lease(fake: FakeKube) -> dict[str, Any]:
    return fake.get(ObjectRef("coordination.k8s.io/v1", "Lease", "ns", "tmc"))["spec"]


def test_lease_is_acquired_renewed_and_respected(fake: FakeKube) -> None:
    clock = FakeClock()
    a, b = _elector(fake, clock, "a"), _elector(fake, clock, "b")
    assert a.try_acquire_or_renew() and a.is_leader
    assert not b.try_acquire_or_renew()
    clock.t += 10
    assert a.try_acquire_or_renew()  # renewal changes the record; b's observation restarts
    renewed = _lease(fake)["renewTime"]
    assert renewed == "1970-01-01T00:16:50.000000Z"
    clock.t += 14
    assert not b.try_acquire_or_renew()  # 14s since b saw the renewal: not expired yet
    assert _lease(fake)["holderIdentity"] == "a"


def test_expired_lease_is_taken_over_with_a_transition(fake: FakeKube) -> None:
    clock = FakeClock()
    a, b = _elector(fake, clock, "a"), _elector(fake, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    clock.t += 15
    assert b.try_acquire_or_renew() and b.is_leader
    lease = _lease(fake)
    assert (lease["holderIdentity"], lease["leaseTransitions"]) == ("b", 1)
    assert not a.try_acquire_or_renew() and not a.is_leader


def test_released_lease_is_taken_at_once(fake: FakeKube) -> None:
    clock = FakeClock()
    a, b = _elector(fake, clock, "a"), _elector(fake, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert a.release()
    assert b.try_acquire_or_renew()


def test_racing_candidates_get_one_winner(fake: FakeKube) -> None:
    clock = FakeClock()
    a, b = _elector(fake, clock, "a"), _elector(fake, clock, "b")
    assert a.try_acquire_or_renew()
    clock.t += 20
    # b read the expired lease, then a renewed before b wrote: b's write is a Conflict -> False.
    real_update = fake.update

    def update_after_a_renews(manifest: dict[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        fake.update = real_update  # type: ignore[method-assign]
        assert a.try_acquire_or_renew()
        return real_update(manifest, dry_run=dry_run)

    fake.update = update_after_a_renews  # type: ignore[method-assign]
    assert not b.try_acquire_or_renew()
    assert _lease(fake)["holderIdentity"] == "a"


def test_run_stops_leading_work_and_releases_on_shutdown(fake: FakeKube) -> None:
    stop = threading.Event()
    started, stopped = threading.Event(), threading.Event()
    elector = LeaderElector(
        fake,
        name="tmc",
        namespace="ns",
        identity="a",
        lease_duration=1.0,
        renew_deadline=0.5,
        retry_period=0.05,
    )

    def lead(leading_stop: threading.Event) -> None:
        started.set()
        leading_stop.wait()

    thread = threading.Thread(target=elector.run, args=(stop, lead, stopped.set))
    thread.start()
    assert started.wait(5)
    stop.set()
    thread.join(5)
    assert stopped.is_set() and not elector.is_leader
    assert _lease(fake)["holderIdentity"] == ""


def test_informer_syncs_and_stops(fake: FakeKube) -> None:
    fake.create(cm("a"))
    informer = Informer(fake, "v1", "ConfigMap", indexers={"ns": namespace_index})
    seen = Recorder()
    informer.add_handler(seen)
    informer.start()
    assert informer.wait_for_sync(5) and informer.has_synced
    fake.create(cm("b"))
    _eventually(lambda: len(informer.store.by_index("ns", "ns")) == 2)
    informer.stop(5)
    assert seen.events == [("ADDED", "a"), ("ADDED", "b")]
