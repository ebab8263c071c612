"""render: namespace mapping, ownership, replicas, overrides, stripping, and schema validity."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tmc_core.errors import InvalidInput
from tmc_core.model import Cluster, Decision
from tmc_core.sync import (
    Override,
    downstream_namespace,
    fingerprint,
    is_owned,
    owner_value,
    parse_overrides,
    render,
    render_namespace,
    upstream_namespace,
)
from tmc_core.sync.manifests import ObjectKey
from tmc_core.sync.namespaces import is_dns1123_label
from tmc_core.sync.overrides import rewrite_registry
from tmc_core.sync.ownership import (
    APPLIED_ANNOTATION,
    CLUSTER_ANNOTATION,
    GENERATION_ANNOTATION,
    OBJECT_ANNOTATION,
    OWNER_LABEL,
    PLACEMENT_ANNOTATION,
    WORKSPACE_ANNOTATION,
)

K8S_VERSION = "1.30"
WS = "root:org:team"

AWS = Cluster(name="aws-use1-a", labels={"env": "prod", "provider": "aws"})
GCP = Cluster(name="gcp-euw1-b", labels={"env": "prod", "provider": "gcp"})


def deployment() -> dict[str, Any]:
    """An upstream Deployment as a kcp workspace returns it: server fields, status and all."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "shop",
            "uid": "6f1c2a9e-0000-4000-8000-000000000001",
            "resourceVersion": "1234",
            "generation": 3,
            "creationTimestamp": "2025-01-02T03:04:05Z",
            "managedFields": [{"manager": "kubectl", "operation": "Apply"}],
            "finalizers": ["tmc.kcp.io/sync"],
            "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "u-up"}],
            "labels": {"app": "web", "tmc.kcp.io/owner": "spoofed"},
            "annotations": {
                "kcp.io/cluster": "2v5wjzq7xx",
                "deployment.kubernetes.io/revision": "3",
                "team": "shop",
            },
        },
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "image": "nginx:1.27",
                            "args": ["--port=8080"],
                            "env": [{"name": "MODE", "value": "prod"}],
                            "resources": {"requests": {"cpu": "500m", "memory": "1Gi"}},
                        },
                        {"name": "sidecar", "image": "ghcr.io/acme/proxy:2"},
                    ]
                },
            },
        },
        "status": {"replicas": 6, "readyReplicas": 6, "observedGeneration": 3},
    }


def decision() -> Decision:
    return Decision.from_record(
        {
            "workload": {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "namespace": "shop",
                "name": "web",
            },
            "placement": "shop/web",
            "clusters": [{"name": "gcp-euw1-b", "replicas": 2}, {"name": "aws-use1-a", "replicas": 4}],
        }
    )


