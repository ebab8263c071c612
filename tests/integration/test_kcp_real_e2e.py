"""End to end on a real kcp (v0.28): the tmc-controller process in APIExport mode, with two member
kube-apiservers (no kubelets: Nodes and member status are written by the test).

kcp side, as docs/deployment.md says to set it up: a provider workspace with deploy/kcp's schemas,
export and RBAC, bound by itself (it holds the ClusterRegistrations) and by two consumer workspaces,
each with a Deployment ``shop/web`` and a WorkloadPlacement of the same names (the fleet is the
provider workspace's: a tenant's own ClusterRegistrations are ignored). The controller runs as
the ServiceAccount of deploy/kcp/rbac.yaml, reads everything through the export's virtual workspace
and writes back into each object's own logical cluster. The scenario: both splits appear downstream in
namespaces distinct per workspace; each workspace's status aggregates its own copies only; scaling
one to 9 places only the increase; deleting it removes its copies and releases the finalizer; the
other workspace is untouched throughout.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration import servers
from tests.integration.e2e_support import (
    ControllerProcess,
    add_nodes,
    deployment,
    expected_split,
    merged_kubeconfig,
    placement,
    read_copies,
    report_member_status,
    wait_for,
)
from tests.integration.kcp_support import (
    bind,
    create_all,
    create_workspace,
    deploy_documents,
    install_export,
    logical_cluster,
    workspace_api,
    workspace_kubeconfig,
)
from tmc_core.manifests import cluster_manifest
from tmc_core.model import Cluster, Decision
from tmc_core.sync import FINALIZER, downstream_namespace
from tmc_kcp import schemas

pytestmark = pytest.mark.integration

TMC = ("tmc.kcp.io", "v1alpha1")


@dataclass
class Tenant:
    """A consumer workspace: its path, client, logical cluster and where its shop lands downstream."""

    path: str
    api: Any
    cluster: str

    @property
    def downstream(self) -> str:
        return downstream_namespace(self.cluster, "shop")

    def decision(self) -> dict[str, int] | None:
        obj = client.CustomObjectsApi(self.api).get_namespaced_custom_object(
            *TMC, "shop", "workloadplacements", "web"
        )
        records = (obj.get("status") or {}).get("decisions") or []
        return Decision.from_record(records[0]).replicas if records else None

    def upstream(self) -> Any:
        return client.AppsV1Api(self.api).read_namespaced_deployment("web", "shop")


@dataclass
class Stage:
    provider: Any
    tenants: list[Tenant]
    members: dict[str, Any]
    controller: ControllerProcess


def _controller_token(provider_api: Any) -> str:
    """A token of deploy/kcp/rbac.yaml's ServiceAccount (TokenRequest, one hour)."""
    request = {"spec": {"expirationSeconds": 3600}}
    got = client.CoreV1Api(provider_api).create_namespaced_service_account_token(
        "tmc-controller", "tmc-system", request
    )
    return str(got.status.token)


@pytest.fixture(scope="module")
def stage(
    kcp_server: servers.KcpServer,
    kube_members: list[servers.ApiServer],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stage]:
    tmp = tmp_path_factory.mktemp("kcp-e2e")
    provider_path = create_workspace(kcp_server, "tmc-provider")
    provider = workspace_api(kcp_server, provider_path)
    install_export(provider)
    create_all(provider, deploy_documents("rbac.yaml"))
    bind(provider, provider_path)  # the provider workspace holds the fleet's ClusterRegistrations
    tenants = []
    for _ in range(2):
        path = create_workspace(kcp_server, "shop")
        api = workspace_api(kcp_server, path)
        bind(api, provider_path)
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop"}})
        tenants.append(Tenant(path, api, logical_cluster(api)))
    members = {m.name: m.api_client() for m in kube_members}
    add_nodes(members)
    hub = workspace_kubeconfig(kcp_server, provider_path, tmp / "hub.kubeconfig", _controller_token(provider))
    args = [
        f"--hub-kubeconfig={hub}",
        f"--kcp-export={schemas.EXPORT_NAME}",
        f"--member-kubeconfig={merged_kubeconfig(kube_members, tmp / 'members.kubeconfig')}",
        "--grace-period=4s",
        "--heartbeat-interval=1s",
        "--resync-period=30s",
        "--lease-namespace=tmc-system",
        "--log-level=INFO",
    ]
    with ControllerProcess.running_with(args, tmp / "controller.log") as controller:
        yield Stage(provider, tenants, members, controller)
    for t in tenants:
        t.api.close()
    provider.close()


