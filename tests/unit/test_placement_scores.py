"""Score plugins through ``place``: each rates clusters 0..100, the policy's weights combine them.

Reference: /work/shared/reference/ocm.md §3 (prioritizers, weights, total = sum of weight x score,
ties by name ascending), fleet.md §5 (preferred affinity with weights in -100..100), karmada.md §b.2
(ClusterLocality: 100 for clusters already in the binding). tmc maps every plugin to 0..100 (OCM's
-100..100 halved and shifted) so weights stay non-negative.
"""

from __future__ import annotations

from typing import Any

import pytest

from tmc_core.model import Cluster, ClusterScore, Decision

from .test_placement_helpers import DUPLICATED, DYNAMIC, cluster, placed, policy, workload


def _scores(d: Decision) -> dict[str, ClusterScore]:
    assert d.explanation is not None
    return {s.cluster: s for s in d.explanation.scores}


def _plugin(d: Decision, name: str) -> dict[str, float]:
    return {c: s.plugins[name] for c, s in _scores(d).items()}


def _pick_one(fleet: list[Cluster], prioritizers: list[dict[str, Any]], **spec: Any) -> Decision:
    return placed(
        fleet,
        workload(1),
        policy(
            placementType="PickN",
            numberOfClusters=1,
            prioritizers=prioritizers,
            replicaScheduling=DUPLICATED,
            **spec,
        ),
    )


# --------------------------------------------------------------------------------------------------
# utilisation: LeastAllocated spreads, MostAllocated packs

UTILISED = [cluster("a", cpu=10, used=2), cluster("b", cpu=10, used=7)]


def test_least_and_most_allocated_pick_different_clusters() -> None:
    # Only CPU is requested, so only CPU is scored. After one more replica (1 CPU):
    # a uses 3/10, b uses 8/10 -> LeastAllocated a 70, b 20; MostAllocated a 30, b 80.
    least = _pick_one(UTILISED, [{"name": "LeastAllocated"}])
    most = _pick_one(UTILISED, [{"name": "MostAllocated"}])
    assert set(least.replicas) == {"a"}
    assert set(most.replicas) == {"b"}
    assert _plugin(least, "LeastAllocated") == pytest.approx({"a": 70.0, "b": 20.0})
    assert _plugin(most, "MostAllocated") == pytest.approx({"a": 30.0, "b": 80.0})


def test_balanced_allocation_prefers_evenly_used_resources() -> None:
    # Per replica 1 CPU and 1Gi. even: cpu (4+1)/10 = .5, memory (4+1)/10 = .5 -> std 0 -> 100.
    # skewed: cpu (0+1)/10 = .1, memory (8+1)/10 = .9 -> std .4 -> 60.
    fleet = [
        Cluster.model_validate(
            {"name": n, "allocatable": {"cpu": "10", "memory": "10Gi"}, "allocated": {"cpu": c, "memory": m}}
        )
        for n, c, m in (("even", "4", "4Gi"), ("skewed", "0", "8Gi"))
    ]
    d = placed(
        fleet,
        workload(1, requests={"cpu": "1", "memory": "1Gi"}),
        policy(
            placementType="PickN",
            numberOfClusters=1,
            prioritizers=[{"name": "BalancedAllocation"}],
            replicaScheduling=DUPLICATED,
        ),
    )
    assert set(d.replicas) == {"even"}
    assert _plugin(d, "BalancedAllocation") == pytest.approx({"even": 100.0, "skewed": 60.0})


# --------------------------------------------------------------------------------------------------
# numeric cluster properties

PRICED = [
    cluster("a", properties={"cost": "0.12"}),
    cluster("b", properties={"cost": "0.2"}),
    cluster("c", properties={"cost": "0.16"}),
    cluster("d"),  # reports no cost
]


@pytest.mark.parametrize(
    ("prefer", "best", "expected"),
    [
        # min-max over clusters reporting it: 0.12 -> 0, 0.16 -> .5, 0.2 -> 1; a missing value scores 0.
        ("Lower", "a", {"a": 100.0, "b": 0.0, "c": 50.0, "d": 0.0}),
        ("Higher", "b", {"a": 0.0, "b": 100.0, "c": 50.0, "d": 0.0}),
    ],
)
def test_cluster_property_lower_or_higher(prefer: str, best: str, expected: dict[str, float]) -> None:
    d = _pick_one(PRICED, [{"name": "ClusterProperty", "property": "cost", "prefer": prefer}])
    assert set(d.replicas) == {best}
    assert _plugin(d, "ClusterProperty(cost)") == pytest.approx(expected)


