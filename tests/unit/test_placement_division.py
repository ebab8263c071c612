"""Karmada's replica division (v1.16+, Webster / Sainte-Laguë) through ``place``, worked by hand.

Reference: /work/shared/reference/karmada.md §a.5 (strategy mapping), §b.4.1 (Webster and the UID
tie-breaker), §b.4.3 (static weights), §b.4.4 (dynamic weight and Aggregated, Steady mode) and §b.5
(available replicas = min over requested resources of free // request, pods included).

Sainte-Laguë in one line: seats go one at a time to the largest ``votes / (2 * seats + 1)``; an
exact tie goes to the cluster with fewer seats, then by name (ascending unless FNV-32a(uid) is odd).
"""

from __future__ import annotations

from typing import Any

import pytest

from tmc_core.model import Cluster

from .test_placement_helpers import (
    AGGREGATED,
    DYNAMIC,
    STATIC_EQUAL,
    cluster,
    placed,
    policy,
    static,
    workload,
)

ODD_UID = "uid-1"
EVEN_UID = "uid-2"


def _fnv32a(text: str) -> int:
    """FNV-1a, 32 bits, written out here so the UID fixtures do not lean on the code under test."""
    h = 0x811C9DC5
    for byte in text.encode():
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def test_uid_fixtures_have_the_parity_their_names_claim() -> None:
    assert _fnv32a(ODD_UID) % 2 == 1
    assert _fnv32a(EVEN_UID) % 2 == 0


def _by_name(*names: str) -> dict[str, Any]:
    return {"clusterNames": list(names)}


def _three(**kw: float) -> list[Cluster]:
    """m1, m2, m3 with ``cpu`` each (room for that many one-CPU replicas)."""
    return [cluster(n, cpu=kw.get(n, 100)) for n in ("m1", "m2", "m3")]


# --------------------------------------------------------------------------------------------------
# static weights (§b.4.3): Webster from zero seats, memoryless


@pytest.mark.parametrize(
    ("replicas", "weights", "expected"),
    [
        # 1:1 -> quotients m1 1, m2 1 (tie: m1 by name), then m2 1 > m1 1/3, then m1 1/3 = m2 1/3 (m1).
        (3, (1, 1), {"m1": 2, "m2": 1}),
        # Karmada's own examples for 3:2:1.
        (12, (3, 2, 1), {"m1": 6, "m2": 4, "m3": 2}),
        (13, (3, 2, 1), {"m1": 7, "m2": 4, "m3": 2}),
        (14, (3, 2, 1), {"m1": 7, "m2": 5, "m3": 2}),
        # 2:1 with 2 replicas: 2 (m1) then m2's 1 beats m1's 2/3 -> 1/1 (v1.15 gave 2/0, issue #6424).
        (2, (2, 1), {"m1": 1, "m2": 1}),
    ],
)
def test_static_weights_karmada_examples(
    replicas: int, weights: tuple[int, ...], expected: dict[str, int]
) -> None:
    names = [f"m{i + 1}" for i in range(len(weights))]
    rules = [(_by_name(n), w) for n, w in zip(names, weights, strict=True)]
    d = placed([cluster(n) for n in names], workload(replicas), policy(replicaScheduling=static(*rules)))
    assert d.schedulable, d.reason
    assert d.replicas == expected


def test_static_weight_is_the_largest_matching_rule_not_the_sum() -> None:
    # m1 matches two weight-2 rules. Max -> 2:2 -> 3/3. A sum would give 4:2 -> 4/2.
    fleet = [cluster("m1", labels={"tier": "gold"}), cluster("m2")]
    p = policy(
        replicaScheduling=static(
            ({"labelSelector": {"matchLabels": {"tier": "gold"}}}, 2),
            (_by_name("m1"), 2),
            (_by_name("m2"), 2),
        )
    )
    assert placed(fleet, workload(6), p).replicas == {"m1": 3, "m2": 3}


