"""Filters and their words, through ``place``: which clusters pass, and the reason for each that fails.

Reference: /work/shared/reference/karmada.md §a.1 (clusterAffinity: exclude wins, parts ANDed,
fieldSelector on provider/region/zone), §a.2 (clusterAffinities fallback), §a.3 (taints and
tolerations; clusters already in the binding pass), §b.2 (APIEnablement, keep-current) and §b.6 (the
"0/N clusters ..." summary). tmc's own rules: NotReady clusters are filtered unless the policy
tolerates ``tmc.kcp.io/not-ready`` (or Karmada's ``cluster.karmada.io/not-ready``), and a cluster
needs room for one replica (Duplicated: for all of them).
"""

from __future__ import annotations

from typing import Any

import pytest

from tmc_core.model import Cluster, Decision

from .test_placement_helpers import AGGREGATED, DUPLICATED, DYNAMIC, cluster, placed, policy, workload


def _filtered(d: Decision) -> dict[str, str]:
    assert d.explanation is not None
    return dict(d.explanation.filtered)


def _fits(fleet: list[Cluster], **spec: Any) -> set[str]:
    """Names of clusters the policy places a 1-replica Duplicated workload on."""
    spec.setdefault("replicaScheduling", DUPLICATED)
    return set(placed(fleet, workload(1), policy(**spec)).replicas)


# --------------------------------------------------------------------------------------------------
# clusterAffinity: label selector, field selector, names, exclude

LABELLED = [
    cluster("a", labels={"env": "prod", "gen": "3"}),
    cluster("b", labels={"env": "dev", "gen": "5"}),
    cluster("c"),
]


@pytest.mark.parametrize(
    ("selector", "fit", "reasons"),
    [
        (
            {"matchLabels": {"env": "prod"}},
            {"a"},
            {"b": "label env is not prod", "c": "label env is not prod"},
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]},
            {"a"},
            {"b": "label env not in (prod,qa)", "c": "label env not in (prod,qa)"},
        ),
        # NotIn holds for a cluster without the label (Kubernetes semantics).
        (
            {"matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}]},
            {"b", "c"},
            {"a": "label env in (prod)"},
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "Exists"}]},
            {"a", "b"},
            {"c": "no label env"},
        ),
        (
            {"matchExpressions": [{"key": "env", "operator": "DoesNotExist"}]},
            {"c"},
            {"a": "has label env", "b": "has label env"},
        ),
        # Gt/Lt compare integers; an absent label never satisfies them.
        (
            {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]},
            {"b"},
            {"a": "label gen not greater than 4", "c": "label gen not greater than 4"},
        ),
        (
            {"matchExpressions": [{"key": "gen", "operator": "Lt", "values": ["4"]}]},
            {"a"},
            {"b": "label gen not less than 4", "c": "label gen not less than 4"},
        ),
        # Everything present is ANDed.
        (
            {
                "matchLabels": {"env": "dev"},
                "matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}],
            },
            {"b"},
            {"a": "label env is not dev", "c": "label env is not dev"},
        ),
    ],
)
def test_label_selector_operators(selector: dict[str, Any], fit: set[str], reasons: dict[str, str]) -> None:
    d = placed(
        LABELLED,
        workload(1),
        policy(clusterAffinity={"labelSelector": selector}, replicaScheduling=DUPLICATED),
    )
    assert set(d.replicas) == fit
    assert _filtered(d) == reasons


FIELDED = [
    cluster("a", provider="aws", region="us-east-1", zone="us-east-1a"),
    cluster("b", provider="gcp", region="europe-west1", zone="europe-west1-b"),
    cluster("c"),  # no provider, region or zone
]