def the(manifests: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    [found] = [m for m in manifests if m["kind"] == kind]
    return found


def validate(manifest: dict[str, Any]) -> None:
    kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


# ---- the worked example ---------------------------------------------------------------------


def test_deployment_is_split_4_2_into_the_same_downstream_namespace() -> None:
    up = deployment()
    a = render(up, decision(), AWS)
    b = render(up, decision(), GCP)
    assert [m["kind"] for m in a] == ["Namespace", "Deployment"]
    assert the(a, "Deployment")["spec"]["replicas"] == 4
    assert the(b, "Deployment")["spec"]["replicas"] == 2
    ns = the(a, "Namespace")["metadata"]["name"]
    assert ns == the(b, "Namespace")["metadata"]["name"]
    assert the(a, "Deployment")["metadata"]["namespace"] == ns
    assert ns.startswith("tmc-shop-") and is_dns1123_label(ns)
    # the workspace comes from kcp's annotation when not given
    assert ns == downstream_namespace("2v5wjzq7xx", "shop")


def test_server_owned_fields_are_stripped_and_user_fields_kept() -> None:
    dep = the(render(deployment(), decision(), AWS), "Deployment")
    meta = dep["metadata"]
    for field in (
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "finalizers",
        "ownerReferences",
    ):
        assert field not in meta, field
    assert "status" not in dep
    assert "kcp.io/cluster" not in meta["annotations"]
    assert "deployment.kubernetes.io/revision" not in meta["annotations"]
    assert meta["annotations"]["team"] == "shop"
    assert meta["labels"]["app"] == "web"
    assert dep["spec"]["template"]["spec"]["containers"][0]["args"] == ["--port=8080"]


def test_ownership_marks_map_back_to_the_upstream_object() -> None:
    [ns, dep] = render(deployment(), decision(), GCP, workspace=WS)
    ann = dep["metadata"]["annotations"]
    assert ann[WORKSPACE_ANNOTATION] == WS
    assert ann[OBJECT_ANNOTATION] == "Deployment.apps/shop/web"
    assert ann[PLACEMENT_ANNOTATION] == "shop/web"
    assert ann[CLUSTER_ANNOTATION] == "gcp-euw1-b"
    assert ann[GENERATION_ANNOTATION] == "3"
    # the spoofed upstream owner label is replaced by the real one
    assert dep["metadata"]["labels"][OWNER_LABEL] == owner_value(
        WS, ObjectKey(group="apps", kind="Deployment", namespace="shop", name="web")
    )
    assert dep["metadata"]["labels"][OWNER_LABEL] != "spoofed"
    assert is_owned(dep) and is_owned(ns)
    assert upstream_namespace(ns) == (WS, "shop")
    assert ann[APPLIED_ANNOTATION] == fingerprint(dep)


def test_render_does_not_modify_its_inputs() -> None:
    up = deployment()
    before = copy.deepcopy(up)
    overrides = parse_overrides(
        [{"labels": {"x": "y"}, "jsonPatches": [{"op": "add", "path": "/spec/paused", "value": True}]}]
    )
    render(up, decision(), AWS, overrides)
    assert up == before


def test_render_is_deterministic_and_cluster_specific() -> None:
    assert render(deployment(), decision(), AWS) == render(deployment(), decision(), AWS)
    a = the(render(deployment(), decision(), AWS), "Deployment")
    b = the(render(deployment(), decision(), GCP), "Deployment")
    assert fingerprint(a) != fingerprint(b)


# ---- schema validity -------------------------------------------------------------------------


def test_rendered_deployment_and_namespace_validate_against_the_schema() -> None:
    overrides = parse_overrides(
        [
            {
                "target": {"clusterNames": ["gcp-euw1-b"]},
                "imageRegistry": "europe-docker.pkg.dev/acme/mirror",
                "env": [{"containerName": "app", "name": "REGION", "value": "europe-west1"}],
                "labels": {"region": "eu"},
            }
        ]
    )
    for cluster in (AWS, GCP):
        for manifest in render(deployment(), decision(), cluster, overrides):
            validate(manifest)


def test_rendered_service_and_configmap_validate_and_lose_allocated_ips() -> None:
    service: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "shop", "uid": "s1", "resourceVersion": "7"},
        "spec": {
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080, "protocol": "TCP"}],
            "clusterIP": "10.96.14.2",
            "clusterIPs": ["10.96.14.2"],
            "type": "ClusterIP",
        },
        "status": {"loadBalancer": {}},
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "web-config", "namespace": "shop"},
        "data": {"greeting": "hello"},
    }
    rendered_service = the(render(service, decision(), AWS, workspace=WS), "Service")
    assert "clusterIP" not in rendered_service["spec"]
    assert "clusterIPs" not in rendered_service["spec"]
    assert rendered_service["spec"]["ports"] == service["spec"]["ports"]
    rendered_config = the(render(config, decision(), AWS, workspace=WS), "ConfigMap")
    assert rendered_config["data"] == {"greeting": "hello"}
    assert "replicas" not in rendered_config  # not the decision's workload, no replicas invented
    for manifest in (rendered_service, rendered_config):
        validate(manifest)


def test_headless_service_keeps_cluster_ip_none() -> None:
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "db", "namespace": "shop"},
        "spec": {"clusterIP": "None", "selector": {"app": "db"}, "ports": [{"port": 5432}]},
    }
    assert the(render(service, decision(), AWS), "Service")["spec"]["clusterIP"] == "None"


def test_invalid_rendering_is_caught_by_the_schema() -> None:
    """Guard for the validation tests above: a broken manifest must fail."""
    dep = the(render(deployment(), decision(), AWS), "Deployment")
    dep["spec"]["replicas"] = "four"
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(dep)


# ---- kinds with generated fields ----------------------------------------------------------------