def test_static_weight_clusters_matching_no_rule_get_nothing() -> None:
    p = policy(replicaScheduling=static((_by_name("m1"), 1), (_by_name("m2"), 3)))
    d = placed(_three(), workload(8), p)
    # 8 over m1 1 : m2 3. Seats: m2 (3), m1 (1, tie with m2's 3/3: fewer seats wins), m2 (1),
    # m2 (3/5), m2 (3/7), m1 (1/3, tie with m2's 3/9: fewer seats), m2 (1/3), m2 (3/11 > 1/5) -> 2/6.
    assert d.replicas == {"m1": 2, "m2": 6}
    assert "m3" not in d.replicas


def test_static_weights_when_no_cluster_matches_any_rule_weigh_one_each() -> None:
    p = policy(replicaScheduling=static((_by_name("elsewhere"), 5)))
    assert placed(_three(), workload(7), p).replicas == {"m1": 3, "m2": 2, "m3": 2}


def test_divided_weighted_without_preference_is_equal_static_weights() -> None:
    assert policy(replicaScheduling=STATIC_EQUAL).replica_strategy == "StaticWeight"
    assert placed(_three(), workload(7), policy(replicaScheduling=STATIC_EQUAL)).replicas == {
        "m1": 3,
        "m2": 2,
        "m3": 2,
    }


def test_static_weights_ignore_the_current_assignment_when_replicas_change() -> None:
    # Memoryless: 5 -> 6 replicas over 1:1 is 3/3 from scratch, whatever ran before.
    p = policy(replicaScheduling=STATIC_EQUAL)
    d = placed(_three(m3=0), workload(6), p, current={"m1": 5})
    assert d.replicas == {"m1": 3, "m2": 3}


@pytest.mark.parametrize(
    ("uid", "expected"),
    [
        ("", {"m1": 2, "m2": 1}),  # empty UID: ascending names
        (EVEN_UID, {"m1": 2, "m2": 1}),  # even hash: ascending
        (ODD_UID, {"m1": 1, "m2": 2}),  # odd hash: descending, m2 wins the two ties
    ],
)
def test_exact_ties_follow_the_uid_hash_parity(uid: str, expected: dict[str, int]) -> None:
    fleet = [cluster("m1"), cluster("m2")]
    d = placed(fleet, workload(3, uid=uid), policy(replicaScheduling=STATIC_EQUAL))
    assert d.replicas == expected


@pytest.mark.parametrize(("uid", "expected"), [("", {"m1": 2, "m2": 1}), (ODD_UID, {"m1": 1, "m2": 2})])
def test_dynamic_weight_ties_follow_the_uid_hash_parity(uid: str, expected: dict[str, int]) -> None:
    # free 4:4, 3 replicas: 4 vs 4 (tie), then the other's 4 > 4/3, then 4/3 vs 4/3 (tie again).
    fleet = [cluster("m1", cpu=4), cluster("m2", cpu=4)]
    assert placed(fleet, workload(3, uid=uid), policy(replicaScheduling=DYNAMIC)).replicas == expected


# --------------------------------------------------------------------------------------------------
# dynamic weight / Aggregated (§b.4.4), free capacity from allocatable - allocated (§b.5)


def _estimated_6_8_10() -> list[Cluster]:
    """Free room 6, 8 and 10 replicas of (500m CPU, 1Gi) each, each bound by a different resource.

    m1: cpu 8-5=3 -> 6, memory 32-20=12Gi -> 12, pods 110-100=10 -> 10: min 6 (cpu)
    m2: cpu 6 -> 12, memory 8Gi -> 8, pods 50 -> 50: min 8 (memory)
    m3: cpu 10 -> 20, memory 16Gi -> 16, pods 10 -> 10: min 10 (pods)
    """

    def c(name: str, cpu: tuple[int, int], mem: tuple[int, int], pods: tuple[int, int]) -> Cluster:
        return Cluster.model_validate(
            {
                "name": name,
                "allocatable": {"cpu": str(cpu[0]), "memory": f"{mem[0]}Gi", "pods": str(pods[0])},
                "allocated": {"cpu": str(cpu[1]), "memory": f"{mem[1]}Gi", "pods": str(pods[1])},
            }
        )

    return [
        c("m1", (8, 5), (32, 20), (110, 100)),
        c("m2", (6, 0), (8, 0), (50, 0)),
        c("m3", (10, 0), (16, 0), (10, 0)),
    ]


