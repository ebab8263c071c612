"""Applier against the fake: namespaces on demand, plan actions, preconditions, dry-run."""

from __future__ import annotations

from typing import Any

import pytest

from tmc_core.model import Cluster, Decision
from tmc_core.sync import plan, render
from tmc_kube import Applier, Conflict, FakeKube, ObjectRef, Unavailable, member_status

UPSTREAM: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "shop", "generation": 4},
    "spec": {"replicas": 6, "template": {"spec": {"containers": [{"name": "app", "image": "nginx"}]}}},
}


def _desired(replicas: int) -> dict[str, list[dict[str, Any]]]:
    decision = Decision.from_record(
        {
            "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
            "clusters": [{"name": "m1", "replicas": replicas}],
        }
    )
    return {"m1": render(UPSTREAM, decision, Cluster(name="m1"))}


def _observed(fake: FakeKube, desired: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    return {c: [fake.get(ObjectRef.of(m)) for m in ms] for c, ms in desired.items()}


def test_missing_namespace_is_created_on_demand() -> None:
    fake = FakeKube()
    applied = Applier(fake).apply(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "x"}}
    )
    assert applied["metadata"]["namespace"] == "x"
    assert fake.get(ObjectRef("v1", "Namespace", "", "x"))["metadata"]["name"] == "x"


def test_plan_executes_to_a_fixed_point() -> None:
    fake = FakeKube()
    desired = _desired(2)
    results = Applier(fake).execute_all(plan(desired, {}).actions)
    assert [r.outcome for r in results] == ["applied", "applied"]
    assert plan(desired, _observed(fake, desired)).empty

    desired3 = _desired(3)
    observed = _observed(fake, desired)
    (update,) = plan(desired3, observed).actions
    assert Applier(fake).execute(update).outcome == "applied"
    stale = Applier(fake).execute(update)  # the object moved on since `observed`
    assert stale.outcome == "failed" and isinstance(stale.error, Conflict)
    assert plan(desired3, _observed(fake, desired3)).empty


def test_deletes_report_gone_objects() -> None:
    fake = FakeKube()
    desired = _desired(2)
    Applier(fake).execute_all(plan(desired, {}).actions)
    deletes = plan({"m1": []}, _observed(fake, desired)).actions
    fake.delete(ObjectRef.of(deletes[0].manifest))  # someone else deleted the Deployment first
    assert [r.outcome for r in Applier(fake).execute_all(deletes)] == ["gone", "deleted"]


def test_dry_run_writes_nothing() -> None:
    fake = FakeKube()
    rv = fake.resource_version
    Applier(fake, dry_run=True).execute_all(plan(_desired(2), {}).actions)
    assert fake.resource_version == rv


def test_member_status_reads_back_or_says_why_not() -> None:
    fake = FakeKube()
    ref = ObjectRef("apps/v1", "Deployment", "ns", "web")
    assert member_status(fake, "m1", ref).manifest is None
    fake.fail_next("get", Unavailable("connection refused"))
    status = member_status(fake, "m1", ref)
    assert not status.reachable


@pytest.mark.parametrize("force", [False, True])
def test_force_only_when_asked(force: bool) -> None:
    fake = FakeKube(require_namespaces=False)
    cm = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "n"},
        "data": {"k": "a"},
    }
    Applier(fake, field_manager="other").apply(cm)
    ours = {**cm, "data": {"k": "b"}}
    if force:
        assert Applier(fake).apply(ours, force=True)["data"] == {"k": "b"}
    else:
        with pytest.raises(Conflict):
            Applier(fake).apply(ours)