def _ready(provider: Any, name: str) -> bool:
    obj = client.CustomObjectsApi(provider).get_cluster_custom_object(*TMC, "clusterregistrations", name)
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_two_workspaces_placed_synced_scaled_and_deleted_through_kcp(stage: Stage) -> None:
    objects = client.CustomObjectsApi(stage.provider)
    for name in stage.members:
        objects.create_cluster_custom_object(
            *TMC, "clusterregistrations", cluster_manifest(Cluster(name=name))
        )
    for name in stage.members:
        wait_for(f"{name} Ready", lambda name=name: _ready(stage.provider, name), timeout=60)
    registered = objects.get_cluster_custom_object(*TMC, "clusterregistrations", "member-1")
    assert registered["status"]["allocatable"]["cpu"] == "8"  # probed from the member's Node

    a, b = stage.tenants
    # A tenant cannot join the fleet: its registrations (one shadowing member-2 with a taint that would
    # keep replicas off it, one of its own) are neither probed nor placed on.
    tenant_registrations = client.CustomObjectsApi(b.api)
    shadow = cluster_manifest(
        Cluster.model_validate({"name": "member-2", "taints": [{"key": "mine", "effect": "NoSchedule"}]})
    )
    for manifest in (shadow, cluster_manifest(Cluster(name="rogue"))):
        tenant_registrations.create_cluster_custom_object(*TMC, "clusterregistrations", manifest)

    def unprobed() -> bool:
        listed = tenant_registrations.list_cluster_custom_object(*TMC, "clusterregistrations")["items"]
        return len(listed) == 2 and not any(o.get("status") for o in listed)

    for t in (a, b):
        client.AppsV1Api(t.api).create_namespaced_deployment("shop", deployment("shop", 6))
        client.CustomObjectsApi(t.api).create_namespaced_custom_object(
            *TMC, "shop", "workloadplacements", placement("shop")
        )

    # Each workspace: 6 divided by available capacity, its copies in its own downstream namespace.
    expected = expected_split("shop", 6)
    assert a.downstream != b.downstream
    for t in (a, b):
        assert wait_for(f"decision in {t.path}", t.decision, timeout=60) == expected
        wait_for(f"copies of {t.path}", lambda t=t: read_copies(stage.members, t.downstream) == expected)
        assert FINALIZER in (t.upstream().metadata.finalizers or [])

    # Member status folds back into each workspace from its own copies only (b reports one fewer
    # ready replica per member).
    for member, replicas in expected.items():
        report_member_status(stage.members[member], a.downstream, replicas)
        report_member_status(stage.members[member], b.downstream, replicas, ready=replicas - 1)
    wait_for("a's status", lambda: (a.upstream().status or client.V1DeploymentStatus()).ready_replicas == 6)
    ready_b = 6 - len(expected)
    wait_for(
        "b's status", lambda: (b.upstream().status or client.V1DeploymentStatus()).ready_replicas == ready_b
    )
    assert a.upstream().status.replicas == b.upstream().status.replicas == 6
    assert unprobed()

    # Scale a to 9: only the increase is placed; b keeps its decision and copies.
    client.AppsV1Api(a.api).patch_namespaced_deployment(
        "web", "shop", {"spec": {"replicas": 9}}, _content_type="application/merge-patch+json"
    )
    scaled = wait_for("a's decision for 9", lambda: (d := a.decision()) and sum(d.values()) == 9 and d)
    assert all(scaled.get(c, 0) >= n for c, n in expected.items())
    wait_for("a's scaled copies", lambda: read_copies(stage.members, a.downstream) == scaled)
    assert b.decision() == expected
    assert read_copies(stage.members, b.downstream) == expected

    # Delete a upstream: its copies go, then the finalizer, then the object; b stays as it was.
    client.AppsV1Api(a.api).delete_namespaced_deployment("web", "shop")

    def gone() -> bool:
        try:
            a.upstream()
        except ApiException as err:
            return err.status == 404
        return False

    wait_for("a's Deployment deleted", gone, timeout=60)
    assert read_copies(stage.members, a.downstream) == {}
    assert read_copies(stage.members, b.downstream) == expected
    assert FINALIZER in (b.upstream().metadata.finalizers or [])
    assert b.upstream().status.ready_replicas == ready_b

    with urllib.request.urlopen(
        f"http://127.0.0.1:{stage.controller.metrics_port}/metrics", timeout=5
    ) as response:
        text = response.read().decode()
    assert "tmc_placement_decisions_total" in text and "tmc_cluster_ready" in text
    assert unprobed()
    assert stage.controller.running