def test_job_loses_generated_selector_and_gets_parallelism() -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "shop"},
        "spec": {
            "parallelism": 6,
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
            "template": {
                "metadata": {
                    "labels": {
                        "batch.kubernetes.io/controller-uid": "abc",
                        "controller-uid": "abc",
                        "job-name": "migrate",
                    }
                },
                "spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "migrate:1"}]},
            },
        },
    }
    dec = Decision.from_record(
        {
            "workload": {"apiVersion": "batch/v1", "kind": "Job", "namespace": "shop", "name": "migrate"},
            "clusters": [{"name": "aws-use1-a", "replicas": 4}, {"name": "gcp-euw1-b", "replicas": 2}],
        }
    )
    out = the(render(job, dec, GCP), "Job")
    assert out["spec"]["parallelism"] == 2
    assert "selector" not in out["spec"]
    assert out["spec"]["template"]["metadata"]["labels"] == {"job-name": "migrate"}
    validate(out)


def test_rolebinding_service_account_subjects_follow_the_namespace_mapping() -> None:
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": {"name": "reader", "namespace": "shop"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
        "subjects": [
            {"kind": "ServiceAccount", "name": "web", "namespace": "shop"},
            {"kind": "User", "name": "alice", "apiGroup": "rbac.authorization.k8s.io"},
        ],
    }
    out = the(render(binding, decision(), AWS, workspace=WS), "RoleBinding")
    assert out["subjects"][0]["namespace"] == downstream_namespace(WS, "shop")
    assert "namespace" not in out["subjects"][1]


def test_cluster_scoped_objects_render_alone_with_their_name() -> None:
    crd_like = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "web-reader"},
        "rules": [],
    }
    [out] = render(crd_like, decision(), AWS, workspace=WS)
    assert out["metadata"]["name"] == "web-reader"
    assert "namespace" not in out["metadata"]
    assert (
        out["metadata"]["annotations"][OBJECT_ANNOTATION]
        == "ClusterRole.rbac.authorization.k8s.io/web-reader"
    )


# ---- namespaces -------------------------------------------------------------------------------


def test_upstream_namespace_labels_travel_but_server_labels_do_not() -> None:
    upstream_ns = {
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {
            "name": "shop",
            "labels": {
                "kubernetes.io/metadata.name": "shop",
                "pod-security.kubernetes.io/enforce": "restricted",
            },
        },
        "spec": {"finalizers": ["kubernetes"]},
        "status": {"phase": "Active"},
    }
    [ns, _] = render(deployment(), decision(), AWS, workspace=WS, namespace=upstream_ns)
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    assert "kubernetes.io/metadata.name" not in ns["metadata"]["labels"]
    assert "spec" not in ns and "status" not in ns
    # rendering the Namespace itself gives the same manifest, so a plan can merge them
    assert render(upstream_ns, decision(), GCP, workspace=WS) == [ns]
    assert render_namespace(upstream_ns, workspace=WS) == ns
    validate(ns)


def test_namespace_for_another_namespace_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="not the object's namespace"):
        render(
            deployment(),
            decision(),
            AWS,
            namespace={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}},
        )


def test_overrides_on_a_namespace_are_rejected() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}
    with pytest.raises(InvalidInput) as err:
        render(ns, decision(), AWS, [Override(labels={"a": "b"})])
    assert err.value.path == "overrides"


def test_long_and_odd_namespace_names_stay_valid() -> None:
    long_ns = "a" * 63
    name = downstream_namespace(WS, long_ns)
    assert len(name) <= 63 and is_dns1123_label(name)
    assert is_dns1123_label(downstream_namespace("", "---"))
    assert downstream_namespace("ws-a", "shop") != downstream_namespace("ws-b", "shop")
    assert downstream_namespace("a-b", "c") != downstream_namespace("a", "b-c")
    with pytest.raises(InvalidInput):
        downstream_namespace(WS, "")


def test_tampered_namespace_annotations_do_not_map_back() -> None:
    ns = render_namespace("shop", workspace=WS)
    forged = copy.deepcopy(ns)
    forged["metadata"]["annotations"]["tmc.kcp.io/namespace"] = "payments"
    assert upstream_namespace(forged) is None
    assert upstream_namespace({"metadata": {"name": "default"}}) is None


