"""Manifest reading and writing: the contract's documents, the bundled example, decision output."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from tmc_core.examples import example_inventory, example_text
from tmc_core.manifests import (
    Inventory,
    cluster_manifest,
    decision_records,
    dump_documents,
    load_documents,
    placement_with_status,
    placements_yaml,
    read_inventory,
    records_json,
)
from tmc_core.model import (
    ClusterAffinity,
    Decision,
    PlacementPolicy,
    Quantity,
    ResourceList,
    TargetCluster,
    WorkloadRef,
)

CONTRACT = """\
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: aws-use1-a, labels: {env: prod}}
spec:
  provider: aws            # optional; region/zone likewise (Karmada fieldSelector keys)
  region: us-east-1
  zone: us-east-1a
  taints: [{key: dedicated, value: gpu, effect: NoSchedule}]
  properties: {cost: "0.12", latencyMs: "20"}   # numeric, for prioritizers
  apiResources: ["apps/v1/Deployment"]          # optional; absent = everything served
status:
  allocatable: {cpu: "64", memory: 256Gi, pods: "1100"}
  allocated:   {cpu: "10", memory: 20Gi,  pods: "100"}   # includes replicas already running there
  conditions: [{type: Ready, status: "True"}]            # absent = Ready
---
apiVersion: apps/v1                # any workload kind; replicas and requests read from the pod template
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 6, template: {spec: {containers: [{name: app, resources: {requests: {cpu: 500m, memory: 1Gi}}}]}}}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: WorkloadPlacement
metadata: {name: web, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]   # or labelSelector
  placement:   # Karmada's placement vocabulary, plus prioritizers and numberOfClusters
    clusterAffinity: {labelSelector: {matchLabels: {env: prod}}}
    replicaScheduling: {replicaSchedulingType: Divided, replicaDivisionPreference: Weighted,
                        weightPreference: {dynamicWeight: AvailableReplicas}}
status:
  decisions: []   # the current assignment, same shape as the output records; used for steady re-placement