@pytest.mark.parametrize(
    ("key", "operator", "values", "fit", "reasons"),
    [
        ("provider", "In", ["aws"], {"a"}, {"b": "not in provider aws", "c": "not in provider aws"}),
        ("provider", "NotIn", ["aws"], {"b", "c"}, {"a": "in excluded provider aws"}),
        (
            "region",
            "In",
            ["europe-west1", "asia-east1"],
            {"b"},
            {"a": "not in region europe-west1,asia-east1", "c": "not in region europe-west1,asia-east1"},
        ),
        # A cluster without a region is not in any excluded region.
        ("region", "NotIn", ["us-east-1"], {"b", "c"}, {"a": "in excluded region us-east-1"}),
        ("zone", "In", ["us-east-1a"], {"a"}, {"b": "not in zone us-east-1a", "c": "not in zone us-east-1a"}),
        ("zone", "NotIn", ["us-east-1a"], {"b", "c"}, {"a": "in excluded zone us-east-1a"}),
    ],
)
def test_field_selector_on_provider_region_zone(
    key: str, operator: str, values: list[str], fit: set[str], reasons: dict[str, str]
) -> None:
    expr = {"key": key, "operator": operator, "values": values}
    d = placed(
        FIELDED,
        workload(1),
        policy(clusterAffinity={"fieldSelector": {"matchExpressions": [expr]}}, replicaScheduling=DUPLICATED),
    )
    assert set(d.replicas) == fit
    assert _filtered(d) == reasons


def test_cluster_names_and_exclude_exclude_wins() -> None:
    d = placed(
        LABELLED,
        workload(1),
        policy(clusterAffinity={"clusterNames": ["a", "b"], "exclude": ["b"]}, replicaScheduling=DUPLICATED),
    )
    assert set(d.replicas) == {"a"}
    assert _filtered(d) == {
        "b": "excluded by clusterAffinity.exclude",
        "c": "not in clusterAffinity.clusterNames",
    }


def test_exclude_wins_over_a_matching_label_selector() -> None:
    assert (
        _fits(LABELLED, clusterAffinity={"labelSelector": {"matchLabels": {"env": "prod"}}, "exclude": ["a"]})
        == set()
    )


def test_empty_affinity_matches_every_cluster() -> None:
    assert _fits(LABELLED, clusterAffinity={}) == {"a", "b", "c"}


# --------------------------------------------------------------------------------------------------
# taints and tolerations