def test_cluster_property_defaults_to_lower_is_better() -> None:
    d = _pick_one(PRICED, [{"name": "ClusterProperty", "property": "cost"}])
    assert set(d.replicas) == {"a"}


def test_resource_allocatable_cpu_scores_bigger_clusters_higher() -> None:
    # OCM's ResourceAllocatableCPU over allocatable 10, 20, 40 -> 0, 33.3, 100 (free room ignored).
    fleet = [cluster("s", cpu=10), cluster("m", cpu=20, used=19), cluster("l", cpu=40, used=39)]
    d = _pick_one(fleet, [{"name": "ResourceAllocatableCPU"}])
    assert set(d.replicas) == {"l"}
    assert _plugin(d, "ResourceAllocatableCPU") == pytest.approx(
        {"s": 0.0, "m": 100 / 3, "l": 100.0}, abs=1e-3
    )


# --------------------------------------------------------------------------------------------------
# preferred affinity, with negative weights

PREFERENCES: list[dict[str, Any]] = [
    {"weight": 40, "preference": {"labelSelector": {"matchLabels": {"env": "prod"}}}},
    {"weight": -60, "preference": {"labelSelector": {"matchLabels": {"capacity": "spot"}}}},
]
PREFERRED = [
    cluster("a", labels={"env": "prod"}),  # +40
    cluster("b", labels={"env": "prod", "capacity": "spot"}),  # -20
    cluster("c", labels={"capacity": "spot"}),  # -60
    cluster("d"),  # 0
]


def test_preferred_affinity_maps_weight_sums_onto_0_to_100() -> None:
    # span = |40| + |-60| = 100; score = (sum + 100) / 200 * 100: a 70, b 40, c 20, d 50.
    d = placed(
        PREFERRED,
        workload(1),
        policy(
            placementType="PickN",
            numberOfClusters=2,
            preferredClusterAffinities=PREFERENCES,
            prioritizers=[{"name": "PreferredAffinity"}],
            replicaScheduling=DUPLICATED,
        ),
    )
    assert set(d.replicas) == {"a", "d"}
    assert _plugin(d, "PreferredAffinity") == pytest.approx({"a": 70.0, "b": 40.0, "c": 20.0, "d": 50.0})


def test_preferred_affinities_count_without_listing_a_prioritizer() -> None:
    # Default prioritizers are Steady only, so b's preference is silently dropped and the name
    # tie-break picks a.
    fleet = [cluster("a"), cluster("b", labels={"fast": "yes"})]
    d = placed(
        fleet,
        workload(1),
        policy(
            placementType="PickN",
            numberOfClusters=1,
            preferredClusterAffinities=[
                {"weight": 50, "preference": {"labelSelector": {"matchLabels": {"fast": "yes"}}}}
            ],
            replicaScheduling=DUPLICATED,
        ),
    )
    assert set(d.replicas) == {"b"}


# --------------------------------------------------------------------------------------------------
# taint preference: PreferNoSchedule only scores


