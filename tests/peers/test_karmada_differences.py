"""The deliberate differences to Karmada listed in docs/karmada-comparison.md, shown against Karmada.

Each test builds the smallest world where tmc and Karmada v1.16 part ways and checks that Karmada
really answers as the document says and tmc as it says, so the list cannot go stale silently.
"""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks.peers.karmada import convert, peer
from tmc_core.model import Cluster, Decision, PlacementPolicy, Workload
from tmc_core.placement import PlacementTask, place

pytestmark = pytest.mark.peers

_WHY_NOT = peer.unavailable()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)

DYNAMIC = {"replicaSchedulingType": "Divided", "weightPreference": {"dynamicWeight": "AvailableReplicas"}}


def cluster(name: str, cpu: str, **extra: Any) -> Cluster:
    return Cluster.model_validate({"name": name, "allocatable": {"cpu": cpu, "pods": "100"}, **extra})


def both(
    fleet: list[Cluster], replicas: int, policy: dict[str, Any], current: dict[str, int] | None = None
) -> tuple[Decision, dict[str, Any]]:
    """(tmc decision, Karmada's answer) for one 1-cpu workload."""
    workload = Workload.model_validate({"name": "web", "replicas": replicas, "requests": {"cpu": "1"}})
    parsed = PlacementPolicy.model_validate(policy)
    task = PlacementTask(workload, parsed, current=dict(current or {}))
    answer = peer.run_peer(convert.karmada_input(fleet, [task]))["decisions"][0]
    return place(fleet, workload, parsed, current=current), answer


def test_duplicated_needs_room_for_every_replica_in_tmc_only() -> None:
    fleet = [cluster("big", "8"), cluster("small", "2")]
    ours, karmada = both(fleet, 4, {"replicaScheduling": {"replicaSchedulingType": "Duplicated"}})
    assert karmada["clusters"] == {"big": 4, "small": 4}  # Karmada: no capacity check
    assert ours.replicas == {"big": 4}


def test_static_weights_never_overcommit_in_tmc() -> None:
    fleet = [cluster("full", "0"), cluster("roomy", "8")]
    ours, karmada = both(fleet, 4, {"replicaScheduling": {"replicaSchedulingType": "Divided"}})
    assert karmada["clusters"] == {"full": 2, "roomy": 2}  # equal weights, capacity-blind
    assert ours.schedulable and ours.replicas == {"roomy": 4}


def test_clusters_without_room_are_not_spread_groups_in_tmc() -> None:
    fleet = [cluster("full", "0"), cluster("roomy", "8")]
    spread = [{"spreadByField": "cluster", "minGroups": 2, "maxGroups": 2}]
    ours, karmada = both(fleet, 4, {"spreadConstraints": spread, "replicaScheduling": DYNAMIC})
    assert not karmada.get("error") and karmada["clusters"] == {"roomy": 4}  # "2 clusters" selected
    assert not ours.schedulable and "less than minGroups" in ours.reason


def test_scale_down_forgets_clusters_that_left_the_affinity_in_tmc() -> None:
    # Karmada v1.16's dynamicScaleDown divides by spec.clusters as a whole, including a cluster
    # that no longer passes the filters (issue #7109), and hands it replicas again.
    fleet = [cluster("kept", "8", labels={"env": "prod"}), cluster("left", "8", labels={"env": "dev"})]
    policy = {
        "clusterAffinity": {"labelSelector": {"matchLabels": {"env": "prod"}}},
        "replicaScheduling": DYNAMIC,
    }
    ours, karmada = both(fleet, 2, policy, current={"kept": 4, "left": 4})
    assert "left" in karmada["clusters"]
    assert ours.replicas == {"kept": 2}


def test_gt_and_lt_label_operators_are_tmc_only() -> None:
    policy = PlacementPolicy.model_validate(
        {
            "clusterAffinity": {
                "labelSelector": {"matchExpressions": [{"key": "tier", "operator": "Gt", "values": ["1"]}]}
            }
        }
    )
    with pytest.raises(convert.NotExpressible, match="Gt is not a label selector operator"):
        convert.placement_of(policy, 3)