# ---- overrides --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("nginx", "mirror.example/nginx"),
        ("nginx:1.27", "mirror.example/nginx:1.27"),
        ("library/nginx:1.27", "mirror.example/library/nginx:1.27"),
        ("docker.io/library/nginx:1.27", "mirror.example/library/nginx:1.27"),
        ("localhost:5000/app@sha256:abcd", "mirror.example/app@sha256:abcd"),
        ("localhost/app", "mirror.example/app"),
        ("ghcr.io/acme/proxy:2", "mirror.example/acme/proxy:2"),
    ],
)
def test_registry_rewrite(image: str, expected: str) -> None:
    assert rewrite_registry(image, "mirror.example") == expected


def test_overrides_select_clusters_by_label_and_name() -> None:
    overrides = parse_overrides(
        [
            {
                "target": {"labelSelector": {"matchLabels": {"provider": "gcp"}}},
                "imageRegistry": "eu.gcr.io/acme",
            },
            {"target": {"clusterNames": ["aws-use1-a"]}, "labels": {"cloud": "aws"}},
            {
                "target": {
                    "clusterNames": ["aws-use1-a"],
                    "labelSelector": {"matchLabels": {"provider": "gcp"}},
                },
                "labels": {"never": "x"},
            },
        ]
    )
    a = the(render(deployment(), decision(), AWS, overrides), "Deployment")
    b = the(render(deployment(), decision(), GCP, overrides), "Deployment")
    assert [c["image"] for c in a["spec"]["template"]["spec"]["containers"]] == [
        "nginx:1.27",
        "ghcr.io/acme/proxy:2",
    ]
    assert [c["image"] for c in b["spec"]["template"]["spec"]["containers"]] == [
        "eu.gcr.io/acme/nginx:1.27",
        "eu.gcr.io/acme/acme/proxy:2",
    ]
    assert a["metadata"]["labels"]["cloud"] == "aws"
    assert "cloud" not in b["metadata"]["labels"]
    assert "never" not in a["metadata"]["labels"] and "never" not in b["metadata"]["labels"]


def test_env_and_args_overrides() -> None:
    overrides = parse_overrides(
        [
            {
                "env": [
                    {"containerName": "app", "name": "MODE", "value": "canary"},
                    {"containerName": "app", "name": "REGION", "value": "us"},
                    {"containerName": "sidecar", "name": "GONE", "operator": "remove"},
                ],
                "args": [
                    {"containerName": "app", "operator": "remove", "value": ["--port=8080"]},
                    {"containerName": "app", "operator": "add", "value": ["--port=9090", "-v"]},
                ],
            }
        ]
    )
    [app, sidecar] = the(render(deployment(), decision(), AWS, overrides), "Deployment")["spec"]["template"][
        "spec"
    ]["containers"]
    assert app["env"] == [{"name": "MODE", "value": "canary"}, {"name": "REGION", "value": "us"}]
    assert app["args"] == ["--port=9090", "-v"]
    assert "env" not in sidecar


def test_env_override_without_container_name_reaches_every_container() -> None:
    overrides = [Override.model_validate({"env": [{"name": "ZONE", "value": "a"}]})]
    containers = the(render(deployment(), decision(), AWS, overrides), "Deployment")["spec"]["template"][
        "spec"
    ]["containers"]
    assert all({"name": "ZONE", "value": "a"} in c["env"] for c in containers)


def test_json_patches_and_annotation_removal() -> None:
    overrides = parse_overrides(
        [
            {
                "annotations": {"team": None, "owner": "sre"},
                "jsonPatches": [
                    {
                        "op": "replace",
                        "path": "/spec/template/spec/containers/0/resources/requests/cpu",
                        "value": "250m",
                    },
                    {"op": "add", "path": "/spec/minReadySeconds", "value": 10},
                ],
            }
        ]
    )
    dep = the(render(deployment(), decision(), AWS, overrides), "Deployment")
    assert dep["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"] == "250m"
    assert dep["spec"]["minReadySeconds"] == 10
    assert "team" not in dep["metadata"]["annotations"]
    assert dep["metadata"]["annotations"]["owner"] == "sre"
    validate(dep)


def test_overrides_can_change_per_cluster_replicas() -> None:
    overrides = parse_overrides([{"jsonPatches": [{"op": "replace", "path": "/spec/replicas", "value": 1}]}])
    assert the(render(deployment(), decision(), AWS, overrides), "Deployment")["spec"]["replicas"] == 1