def test_prefer_no_schedule_lowers_the_score_but_never_filters() -> None:
    fleet = [
        cluster("a", taints=[{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]),
        cluster("b"),
    ]
    d = _pick_one(fleet, [{"name": "TaintPreference"}])
    assert set(d.replicas) == {"b"}
    assert _plugin(d, "TaintPreference") == pytest.approx({"a": 0.0, "b": 100.0})
    assert d.explanation is not None
    assert d.explanation.filtered == {}
    tolerated = _pick_one(
        fleet, [{"name": "TaintPreference"}], clusterTolerations=[{"key": "spot", "operator": "Exists"}]
    )
    assert _plugin(tolerated, "TaintPreference") == pytest.approx({"a": 100.0, "b": 100.0})
    assert set(tolerated.replicas) == {"a"}  # equal scores and room: name ascending


# --------------------------------------------------------------------------------------------------
# Steady (Karmada's ClusterLocality, OCM's Steady)


def test_steady_favours_the_cluster_already_running_the_workload() -> None:
    # Scale-up 2 -> 3 with one cluster allowed. With equal scores the larger room would win (a: 20
    # against b: 10 free + 2 running), but Steady scores b 100, so b is selected and grows.
    fleet = [cluster("a", cpu=20), cluster("b", cpu=12, used=2)]
    spread = [{"spreadByField": "cluster", "minGroups": 1, "maxGroups": 1}]
    d = placed(fleet, workload(3), policy(spreadConstraints=spread, replicaScheduling=DYNAMIC), {"b": 2})
    assert d.replicas == {"b": 3}
    assert _plugin(d, "Steady") == {"a": 0.0, "b": 100.0}
    moved = placed(
        fleet,
        workload(3),
        policy(
            spreadConstraints=spread, replicaScheduling=DYNAMIC, prioritizers=[{"name": "LeastAllocated"}]
        ),
        {"b": 2},
    )
    # LeastAllocated: a (0+1)/20 -> 95, b (2+1)/12 -> 75: a wins, and b's 2 replicas (not a
    # candidate any more) are forgotten and placed again on a.
    assert moved.replicas == {"a": 3}


def test_a_complete_assignment_stays_put_when_nothing_changed() -> None:
    # PickN 1, currently on b; a would win a fresh pick by name.
    fleet = [cluster("a"), cluster("b", used=1)]
    d = placed(
        fleet,
        workload(1),
        policy(placementType="PickN", numberOfClusters=1, replicaScheduling=DUPLICATED),
        {"b": 1},
    )
    assert d.replicas == {"b": 1}
    fresh = placed(
        fleet, workload(1), policy(placementType="PickN", numberOfClusters=1, replicaScheduling=DUPLICATED)
    )
    assert fresh.replicas == {"a": 1}


# --------------------------------------------------------------------------------------------------
# topology spread score


def test_topology_spread_score_favours_smaller_domains() -> None:
    # Feasible domain sizes: zone x 2 clusters, zone y 1 -> smallest/size: x 50, y 100.
    fleet = [
        cluster("x1", labels={"zone": "x"}),
        cluster("x2", labels={"zone": "x"}),
        cluster("y1", labels={"zone": "y"}),
    ]
    d = _pick_one(
        fleet,
        [{"name": "TopologySpread"}],
        topologySpreadConstraints=[{"topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
    )
    assert set(d.replicas) == {"y1"}
    assert _plugin(d, "TopologySpread") == pytest.approx({"x1": 50.0, "x2": 50.0, "y1": 100.0})


# --------------------------------------------------------------------------------------------------
# Balance across a batch (OCM's Balance, counted over the decisions of the batch)


def test_balance_sends_the_next_workload_to_the_least_used_cluster() -> None:
    from tmc_core.placement.batch import PlacementTask, place_batch

    fleet = [cluster("a"), cluster("b")]
    p = policy(
        placementType="PickN",
        numberOfClusters=1,
        prioritizers=[{"name": "Balance"}],
        replicaScheduling=DUPLICATED,
    )
    first, second = place_batch(
        fleet,
        [PlacementTask(workload(1, name="one"), p), PlacementTask(workload(1, name="two"), p)],
        explain=True,
    )
    # one: nothing placed yet, all 100 -> a by name. two: a holds 1 of max 1 -> 0, b 100 -> b.
    assert first.replicas == {"a": 1}
    assert second.replicas == {"b": 1}
    assert _plugin(second, "Balance") == pytest.approx({"a": 0.0, "b": 100.0})


# --------------------------------------------------------------------------------------------------
# every score is 0..100 and the total is the weighted sum

ALL_PRIORITIZERS: list[dict[str, Any]] = [
    {"name": "LeastAllocated", "weight": 2},
    {"name": "MostAllocated", "weight": 1},
    {"name": "BalancedAllocation", "weight": 3},
    {"name": "PreferredAffinity", "weight": 5},
    {"name": "Steady", "weight": 7},
    {"name": "TaintPreference", "weight": 11},
    {"name": "ClusterProperty", "property": "cost", "weight": 13},
    {"name": "ClusterProperty", "property": "latencyMs", "prefer": "Higher", "weight": 17},
    {"name": "TopologySpread", "weight": 19},
    {"name": "Balance", "weight": 23},
    {"name": "ResourceAllocatableCPU", "weight": 29},
    {"name": "ResourceAllocatableMemory", "weight": 0},  # weight 0: shown, not counted
]


def _weight_of(label: str) -> int:
    for p in ALL_PRIORITIZERS:
        name = f"{p['name']}({p['property']})" if "property" in p else p["name"]
        if name == label:
            return int(p.get("weight", 1))
    raise AssertionError(label)


def test_every_score_is_within_0_and_100_and_the_total_is_the_weighted_sum() -> None:
    fleet = [
        Cluster.model_validate(
            {
                "name": f"c{i}",
                "labels": {"zone": "z" + str(i % 2), "env": "prod" if i % 3 else "dev"},
                "allocatable": {"cpu": str(8 + 4 * i), "memory": f"{16 + 8 * i}Gi", "pods": "110"},
                "allocated": {"cpu": str(i), "memory": f"{(7 * i) % 16}Gi", "pods": str(3 * i)},
                "taints": [{"key": "spot", "effect": "PreferNoSchedule"}] if i % 2 else [],
                "properties": {"cost": str(0.1 + 0.03 * i), "latencyMs": str(40 - 3 * i)} if i != 4 else {},
            }
        )
        for i in range(6)
    ]
    p = policy(
        prioritizers=ALL_PRIORITIZERS,
        preferredClusterAffinities=[
            {"weight": 30, "preference": {"labelSelector": {"matchLabels": {"env": "prod"}}}},
            {"weight": -10, "preference": {"clusterNames": ["c1"]}},
        ],
        topologySpreadConstraints=[{"topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}],
        replicaScheduling=DYNAMIC,
    )
    d = placed(fleet, workload(5, requests={"cpu": "500m", "memory": "1Gi"}), p, current={"c2": 2})
    scores = _scores(d)
    assert set(scores) == {c.name for c in fleet}
    for s in scores.values():
        assert len(s.plugins) == len(ALL_PRIORITIZERS)
        for label, value in s.plugins.items():
            assert 0.0 <= value <= 100.0, (s.cluster, label, value)
        weighted = sum(_weight_of(label) * value for label, value in s.plugins.items())
        # plugin scores are shown rounded to 3 decimals, the total is not
        assert s.total == pytest.approx(weighted, abs=0.0005 * sum(map(_weight_of, s.plugins)) + 1e-9)
    totals = [s.total for s in d.explanation.scores] if d.explanation else []
    assert totals == sorted(totals, reverse=True)  # best first


# --------------------------------------------------------------------------------------------------
# plugins of another registry are range-checked


class _Reckless:
    """A score plugin that rates one cluster outside 0..100."""

    def __init__(self, static: bool, bad: float) -> None:
        self.static = static
        self.bad = bad

    def score(self, cycle: Any, prioritizer: Any, feasible: Any) -> Any:
        import numpy as np

        out = np.full(cycle.index.size, 50.0)
        out[-1] = self.bad
        return out


@pytest.mark.parametrize("static", [True, False])
@pytest.mark.parametrize("bad", [100.5, -1.0, float("nan")])
def test_a_plugin_outside_0_and_100_is_rejected_by_name(static: bool, bad: float) -> None:
    from types import MappingProxyType

    from tmc_core.placement import place_batch
    from tmc_core.placement.batch import PlacementTask
    from tmc_core.placement.registry import DEFAULT_REGISTRY, Registry
    from tmc_core.placement.scores import ScoreRangeError

    # A prioritizer name is one of the vocabulary's; another registry may serve it with any plugin.
    name = "TaintPreference" if static else "Balance"
    registry = Registry(
        filters=DEFAULT_REGISTRY.filters,
        scores=MappingProxyType({**DEFAULT_REGISTRY.scores, name: _Reckless(static, bad)}),
    )
    fleet = [cluster("a"), cluster("b")]
    spec = {"placementType": "PickN", "numberOfClusters": 1, "prioritizers": [{"name": name}]}
    task = PlacementTask(workload(1), policy(replicaScheduling=DUPLICATED, **spec))
    with pytest.raises(ScoreRangeError, match=name):
        place_batch(fleet, [task], registry=registry)
    # the built-in plugin under the same name passes
    assert place_batch(fleet, [task])[0].schedulable