def _half_cpu_1gi(replicas: int) -> Any:
    return workload(replicas, "500m", requests={"cpu": "500m", "memory": "1Gi"})


def test_dynamic_weight_first_schedule_12_over_free_6_8_10() -> None:
    # The first 12 quotients: 10 8 6 10/3 8/3 10/5 6/3 8/5 10/7 6/5 8/7 10/9 (next: 10/11, 8/9)
    #   -> m1 (6 6/3 6/5) 3, m2 (8 8/3 8/5 8/7) 4, m3 (10 10/3 10/5 10/7 10/9) 5.
    d = placed(_estimated_6_8_10(), _half_cpu_1gi(12), policy(replicaScheduling=DYNAMIC))
    assert d.schedulable, d.reason
    assert d.replicas == {"m1": 3, "m2": 4, "m3": 5}


def test_aggregated_12_over_free_6_8_10_uses_the_fewest_largest_clusters() -> None:
    # Sorted by free: m3 10, m2 8 (10 + 8 >= 12 stops the prefix). Webster 12 over 10:8 -> 7/5.
    d = placed(_estimated_6_8_10(), _half_cpu_1gi(12), policy(replicaScheduling=AGGREGATED))
    assert d.replicas == {"m2": 5, "m3": 7}


def _running(free: dict[str, int], running: dict[str, int]) -> list[Cluster]:
    """Clusters whose allocated CPU already includes the replicas this workload runs there."""
    return [cluster(n, cpu=f + running.get(n, 0), used=running.get(n, 0)) for n, f in free.items()]


def test_aggregated_scale_up_12_to_24_adds_to_the_current_assignment() -> None:
    # Karmada's unit test: prev {m1: 4, m2: 8}, free 4:6:8. Only delta 12 is divided. Order by free
    # m3 8, m2 6, m1 4, then running clusters first: m2, m1, m3 (prefix 6+4+8 >= 12 takes all).
    # Webster 12 over m2 6, m1 4, m3 8: 8 6 4 8/3 2 8/5 4/3 6/5 8/7 8/9 6/7 4/5
    #   -> m3 5, m2 4, m1 3, added to prev: m1 7, m2 12, m3 5.
    current = {"m1": 4, "m2": 8}
    fleet = _running({"m1": 4, "m2": 6, "m3": 8}, current)
    d = placed(fleet, workload(24), policy(replicaScheduling=AGGREGATED), current=current)
    assert d.schedulable, d.reason
    assert d.replicas == {"m1": 7, "m2": 12, "m3": 5}


def test_dynamic_scale_up_never_takes_replicas_away() -> None:
    # prev {m1: 6}, free 0:6:6 (m1 is full). 6 -> 10: delta 4 over free m2 6, m3 6 -> 2/2.
    current = {"m1": 6}
    fleet = _running({"m1": 0, "m2": 6, "m3": 6}, current)
    d = placed(fleet, workload(10), policy(replicaScheduling=DYNAMIC), current=current)
    assert d.replicas == {"m1": 6, "m2": 2, "m3": 2}


def test_dynamic_scale_down_12_to_6_divides_by_the_previous_replicas() -> None:
    # Weights are prev 2:4:6 -> 1/2/3; m4's large free room plays no part in a scale-down.
    current = {"m1": 2, "m2": 4, "m3": 6}
    fleet = [*_running({"m1": 1, "m2": 1, "m3": 1}, current), cluster("m4", cpu=100)]
    d = placed(fleet, workload(6), policy(replicaScheduling=DYNAMIC), current=current)
    assert d.replicas == {"m1": 1, "m2": 2, "m3": 3}


def test_aggregated_scale_down_vacates_the_smaller_cluster() -> None:
    # prev {m1: 4, m2: 8} -> 6: prefix of (m2 8, m1 4) covering 6 is m2 alone -> {m2: 6}.
    current = {"m1": 4, "m2": 8}
    fleet = _running({"m1": 0, "m2": 0, "m3": 50}, current)
    d = placed(fleet, workload(6), policy(replicaScheduling=AGGREGATED), current=current)
    assert d.replicas == {"m2": 6}


