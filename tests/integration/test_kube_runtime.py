"""The controller runtime against real kube-apiservers: conflicts retried, a watch that survives
a restart of the server, and leader election handing over between two candidates."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.integration import servers
from tmc_kube import (
    Applier,
    Backoff,
    Connection,
    Controller,
    KubeClient,
    LeaderElector,
    ObjectRef,
    Reflector,
    Result,
    connect,
)

pytestmark = pytest.mark.integration


def _eventually(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def _client(server: servers.ApiServer) -> Iterator[KubeClient]:
    with connect(Connection.from_kubeconfig(server.kubeconfig)) as conn:
        yield KubeClient(conn.api_client)


@pytest.fixture
def hub(kube_hub: servers.ApiServer) -> Iterator[KubeClient]:
    yield from _client(kube_hub)


def _namespace(port: KubeClient, prefix: str) -> str:
    ns = f"{prefix}-{uuid.uuid4().hex[:6]}"
    Applier(port).ensure_namespace(ns)
    return ns


def _configmap(ns: str, name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def test_conflicting_write_is_retried(hub: KubeClient, kube_hub: servers.ApiServer) -> None:
    ns = _namespace(hub, "conflict")
    ref = ObjectRef("v1", "ConfigMap", ns, "counter")
    hub.create(_configmap(ns, "counter", count="0"))
    attempts: list[str] = []

    def reconcile(key: ObjectRef) -> Result | None:
        current = hub.get(key)
        attempts.append(current["metadata"]["resourceVersion"])
        if len(attempts) == 1:
            # Another writer gets in between our read and our write.
            for other in _client(kube_hub):
                theirs = other.get(key)
                theirs["data"]["other"] = "was-here"
                other.update(theirs)
        current["data"]["count"] = str(int(current["data"]["count"]) + 1)
        hub.update(current)  # carries the resourceVersion read above
        return None

    controller: Controller[ObjectRef] = Controller(reconcile, queue=None, backoff=Backoff(base=0.05, cap=1.0))
    controller.enqueue(ref)
    controller.start()
    _eventually(lambda: hub.get(ref)["data"].get("count") == "1", what="the retried write")
    assert controller.stop(5)
    assert controller.conflicts == 1
    assert len(attempts) == 2 and attempts[0] != attempts[1]
    assert hub.get(ref)["data"] == {"count": "1", "other": "was-here"}


def test_watch_survives_an_apiserver_restart(kube_members: list[servers.ApiServer]) -> None:
    server = kube_members[0]
    with connect(Connection.from_kubeconfig(server.kubeconfig)) as conn:
        port = KubeClient(conn.api_client)
        ns = _namespace(port, "watch")
        port.create(_configmap(ns, "a", v="1"))
        seen: list[tuple[str, str]] = []
        lock = threading.Lock()

        def record(kind: str, obj: dict[str, Any], prev: dict[str, Any] | None) -> None:
            with lock:
                seen.append((kind, obj["metadata"]["name"]))

        reflector = Reflector(
            port, "v1", "ConfigMap", namespace=ns, backoff=Backoff(base=0.5, cap=2.0), watch_timeout=60
        )
        reflector.add_handler(record)
        stop = threading.Event()
        thread = threading.Thread(target=reflector.run, args=(stop,), daemon=True)
        thread.start()
        try:
            assert reflector.synced.wait(10)
            port.create(_configmap(ns, "b", v="1"))
            _eventually(lambda: reflector.store.get(f"{ns}/b") is not None, what="b before the restart")

            server.restart()
            # Changes made right after the restart, while the reflector is still reconnecting.
            port.create(_configmap(ns, "c", v="1"))
            port.delete(ObjectRef("v1", "ConfigMap", ns, "a"))
            b = port.get(ObjectRef("v1", "ConfigMap", ns, "b"))
            b["data"]["v"] = "2"
            port.update(b)

            _eventually(
                lambda: (
                    reflector.store.keys() == [f"{ns}/b", f"{ns}/c"]
                    and (reflector.store.get(f"{ns}/b") or {}).get("data") == {"v": "2"}
                ),
                what="the changes made across the restart",
            )
            with lock:
                assert ("ADDED", "c") in seen
                assert ("DELETED", "a") in seen
                assert seen.count(("MODIFIED", "b")) == 1
            print(f"reflector lists: {reflector.lists}")
        finally:
            stop.set()
            reflector.interrupt()
            thread.join(10)


def test_leader_election_hands_over(hub: KubeClient, kube_hub: servers.ApiServer) -> None:
    ns = _namespace(hub, "lease")
    timings = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.2}
    leading: dict[str, threading.Event] = {"one": threading.Event(), "two": threading.Event()}
    stops = {name: threading.Event() for name in leading}
    electors = {
        name: LeaderElector(hub, name="tmc", namespace=ns, identity=name, **timings) for name in leading
    }

    def work(name: str) -> Callable[[threading.Event], None]:
        def lead(leading_stop: threading.Event) -> None:
            leading[name].set()
            leading_stop.wait()
            leading[name].clear()

        return lead

    threads = {
        name: threading.Thread(target=electors[name].run, args=(stops[name], work(name)), daemon=True)
        for name in leading
    }
    threads["one"].start()
    assert leading["one"].wait(10)
    threads["two"].start()
    time.sleep(1.0)
    assert not leading["two"].is_set(), "two must not lead while one renews"

    # Graceful stop: one releases the lease and two takes over without waiting for expiry.
    released_at = time.monotonic()
    stops["one"].set()
    threads["one"].join(10)
    assert leading["two"].wait(10)
    handover = time.monotonic() - released_at
    lease = hub.get(ObjectRef("coordination.k8s.io/v1", "Lease", ns, "tmc"))
    assert lease["spec"]["holderIdentity"] == "two"
    assert lease["spec"]["leaseTransitions"] == 1
    assert handover < timings["lease_duration"], f"takeover took {handover:.2f}s"
    stops["two"].set()
    threads["two"].join(10)


def test_leader_takeover_after_lease_expiry(hub: KubeClient) -> None:
    ns = _namespace(hub, "expiry")
    timings = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.2}
    crashed = LeaderElector(hub, name="tmc", namespace=ns, identity="crashed", **timings)
    assert crashed.try_acquire_or_renew()  # then never renews again, as if the process died
    standby = LeaderElector(hub, name="tmc", namespace=ns, identity="standby", **timings)
    start = time.monotonic()
    assert not standby.try_acquire_or_renew()
    _eventually(standby.try_acquire_or_renew, timeout=10, what="the standby's takeover")
    waited = time.monotonic() - start
    assert waited >= timings["lease_duration"]
    lease = hub.get(ObjectRef("coordination.k8s.io/v1", "Lease", ns, "tmc"))
    assert lease["spec"]["holderIdentity"] == "standby"
