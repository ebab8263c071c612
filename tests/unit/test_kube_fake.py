"""The in-memory fake keeps the API server's concurrency rules: resourceVersions, generations,
conflicts, namespaces, finalizers, watches and compaction."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from tmc_kube import AlreadyExists, Conflict, FakeKube, Gone, KubePort, NotFound, ObjectRef, Unavailable


def cm(name: str, ns: str = "ns", **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": ns},
        "data": data,
    }


def deploy(replicas: int, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "ns", "labels": labels},
        "spec": {"replicas": replicas},
    }


@pytest.fixture
def fake() -> FakeKube:
    f = FakeKube()
    f.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ns"}})
    return f


def test_is_a_kube_port(fake: FakeKube) -> None:
    assert isinstance(fake, KubePort)


def test_objects_need_their_namespace() -> None:
    with pytest.raises(NotFound) as err:
        FakeKube().create(cm("a", "missing"))
    assert err.value.details == {"name": "missing", "kind": "namespaces"}
    FakeKube(require_namespaces=False).create(cm("a", "missing"))


def test_create_twice_is_already_exists(fake: FakeKube) -> None:
    fake.create(cm("a"))
    with pytest.raises(AlreadyExists):
        fake.create(cm("a"))


def test_stale_update_conflicts_and_fresh_update_bumps_version(fake: FakeKube) -> None:
    first = fake.create(cm("a", v="1"))
    fresh = {**first, "data": {"v": "2"}}
    second = fake.update(fresh)
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    with pytest.raises(Conflict):
        fake.update({**first, "data": {"v": "3"}})  # carries the old resourceVersion
    assert fake.get(ObjectRef.of(first))["data"] == {"v": "2"}


def test_generation_counts_spec_changes_only(fake: FakeKube) -> None:
    d = fake.create(deploy(1))
    assert d["metadata"]["generation"] == 1
    d = fake.update({**d, "metadata": {**d["metadata"], "labels": {"x": "y"}}})
    assert d["metadata"]["generation"] == 1
    d = fake.update_status({**d, "status": {"replicas": 1}})
    assert d["metadata"]["generation"] == 1 and d["status"] == {"replicas": 1}
    d = fake.update({**d, "spec": {"replicas": 2}, "status": {"replicas": 99}})
    assert d["metadata"]["generation"] == 2 and d["status"] == {"replicas": 1}  # PUT ignores status


def test_repeated_apply_changes_nothing(fake: FakeKube) -> None:
    first = fake.apply(deploy(2, app="web"), field_manager="tmc")
    again = fake.apply(deploy(2, app="web"), field_manager="tmc")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    changed = fake.apply(deploy(3, app="web"), field_manager="tmc")
    assert changed["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
    assert changed["metadata"]["generation"] == 2


def test_apply_removes_fields_the_manager_dropped_and_keeps_others(fake: FakeKube) -> None:
    fake.apply(deploy(2, app="web", tier="front"), field_manager="tmc")
    fake.apply(
        {**deploy(2), "metadata": {**deploy(2)["metadata"], "labels": {"team": "x"}}}, field_manager="ops"
    )
    after = fake.apply(deploy(2, app="web"), field_manager="tmc")
    assert after["metadata"]["labels"] == {"app": "web", "team": "x"}


def test_apply_conflicts_with_another_manager_unless_forced(fake: FakeKube) -> None:
    fake.apply(deploy(2), field_manager="hpa")
    with pytest.raises(Conflict, match="hpa"):
        fake.apply(deploy(5), field_manager="tmc")
    assert fake.apply(deploy(5), field_manager="tmc", force=True)["spec"]["replicas"] == 5
    # The field moved to tmc: hpa applying its old value again now conflicts with tmc.
    with pytest.raises(Conflict, match="tmc"):
        fake.apply(deploy(2), field_manager="hpa")


def test_dry_run_stores_nothing(fake: FakeKube) -> None:
    rv = fake.resource_version
    fake.apply(cm("a", v="1"), field_manager="tmc", dry_run=True)
    fake.create(cm("b"), dry_run=True)
    with pytest.raises(NotFound):
        fake.get(ObjectRef("v1", "ConfigMap", "ns", "a"))
    assert fake.resource_version == rv


def test_delete_preconditions_finalizers_and_cascade(fake: FakeKube) -> None:
    owner = fake.create(deploy(1))
    owned = cm("owned")
    owned["metadata"]["ownerReferences"] = [
        {"uid": owner["metadata"]["uid"], "kind": "Deployment", "name": "web"}
    ]
    fake.create(owned)
    with pytest.raises(Conflict):
        fake.delete(ObjectRef.of(owner), uid="someone-else")
    fake.delete(ObjectRef.of(owner))
    with pytest.raises(NotFound):
        fake.get(ObjectRef.of(owned))

    held = cm("held")
    held["metadata"]["finalizers"] = ["tmc.kcp.io/sync"]
    fake.create(held)
    fake.delete(ObjectRef.of(held))
    terminating = fake.get(ObjectRef.of(held))
    assert terminating["metadata"]["deletionTimestamp"]
    terminating["metadata"]["finalizers"] = []
    fake.update(terminating)
    with pytest.raises(NotFound):
        fake.get(ObjectRef.of(held))


def test_list_filters_by_namespace_and_selectors(fake: FakeKube) -> None:
    fake.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}})
    a, b, c = cm("a"), cm("b"), cm("c", "other")
    a["metadata"]["labels"] = {"app": "web", "tier": "front"}
    b["metadata"]["labels"] = {"app": "db"}
    for o in (a, b, c):
        fake.create(o)
    names = lambda **kw: [o["metadata"]["name"] for o in fake.list("v1", "ConfigMap", **kw).items]  # noqa: E731
    assert names() == ["a", "b", "c"]
    assert names(namespace="ns") == ["a", "b"]
    assert names(label_selector="app in (web,db),!tier") == ["b"]
    assert names(label_selector="app!=db") == ["a", "c"]
    assert names(field_selector="metadata.name!=a,metadata.namespace=ns") == ["b"]


def _drain(stream: Any) -> list[tuple[str, str]]:
    return [(e.type, e.object["metadata"].get("name", "")) for e in stream]


def test_watch_replays_history_then_ends_on_timeout(fake: FakeKube) -> None:
    start = fake.resource_version
    a = fake.create(cm("a"))
    fake.update({**a, "data": {"v": "1"}})
    fake.delete(ObjectRef.of(a))
    events = _drain(fake.watch("v1", "ConfigMap", resource_version=start, timeout_seconds=0))
    assert events == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]


def test_watch_streams_live_events_and_bookmarks(fake: FakeKube) -> None:
    stream = fake.watch("v1", "ConfigMap", namespace="ns", resource_version=fake.resource_version)
    got: list[tuple[str, str]] = []
    reader = threading.Thread(target=lambda: got.extend(_drain(stream)))
    reader.start()
    fake.create(cm("live"))
    fake.bookmark()
    fake.break_watches()
    reader.join(5)
    assert got == [("ADDED", "live"), ("BOOKMARK", "")]


def test_watch_from_before_compaction_is_gone(fake: FakeKube) -> None:
    old = fake.resource_version
    fake.create(cm("a"))
    fake.compact()
    with pytest.raises(Gone):
        _drain(fake.watch("v1", "ConfigMap", resource_version=old, timeout_seconds=0))
    assert (
        _drain(fake.watch("v1", "ConfigMap", resource_version=fake.resource_version, timeout_seconds=0)) == []
    )


def test_injected_faults_hit_the_named_verb_only(fake: FakeKube) -> None:
    fake.fail_next("get", Unavailable("down"), times=2)
    fake.create(cm("a"))
    for _ in range(2):
        with pytest.raises(Unavailable):
            fake.get(ObjectRef("v1", "ConfigMap", "ns", "a"))
    assert fake.get(ObjectRef("v1", "ConfigMap", "ns", "a"))["metadata"]["name"] == "a"
