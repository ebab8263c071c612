"""Where Karmada's list order decides Aggregated ties: two cases the Karmada differential tests found.

Aggregated division cuts a weight-sorted list to its shortest prefix; equal weights keep the list's
order, and that order is Karmada's: the previous clusters by name on a scale down, the selected
list (best cluster of each chosen region first) after a region spread constraint.
"""

from __future__ import annotations

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement import place

AGGREGATED = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}


def cluster(name: str, cpu: str, **extra: object) -> Cluster:
    return Cluster.model_validate({"name": name, "allocatable": {"cpu": cpu, "pods": "100"}, **extra})


def test_aggregated_scale_down_keeps_equal_previous_replicas_in_name_order() -> None:
    # z has far more room, so it ranks first; Karmada sorts the previous clusters (listed by
    # name) by their replicas, stably, so with 8 and 8 the cut keeps a.
    fleet = [cluster("a", "9"), cluster("z", "40")]
    web = Workload.model_validate({"name": "web", "replicas": 8, "requests": {"cpu": "1"}})
    policy = PlacementPolicy.model_validate({"replicaScheduling": AGGREGATED})
    decision = place(fleet, web, policy, current={"a": 8, "z": 8})
    assert decision.replicas == {"a": 8}


def test_aggregated_after_region_spread_follows_the_selected_list_order() -> None:
    # Regions r2 {y-1: room 2, c: 1} and r3 {m2: 1 free + 5 running, a: 2, b: 1} win. Karmada lists
    # the best cluster of each region first (m2, y-1), then a; the scale-up of 2 goes to the
    # running m2 first, then to the first cluster with weight 2 in that list: y-1, not a (which
    # ranks above y-1 by name).
    fleet = [
        cluster("m1", "2750m", region="r1", allocated={"cpu": "1750m"}),
        cluster("m2", "1250m", region="r3", allocated={"cpu": "250m"}),
        cluster("c", "1500m", region="r2", allocated={"cpu": "500m"}),
        cluster("a", "2500m", region="r3", allocated={"cpu": "500m"}),
        cluster("y-1", "3750m", region="r2", allocated={"cpu": "1750m"}),
        cluster("b", "3", region="r3", allocated={"cpu": "2"}),
    ]
    web = Workload.model_validate({"name": "web", "uid": "d2f1-aa", "replicas": 7, "requests": {"cpu": "1"}})
    policy = PlacementPolicy.model_validate(
        {
            "spreadConstraints": [
                {"spreadByField": "region", "minGroups": 2, "maxGroups": 3},
                {"spreadByField": "cluster", "minGroups": 3, "maxGroups": 3},
            ],
            "replicaScheduling": AGGREGATED,
        }
    )
    decision = place(fleet, web, policy, current={"m2": 5}, explain=True)
    assert decision.explanation is not None
    assert set(decision.explanation.selected) == {"m2", "a", "y-1"}
    assert decision.replicas == {"m2": 6, "y-1": 1}
