"""The generated CRDs on a real kube-apiserver: accepted, established, and objects round-trip.

The kcp Deployment schema is checked the same way under a stand-in group (a CRD may not claim the
built-in ``apps`` group), which proves the server takes it as a structural schema.
"""

from __future__ import annotations

import copy
import time
import uuid
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration import servers
from tests.integration.kcp_support import establish
from tmc_core.manifests import cluster_from_manifest, cluster_manifest, placement_from_manifest
from tmc_core.model import Cluster
from tmc_kcp import generate, schemas

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def hub_api(kube_hub: servers.ApiServer) -> Any:
    with kube_hub.api_client() as api:
        for kind in schemas.tmc_kinds():
            establish(api, schemas.crd(kind))
        time.sleep(1.0)  # discovery settles
        yield api


def test_cluster_registration_round_trips(hub_api: Any) -> None:
    name = f"aws-use1-{uuid.uuid4().hex[:6]}"
    cluster = Cluster.model_validate(
        {
            "name": name,
            "labels": {"env": "prod"},
            "provider": "aws",
            "region": "us-east-1",
            "taints": [{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
            "properties": {"cost": 0.12, "latencyMs": 20},
            "apiResources": ["apps/v1/Deployment"],
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "1100"},
            "allocated": {"cpu": "10", "memory": "20Gi", "pods": "100"},
            "conditions": [{"type": "Ready", "status": "True", "reason": "Heartbeat"}],
        }
    )
    manifest = cluster_manifest(cluster)
    objects = client.CustomObjectsApi(hub_api)
    created = objects.create_cluster_custom_object("tmc.kcp.io", "v1alpha1", "clusterregistrations", manifest)
    assert "status" not in created or not created["status"], "status must only be written via /status"
    body = copy.deepcopy(created)
    body["status"] = manifest["status"]
    objects.replace_cluster_custom_object_status("tmc.kcp.io", "v1alpha1", "clusterregistrations", name, body)
    got = objects.get_cluster_custom_object("tmc.kcp.io", "v1alpha1", "clusterregistrations", name)
    assert cluster_from_manifest(got) == cluster


def test_workload_placement_round_trips_and_bad_values_are_rejected(hub_api: Any) -> None:
    objects = client.CustomObjectsApi(hub_api)
    ns = f"shop-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(hub_api).create_namespace({"metadata": {"name": ns}})
    manifest = {
        "apiVersion": "tmc.kcp.io/v1alpha1",
        "kind": "WorkloadPlacement",
        "metadata": {"name": "web", "namespace": ns},
        "spec": {
            "resourceSelectors": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}],
            "placement": {
                "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
                "replicaScheduling": {
                    "replicaSchedulingType": "Divided",
                    "replicaDivisionPreference": "Weighted",
                    "weightPreference": {"dynamicWeight": "AvailableReplicas"},
                },
            },
        },
    }
    created = objects.create_namespaced_custom_object(
        "tmc.kcp.io", "v1alpha1", ns, "workloadplacements", manifest
    )
    assert placement_from_manifest(created) == placement_from_manifest(manifest)
    bad = copy.deepcopy(manifest)
    bad["metadata"]["name"] = "bad"
    bad["spec"]["placement"]["replicaScheduling"]["replicaSchedulingType"] = "Sideways"
    with pytest.raises(ApiException) as err:
        objects.create_namespaced_custom_object("tmc.kcp.io", "v1alpha1", ns, "workloadplacements", bad)
    assert err.value.status == 422
    assert "replicaSchedulingType" in err.value.body


def test_deployment_schema_is_accepted_as_structural(kube_hub: servers.ApiServer) -> None:
    kind = schemas.deployment_kind(generate.kube_definitions())
    stand_in = schemas.ApiKind(**{**kind.__dict__, "group": "compat.tmc.kcp.io", "short_names": ()})
    with kube_hub.api_client() as api:
        establish(api, schemas.crd(stand_in))
        time.sleep(1.0)
        objects = client.CustomObjectsApi(api)
        web = {
            "apiVersion": "compat.tmc.kcp.io/v1",
            "kind": "Deployment",
            "metadata": {"name": f"web-{uuid.uuid4().hex[:6]}", "namespace": "default"},
            "spec": {
                "replicas": 6,
                "selector": {"matchLabels": {"app": "web"}},
                "strategy": {"rollingUpdate": {"maxSurge": "25%", "maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "nginx:1.27",
                                "ports": [{"containerPort": 80}],
                                "resources": {
                                    "requests": {"cpu": "500m", "memory": "1Gi"},
                                    "limits": {"cpu": 1},
                                },
                            }
                        ]
                    },
                },
            },
        }
        created = objects.create_namespaced_custom_object(
            "compat.tmc.kcp.io", "v1", "default", "deployments", web
        )
    container = created["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"] == [{"containerPort": 80, "protocol": "TCP"}]
    assert container["resources"] == web["spec"]["template"]["spec"]["containers"][0]["resources"]
    assert created["spec"]["strategy"] == web["spec"]["strategy"]
