"""Bad input: every kind of mistake gives one InvalidInput line naming file, object and field path,
and nothing is loaded (``read_inventory`` raises, ``try_read_inventory`` returns no inventory)."""

from __future__ import annotations

import pytest

from tmc_core.errors import InvalidInput
from tmc_core.manifests import read_inventory, try_read_inventory

GOOD = """\
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: c1}
status: {allocatable: {cpu: "8", memory: 32Gi, pods: "110"}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec: {replicas: 2, template: {spec: {containers: [{name: app, resources: {requests: {cpu: 500m}}}]}}}
"""

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: api, namespace: shop}}
spec:
  replicas: {replicas}
  template:
    spec:
      containers:
        - name: app
          resources: {{requests: {{cpu: {cpu}, memory: 1Gi}}}}
"""

CLUSTER = "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata: {name: c2}\n"
EMPTY_PLACEMENT = (
    "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\n"
    "metadata: {name: p, namespace: shop}\nspec: {}\n"
)

PLACEMENT = """\
apiVersion: tmc.kcp.io/v1alpha1
kind: WorkloadPlacement
metadata: {name: web, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement:
"""


def problem(text: str, *, source: str = "bad.yaml") -> InvalidInput:
    """Read a good file and a bad one: exactly one problem, one line, and no inventory."""
    sources = [("good.yaml", GOOD), (source, text)]
    with pytest.raises(InvalidInput) as info:
        read_inventory(sources)
    inventory, problems = try_read_inventory(sources)
    assert inventory is None
    assert len(problems) == 1
    err = info.value
    assert str(problems[0]) == str(err)
    assert "\n" not in str(err)
    assert err.source == source
    return err


def assert_line(err: InvalidInput, obj: str, path: str, *words: str) -> None:
    assert err.obj == obj
    assert err.path == path
    line = str(err)
    assert line.startswith(f"{err.source}: {obj}: {path}: " if path else f"{err.source}: {obj}: ")
    for w in words:
        assert w in line


# -- syntax ---------------------------------------------------------------------------------------


def test_malformed_yaml_names_document_and_line() -> None:
    err = problem("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\nkind: [Deployment\n")
    assert_line(err, "document 2", "", "invalid YAML", "line 6")


def test_malformed_json() -> None:
    err = problem('{"apiVersion": "v1", "kind": "ConfigMap" "metadata": {}}', source="bad.json")
    assert_line(err, "document 1", "", "invalid JSON", "column")


def test_duplicate_yaml_key_is_not_silently_overwritten() -> None:
    err = problem("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\nmetadata: {name: b}\n")
    assert_line(err, "document 1", "", "duplicate key 'metadata'")


def test_document_that_is_not_an_object() -> None:
    err = problem("just some text\n")
    assert_line(err, "document 1", "", "expected a Kubernetes object")


# -- kinds ----------------------------------------------------------------------------------------


def test_unknown_kind_in_the_tmc_group() -> None:
    err = problem("apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterPlacement\nmetadata: {name: x}\n")
    assert_line(err, "document 1 (ClusterPlacement x)", "kind", "unknown kind 'ClusterPlacement'")


def test_unsupported_version_of_a_tmc_kind() -> None:
    err = problem("apiVersion: tmc.kcp.io/v2\nkind: ClusterRegistration\nmetadata: {name: x}\n")
    assert_line(err, "document 1 (ClusterRegistration x)", "apiVersion", "tmc.kcp.io/v1alpha1")


def test_document_without_kind() -> None:
    err = problem("apiVersion: apps/v1\nmetadata: {name: x, namespace: shop}\n")
    assert_line(err, "document 1 (shop/x)", "kind", "required field is missing")


def test_document_without_api_version() -> None:
    err = problem("kind: Deployment\nmetadata: {name: x}\n")
    assert_line(err, "document 1 (Deployment x)", "apiVersion", "required field is missing")


# -- missing fields and wrong types ---------------------------------------------------------------


def test_placement_without_resource_selectors() -> None:
    err = problem(EMPTY_PLACEMENT)
    assert_line(
        err, "document 1 (WorkloadPlacement shop/p)", "spec.resourceSelectors", "required field is missing"
    )


def test_workload_without_name() -> None:
    err = problem(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {namespace: shop}\nspec: {template: {spec: {}}}\n"
    )
    assert_line(err, "document 1 (Deployment shop)", "metadata.name", "required")


def test_replicas_of_the_wrong_type() -> None:
    err = problem(DEPLOYMENT.format(replicas="six", cpu="500m"))
    assert_line(err, "document 1 (Deployment shop/api)", "spec.replicas", "expected an integer", "'six'")


def test_negative_replicas() -> None:
    err = problem(DEPLOYMENT.format(replicas="-1", cpu="500m"))
    assert_line(err, "document 1 (Deployment shop/api)", "spec.replicas", "at least 0")


def test_label_value_that_is_not_a_string() -> None:
    err = problem(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
        + GOOD.split("---\n")[1].replace("namespace: shop}", "namespace: shop, labels: {version: 2}}")
    )
    assert_line(err, "document 2 (Deployment shop/web)", "metadata.labels.version", "expected a string")


def test_item_of_a_list_is_located_by_its_path() -> None:
    text = """\
apiVersion: v1
kind: List
items:
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: a}}
  - {apiVersion: apps/v1, kind: Deployment, metadata: {name: w}, spec: {replicas: "6", template: {spec: {}}}}
