"""plan: creates, updates and deletes in dependency order; foreign objects untouched; no churn."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tmc_core.errors import InvalidInput
from tmc_core.model import Decision
from tmc_core.sync import Plan, plan, render
from tmc_core.sync.plan import dependency_rank

WS = "root:org:team"


def decision(*clusters: tuple[str, int]) -> Decision:
    return Decision.from_record(
        {
            "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
            "placement": "shop/web",
            "clusters": [{"name": n, "replicas": r} for n, r in clusters],
        }
    )


def deployment(image: str = "nginx:1.27") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 80}]}]},
            },
        },
    }


def objects() -> list[dict[str, Any]]:
    """An application of several kinds, listed in a deliberately unhelpful order."""
    ns = "shop"
    return [
        deployment(),
        {
            "apiVersion": "example.com/v1",
            "kind": "Widget",
            "metadata": {"name": "w", "namespace": ns},
            "spec": {},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "web", "namespace": ns},
            "spec": {"ports": [{"port": 80}]},
        },
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cfg", "namespace": ns},
            "data": {"a": "1"},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "creds", "namespace": ns},
            "stringData": {"p": "x"},
        },
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "web", "namespace": ns}},
        {
            "apiVersion": "apiextensions.k8s.io/v1",
            "kind": "CustomResourceDefinition",
            "metadata": {"name": "widgets.example.com"},
            "spec": {"group": "example.com"},
        },
    ]


def desired_for(dec: Decision, objs: list[dict[str, Any]] | None = None) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for target in dec.clusters:
        out[target.name] = [m for o in (objs or objects()) for m in render(o, dec, target.name, workspace=WS)]
    return out


_COUNTER = [0]


def server_store(manifest: dict[str, Any], old: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a member API server stores: our fields plus defaults, status, uid and its own marks."""
    _COUNTER[0] += 1
    stored = copy.deepcopy(manifest)
    meta = stored["metadata"]
    meta["uid"] = old["metadata"]["uid"] if old else f"uid-{_COUNTER[0]}"
    meta["resourceVersion"] = str(_COUNTER[0])
    meta["creationTimestamp"] = "2025-01-01T00:00:00Z"
    meta.setdefault("labels", {})["member.example/zone"] = "z1"
    meta.setdefault("annotations", {})["member.example/seen"] = "yes"
    if stored["kind"] == "Deployment":
        meta["generation"] = (old["metadata"]["generation"] + 1) if old else 1
        meta["annotations"]["deployment.kubernetes.io/revision"] = "1"
        spec = stored["spec"]
        spec.setdefault("strategy", {"type": "RollingUpdate"})
        spec.setdefault("revisionHistoryLimit", 10)
        for c in spec["template"]["spec"]["containers"]:
            c.setdefault("imagePullPolicy", "IfNotPresent")
            for p in c.get("ports", []):
                p.setdefault("protocol", "TCP")
        stored["status"] = {"replicas": spec["replicas"], "observedGeneration": meta["generation"]}
    if stored["kind"] == "Service":
        stored["spec"]["clusterIP"] = "10.0.0.7"
        stored["spec"]["ports"][0]["protocol"] = "TCP"
    if stored["kind"] == "Namespace":
        meta["labels"]["kubernetes.io/metadata.name"] = meta["name"]
        stored["spec"] = {"finalizers": ["kubernetes"]}
        stored["status"] = {"phase": "Active"}
    return stored


def apply(observed: dict[str, list[dict[str, Any]]], p: Plan) -> dict[str, list[dict[str, Any]]]:
    """Carry a plan out against a simulated fleet of API servers."""
    state = {
        c: {(m["kind"], m["metadata"].get("namespace", ""), m["metadata"]["name"]): m for m in ms}
        for c, ms in observed.items()
    }
    for action in p.actions:
        objs = state.setdefault(action.cluster, {})
        key = (action.key.kind, action.key.namespace, action.key.name)
        if action.verb == "delete":
            del objs[key]
        else:
            objs[key] = server_store(action.manifest, objs.get(key))
    return {c: list(objs.values()) for c, objs in state.items()}


def verbs(p: Plan, cluster: str) -> list[str]:
    return [f"{a.verb} {a.key.kind}" for a in p.for_cluster(cluster)]


def test_first_sync_creates_everything_in_dependency_order() -> None:
    dec = decision(("aws-use1-a", 4), ("gcp-euw1-b", 2))
    p = plan(desired_for(dec), {})
    expected = [
        "create Namespace",
        "create CustomResourceDefinition",
        "create ServiceAccount",
        "create Secret",
        "create ConfigMap",
        "create Service",
        "create Deployment",
        "create Widget",
    ]
    assert verbs(p, "aws-use1-a") == expected
    assert verbs(p, "gcp-euw1-b") == expected
    assert [a.cluster for a in p.actions] == sorted(a.cluster for a in p.actions)
    # The Namespace is rendered once per namespaced object and merged into one create.
    assert sum(1 for a in p.for_cluster("aws-use1-a") if a.key.kind == "Namespace") == 1


def test_applying_the_plan_converges_despite_member_defaults() -> None:
    dec = decision(("aws-use1-a", 4), ("gcp-euw1-b", 2))
    want = desired_for(dec)
    observed = apply({}, plan(want, {}))
    again = plan(want, observed)
    assert again.empty, [str(a) for a in again.actions]


