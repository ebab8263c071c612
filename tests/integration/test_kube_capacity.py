"""Capacity discovery against a real kube-apiserver: Nodes and Pods written through the API
(no kubelet: spec.nodeName set on create, Node status written through the status subresource)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.integration import servers
from tmc_core.model import ResourceList
from tmc_kube import Connection, KubeClient, ObjectRef, connect, discover_cluster

pytestmark = pytest.mark.integration


@pytest.fixture
def member(kube_members: list[servers.ApiServer]) -> Iterator[KubeClient]:
    with connect(Connection.from_kubeconfig(kube_members[1].kubeconfig)) as conn:
        yield KubeClient(conn.api_client)


def _node(port: KubeClient, name: str, allocatable: dict[str, str], *, ready: bool, **spec: Any) -> None:
    """Create a Node as a kubelet and the node lifecycle controller would leave it: the status
    (allocatable, Ready) through the status subresource, and the not-ready taint that the
    TaintNodesByCondition admission adds on create taken off again."""
    created = port.create({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": spec})
    created["spec"]["taints"] = spec.get("taints", [])
    created = port.update(created)
    created["status"] = {
        "allocatable": allocatable,
        "capacity": allocatable,
        "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "Test"}],
    }
    port.update_status(created)


def _pod(port: KubeClient, ns: str, name: str, node: str, phase: str, spec: dict[str, Any]) -> None:
    created = port.create(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": ns},
            "spec": {"nodeName": node, "automountServiceAccountToken": False, **spec},
        }
    )
    created["status"] = {"phase": phase}
    port.update_status(created)


def _container(name: str, **requests: str) -> dict[str, Any]:
    return {"name": name, "image": "registry.invalid/pause:1", "resources": {"requests": requests}}


def test_capacity_from_nodes_and_pods(member: KubeClient) -> None:
    before = discover_cluster(member, "member-2", now=datetime.now(UTC))
    tag = uuid.uuid4().hex[:6]
    ns = f"cap-{tag}"
    member.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    a, b = f"a-{tag}", f"b-{tag}"
    _node(member, a, {"cpu": "4", "memory": "8Gi", "pods": "110"}, ready=True)
    _node(member, b, {"cpu": "2", "memory": "4Gi", "pods": "50"}, ready=True)
    _node(member, f"down-{tag}", {"cpu": "64", "memory": "1Ti", "pods": "500"}, ready=False)
    _node(
        member,
        f"cordoned-{tag}",
        {"cpu": "64", "memory": "1Ti", "pods": "500"},
        ready=True,
        unschedulable=True,
    )
    _node(
        member,
        f"tainted-{tag}",
        {"cpu": "64", "memory": "1Ti", "pods": "500"},
        ready=True,
        taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
    )
    # Running on a: 500m + 1Gi; an init container (2 cpu) bigger than its containers (2 x 250m).
    _pod(member, ns, "web", a, "Running", {"containers": [_container("app", cpu="500m", memory="1Gi")]})
    _pod(
        member,
        ns,
        "init",
        b,
        "Pending",
        {
            "initContainers": [_container("setup", cpu="2", memory="128Mi")],
            "containers": [
                _container("x", cpu="250m", memory="256Mi"),
                _container("y", cpu="250m", memory="256Mi"),
            ],
        },
    )
    _pod(member, ns, "done", a, "Succeeded", {"containers": [_container("job", cpu="3", memory="3Gi")]})
    _pod(member, ns, "failed", b, "Failed", {"containers": [_container("job", cpu="3", memory="3Gi")]})
    _pod(member, ns, "elsewhere", f"down-{tag}", "Running", {"containers": [_container("z", cpu="7")]})

    after = discover_cluster(member, "member-2", now=datetime.now(UTC))

    assert after.ready
    added_allocatable = after.allocatable - before.allocatable
    assert added_allocatable == ResourceList({"cpu": "6", "memory": "12Gi", "pods": "160"})
    added_allocated = after.allocated - before.allocated
    assert added_allocated == ResourceList({"cpu": "2500m", "memory": "1536Mi", "pods": 2})
    member.delete(ObjectRef("v1", "Namespace", "", ns))


def test_readiness_from_readyz(member: KubeClient) -> None:
    assert member.readyz() == (True, "ok")
    nowhere = Connection(name="nowhere", server=f"https://127.0.0.1:{servers.free_port()}")
    with connect(nowhere, timeout=2) as c:
        ready, why = KubeClient(c.api_client).readyz()
    assert not ready
    assert why.startswith("GET /readyz")
