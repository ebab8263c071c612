"""Selection through ``place``: PickN / PickFixed, spread constraints and topology spread.

Reference: /work/shared/reference/karmada.md §a.4 and §b.3 (spread by cluster, region + cluster,
the group score and the group search), fleet.md §2-§5 (PickN, PickFixed, topology spread with
maxSkew), ocm.md §3 (numberOfClusters: top N by score, then name ascending). Spreading by zone,
provider or a label is tmc's extension of Karmada's group algorithm (Karmada fails those with
"just support cluster and region spread constraint").
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from tmc_core.errors import InvalidInput
from tmc_core.model import Cluster, Decision

from .test_placement_helpers import DUPLICATED, DYNAMIC, STATIC_EQUAL, cluster, placed, policy, workload

BY_RANK = [{"name": "ClusterProperty", "property": "rank", "prefer": "Higher"}]
"""Score clusters by their ``rank`` property, so the rank order of each example is explicit."""


def _ranked(name: str, rank: float, cpu: float = 100, **kw: Any) -> Cluster:
    return cluster(name, cpu=cpu, properties={"rank": str(rank)}, **kw)


def _filtered(d: Decision) -> dict[str, str]:
    assert d.explanation is not None
    return dict(d.explanation.filtered)


# --------------------------------------------------------------------------------------------------
# PickN


def _pick(fleet: list[Cluster], n: int, replicas: int = 1, **spec: Any) -> Decision:
    spec.setdefault("replicaScheduling", DUPLICATED)
    return placed(fleet, workload(replicas), policy(placementType="PickN", numberOfClusters=n, **spec))


def test_pick_n_takes_the_top_n_by_score() -> None:
    fleet = [_ranked("a", 1), _ranked("b", 4), _ranked("c", 3), _ranked("d", 2)]
    assert set(_pick(fleet, 2, prioritizers=BY_RANK).replicas) == {"b", "c"}


def test_pick_n_breaks_equal_scores_by_name_ascending() -> None:
    # OCM (and Karmada) order; Fleet would take the larger names (fleet.md §5, not API there).
    fleet = [cluster(n) for n in ("d", "b", "c", "a")]
    d = _pick(fleet, 2)
    assert set(d.replicas) == {"a", "b"}
    assert d.explanation is not None
    assert [s.cluster for s in d.explanation.scores] == ["a", "b", "c", "d"]


def test_pick_n_prefers_more_room_before_the_name() -> None:
    # Karmada's sortClusters: score desc, then available replicas desc, then name.
    fleet = [cluster("a", cpu=5), cluster("b", cpu=9), cluster("c", cpu=7)]
    assert set(_pick(fleet, 2).replicas) == {"b", "c"}


def test_pick_n_with_too_few_clusters_is_partial() -> None:
    fleet = [cluster("a"), cluster("b"), cluster("c", taints=[{"key": "k", "effect": "NoSchedule"}])]
    d = _pick(fleet, 3)
    assert not d.schedulable
    assert set(d.replicas) == {"a", "b"}
    assert d.reason == "picked 2 of 3 clusters (2/3 clusters fit: 1 untolerated taint k:NoSchedule)"


def test_pick_n_divides_replicas_over_the_picked_clusters() -> None:
    # Picked: b (rank 3) and c (rank 2); 6 replicas over free 4:8 -> 8 4 8/3 8/5 4/3 8/7 -> b 2, c 4.
    fleet = [_ranked("a", 1, cpu=50), _ranked("b", 3, cpu=4), _ranked("c", 2, cpu=8)]
    d = _pick(fleet, 2, 6, prioritizers=BY_RANK, replicaScheduling=DYNAMIC)
    assert d.replicas == {"b": 2, "c": 4}


def test_pick_zero_clusters_places_nothing() -> None:
    d = _pick([cluster("a")], 0)
    assert d.replicas == {}
    assert d.schedulable


# --------------------------------------------------------------------------------------------------
# PickFixed


def _fixed(fleet: list[Cluster], *names: str) -> Decision:
    return placed(
        fleet,
        workload(2),
        policy(placementType="PickFixed", clusterNames=list(names), replicaScheduling=DUPLICATED),
    )


def test_pick_fixed_uses_exactly_the_named_clusters() -> None:
    d = _fixed([cluster("a"), cluster("b"), cluster("c")], "c", "a")
    assert d.schedulable
    assert d.replicas == {"a": 2, "c": 2}
    assert _filtered(d) == {"b": "not in clusterNames (PickFixed)"}


def test_pick_fixed_with_a_missing_name_is_partial_and_unschedulable() -> None:
    d = _fixed([cluster("a"), cluster("b")], "a", "zz")
    assert not d.schedulable
    assert d.replicas == {"a": 2}
    assert d.reason.startswith("1 of 2 fixed clusters cannot be used")


def test_pick_fixed_reason_names_the_missing_cluster() -> None:
    d = _fixed([cluster("a"), cluster("b")], "a", "zz")
    assert "zz" in d.reason


def test_pick_fixed_bypasses_taints_as_in_fleet() -> None:
    fleet = [
        cluster("a"),
        cluster("b", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]),
    ]
    d = _fixed(fleet, "a", "b")
    assert d.replicas == {"a": 2, "b": 2}


# --------------------------------------------------------------------------------------------------
# spread by cluster (Karmada §b.3.4)

FIVE = [_ranked(f"c{i}", 10 - i, cpu=4) for i in range(1, 6)]  # c1 best ... c5 worst, room 4 each


def _spread(
    fleet: list[Cluster],
    replicas: int,
    *constraints: dict[str, Any],
    current: dict[str, int] | None = None,
    **spec: Any,
) -> Decision:
    spec.setdefault("replicaScheduling", DYNAMIC)
    spec.setdefault("prioritizers", BY_RANK)
    return placed(fleet, workload(replicas), policy(spreadConstraints=list(constraints), **spec), current)


def test_cluster_spread_takes_the_best_max_groups() -> None:
    d = _spread(FIVE, 6, {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 3})
    assert d.replicas == {"c1": 2, "c2": 2, "c3": 2}


def test_cluster_spread_swaps_in_room_when_the_best_are_too_small() -> None:
    # Ranked a, b, c with room 2, 3, 10; 8 replicas in at most 2 clusters. a + b = 5 < 8, so the
    # last selected (b) is swapped for the unselected cluster with the most room (c): 2 + 10 >= 8.
    # Dynamic 8 over free a 2, c 10: 10 10/3 2(a, fewer seats) 10/5 10/7 10/9 10/11 10/13 -> a 1, c 7.
    fleet = [_ranked("a", 3, cpu=2), _ranked("b", 2, cpu=3), _ranked("c", 1, cpu=10)]
    d = _spread(fleet, 8, {"spreadByField": "cluster", "minGroups": 1, "maxGroups": 2})
    assert d.replicas == {"a": 1, "c": 7}


def test_cluster_spread_without_enough_room_fails() -> None:
    fleet = [_ranked("a", 3, cpu=2), _ranked("b", 2, cpu=3), _ranked("c", 1, cpu=10)]
    d = _spread(fleet, 20, {"spreadByField": "cluster", "minGroups": 1, "maxGroups": 2})
    assert not d.schedulable
    assert d.replicas == {}
    assert d.reason == "not enough room when selecting 2 clusters (3/3 clusters fit)"


def test_cluster_spread_min_groups_above_the_feasible_clusters_fails() -> None:
    fleet = [cluster("a"), cluster("b"), cluster("c", cpu=0)]
    d = _spread(fleet, 2, {"spreadByField": "cluster", "minGroups": 3, "maxGroups": 3})
    assert not d.schedulable
    assert d.reason.startswith("the number of feasible clusters is less than minGroups")
    assert d.reason.endswith("(2/3 clusters fit: 1 insufficient cpu)")


def test_duplicated_cluster_spread_takes_the_first_max_groups() -> None:
    # Duplicated takes the first maxGroups in rank order; c's larger room does not swap it in.
    fleet = [_ranked("a", 3, cpu=3), _ranked("b", 2, cpu=3), _ranked("c", 1, cpu=100)]
    d = _spread(fleet, 3, {"spreadByField": "cluster", "maxGroups": 2}, replicaScheduling=DUPLICATED)
    assert d.replicas == {"a": 3, "b": 3}


def test_max_groups_zero_means_no_upper_bound() -> None:
    # Karmada would select zero clusters (§a.4); tmc reads an omitted maxGroups as unbounded.
    d = _spread(FIVE, 5, {"spreadByField": "cluster", "minGroups": 2})
    assert d.replicas == {"c1": 1, "c2": 1, "c3": 1, "c4": 1, "c5": 1}


def test_spread_constraints_are_ignored_under_static_weights() -> None:
    d = _spread(FIVE, 5, {"spreadByField": "cluster", "maxGroups": 1}, replicaScheduling=STATIC_EQUAL)
    assert d.replicas == {"c1": 1, "c2": 1, "c3": 1, "c4": 1, "c5": 1}


# --------------------------------------------------------------------------------------------------
# region + cluster (Karmada §b.3.5, §b.3.6)

REGIONS = [
    _ranked("c1", 100, region="r1"),
    _ranked("c2", 0, region="r1"),
    _ranked("c3", 90, region="r2"),
    _ranked("c4", 80, region="r3"),
    _ranked("c5", 70, region="r3"),
    _ranked("c6", 95),  # no region: filtered when spreading by region
]


def test_region_and_cluster_spread_duplicated() -> None:
    # 2 regions, 3 clusters. Scores (min-max of rank 0..100): c1 100, c2 0, c3 90, c4 80, c5 70.
    # Group score (Duplicated) = #clusters with room x 1000 + mean score: r1 2050, r2 1090, r3 2075.
    # Two regions holding >= 3 clusters: r2+r1 (3140), r2+r3 (3165), r1+r3 (4125) -> r1, r3.
    # Their best clusters c1, c4, then the best other member of r1/r3 fills the 3rd slot: c5 (70).
    d = _spread(
        REGIONS,
        1,
        {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
        {"spreadByField": "cluster", "minGroups": 3, "maxGroups": 3},
        replicaScheduling=DUPLICATED,
    )
    assert d.replicas == {"c1": 1, "c4": 1, "c5": 1}
    assert _filtered(d) == {"c6": "no region to spread by"}


def test_region_and_cluster_spread_divided() -> None:
    # 12 replicas over 2 regions: per-region target ceil(12 / 2) = 6. All scores 0 (nothing runs).
    # r1 (4 + 4 >= 6) 6000, r2 (10 >= 6) 6000, r3 (3 + 2 = 5) 5000. Pairs with >= 2 clusters:
    # r2+r1 12000, r2+r3 11000, r1+r3 11000 -> r1, r2: heads c1 and c3, then c2 fills slot 3.
    # Dynamic 12 over free c1 4, c2 4, c3 10 -> c1 3, c2 3, c3 6 (worked in the division notes).
    fleet = [
        cluster("c1", cpu=4, region="r1"),
        cluster("c2", cpu=4, region="r1"),
        cluster("c3", cpu=10, region="r2"),
        cluster("c4", cpu=3, region="r3"),
        cluster("c5", cpu=2, region="r3"),
    ]
    d = _spread(
        fleet,
        12,
        {"spreadByField": "region", "minGroups": 2, "maxGroups": 2},
        {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 3},
        prioritizers=[],
    )
    assert d.replicas == {"c1": 3, "c2": 3, "c3": 6}


def test_region_spread_with_too_few_regions_fails() -> None:
    d = _spread(
        REGIONS,
        1,
        {"spreadByField": "region", "minGroups": 4},
        {"spreadByField": "cluster", "minGroups": 1},
        replicaScheduling=DUPLICATED,
    )
    assert not d.schedulable
    assert d.reason.startswith("3 feasible region groups, fewer than minGroups 4")


def test_group_score_averages_over_at_least_cluster_min_groups_clusters() -> None:
    # 10 replicas, 1 region, 2 clusters: target ceil(10 / 1) = 10, clusters to take >= max(1, 2).
    # ra: a1 (100, room 10), a2 (0, room 10): Karmada takes both -> 10000 + 50 = 10050.
    # rb: b1 (90), b2 (90): 10000 + 90 = 10090 -> Karmada picks rb. tmc stops after a1 alone
    # (10 >= 10) and scores ra 10100, so it picks ra.
    fleet = [
        _ranked("a1", 100, cpu=10, region="ra"),
        _ranked("a2", 0, cpu=10, region="ra"),
        _ranked("b1", 90, cpu=10, region="rb"),
        _ranked("b2", 90, cpu=10, region="rb"),
    ]
    d = _spread(
        fleet,
        10,
        {"spreadByField": "region", "minGroups": 1, "maxGroups": 1},
        {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 2},
    )
    assert set(d.replicas) == {"b1", "b2"}


def test_a_selection_failure_keeps_the_current_assignment() -> None:
    # Scaling 4 -> 5 needs a new selection, and minGroups 3 cannot hold on two feasible clusters:
    # the workload stays where it runs, unschedulable. (With 4 replicas the assignment would be
    # complete and kept as it is: a divided decision lists only clusters that got replicas.)
    fleet = [cluster("a", cpu=10, used=2), cluster("b", cpu=10, used=2), cluster("c", cpu=0)]
    current = {"a": 2, "b": 2}
    d = _spread(fleet, 5, {"spreadByField": "cluster", "minGroups": 3, "maxGroups": 3}, current=current)
    assert not d.schedulable
    assert d.replicas == current


def test_a_second_group_spread_constraint_is_not_ignored() -> None:
    # Two regions but only two zones: zone minGroups 3 cannot hold. Karmada refuses the combination
    # ("just support cluster and region spread constraint", §a.4); silently using only the first
    # group constraint would make the answer depend on their order.
    fleet = [
        cluster("a1", region="r1", zone="z1"),
        cluster("a2", region="r1", zone="z1"),
        cluster("b1", region="r2", zone="z2"),
        cluster("b2", region="r2", zone="z2"),
    ]
    region = {"spreadByField": "region", "minGroups": 2}
    zone = {"spreadByField": "zone", "minGroups": 3}
    by_cluster = {"spreadByField": "cluster", "minGroups": 2}
    try:
        p = policy(spreadConstraints=[region, zone, by_cluster], replicaScheduling=DYNAMIC)
    except (ValidationError, InvalidInput):
        return  # refusing the combination, as Karmada does, is fine too
    d = placed(fleet, workload(4), p)
    assert not d.schedulable, d.replicas


# --------------------------------------------------------------------------------------------------
# zone, provider and label spread (tmc's extension of the same group algorithm)


@pytest.mark.parametrize(
    ("constraint", "spec_of", "missing_reason"),
    [
        ({"spreadByField": "zone"}, lambda g: {"zone": g}, "no zone to spread by"),
        ({"spreadByField": "provider"}, lambda g: {"provider": g}, "no provider to spread by"),
        ({"spreadByLabel": "rack"}, lambda g: {"labels": {"rack": g}}, "no label rack to spread by"),
    ],
)
def test_spread_by_zone_provider_or_label_takes_one_cluster_per_group(
    constraint: dict[str, Any], spec_of: Any, missing_reason: str
) -> None:
    # Groups g1 {x1 (rank 3), x2 (rank 2)} and g2 {y1 (rank 1)}; two groups, two clusters: the
    # best of each group, x1 and y1, although x2 outranks y1.
    fleet = [
        _ranked("x1", 3, **spec_of("g1")),
        _ranked("x2", 2, **spec_of("g1")),
        _ranked("y1", 1, **spec_of("g2")),
        _ranked("n1", 9),
    ]
    d = _spread(
        fleet,
        1,
        {**constraint, "minGroups": 2, "maxGroups": 2},
        {"spreadByField": "cluster", "minGroups": 2, "maxGroups": 2},
        replicaScheduling=DUPLICATED,
    )
    assert d.replicas == {"x1": 1, "y1": 1}
    assert _filtered(d) == {"n1": missing_reason}


# --------------------------------------------------------------------------------------------------
# topology spread with maxSkew (Fleet §5, DoNotSchedule)

ZONED = [
    _ranked("b1", 4, labels={"zone": "b"}),
    _ranked("a1", 3, labels={"zone": "a"}),
    _ranked("a2", 2, labels={"zone": "a"}),
    _ranked("a3", 1, labels={"zone": "a"}),
]


def _topology(fleet: list[Cluster], n: int, max_skew: int) -> Decision:
    return _pick(
        fleet,
        n,
        prioritizers=BY_RANK,
        topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": max_skew}],  # DoNotSchedule
    )


def test_topology_spread_keeps_domains_within_max_skew() -> None:
    # In rank order: b1 (b 1), a1 (a 1, b 1), a2 (a 2, b 1: skew 1), a3 would make skew 2 > 1.
    d = _topology(ZONED, 4, 1)
    assert not d.schedulable
    assert d.replicas == {"a1": 1, "a2": 1, "b1": 1}
    assert d.reason == "picked 3 of 4 clusters (topology spread allows 3 of 4 clusters) (4/4 clusters fit)"


def test_a_larger_max_skew_allows_more() -> None:
    d = _topology(ZONED, 4, 2)
    assert d.schedulable
    assert set(d.replicas) == {"a1", "a2", "a3", "b1"}


def test_topology_spread_filters_clusters_without_the_key() -> None:
    d = _topology([*ZONED, _ranked("n1", 9)], 2, 1)
    assert set(d.replicas) == {"a1", "b1"}
    assert _filtered(d) == {"n1": "no label zone for topology spread"}


def test_topology_spread_revisits_clusters_skipped_earlier() -> None:
    # Rank order a1, a2, b1 with maxSkew 1. a1 (a 1); a2 would make a 2, b 0 -> skipped; b1 (a 1,
    # b 1); now a2 fits (a 2, b 1) but the single pass has moved on: 2 of 3 picked, unschedulable.
    fleet = [
        _ranked("a1", 3, labels={"zone": "a"}),
        _ranked("a2", 2, labels={"zone": "a"}),
        _ranked("b1", 1, labels={"zone": "b"}),
    ]
    d = _topology(fleet, 3, 1)
    assert d.schedulable, d.reason
    assert set(d.replicas) == {"a1", "a2", "b1"}


# --------------------------------------------------------------------------------------------------
# Steady state: a divided decision lists only clusters with replicas


def test_divided_assignment_stays_when_the_picked_clusters_it_does_not_use_fill_up() -> None:
    """A divided decision lists only the clusters that got replicas: one replica over three picked
    clusters runs on one of them. Once the other two are full, re-placing the unchanged workload
    keeps it where it runs. Found by the steady-state property test: the held clusters had to
    number exactly numberOfClusters, so the workload was re-placed and came back partial ("picked
    1 of 3 clusters", unschedulable). The same holds for cluster spread constraints, whose
    maxGroups equal static weights ignore (as in Karmada)."""
    p = policy(
        placementType="PickN", numberOfClusters=3, replicaScheduling=STATIC_EQUAL, prioritizers=BY_RANK
    )
    w = workload(1, "1")
    empty = [_ranked("a", 3, cpu=4), _ranked("b", 2, cpu=4), _ranked("c", 1, cpu=4)]
    first = placed(empty, w, p)
    assert first.schedulable and first.total_replicas == 1
    runs = {c.name: c.replicas for c in first.clusters}
    assert len(runs) == 1
    # The world after: the cluster it runs on counts its replica, every other cluster is full.
    after = [_ranked(c.name, float(c.properties["rank"]), cpu=4, used=runs.get(c.name, 4)) for c in empty]
    again = placed(after, w, p, current=runs)
    assert again.schedulable
    assert {c.name: c.replicas for c in again.clusters} == runs
