"""Server-side apply against a real kube-apiserver: render -> plan -> apply -> read back."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.integration import servers
from tmc_core.model import Cluster, Decision
from tmc_core.sync import plan, render
from tmc_kube import Applier, Conflict, Connection, KubeClient, NotFound, ObjectRef, connect, member_status

pytestmark = pytest.mark.integration


@pytest.fixture
def member(kube_members: list[servers.ApiServer]) -> Iterator[KubeClient]:
    with connect(Connection.from_kubeconfig(kube_members[0].kubeconfig)) as conn:
        yield KubeClient(conn.api_client)


def _deployment(ns: str, replicas: int = 3) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns, "labels": {"app": "web"}, "generation": 2},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


def test_second_apply_changes_nothing_and_namespace_is_created(member: KubeClient) -> None:
    ns = f"apply-{uuid.uuid4().hex[:6]}"
    applier = Applier(member)
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": ns},
        "data": {"k": "v"},
    }
    first = applier.apply(config)
    assert member.get(ObjectRef("v1", "Namespace", "", ns))["metadata"]["name"] == ns
    second = applier.apply(config)
    assert second["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    managers = {m["manager"] for m in member.get(ObjectRef.of(config))["metadata"]["managedFields"]}
    assert managers == {"tmc"}


def test_dry_run_writes_nothing(member: KubeClient) -> None:
    ns = f"dry-{uuid.uuid4().hex[:6]}"
    Applier(member).ensure_namespace(ns)
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": ns},
        "data": {"k": "v"},
    }
    returned = Applier(member, dry_run=True).apply(config)
    assert returned["data"] == {"k": "v"}
    with pytest.raises(NotFound):
        member.get(ObjectRef.of(config))


def test_field_owned_by_another_manager_conflicts_unless_forced(member: KubeClient) -> None:
    ns = f"own-{uuid.uuid4().hex[:6]}"
    Applier(member, field_manager="someone-else").apply(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "c", "namespace": ns},
            "data": {"k": "theirs"},
        }
    )
    ours = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": ns},
        "data": {"k": "ours"},
    }
    with pytest.raises(Conflict):
        Applier(member).apply(ours)
    assert Applier(member).apply(ours, force=True)["data"] == {"k": "ours"}


def test_render_plan_apply_read_back_is_stable(member: KubeClient) -> None:
    upstream_ns = f"shop-{uuid.uuid4().hex[:6]}"
    upstream = _deployment(upstream_ns)
    decision = Decision.from_record(
        {
            "workload": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "namespace": upstream_ns,
                "name": "web",
            },
            "clusters": [{"name": "member-1", "replicas": 2}],
        }
    )
    desired = {"member-1": render(upstream, decision, Cluster(name="member-1"))}
    actions = plan(desired, {}).actions
    assert [a.verb for a in actions] == ["create", "create"]
    results = Applier(member).execute_all(actions)
    assert [r.outcome for r in results] == ["applied", "applied"]

    observed = {"member-1": [member.get(ObjectRef.of(m)) for m in desired["member-1"]]}
    assert plan(desired, observed).empty
    copy = observed["member-1"][1]
    assert copy["spec"]["replicas"] == 2
    status = member_status(member, "member-1", ObjectRef.of(copy))
    assert status.manifest is not None and status.manifest["metadata"]["uid"] == copy["metadata"]["uid"]

    # Re-split to 3 replicas: one update, carrying the observed resourceVersion, then stable again.
    decision3 = Decision.from_record(
        {**decision.to_record(), "clusters": [{"name": "member-1", "replicas": 3}]}
    )
    desired3 = {"member-1": render(upstream, decision3, Cluster(name="member-1"))}
    update = plan(desired3, observed).actions
    assert [a.verb for a in update] == ["update"]
    assert Applier(member).execute(update[0]).outcome == "applied"
    # The same update again is stale now: the precondition fails instead of overwriting blindly.
    stale = Applier(member).execute(update[0])
    assert stale.outcome == "failed" and isinstance(stale.error, Conflict)
    observed3 = {"member-1": [member.get(ObjectRef.of(m)) for m in desired3["member-1"]]}
    assert plan(desired3, observed3).empty

    # Evict: delete the copy and its namespace with Foreground propagation.
    deletes = plan({"member-1": []}, observed3).actions
    assert [a.verb for a in deletes] == ["delete", "delete"]
    outcomes = [r.outcome for r in Applier(member, propagation_policy="Foreground").execute_all(deletes)]
    assert outcomes == ["deleted", "deleted"]
