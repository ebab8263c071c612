"""Placing what manifests describe: workspaces stay apart, and typos in PickFixed are named."""

from __future__ import annotations

from tmc_core.manifests import placements_yaml, read_inventory
from tmc_core.placement import inventory_tasks, place_inventory

FLEET = """
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: m1}
status: {allocatable: {cpu: "8", pods: "100"}}
---
apiVersion: tmc.kcp.io/v1alpha1
kind: ClusterRegistration
metadata: {name: m2}
status: {allocatable: {cpu: "8", pods: "100"}}
"""


def _deployment(workspace: str) -> str:
    return f"""
---
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web, namespace: shop, annotations: {{kcp.io/cluster: {workspace}}}}}
spec:
  replicas: 1
  template: {{spec: {{containers: [{{name: c, resources: {{requests: {{cpu: 100m}}}}}}]}}}}
"""


PLACEMENT = """
---
apiVersion: tmc.kcp.io/v1alpha1
kind: WorkloadPlacement
metadata: {name: web, namespace: shop}
spec:
  resourceSelectors: [{apiVersion: apps/v1, kind: Deployment, name: web}]
  placement: {replicaScheduling: {replicaSchedulingType: Divided}}
"""


def test_workspace_twins_do_not_share_a_current_assignment() -> None:
    first = read_inventory([("a.yaml", FLEET + _deployment("ws-a") + PLACEMENT)])
    written = placements_yaml(first.placements, place_inventory(first))
    both = read_inventory(
        [("a.yaml", FLEET + _deployment("ws-a") + _deployment("ws-b")), ("b.yaml", written)]
    )
    current = {t.workload.workspace: dict(t.current) for t in inventory_tasks(both)}
    assert current["ws-b"] == {}
    assert sum(current["ws-a"].values()) == 1


def test_pick_fixed_names_a_cluster_that_does_not_exist() -> None:
    fixed = PLACEMENT.replace(
        "placement: {replicaScheduling: {replicaSchedulingType: Divided}}",
        "placement: {placementType: PickFixed, clusterNames: [m9]}",
    )
    (d,) = place_inventory(read_inventory([("a.yaml", FLEET + _deployment("ws-a") + fixed)]))
    assert not d.schedulable
    assert "m9 (not found)" in d.reason