"""  # noqa: E501 (verbatim from the design's interface contract)


def rl(**kw: str) -> ResourceList:
    return ResourceList(kw)


def read_one(text: str) -> Inventory:
    return read_inventory([("test.yaml", text)])


def deployment(pod_spec: dict[str, Any], **spec: Any) -> str:
    doc = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {**spec, "template": {"spec": pod_spec}},
    }
    return yaml.safe_dump(doc)


def container(
    name: str, requests: dict[str, str] | None = None, limits: dict[str, str] | None = None
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    if requests is not None:
        resources["requests"] = requests
    if limits is not None:
        resources["limits"] = limits
    return {"name": name, "image": "x", "resources": resources}


# -- the contract's example -----------------------------------------------------------------------


def test_contract_cluster_reads_every_field() -> None:
    inv = read_one(CONTRACT)
    (c,) = inv.fleet.clusters
    assert c.name == "aws-use1-a"
    assert c.labels == {"env": "prod"}
    assert (c.provider, c.region, c.zone) == ("aws", "us-east-1", "us-east-1a")
    assert [str(t) for t in c.taints] == ["dedicated=gpu:NoSchedule"]
    assert c.properties == {"cost": 0.12, "latencyMs": 20.0}
    assert c.api_resources == ("apps/v1/Deployment",)
    assert c.allocatable == rl(cpu="64", memory="256Gi", pods="1100")
    assert c.allocated == rl(cpu="10", memory="20Gi", pods="100")
    assert c.free == rl(cpu="54", memory="236Gi", pods="1000")
    assert c.ready


def test_contract_workload_and_placement() -> None:
    inv = read_one(CONTRACT)
    (w,) = inv.workloads
    assert (w.api_version, w.kind, w.namespace, w.name) == ("apps/v1", "Deployment", "shop", "web")
    assert w.replicas == 6
    assert w.requests == rl(cpu="500m", memory="1Gi")
    assert "pods" not in w.requests
    assert (w.uid, w.workspace, w.priority) == ("", "", 0)
    (p,) = inv.placements
    assert p.key == "shop/web"
    assert p.decisions == ()
    assert p.placement.replica_strategy == "DynamicWeight"
    assert p.placement.cluster_affinity is not None
    assert p.placement.cluster_affinity.matches(inv.fleet["aws-use1-a"])
    assert inv.selected(p) == (w,)
    assert inv.placement_of(w) == p
    # Every non-tmc manifest is kept as read (the Deployment), tmc kinds are not.
    assert [o["kind"] for o in inv.objects] == ["Deployment"]
    assert inv.objects[0]["spec"]["replicas"] == 6


def test_absent_conditions_mean_ready_and_false_means_not_ready() -> None:
    text = """\
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: a}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: b}
status: {conditions: [{type: Ready, status: "False", lastTransitionTime: "2025-01-15T09:30:00Z"}]}
"""
    inv = read_one(text)
    assert [c.ready for c in inv.fleet] == [True, False]
    assert inv.fleet["a"].api_resources is None  # absent = serves everything
    assert inv.fleet["a"].serves("apps/v1", "StatefulSet")
    assert inv.fleet["b"].conditions[0].last_transition_time is not None


# -- requests math --------------------------------------------------------------------------------


def requests_of(pod_spec: dict[str, Any]) -> ResourceList:
    (w,) = read_one(deployment(pod_spec, replicas=1)).workloads
    return w.requests


def test_requests_sum_over_containers() -> None:
    pod = {"containers": [container("a", {"cpu": "250m", "memory": "1Gi"}), container("b", {"cpu": "1"})]}
    assert requests_of(pod) == rl(cpu="1250m", memory="1Gi")


def test_requests_take_the_max_of_containers_and_init_containers_per_resource() -> None:
    pod = {
        "initContainers": [
            container("i1", {"cpu": "2", "memory": "100Mi"}),
            container("i2", {"cpu": "1", "memory": "3Gi"}),
        ],
        "containers": [
            container("a", {"cpu": "500m", "memory": "1Gi"}),
            container("b", {"cpu": "500m", "memory": "1Gi"}),
        ],
    }
    # cpu: max(1, max(2, 1)) = 2; memory: max(2Gi, max(100Mi, 3Gi)) = 3Gi
    assert requests_of(pod) == rl(cpu="2", memory="3Gi")


def test_init_containers_smaller_than_the_sum_do_not_count() -> None:
    pod = {
        "initContainers": [container("i", {"cpu": "600m"})],
        "containers": [container("a", {"cpu": "500m"}), container("b", {"cpu": "500m"})],
    }
    assert requests_of(pod) == rl(cpu="1")


def test_overhead_is_added_after_the_max() -> None:
    pod = {
        "overhead": {"cpu": "250m", "memory": "160Mi"},
        "initContainers": [container("i", {"cpu": "2"})],
        "containers": [container("a", {"cpu": "1", "memory": "1Gi"})],
    }
    assert requests_of(pod) == rl(cpu="2250m", memory="1184Mi")


def test_limits_stand_in_for_missing_requests_only() -> None:
    pod = {
        "containers": [
            container("a", limits={"cpu": "2", "memory": "1Gi"}),
            container("b", {"cpu": "100m"}, {"cpu": "4", "memory": "512Mi", "nvidia.com/gpu": "1"}),
        ]
    }
    # a: requests default to limits (2, 1Gi); b: cpu request 100m kept, memory and gpu from limits.
    assert requests_of(pod) == ResourceList({"cpu": "2100m", "memory": "1536Mi", "nvidia.com/gpu": "1"})


def test_sidecar_init_containers_run_alongside() -> None:
    pod = {
        "initContainers": [
            {**container("proxy", {"cpu": "100m"}), "restartPolicy": "Always"},
            container("migrate", {"cpu": "1"}),
        ],
        "containers": [container("app", {"cpu": "250m"})],
    }
    # Running: 250m + 100m sidecar; during "migrate": 1 + 100m sidecar started before it.
    assert requests_of(pod) == rl(cpu="1100m")


def test_no_resources_means_empty_requests() -> None:
    assert requests_of({"containers": [{"name": "a", "image": "x"}]}) == ResourceList()


# -- identity, replicas, priority -----------------------------------------------------------------


def test_replicas_default_to_one_and_zero_is_kept() -> None:
    (w,) = read_one(deployment({"containers": []})).workloads
    assert w.replicas == 1
    (w0,) = read_one(deployment({"containers": []}, replicas=0)).workloads
    assert w0.replicas == 0


def test_uid_workspace_labels_and_priority_annotation() -> None:
    text = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  namespace: payments
  uid: 0b6f2f1d-7a10-4c5e
  labels: {team: pay}
  annotations: {kcp.io/cluster: "root:acme:payments", tmc.kcp.io/priority: "100"}
spec: {replicas: 2, template: {spec: {containers: []}}}
"""
    (w,) = read_one(text).workloads
    assert (w.uid, w.workspace, w.labels, w.priority) == (
        "0b6f2f1d-7a10-4c5e",
        "root:acme:payments",
        {"team": "pay"},
        100,
    )