TAINTED = [
    cluster("a", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
    cluster("b", taints=[{"key": "maintenance", "effect": "NoExecute"}]),
    cluster("c", taints=[{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]),
    cluster("d"),
]


@pytest.mark.parametrize(
    ("tolerations", "fit"),
    [
        ([], {"c", "d"}),  # PreferNoSchedule never filters
        ([{"key": "dedicated", "operator": "Equal", "value": "gpu"}], {"a", "c", "d"}),
        ([{"key": "dedicated", "operator": "Equal", "value": "cpu"}], {"c", "d"}),  # wrong value
        ([{"key": "dedicated", "operator": "Exists"}], {"a", "c", "d"}),
        ([{"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}], {"c", "d"}),  # wrong effect
        ([{"key": "maintenance", "operator": "Exists", "effect": "NoExecute"}], {"b", "c", "d"}),
        ([{"operator": "Exists"}], {"a", "b", "c", "d"}),  # empty key + Exists tolerates everything
    ],
)
def test_no_schedule_and_no_execute_taints_need_a_toleration(
    tolerations: list[dict[str, Any]], fit: set[str]
) -> None:
    assert _fits(TAINTED, clusterTolerations=tolerations) == fit


def test_taint_reasons_name_the_taint() -> None:
    d = placed(TAINTED, workload(1), policy(replicaScheduling=DUPLICATED))
    assert _filtered(d) == {
        "a": "untolerated taint dedicated=gpu:NoSchedule",
        "b": "untolerated taint maintenance:NoExecute",
    }


# --------------------------------------------------------------------------------------------------
# readiness

NOT_READY = [
    cluster("down", conditions=[{"type": "Ready", "status": "False"}]),
    cluster("unknown", conditions=[{"type": "Ready", "status": "Unknown"}]),
    cluster("up", conditions=[{"type": "Ready", "status": "True"}]),
    cluster("silent"),  # no Ready condition counts as Ready
]


def test_not_ready_clusters_are_filtered() -> None:
    d = placed(NOT_READY, workload(1), policy(replicaScheduling=DUPLICATED))
    assert set(d.replicas) == {"up", "silent"}
    assert _filtered(d) == {"down": "not ready", "unknown": "not ready"}


@pytest.mark.parametrize(
    "toleration",
    [
        {"key": "tmc.kcp.io/not-ready", "operator": "Exists"},
        {"key": "tmc.kcp.io/not-ready", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "cluster.karmada.io/not-ready", "operator": "Exists"},  # Karmada's spelling
        {"operator": "Exists"},
    ],
)
def test_not_ready_clusters_pass_when_tolerated(toleration: dict[str, Any]) -> None:
    assert _fits(NOT_READY, clusterTolerations=[toleration]) == {"down", "unknown", "up", "silent"}


def test_a_not_ready_toleration_for_another_effect_does_not_count() -> None:
    tol = {"key": "tmc.kcp.io/not-ready", "operator": "Exists", "effect": "NoExecute"}
    assert _fits(NOT_READY, clusterTolerations=[tol]) == {"up", "silent"}


# --------------------------------------------------------------------------------------------------
# API enablement

SERVING = [
    cluster("all"),  # no apiResources list: serves everything
    cluster("apps", apiResources=["apps/v1/Deployment", "apps/v1/StatefulSet"]),
    cluster("batch", apiResources=["batch/v1/Job"]),
]


def test_clusters_must_serve_the_workload_kind() -> None:
    d = placed(SERVING, workload(1), policy(replicaScheduling=DUPLICATED))
    assert set(d.replicas) == {"all", "apps"}
    assert _filtered(d) == {"batch": "does not serve apps/v1/Deployment"}


def test_core_group_kinds_are_version_slash_kind() -> None:
    fleet = [cluster("a", apiResources=["v1/ConfigMap"]), cluster("b", apiResources=["apps/v1/Deployment"])]
    w = workload(1, apiVersion="v1", kind="ConfigMap")
    d = placed(fleet, w, policy(replicaScheduling=DUPLICATED))
    assert set(d.replicas) == {"a"}
    assert _filtered(d) == {"b": "does not serve v1/ConfigMap"}


# --------------------------------------------------------------------------------------------------
# resource fit


def test_divided_needs_room_for_one_replica_duplicated_for_all() -> None:
    fleet = [cluster("small", cpu=2), cluster("big", cpu=8)]
    divided = placed(fleet, workload(3), policy(replicaScheduling=DYNAMIC))
    assert divided.replicas == {"small": 1, "big": 2}  # 3 over free 2:8 -> 8, 8/3, 2
    duplicated = placed(fleet, workload(3), policy(replicaScheduling=DUPLICATED))
    assert duplicated.replicas == {"big": 3}
    assert _filtered(duplicated) == {"small": "insufficient cpu"}


def test_zero_capacity_clusters_are_filtered_even_under_static_weights() -> None:
    # Karmada would hand the full cluster a share (issue #2843); tmc filters it out first.
    fleet = [cluster("full", cpu=4, used=4), cluster("roomy", cpu=10)]
    d = placed(fleet, workload(4), policy(replicaScheduling={"replicaSchedulingType": "Divided"}))
    assert d.replicas == {"roomy": 4}
    assert _filtered(d) == {"full": "insufficient cpu"}


def test_insufficient_names_every_short_resource() -> None:
    fleet = [
        Cluster.model_validate(
            {
                "name": "tight",
                "allocatable": {"cpu": "1", "memory": "1Gi", "pods": "10"},
                "allocated": {"pods": "10"},
            }
        )
    ]
    w = workload(1, requests={"cpu": "2", "memory": "2Gi"})
    d = placed(fleet, w, policy(replicaScheduling=DYNAMIC))
    reason = _filtered(d)["tight"]
    assert reason.startswith("insufficient ")
    for resource in ("cpu", "memory", "pods"):
        assert resource in reason


def test_a_cluster_reporting_no_capacity_has_no_room() -> None:
    # Karmada's estimator: no resource summary, no replicas.
    fleet = [Cluster.model_validate({"name": "blank"}), cluster("ok", cpu=1)]
    d = placed(fleet, workload(1), policy(replicaScheduling=DYNAMIC))
    assert d.replicas == {"ok": 1}
    assert _filtered(d)["blank"].startswith("insufficient cpu")


# --------------------------------------------------------------------------------------------------
# the summary line


def test_summary_counts_reasons_most_frequent_first() -> None:
    fleet = [
        cluster("a", cpu=1),
        cluster("b", cpu=4, used=4),
        cluster("c", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
    ]
    d = placed(fleet, workload(1, "2"), policy(replicaScheduling=DYNAMIC))
    assert not d.schedulable
    assert d.replicas == {}
    assert d.reason == "0/3 clusters fit: 2 insufficient cpu, 1 untolerated taint dedicated=gpu:NoSchedule"
    assert d.explanation is not None
    assert d.explanation.summary() == d.reason


def test_equal_counts_are_listed_alphabetically() -> None:
    fleet = [cluster("a", cpu=0), cluster("b", conditions=[{"type": "Ready", "status": "False"}])]
    d = placed(fleet, workload(1), policy(replicaScheduling=DYNAMIC))
    assert d.reason == "0/2 clusters fit: 1 insufficient cpu, 1 not ready"


def test_the_first_failing_filter_is_the_reason() -> None:
    # Excluded, tainted, not ready and full at once: the affinity filter runs first.
    fleet = [
        cluster(
            "x",
            cpu=0,
            taints=[{"key": "k", "effect": "NoSchedule"}],
            conditions=[{"type": "Ready", "status": "False"}],
        ),
        cluster("y"),
    ]
    d = placed(fleet, workload(1), policy(clusterAffinity={"exclude": ["x"]}, replicaScheduling=DYNAMIC))
    assert _filtered(d) == {"x": "excluded by clusterAffinity.exclude"}
    d = placed(fleet, workload(1), policy(replicaScheduling=DYNAMIC))
    assert _filtered(d) == {"x": "untolerated taint k:NoSchedule"}


# --------------------------------------------------------------------------------------------------
# clusters already running the workload (Karmada: TaintToleration and APIEnablement let them pass)

TROUBLED = [
    cluster(
        "old",
        cpu=12,
        used=2,
        taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}],
        apiResources=["batch/v1/Job"],
        conditions=[{"type": "Ready", "status": "False"}],
    ),
    cluster("new", cpu=10),
]


def test_a_troubled_cluster_is_filtered_for_a_newcomer() -> None:
    d = placed(TROUBLED, workload(4), policy(replicaScheduling=DYNAMIC))
    assert d.replicas == {"new": 4}
    # APIEnablement runs before TaintToleration and ClusterReady, so it is the reason given.
    assert _filtered(d) == {"old": "does not serve apps/v1/Deployment"}


def test_clusters_already_running_the_workload_pass_taint_api_and_readiness() -> None:
    # Scale-up 2 -> 4 with prev {old: 2}: delta 2 over free old 10, new 10. Seat 1 is a tie that
    # goes to "new" (names ascending), seat 2 to "old" (10 > 10/3) -> old 2 + 1, new 1.
    d = placed(TROUBLED, workload(4), policy(replicaScheduling=DYNAMIC), current={"old": 2})
    assert d.schedulable, d.reason
    assert d.replicas == {"old": 3, "new": 1}
    assert _filtered(d) == {}


def test_the_affinity_still_applies_to_clusters_already_running_the_workload() -> None:
    # Karmada's ClusterAffinity filter has no keep-current exception: excluded means moved away.
    d = placed(
        TROUBLED,
        workload(4),
        policy(clusterAffinity={"exclude": ["old"]}, replicaScheduling=DYNAMIC),
        current={"old": 4},
    )
    assert d.replicas == {"new": 4}


# --------------------------------------------------------------------------------------------------
# clusterAffinities: ordered groups with fallback (§a.2)

GROUPS: list[dict[str, Any]] = [
    {"affinityName": "primary", "labelSelector": {"matchLabels": {"tier": "primary"}}},
    {"affinityName": "backup", "labelSelector": {"matchLabels": {"tier": "backup"}}},
]


def _grouped(primary_cpu: int, backup_cpu: int) -> list[Cluster]:
    return [
        cluster("p1", cpu=primary_cpu, labels={"tier": "primary"}),
        cluster("p2", cpu=primary_cpu, labels={"tier": "primary"}),
        cluster("b1", cpu=backup_cpu, labels={"tier": "backup"}),
    ]


def test_first_group_is_used_when_it_has_room() -> None:
    d = placed(_grouped(5, 50), workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=DYNAMIC))
    assert d.replicas == {"p1": 3, "p2": 3}
    assert d.explanation is not None
    assert d.explanation.affinity_term == "primary"


def test_first_group_short_of_capacity_falls_back_to_the_second() -> None:
    d = placed(_grouped(2, 50), workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=DYNAMIC))
    assert d.schedulable
    assert d.replicas == {"b1": 6}
    assert d.explanation is not None
    assert d.explanation.affinity_term == "backup"
    # In the backup group's attempt the primary clusters are filtered by affinity.
    assert _filtered(d) == {"p1": "label tier is not backup", "p2": "label tier is not backup"}


def test_first_group_with_no_feasible_cluster_falls_back() -> None:
    fleet = _grouped(0, 50)
    d = placed(fleet, workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=AGGREGATED))
    assert d.replicas == {"b1": 6}


def test_when_every_group_fails_the_first_group_reason_is_reported() -> None:
    # primary: 2 + 2 = 4 < 6 (capacity); backup: 3 < 6. Karmada returns the first error.
    d = placed(_grouped(2, 3), workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=DYNAMIC))
    assert not d.schedulable
    assert d.reason.startswith("Clusters available replicas 4 are not enough to schedule")
    assert d.explanation is not None
    assert d.explanation.affinity_term == "primary"


