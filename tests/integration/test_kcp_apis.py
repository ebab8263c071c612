"""tmc's generated kcp APIs on a real kcp (v0.28): the APIResourceSchemas and APIExport of deploy/kcp
install in a provider workspace, consumer workspaces bind them (accepting the namespaces claim), the
kinds are served there and objects round-trip, and the export's virtual workspace lists every bound
workspace at once, each object naming its logical cluster, while writes go back to one of them.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration import servers
from tests.integration.e2e_support import deployment, placement, wait_for
from tests.integration.kcp_support import (
    bind,
    create_workspace,
    install_export,
    logical_cluster,
    virtual_workspace_urls,
    workspace_api,
)
from tmc_core.manifests import cluster_from_manifest, cluster_manifest, placement_from_manifest
from tmc_core.model import Cluster
from tmc_kcp import schemas
from tmc_kcp.workspaces import Hub, workspace_key
from tmc_kube import Forbidden, KubeClient

pytestmark = pytest.mark.integration

TMC = ("tmc.kcp.io", "v1alpha1")


@dataclass
class Workspace:
    path: str
    api: Any
    cluster: str  # the logical-cluster name (kcp.io/cluster of its objects)


@dataclass
class Installed:
    provider: Workspace
    export: dict[str, Any]
    consumers: list[Workspace]
    bindings: list[dict[str, Any]]


@pytest.fixture(scope="module")
def installed(kcp_server: servers.KcpServer) -> Iterator[Installed]:
    """A provider workspace with the export and two consumer workspaces bound to it."""
    path = create_workspace(kcp_server, "tmc-provider")
    provider_api = workspace_api(kcp_server, path)
    export = install_export(provider_api)
    consumers, bindings = [], []
    for _ in range(2):
        ws_path = create_workspace(kcp_server, "shop")
        api = workspace_api(kcp_server, ws_path)
        bindings.append(bind(api, path))
        client.CoreV1Api(api).create_namespace({"metadata": {"name": "shop"}})
        consumers.append(Workspace(ws_path, api, logical_cluster(api)))
    yield Installed(Workspace(path, provider_api, logical_cluster(provider_api)), export, consumers, bindings)
    for ws in consumers:
        ws.api.close()
    provider_api.close()


def test_the_export_has_an_identity_and_bindings_bind_every_resource_under_it(installed: Installed) -> None:
    identity = installed.export["status"]["identityHash"]
    assert len(identity) == 64 and int(identity, 16) >= 0  # sha256 hex
    for binding in installed.bindings:
        status = binding["status"]
        assert status["apiExportClusterName"] == installed.provider.cluster
        bound = {(r["group"], r["resource"]): r["schema"] for r in status["boundResources"]}
        assert set(bound) == {
            ("tmc.kcp.io", "clusterregistrations"),
            ("tmc.kcp.io", "workloadplacements"),
            ("apps", "deployments"),
        }
        assert {s["identityHash"] for s in bound.values()} == {identity}
        served = {r["schema"] for r in installed.export["spec"]["resources"]}
        assert {s["name"] for s in bound.values()} == served
        claims = status["appliedPermissionClaims"]
        assert [(c["group"], c["resource"], c["selector"]) for c in claims] == [
            ("", "namespaces", {"matchAll": True})
        ]


def test_bound_workspaces_serve_the_kinds_with_their_scopes_and_subresources(installed: Installed) -> None:
    api = installed.consumers[0].api
    tmc = {r.name: r for r in client.CustomObjectsApi(api).get_api_resources(*TMC).resources}
    assert tmc["clusterregistrations"].namespaced is False
    assert tmc["workloadplacements"].namespaced is True
    assert {"clusterregistrations/status", "workloadplacements/status"} <= set(tmc)
    apps = {r.name: r for r in client.AppsV1Api(api).get_api_resources().resources}
    assert apps["deployments"].kind == "Deployment" and apps["deployments"].namespaced is True
    assert {"deployments/status", "deployments/scale"} <= set(apps)
    assert "deploy" in (apps["deployments"].short_names or [])


def test_a_cluster_registration_round_trips_with_status(installed: Installed) -> None:
    api = installed.consumers[0].api
    cluster = Cluster.model_validate(
        {
            "name": f"aws-use1-{uuid.uuid4().hex[:6]}",
            "labels": {"env": "prod"},
            "provider": "aws",
            "region": "us-east-1",
            "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
            "properties": {"cost": 0.12, "latencyMs": 20},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1100"},
            "allocated": {"cpu": "10", "memory": "20Gi", "pods": "100"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Heartbeat"}],
        }
    )
    manifest = cluster_manifest(cluster)
    objects = client.CustomObjectsApi(api)
    created = objects.create_cluster_custom_object(*TMC, "clusterregistrations", manifest)
    assert not created.get("status"), "status is written only through /status"
    assert created["metadata"]["annotations"]["kcp.io/cluster"] == installed.consumers[0].cluster
    objects.replace_cluster_custom_object_status(
        *TMC, "clusterregistrations", cluster.name, {**created, "status": manifest["status"]}
    )
    got = objects.get_cluster_custom_object(*TMC, "clusterregistrations", cluster.name)
    assert cluster_from_manifest(got) == cluster


def test_a_workload_placement_round_trips_and_bad_values_are_rejected(installed: Installed) -> None:
    objects = client.CustomObjectsApi(installed.consumers[0].api)
    manifest = placement("shop")
    manifest["metadata"]["name"] = f"web-{uuid.uuid4().hex[:6]}"
    manifest["spec"]["placement"]["clusterAffinity"] = {"labelSelector": {"matchLabels": {"env": "prod"}}}
    created = objects.create_namespaced_custom_object(*TMC, "shop", "workloadplacements", manifest)
    assert placement_from_manifest(created) == placement_from_manifest(manifest)
    bad = copy.deepcopy(manifest)
    bad["metadata"]["name"] = "bad"
    bad["spec"]["placement"]["replicaScheduling"]["replicaSchedulingType"] = "Sideways"
    with pytest.raises(ApiException) as err:
        objects.create_namespaced_custom_object(*TMC, "shop", "workloadplacements", bad)
    assert err.value.status == 422
    assert "replicaSchedulingType" in err.value.body


def test_a_deployment_round_trips_with_kubernetes_defaults_and_scales(installed: Installed) -> None:
    apps = client.AppsV1Api(installed.consumers[0].api)
    body = deployment("shop", 3)
    name = body["metadata"]["name"] = f"web-{uuid.uuid4().hex[:6]}"
    container = body["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [{"containerPort": 80}]
    body["spec"]["strategy"] = {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}}
    created = apps.create_namespaced_deployment("shop", body)
    got = created.spec.template.spec.containers[0]
    assert [(p.container_port, p.protocol) for p in got.ports] == [(80, "TCP")]  # the list-map key default
    assert got.resources.requests == {"cpu": "500m"}
    assert created.spec.strategy.rolling_update.max_surge == "25%"
    assert created.spec.strategy.rolling_update.max_unavailable == 1
    merge = "application/merge-patch+json"  # the client's default (json-patch) does not fit a dict body
    apps.patch_namespaced_deployment_scale(name, "shop", {"spec": {"replicas": 5}}, _content_type=merge)
    assert apps.read_namespaced_deployment_scale(name, "shop").spec.replicas == 5
    assert apps.read_namespaced_deployment(name, "shop").spec.replicas == 5
    with pytest.raises(ApiException) as err:
        apps.patch_namespaced_deployment(name, "shop", {"spec": {"replicas": "many"}}, _content_type=merge)
    assert err.value.status in (400, 422)


def test_the_virtual_workspace_lists_every_bound_workspace_and_writes_to_one(
    installed: Installed, kcp_server: servers.KcpServer
) -> None:
    urls = virtual_workspace_urls(installed.provider.api)
    assert len(urls) == 1  # one shard
    assert (
        urls[0] == f"{kcp_server.url}/services/apiexport/{installed.provider.cluster}/{schemas.EXPORT_NAME}"
    )
    name = f"twin-{uuid.uuid4().hex[:6]}"
    for ws in installed.consumers:  # the same namespace/name in both workspaces
        body = deployment("shop", 2)
        body["metadata"]["name"] = name
        client.AppsV1Api(ws.api).create_namespaced_deployment("shop", body)

    opened: list[Any] = []

    def port_for_url(url: str) -> KubeClient:
        api = workspace_api(kcp_server, "x")
        api.configuration.host = url
        opened.append(api)
        return KubeClient(api)

    hub = Hub(port_for_url, kcp_server.url, virtual_workspace_urls=urls)
    informer = hub.informer("apps/v1", "Deployment")
    informer.start()
    try:
        assert informer.wait_for_sync(30)
        clusters = {ws.cluster for ws in installed.consumers}
        twins = wait_for(
            "both twins in the cache",
            lambda: (
                (found := [o for o in informer.list() if o["metadata"]["name"] == name])
                and {workspace_key(o) for o in found} == {f"{c}|shop/{name}" for c in clusters}
                and found
            ),
        )
        # Claimed namespaces are listed across workspaces too, each naming its logical cluster.
        namespaces = hub.read_ports[urls[0]].list("v1", "Namespace").items
        shops = {
            o["metadata"]["annotations"]["kcp.io/cluster"]
            for o in namespaces
            if o["metadata"]["name"] == "shop"
        }
        assert clusters <= shops

        # A status written through the VW lands in that workspace only.
        first, second = installed.consumers
        mine = next(o for o in twins if o["metadata"]["annotations"]["kcp.io/cluster"] == first.cluster)
        hub.write_port(first.cluster).update_status({**mine, "status": {"replicas": 2, "readyReplicas": 2}})
        assert client.AppsV1Api(first.api).read_namespaced_deployment(name, "shop").status.ready_replicas == 2
        untouched = client.AppsV1Api(second.api).read_namespaced_deployment(name, "shop").status
        assert untouched is None or untouched.ready_replicas is None
        wait_for(
            "the write seen through the wildcard watch",
            lambda: (
                (informer.get(f"{first.cluster}|shop/{name}") or {}).get("status", {}).get("readyReplicas")
                == 2
            ),
        )
    finally:
        informer.stop()
        for api in opened:
            api.close()


def test_the_virtual_workspace_takes_logical_cluster_names_not_paths(
    installed: Installed, kcp_server: servers.KcpServer
) -> None:
    url = virtual_workspace_urls(installed.provider.api)[0]
    api = workspace_api(kcp_server, "x")
    try:
        port = KubeClient(api)
        api.configuration.host = f"{url}/clusters/{installed.consumers[0].cluster}"
        assert port.list("apps/v1", "Deployment").items is not None
        api.configuration.host = f"{url}/clusters/{installed.consumers[0].path}"
        with pytest.raises(Forbidden, match="not resolved to a valid virtual workspace"):
            KubeClient(api).list("apps/v1", "Deployment")
    finally:
        api.close()