def test_integer_pod_priority_wins_over_the_annotation() -> None:
    text = deployment({"priority": 1000, "containers": []})
    text = text.replace("name: w\n", "name: w\n  annotations: {tmc.kcp.io/priority: '5'}\n")
    (w,) = read_one(text).workloads
    assert w.priority == 1000


def test_any_kind_with_replicas_and_a_pod_template_is_a_workload() -> None:
    text = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r, namespace: a}
spec: {replicas: 3, template: {spec: {containers: [{name: c, resources: {requests: {cpu: "1"}}}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: j, namespace: a}
spec: {parallelism: 2, template: {spec: {containers: [{name: c}]}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm, namespace: a}
data: {k: v}
"""
    inv = read_one(text)
    assert [(w.kind, w.replicas) for w in inv.workloads] == [("Rollout", 3)]
    assert [o["kind"] for o in inv.objects] == ["Rollout", "Job", "ConfigMap"]


# -- documents ------------------------------------------------------------------------------------


def test_json_array_and_kind_list_are_flattened_with_path_prefixes() -> None:
    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "b"}},
    ]
    docs = load_documents(json.dumps(items))
    assert [(d.index, d.prefix, d.name) for d in docs] == [(1, "[0]", "a"), (1, "[1]", "b")]
    listed = load_documents(
        "---\n---\n" + yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    )
    assert [(d.index, d.prefix, d.name) for d in listed] == [(2, "items[0]", "a"), (2, "items[1]", "b")]
    inv = read_inventory([("a.json", json.dumps(items))])
    assert [o["metadata"]["name"] for o in inv.objects] == ["a", "b"]


def test_yaml_timestamps_stay_strings_in_kept_objects() -> None:
    inv = read_one(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, creationTimestamp: 2025-01-01T00:00:00Z}\n"
    )
    assert inv.objects[0]["metadata"]["creationTimestamp"] == "2025-01-01T00:00:00Z"


def test_documents_of_several_sources_are_combined_in_order() -> None:
    text_a = CONTRACT.split("---\n")[0]
    text_b = "---\n".join(CONTRACT.split("---\n")[1:])
    inv = read_inventory([("a.yaml", text_a), ("b.yaml", text_b)])
    assert inv == read_one(CONTRACT)


# -- the bundled example --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def example() -> Inventory:
    return example_inventory()


def test_example_fleet_shape(example: Inventory) -> None:
    fleet = example.fleet
    assert 10 <= len(fleet) <= 14
    assert {c.provider for c in fleet} == {"aws", "gcp", "azure"}
    assert len({c.region for c in fleet}) >= 5
    assert [c.name for c in fleet if not c.ready] == ["azure-weu-1"]
    assert sum(1 for c in fleet if c.api_resources is not None) == 1
    effects = {t.effect for c in fleet for t in c.taints}
    assert {"NoSchedule", "PreferNoSchedule"} <= effects
    assert any("nvidia.com/gpu" in c.allocatable for c in fleet)
    assert all({"cost", "latencyMs"} <= set(c.properties) for c in fleet)
    assert {c.labels["env"] for c in fleet} == {"prod", "staging"}


def test_example_workloads(example: Inventory) -> None:
    assert 18 <= len(example.workloads) <= 24
    kinds = {w.kind for w in example.workloads}
    assert {"Deployment", "StatefulSet", "ReplicaSet"} <= kinds
    assert any(o["kind"] == "ConfigMap" for o in example.objects)
    # Every workload but the deliberately unselected one is placed by exactly one placement.
    assert [w.key for w in example.unselected()] == ["sandbox/scratch"]
    placed = [w for p in example.placements for w in example.selected(p)]
    assert len(placed) == len({w.key for w in placed}) == len(example.workloads) - 1


def _affinities(policy: PlacementPolicy) -> list[ClusterAffinity]:
    out: list[ClusterAffinity] = []
    if policy.cluster_affinity is not None:
        out.append(policy.cluster_affinity)
    out.extend(policy.cluster_affinities)
    out.extend(p.preference for p in policy.preferred_cluster_affinities)
    rs = policy.replica_scheduling
    if rs is not None and rs.weight_preference is not None:
        out.extend(w.target_cluster for w in rs.weight_preference.static_weight_list)
    return out


def features_of(policy: PlacementPolicy) -> set[str]:
    """Every vocabulary feature a policy uses, as short names."""
    f: set[str] = {f"placementType:{policy.placement_type}"}
    if policy.number_of_clusters is not None:
        f.add("numberOfClusters")
    if policy.cluster_names:
        f.add("clusterNames(PickFixed)")
    if policy.cluster_affinity is not None:
        f.add("clusterAffinity")
    if policy.cluster_affinities:
        f.add("clusterAffinities")
    if policy.cluster_tolerations:
        f.add("clusterTolerations")
    if policy.preferred_cluster_affinities:
        f.add("preferredClusterAffinities")
    for a in _affinities(policy):
        if a.label_selector is not None:
            if a.label_selector.match_labels:
                f.add("matchLabels")
            f.update(f"op:{r.operator}" for r in a.label_selector.match_expressions)
        if a.field_selector is not None:
            f.update(f"field:{r.key}" for r in a.field_selector.match_expressions)
        if a.cluster_names:
            f.add("affinity.clusterNames")
        if a.exclude:
            f.add("exclude")
    f.update(f"spread:{sc.key.split(':')[0]}" for sc in policy.spread_constraints)
    if policy.topology_spread_constraints:
        f.add("topologySpreadConstraints")
    rs = policy.replica_scheduling
    if rs is not None:
        f.add(f"replicas:{policy.replica_strategy}")
    for p in policy.prioritizers:
        f.add(f"prioritizer:{p.name}")
        if p.name == "ClusterProperty":
            f.add(f"prefer:{p.prefer}")
    if len({p.weight for p in policy.prioritizers}) > 1:
        f.add("prioritizer weights")
    return f


ALL_FEATURES = {
    "placementType:PickAll",
    "placementType:PickN",
    "placementType:PickFixed",
    "numberOfClusters",
    "clusterNames(PickFixed)",
    "clusterAffinity",
    "clusterAffinities",
    "clusterTolerations",
    "preferredClusterAffinities",
    "matchLabels",
    *(f"op:{op}" for op in ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")),
    "field:provider",
    "field:region",
    "field:zone",
    "affinity.clusterNames",
    "exclude",
    "spread:cluster",
    "spread:region",
    "spread:zone",
    "spread:provider",
    "spread:label",
    "topologySpreadConstraints",
    "replicas:Duplicated",
    "replicas:Aggregated",
    "replicas:StaticWeight",
    "replicas:DynamicWeight",
    *(
        f"prioritizer:{n}"
        for n in (
            "LeastAllocated",
            "MostAllocated",
            "BalancedAllocation",
            "PreferredAffinity",
            "Steady",
            "TaintPreference",
            "ClusterProperty",
            "TopologySpread",
            "Balance",
            "ResourceAllocatableCPU",
            "ResourceAllocatableMemory",
        )
    ),
    "prefer:Lower",
    "prefer:Higher",
    "prioritizer weights",
}


def test_example_uses_every_policy_feature(example: Inventory) -> None:
    used: set[str] = set()
    for p in example.placements:
        used |= features_of(p.placement)
    assert ALL_FEATURES - used == set()
    ops = {f for f in used if f.startswith("op:")}
    assert ops == {"op:In", "op:NotIn", "op:Exists", "op:DoesNotExist", "op:Gt", "op:Lt"}


def test_example_spread_uses_region_together_with_cluster(example: Inventory) -> None:
    assert any(
        {sc.key for sc in p.placement.spread_constraints} >= {"region", "cluster"} for p in example.placements
    )


def test_example_fallback_group_is_needed(example: Inventory) -> None:
    (p,) = [p for p in example.placements if p.placement.cluster_affinities]
    first, *rest = p.placement.cluster_affinities
    matched_first = [c for c in example.fleet if first.matches(c)]
    assert matched_first and not any(c.ready for c in matched_first)
    assert any(c.ready for term in rest for c in example.fleet if term.matches(c))


def test_example_has_a_workload_that_fits_nowhere(example: Inventory) -> None:
    too_big = [w for w in example.workloads if not any(w.requests.fits_in(c.free) for c in example.fleet)]
    assert [w.key for w in too_big] == ["batch/simulation"]
    assert example.placement_of(too_big[0]) is not None


def test_example_tolerations_reach_the_tainted_clusters(example: Inventory) -> None:
    gpu = example.fleet["aws-usw2-gpu"]
    trainer = next(w for w in example.workloads if w.name == "trainer")
    placement = example.placement_of(trainer)
    assert placement is not None
    assert all(
        any(t.tolerates(taint) for t in placement.placement.cluster_tolerations) for taint in gpu.taints
    )
    assert trainer.requests.fits_in(gpu.free)


def test_example_has_steady_state_decisions(example: Inventory) -> None:
    with_status = [p for p in example.placements if p.decisions]
    assert with_status
    for p in with_status:
        selected = {w.ref: w for w in example.selected(p)}
        for d in p.decisions:
            assert d.workload in selected
            assert set(d.replicas) <= set(example.fleet.names)
            assert d.total_replicas == selected[d.workload].replicas


def test_example_text_reads_back_the_same(example: Inventory) -> None:
    assert read_inventory([("again.yaml", example_text())]) == example
    assert example_text().lstrip().startswith("#")  # it teaches: commented


# -- output ---------------------------------------------------------------------------------------


def decision(
    ns: str, name: str, clusters: dict[str, int], *, placement: str = "", ok: bool = True, reason: str = ""
) -> Decision:
    return Decision(
        workload=WorkloadRef(api_version="apps/v1", kind="Deployment", namespace=ns, name=name),
        placement=placement or f"{ns}/{name}",
        clusters=tuple(TargetCluster(name=c, replicas=r) for c, r in clusters.items()),
        schedulable=ok,
        reason=reason,
    )


def test_decision_records_have_the_contract_shape_and_order() -> None:
    ds = [
        decision("shop", "web", {"gcp-euw1-b": 2, "aws-use1-a": 4}),
        decision(
            "batch", "simulation", {}, ok=False, reason="0/12 clusters fit: 11 insufficient cpu, 1 not ready"
        ),
        decision("shop", "cart", {"aws-use1-a": 1}, placement="shop/backend"),
    ]
    records = decision_records(ds)
    assert [(r["workload"]["namespace"], r["workload"]["name"]) for r in records] == [
        ("batch", "simulation"),
        ("shop", "cart"),
        ("shop", "web"),
    ]
    assert records[2] == {
        "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
        "placement": "shop/web",
        "clusters": [{"name": "aws-use1-a", "replicas": 4}, {"name": "gcp-euw1-b", "replicas": 2}],
        "schedulable": True,
        "reason": "",
    }
    assert list(records[2]) == ["workload", "placement", "clusters", "schedulable", "reason"]
    assert records[0]["schedulable"] is False and records[0]["clusters"] == []
    text = records_json(ds)
    assert text.endswith("]\n") and not text.endswith("\n\n")
    assert json.loads(text) == records
    assert text.startswith('[\n  {\n    "workload": {')


def test_placements_yaml_round_trip_gives_equal_decisions() -> None:
    inv = read_one(CONTRACT)
    (p,) = inv.placements
    mine = decision("shop", "web", {"aws-use1-a": 4, "gcp-euw1-b": 2})
    other = decision("shop", "cart", {"aws-use1-a": 1}, placement="shop/backend")
    text = placements_yaml(inv.placements, [other, mine])
    docs = list(yaml.safe_load_all(text))
    assert len(docs) == 1 and docs[0]["apiVersion"] == "tmc.kcp.io/v1alpha1"
    back = read_one(text).placements[0]
    assert back.decisions == (mine,)
    # The written status records which policy the decisions were made under.
    assert back.observed_placement == p.placement.fingerprint()
    assert back.model_copy(update={"decisions": (), "observed_placement": ""}) == p


def test_placement_with_status_keeps_the_spec_as_written() -> None:
    (p,) = read_one(CONTRACT).placements
    doc = placement_with_status(p, [])
    assert doc["metadata"] == {"name": "web", "namespace": "shop"}
    assert doc["spec"]["placement"]["replicaScheduling"] == {
        "replicaSchedulingType": "Divided",
        "replicaDivisionPreference": "Weighted",
        "weightPreference": {"dynamicWeight": "AvailableReplicas"},
    }
    assert doc["status"] == {"decisions": [], "observedPlacement": p.placement.fingerprint()}


def test_example_placements_round_trip(example: Inventory) -> None:
    text = placements_yaml(example.placements, [d for p in example.placements for d in p.decisions])
    again = read_one(text)
    stamped = tuple(
        p.model_copy(update={"observed_placement": p.placement.fingerprint()}) for p in example.placements
    )
    assert again.placements == stamped


def test_cluster_manifest_round_trip(example: Inventory) -> None:
    text = dump_documents([cluster_manifest(c) for c in example.fleet])
    assert read_one(text).fleet == example.fleet


def test_quantities_keep_exact_values() -> None:
    (w,) = read_one(
        deployment({"containers": [container("a", {"cpu": "0.1"}), container("b", {"cpu": "200m"})]})
    ).workloads
    assert w.requests["cpu"] == Quantity("300m")


def test_selected_works_for_placements_outside_the_inventory(example: Inventory) -> None:
    (p,) = [p for p in example.placements if p.key == "shop/backend"]
    (selector,) = p.resource_selectors
    edited = p.model_copy(
        update={"resource_selectors": (selector.model_copy(update={"label_selector": None}),)}
    )
    # Without the label selector it selects every Deployment in its namespace.
    assert {w.name for w in example.selected(edited)} == {"web", "cart", "checkout", "web-canary"}
    assert {w.name for w in example.selected(p)} == {"cart", "checkout"}