def test_a_changed_upstream_object_updates_only_what_changed() -> None:
    dec = decision(("aws-use1-a", 4), ("gcp-euw1-b", 2))
    observed = apply({}, plan(desired_for(dec), {}))
    changed = [deployment("nginx:1.28"), *objects()[1:]]
    p = plan(desired_for(dec, changed), observed)
    assert [(a.cluster, a.verb, a.key.kind) for a in p.actions] == [
        ("aws-use1-a", "update", "Deployment"),
        ("gcp-euw1-b", "update", "Deployment"),
    ]
    first = p.actions[0]
    stored = next(m for m in observed["aws-use1-a"] if m["kind"] == "Deployment")
    assert first.resource_version == stored["metadata"]["resourceVersion"]
    assert first.uid == stored["metadata"]["uid"]
    assert first.manifest["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"


def test_a_new_split_updates_replicas_on_both_clusters() -> None:
    observed = apply({}, plan(desired_for(decision(("aws-use1-a", 4), ("gcp-euw1-b", 2))), {}))
    p = plan(desired_for(decision(("aws-use1-a", 3), ("gcp-euw1-b", 3))), observed)
    assert [(a.cluster, a.verb, a.key.kind, a.manifest["spec"]["replicas"]) for a in p.actions] == [
        ("aws-use1-a", "update", "Deployment", 3),
        ("gcp-euw1-b", "update", "Deployment", 3),
    ]


def test_an_evicted_cluster_has_our_objects_deleted_in_reverse_order() -> None:
    observed = apply({}, plan(desired_for(decision(("aws-use1-a", 4), ("gcp-euw1-b", 2))), {}))
    p = plan(desired_for(decision(("aws-use1-a", 6))), observed)
    assert verbs(p, "aws-use1-a") == ["update Deployment"]
    assert verbs(p, "gcp-euw1-b") == [
        "delete Widget",
        "delete Deployment",
        "delete Service",
        "delete ConfigMap",
        "delete Secret",
        "delete ServiceAccount",
        "delete CustomResourceDefinition",
        "delete Namespace",
    ]
    deleted = p.for_cluster("gcp-euw1-b")[0]
    assert deleted.uid.startswith("uid-") and deleted.resource_version


def test_objects_we_do_not_own_are_never_touched() -> None:
    dec = decision(("aws-use1-a", 4))
    want = desired_for(dec, [deployment()])
    ns_name = want["aws-use1-a"][0]["metadata"]["name"]
    foreign_web = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": ns_name, "uid": "theirs"},
        "spec": {},
    }
    foreign_other = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "kube-root-ca.crt", "namespace": ns_name},
    }
    p = plan(want, {"aws-use1-a": [foreign_web, foreign_other]})
    assert verbs(p, "aws-use1-a") == ["create Namespace"]
    assert [(s.key.kind, s.reason) for s in p.skipped] == [("Deployment", "exists and is not managed by tmc")]
    # and with nothing desired, still nothing happens to them
    assert plan({}, {"aws-use1-a": [foreign_web, foreign_other]}).empty


def test_our_object_being_deleted_is_left_to_finish() -> None:
    dec = decision(("aws-use1-a", 4))
    observed = apply({}, plan(desired_for(dec, [deployment()]), {}))
    for m in observed["aws-use1-a"]:
        m["metadata"]["deletionTimestamp"] = "2025-01-01T00:00:00Z"
    assert plan({}, observed).empty
    p = plan(desired_for(dec, [deployment()]), observed)
    assert p.empty
    assert {s.reason for s in p.skipped} == {"being deleted; re-created once gone"}


def test_a_stamp_removed_on_the_member_forces_an_update() -> None:
    dec = decision(("aws-use1-a", 4))
    want = desired_for(dec, [deployment()])
    observed = apply({}, plan(want, {}))
    dep = next(m for m in observed["aws-use1-a"] if m["kind"] == "Deployment")
    del dep["metadata"]["annotations"]["tmc.kcp.io/applied"]
    assert verbs(plan(want, observed), "aws-use1-a") == ["update Deployment"]


def test_desired_must_be_rendered() -> None:
    with pytest.raises(InvalidInput, match="render it first"):
        plan({"aws-use1-a": [deployment()]}, {})


def test_two_different_desired_copies_of_one_object_are_an_error() -> None:
    dec = decision(("aws-use1-a", 4))
    a = render(deployment(), dec, "aws-use1-a", workspace=WS)
    b = render(deployment("other:1"), dec, "aws-use1-a", workspace=WS)
    with pytest.raises(InvalidInput, match="two different desired manifests"):
        plan({"aws-use1-a": a + b}, {})


def test_plan_does_not_modify_its_inputs() -> None:
    dec = decision(("aws-use1-a", 4), ("gcp-euw1-b", 2))
    want = desired_for(dec)
    observed = apply({}, plan(desired_for(decision(("aws-use1-a", 6))), {}))
    before = copy.deepcopy((want, observed))
    p = plan(want, observed)
    p.actions[0].manifest["metadata"]["name"] = "changed"
    assert (want, observed) == before


def test_dependency_rank_puts_unknown_kinds_after_workloads_and_webhooks_last() -> None:
    from tmc_core.sync import ObjectKey

    def rank(group: str, kind: str) -> int:
        return dependency_rank(ObjectKey(group=group, kind=kind, name="x"))

    assert (
        rank("", "Namespace")
        < rank("apiextensions.k8s.io", "CustomResourceDefinition")
        < rank("", "ServiceAccount")
    )
    assert rank("", "ServiceAccount") < rank("", "ConfigMap") < rank("apps", "Deployment")
    assert rank("", "Secret") < rank("apps", "StatefulSet") < rank("example.com", "Widget")
    assert rank("example.com", "Widget") < rank(
        "admissionregistration.k8s.io", "ValidatingWebhookConfiguration"
    )