def test_a_patch_that_fails_names_object_and_override() -> None:
    overrides = parse_overrides(
        [
            {"labels": {"ok": "yes"}},
            {
                "jsonPatches": [
                    {"op": "add", "path": "/spec/paused", "value": True},
                    {"op": "remove", "path": "/spec/nope"},
                ]
            },
        ]
    )
    with pytest.raises(InvalidInput) as err:
        render(deployment(), decision(), AWS, overrides)
    assert err.value.obj == "Deployment shop/web"
    assert err.value.path == "overrides[1].jsonPatches[1]"


def test_a_failed_test_op_is_an_error() -> None:
    overrides = parse_overrides([{"jsonPatches": [{"op": "test", "path": "/spec/replicas", "value": 99}]}])
    with pytest.raises(InvalidInput, match=r"overrides\[0\]\.jsonPatches\[0\]"):
        render(deployment(), decision(), AWS, overrides)


def test_an_override_that_renames_the_object_is_rejected() -> None:
    overrides = parse_overrides(
        [{"jsonPatches": [{"op": "replace", "path": "/metadata/name", "value": "web2"}]}]
    )
    with pytest.raises(InvalidInput, match="must not change"):
        render(deployment(), decision(), AWS, overrides)


def test_unknown_container_name_is_an_error() -> None:
    overrides = parse_overrides([{"env": [{"containerName": "ap", "name": "X", "value": "1"}]}])
    with pytest.raises(InvalidInput) as err:
        render(deployment(), decision(), AWS, overrides)
    assert err.value.path == "overrides[0].env[0].containerName"


@pytest.mark.parametrize(
    ("data", "path"),
    [
        ([{"jsonPatches": [{"op": "add", "path": "/a"}]}], "[0].jsonPatches[0].value"),
        ([{"jsonPatches": [{"op": "add", "path": "a", "value": 1}]}], "[0].jsonPatches[0].path"),
        ([{}, {"jsonPatches": [{"op": "move", "path": "/a"}]}], "[1].jsonPatches[0].from"),
        ([{"labels": {"tmc.kcp.io/owner": "x"}}], "[0].labels"),
        ([{"labels": {"ok": "not valid!"}}], "[0].labels"),
        ([{"imageRegistry": "https://mirror.example/"}], "[0].imageRegistry"),
        ([{"target": {"clusterName": ["a"]}}], "[0].target.clusterName"),
        ([{"args": [{"operator": "add", "value": []}]}], "[0].args[0].value"),
        ([{"env": [{"name": "X", "operator": "remove", "value": "1"}]}], "[0].env[0].value"),
    ],
)
def test_bad_overrides_are_reported_with_their_field_path(data: list[dict[str, Any]], path: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_overrides(data, source="overrides.yaml")
    assert err.value.path == path
    assert err.value.source == "overrides.yaml"


def test_json_patch_from_alias_round_trips() -> None:
    [override] = parse_overrides(
        [
            {
                "jsonPatches": [
                    {"op": "copy", "from": "/metadata/labels", "path": "/spec/template/metadata/annotations"}
                ]
            }
        ]
    )
    assert override.json_patches[0].to_operation() == {
        "op": "copy",
        "path": "/spec/template/metadata/annotations",
        "from": "/metadata/labels",
    }
    dep = the(render(deployment(), decision(), AWS, [override]), "Deployment")
    assert dep["spec"]["template"]["metadata"]["annotations"] == {"app": "web"}


# ---- bad input --------------------------------------------------------------------------------


def test_cluster_outside_the_decision_is_rejected() -> None:
    with pytest.raises(InvalidInput, match="not in the decision"):
        render(deployment(), decision(), "azure-weu-c")


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.pop("kind"), "kind"),
        (lambda d: d["metadata"].pop("name"), "metadata.name"),
        (lambda d: d["spec"].__setitem__("x", {1, 2}), "spec.x"),
        (lambda d: d["spec"].__setitem__("ratio", float("nan")), "spec.ratio"),
    ],
)
def test_malformed_objects_name_the_field(mutate: Any, path: str) -> None:
    up = deployment()
    mutate(up)
    with pytest.raises(InvalidInput) as err:
        render(up, decision(), AWS)
    assert err.value.path == path


def test_yaml_timestamps_become_strings() -> None:
    from datetime import UTC, datetime

    up = deployment()
    up["metadata"]["annotations"]["since"] = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    dep = the(render(up, decision(), AWS), "Deployment")
    assert dep["metadata"]["annotations"]["since"] == "2025-01-02T03:04:05Z"