def test_when_every_group_fails_a_filter_failure_of_the_first_is_reported() -> None:
    d = placed(_grouped(0, 3), workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=DYNAMIC))
    assert not d.schedulable
    assert d.reason == "0/3 clusters fit: 2 insufficient cpu, 1 label tier is not primary"


def test_every_decision_starts_from_the_first_group() -> None:
    # Running in backup (it fell back earlier); primary has room again now. Karmada would stay on
    # the observed term (§a.2 step 5, issues #5070/#5172); tmc returns to the preferred group.
    current = {"b1": 6}
    fleet = [
        cluster("p1", cpu=5, labels={"tier": "primary"}),
        cluster("p2", cpu=5, labels={"tier": "primary"}),
        cluster("b1", cpu=50, used=6, labels={"tier": "backup"}),
    ]
    d = placed(fleet, workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=DYNAMIC), current)
    assert d.replicas == {"p1": 3, "p2": 3}


def test_a_workload_stays_in_the_fallback_group_while_the_first_is_still_short() -> None:
    current = {"b1": 6}
    fleet = [
        cluster("p1", cpu=2, labels={"tier": "primary"}),
        cluster("p2", cpu=2, labels={"tier": "primary"}),
        cluster("b1", cpu=50, used=6, labels={"tier": "backup"}),
    ]
    d = placed(fleet, workload(6), policy(clusterAffinities=GROUPS, replicaScheduling=DYNAMIC), current)
    assert d.schedulable
    assert d.replicas == current
    assert d.explanation is not None
    assert d.explanation.affinity_term == "backup"