"""
    err = problem(text)
    assert_line(err, "document 1 (Deployment w)", "items[1].spec.replicas", "expected an integer")


# -- quantities -----------------------------------------------------------------------------------


def test_bad_quantity_in_a_container_request() -> None:
    err = problem(DEPLOYMENT.format(replicas=3, cpu="12 cores"))
    assert_line(
        err,
        "document 1 (Deployment shop/api)",
        "spec.template.spec.containers[0].resources.requests.cpu",
        'invalid quantity "12 cores"',
    )


def test_bad_quantity_in_cluster_capacity() -> None:
    err = problem(CLUSTER + "status: {allocatable: {memory: 2GB}}\n")
    assert_line(err, "document 1 (ClusterRegistration c2)", "status.allocatable.memory", '"2GB"', "suffix")


def test_negative_request() -> None:
    err = problem(DEPLOYMENT.format(replicas=3, cpu="-1"))
    assert_line(
        err,
        "document 1 (Deployment shop/api)",
        "spec.template.spec.containers[0].resources.requests.cpu",
        "negative",
    )


def test_non_numeric_cluster_property() -> None:
    err = problem(CLUSTER + "spec: {properties: {cost: cheap}}\n")
    assert_line(err, "document 1 (ClusterRegistration c2)", "spec.properties.cost", "expected a number")


# -- contradictory or unknown policy --------------------------------------------------------------


@pytest.mark.parametrize(
    ("policy", "path", "words"),
    [
        (
            "    clusterAffinity: {labelSelector: {matchLabels: {env: prod}}}\n"
            "    clusterAffinities: [{affinityName: a}]\n",
            "spec.placement.clusterAffinities",
            ("mutually exclusive",),
        ),
        (
            "    spreadConstraints: [{spreadByField: region, minGroups: 3, maxGroups: 2}]\n",
            "spec.placement.spreadConstraints[0].maxGroups",
            ("less than minGroups",),
        ),
        (
            "    placementType: PickN\n",
            "spec.placement.numberOfClusters",
            ("required when placementType is PickN",),
        ),
        (
            "    replicaScheduling: {replicaSchedulingType: Divided, weightPreference: {}}\n",
            "spec.placement.replicaScheduling.weightPreference.staticWeightList",
            ("dynamicWeight",),
        ),
        (
            "    clusterAffinity:\n"
            "      labelSelector: {matchExpressions: [{key: env, operator: Like, values: [x]}]}\n",
            "spec.placement.clusterAffinity.labelSelector.matchExpressions[0].operator",
            ("'Like'",),
        ),
        (
            "    replicaScheduling:\n"
            "      weightPreference:\n"
            "        staticWeightList: [{targetCluster: {clusterNames: [c1]}, weight: -2}]\n",
            "spec.placement.replicaScheduling.weightPreference.staticWeightList[0].weight",
            ("-2",),
        ),
        ("    clusterAfinity: {}\n", "spec.placement.clusterAfinity", ("unknown field",)),
        (
            "    clusterTolerations: [{key: dedicated, operator: Exists, value: gpu}]\n",
            "spec.placement.clusterTolerations[0].value",
            ("Exists",),
        ),
    ],
    ids=[
        "affinity-and-affinities",
        "min-over-max-groups",
        "pickn-without-number",
        "empty-weight-preference",
        "unknown-operator",
        "negative-static-weight",
        "misspelt-field",
        "toleration-exists-with-value",
    ],
)
def test_contradictory_policy(policy: str, path: str, words: tuple[str, ...]) -> None:
    err = problem(PLACEMENT + policy)
    assert_line(err, "document 1 (WorkloadPlacement shop/web)", path, *words)


def test_unknown_taint_effect() -> None:
    text = (
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata: {name: c2}\n"
        "spec: {taints: [{key: dedicated, value: gpu, effect: NoRun}]}\n"
    )
    err = problem(text)
    assert_line(err, "document 1 (ClusterRegistration c2)", "spec.taints[0].effect", "'NoRun'")


def test_misspelt_cluster_status_field() -> None:
    err = problem(CLUSTER + "status: {allocateable: {cpu: '4'}}\n")
    assert_line(err, "document 1 (ClusterRegistration c2)", "status.allocateable", "unknown field")


# -- duplicates and double selection --------------------------------------------------------------


def test_duplicate_cluster() -> None:
    err = problem("apiVersion: tmc.kcp.io/v1alpha1\nkind: ClusterRegistration\nmetadata: {name: c1}\n")
    assert_line(
        err,
        "document 1 (ClusterRegistration c1)",
        "metadata.name",
        "duplicate cluster",
        "good.yaml: document 1",
    )


def test_duplicate_object() -> None:
    err = problem("---\n" + GOOD.split("---\n")[1])
    assert_line(
        err,
        "document 1 (Deployment shop/web)",
        "metadata.name",
        "duplicate Deployment 'shop/web'",
        "good.yaml: document 2",
    )


def test_same_name_in_another_namespace_or_workspace_is_not_a_duplicate() -> None:
    other = GOOD.split("---\n")[1]
    inv = read_inventory(
        [
            ("good.yaml", GOOD),
            ("b.yaml", other.replace("namespace: shop", "namespace: shop2")),
            (
                "c.yaml",
                other.replace("namespace: shop", "namespace: shop, annotations: {kcp.io/cluster: 'root:x'}"),
            ),
        ]
    )
    assert len(inv.workloads) == 3


def test_workload_selected_by_two_placements_names_both() -> None:
    text = (
        PLACEMENT.replace("placement:\n", "placement: {}\n")
        + "---\n"
        + PLACEMENT.replace("name: web, namespace", "name: all, namespace")
        .replace("name: web}]", "labelSelector: {}}]")
        .replace("placement:\n", "placement: {}\n")
    )
    err = problem(text, source="placements.yaml")
    # Reported at the second placement (the one that made it ambiguous), naming the workload and both.
    assert_line(
        err,
        "document 2 (WorkloadPlacement shop/all)",
        "spec.resourceSelectors",
        "Deployment shop/web is selected by two placements, shop/web and shop/all",
    )


# -- collection -----------------------------------------------------------------------------------


def test_try_read_inventory_reports_every_bad_document_of_every_file() -> None:
    bad_a = DEPLOYMENT.format(replicas="six", cpu="1") + "---\n" + "kind: Deployment\nmetadata: {name: x}\n"
    bad_b = "a: [1\n"
    inventory, problems = try_read_inventory([("a.yaml", bad_a), ("good.yaml", GOOD), ("b.yaml", bad_b)])
    assert inventory is None
    assert [(p.source, p.obj, p.path) for p in problems] == [
        ("a.yaml", "document 1 (Deployment shop/api)", "spec.replicas"),
        ("a.yaml", "document 2 (Deployment x)", "apiVersion"),
        ("b.yaml", "document 1", ""),
    ]


def test_first_problem_is_raised_even_after_good_documents() -> None:
    with pytest.raises(InvalidInput, match=r"^z.yaml: document 3 \(Deployment shop/api\): spec.replicas: "):
        read_inventory([("z.yaml", GOOD + "---\n" + DEPLOYMENT.format(replicas="true", cpu="1"))])


def test_priority_annotation_that_is_not_an_integer() -> None:
    text = GOOD.split("---\n")[1].replace(
        "namespace: shop}", "namespace: shop, annotations: {tmc.kcp.io/priority: high}}"
    )
    err = problem("---\n" + text.replace("name: web", "name: web2"))
    assert_line(
        err, "document 1 (Deployment shop/web2)", "metadata.annotations[tmc.kcp.io/priority]", "'high'"
    )


def test_overlapping_placements_are_reported_once_per_pair() -> None:
    two = GOOD + "---\n" + GOOD.split("---\n")[1].replace("name: web", "name: api")
    everything = (
        "apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\n"
        "metadata: {name: all-%s, namespace: shop}\n"
        "spec: {resourceSelectors: [{apiVersion: apps/v1, kind: Deployment}]}\n"
    )
    inventory, problems = try_read_inventory(
        [("w.yaml", two), ("p.yaml", everything % "a" + "---\n" + everything % "b")]
    )
    assert inventory is None
    assert [str(p) for p in problems] == [
        "p.yaml: document 2 (WorkloadPlacement shop/all-b): spec.resourceSelectors: Deployment shop/web is "
        "selected by two placements, shop/all-a and shop/all-b; a workload may be selected by one placement "
        "only (1 more workloads are selected by both)"
    ]