@pytest.mark.parametrize("strategy", [DYNAMIC, AGGREGATED, STATIC_EQUAL])
def test_unchanged_total_keeps_the_current_assignment_even_if_capacity_changed(
    strategy: dict[str, Any],
) -> None:
    # m3 now has lots of room and m1 none: a fresh division would look nothing like 4/8/0.
    current = {"m1": 4, "m2": 8}
    fleet = _running({"m1": 0, "m2": 1, "m3": 90}, current)
    d = placed(fleet, workload(12), policy(replicaScheduling=strategy), current=current)
    assert d.schedulable
    assert d.replicas == current


def test_scale_up_short_of_capacity_is_all_or_nothing_and_keeps_the_current_assignment() -> None:
    # 12 -> 20 needs 8 more; free 2 + 3 + 1 = 6 < 8.
    current = {"m1": 4, "m2": 8}
    fleet = _running({"m1": 2, "m2": 3, "m3": 1}, current)
    d = placed(fleet, workload(20), policy(replicaScheduling=DYNAMIC), current=current)
    assert not d.schedulable
    assert "Clusters available replicas 6 are not enough to schedule" in d.reason
    assert d.replicas == current
    assert d.explanation is not None
    assert d.explanation.shortfall


@pytest.mark.parametrize("strategy", [DYNAMIC, AGGREGATED])
def test_first_schedule_short_of_capacity_places_nothing(strategy: dict[str, Any]) -> None:
    fleet = [cluster("m1", cpu=6), cluster("m2", cpu=3)]
    d = placed(fleet, workload(12), policy(replicaScheduling=strategy))
    assert not d.schedulable
    assert d.reason.startswith("Clusters available replicas 9 are not enough to schedule")
    assert d.replicas == {}


def test_replicas_on_clusters_that_left_the_fleet_are_placed_again() -> None:
    # prev {gone: 4, m1: 2}; "gone" is not in the fleet, so assigned = 2 and 4 are placed afresh
    # over free m1 3, m2 5: 4 over 3:5 -> 5 (m2), 3 (m1), 5/3 (m2), 1 (m1) -> m1 +2, m2 +2.
    current = {"gone": 4, "m1": 2}
    fleet = _running({"m1": 3, "m2": 5}, {"m1": 2})
    d = placed(fleet, workload(6), policy(replicaScheduling=DYNAMIC), current=current)
    assert d.replicas == {"m1": 4, "m2": 2}


# --------------------------------------------------------------------------------------------------
# Duplicated (§b.4.2) and tmc's capacity guard on static weights


def test_duplicated_runs_every_replica_on_every_selected_cluster() -> None:
    d = placed(_three(), workload(4), policy())  # no replicaScheduling = Duplicated
    assert policy().replica_strategy == "Duplicated"
    assert d.replicas == {"m1": 4, "m2": 4, "m3": 4}
    assert d.total_replicas == 12


def test_static_weights_never_overcommit_a_cluster_capacity_guard() -> None:
    # Karmada: 4 over 1:1 -> 2/2 whatever the room. tmc: m1 has room for 1, so its second seat
    # moves on along the Sainte-Laguë sequence to m2 -> 1/3.
    fleet = [cluster("m1", cpu=1), cluster("m2", cpu=10)]
    d = placed(fleet, workload(4), policy(replicaScheduling=STATIC_EQUAL))
    assert d.schedulable
    assert d.replicas == {"m1": 1, "m2": 3}


def test_static_weights_short_of_capacity_are_unschedulable_with_karmada_words() -> None:
    fleet = [cluster("m1", cpu=1), cluster("m2", cpu=2)]
    d = placed(fleet, workload(4), policy(replicaScheduling=STATIC_EQUAL))
    assert not d.schedulable
    assert d.reason.startswith("Clusters available replicas 3 are not enough to schedule")
    assert d.replicas == {}