# --------------------------------------------------------------------------------------------------
# the batch call's memo of requirement masks


def test_requirement_memo_gives_the_same_masks_and_computes_each_requirement_once() -> None:
    from tmc_core.model.policy import ClusterAffinity
    from tmc_core.placement import FleetIndex
    from tmc_core.placement.filters import affinity_mask

    index = FleetIndex.from_fleet(LABELLED)
    affinities = [
        ClusterAffinity.model_validate(spec)
        for spec in (
            {"labelSelector": {"matchLabels": {"env": "prod"}}},
            {"labelSelector": {"matchExpressions": [{"key": "gen", "operator": "Gt", "values": ["4"]}]}},
            {"labelSelector": {"matchExpressions": [{"key": "absent", "operator": "DoesNotExist"}]}},
            {"labelSelector": {"matchLabels": {"env": "prod", "gen": "3"}}},
            {
                "fieldSelector": {
                    "matchExpressions": [{"key": "region", "operator": "NotIn", "values": ["x"]}]
                }
            },
            {"labelSelector": {"matchLabels": {"env": "prod"}}, "exclude": ["a"]},
        )
    ]
    memo: dict[Any, Any] = {}
    first = [affinity_mask(index, a, memo) for a in affinities]
    size = len(memo)
    again = [affinity_mask(index, a, memo) for a in affinities]
    plain = [affinity_mask(index, a) for a in affinities]
    for x, y, z in zip(first, again, plain, strict=True):
        assert x.tolist() == y.tolist() == z.tolist()
    # env=prod appears three times, gen=3 once more: 5 distinct requirements in 7 uses
    assert size == len(memo) == 5
    assert not any(m.flags.writeable for m in memo.values())
    assert [m.tolist() for m in plain] == [
        [True, False, False],
        [False, True, False],
        [True, True, True],
        [True, False, False],
        [True, True, True],
        [False, False, False],
    ]
