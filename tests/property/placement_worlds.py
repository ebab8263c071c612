"""Hypothesis strategies for small placement worlds whose parts actually interact.

Labels, regions and taints come from tiny vocabularies so that selectors, tolerations and spread
constraints match some clusters and miss others; capacities are small so that shortages happen.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement.batch import PlacementTask

PROVIDERS = ["aws", "gcp", "azure"]
REGIONS = ["r1", "r2", "r3"]
ZONES = ["z1", "z2", "z3", "z4"]
TAINTS = [
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "spot", "value": "", "effect": "PreferNoSchedule"},
    {"key": "maintenance", "value": "", "effect": "NoExecute"},
]


@st.composite
def clusters(draw: st.DrawFn, min_size: int = 1, max_size: int = 8) -> list[Cluster]:
    """A fleet of distinct clusters with overlapping labels, topology, taints and capacity."""
    n = draw(st.integers(min_size, max_size))
    out = []
    for i in range(n):
        cpu = draw(st.integers(0, 16)) * 1000
        used = draw(st.integers(0, 16)) * 250
        mem = draw(st.integers(0, 48))
        labels = {}
        if draw(st.booleans()):
            labels["env"] = draw(st.sampled_from(["prod", "staging"]))
        if draw(st.booleans()):
            labels["tier"] = str(draw(st.integers(1, 5)))
        if draw(st.booleans()):
            labels["topology/zone"] = draw(st.sampled_from(ZONES[:3]))
        spec: dict[str, Any] = {
            "name": f"c{i}",
            "labels": labels,
            "provider": draw(st.sampled_from([*PROVIDERS, ""])),
            "region": draw(st.sampled_from([*REGIONS, ""])),
            "zone": draw(st.sampled_from([*ZONES, ""])),
            "taints": draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t["key"]))
            if draw(st.integers(0, 3)) == 0
            else [],
            "allocatable": {"cpu": f"{cpu}m", "memory": f"{mem}Gi"},
            "allocated": {"cpu": f"{used}m", "memory": f"{draw(st.integers(0, 8))}Gi"},
        }
        if draw(st.booleans()):
            spec["allocatable"]["pods"] = str(draw(st.integers(0, 30)))
        if draw(st.integers(0, 19)) == 0:
            spec["allocatable"] = {}
        if draw(st.booleans()):
            spec["properties"] = {"cost": str(draw(st.integers(1, 9)) / 10)}
        if draw(st.integers(0, 7)) == 0:
            spec["conditions"] = [{"type": "Ready", "status": "False"}]
        if draw(st.integers(0, 9)) == 0:
            spec["apiResources"] = ["v1/ConfigMap"]
        out.append(Cluster.model_validate(spec))
    return out


def _affinity(draw: st.DrawFn, n: int) -> dict[str, Any]:
    aff: dict[str, Any] = {}
    names = [f"c{i}" for i in range(n)]
    if draw(st.integers(0, 2)) == 0:
        op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt"]))
        if op in ("In", "NotIn"):
            req = {"key": "env", "operator": op, "values": [draw(st.sampled_from(["prod", "staging"]))]}
        elif op in ("Gt", "Lt"):
            req = {"key": "tier", "operator": op, "values": [str(draw(st.integers(0, 5)))]}
        else:
            req = {"key": draw(st.sampled_from(["env", "tier"])), "operator": op}
        aff["labelSelector"] = {"matchExpressions": [req]}
    if draw(st.integers(0, 2)) == 0:
        aff["fieldSelector"] = {
            "matchExpressions": [
                {
                    "key": draw(st.sampled_from(["provider", "region", "zone"])),
                    "operator": draw(st.sampled_from(["In", "NotIn"])),
                    "values": draw(
                        st.lists(st.sampled_from(PROVIDERS + REGIONS + ZONES), min_size=1, max_size=3)
                    ),
                }
            ]
        }
    if draw(st.integers(0, 3)) == 0:
        aff["exclude"] = draw(st.lists(st.sampled_from(names), max_size=2, unique=True))
    if draw(st.integers(0, 6)) == 0:
        aff["clusterNames"] = draw(st.lists(st.sampled_from(names), min_size=1, max_size=n, unique=True))
    return aff


@st.composite
def policies(draw: st.DrawFn, n_clusters: int) -> PlacementPolicy:
    """A policy of any shape the vocabulary allows, over clusters named c0..c{n-1}."""
    spec: dict[str, Any] = {}
    kind = draw(st.sampled_from(["Duplicated", "Aggregated", "Dynamic", "Static", "StaticNone", "None"]))
    if kind == "Duplicated":
        spec["replicaScheduling"] = {"replicaSchedulingType": "Duplicated"}
    elif kind == "Aggregated":
        spec["replicaScheduling"] = {"replicaDivisionPreference": "Aggregated"}
    elif kind == "Dynamic":
        spec["replicaScheduling"] = {"weightPreference": {"dynamicWeight": "AvailableReplicas"}}
    elif kind == "Static":
        rules = [
            {"targetCluster": _affinity(draw, n_clusters), "weight": draw(st.integers(1, 5))}
            for _ in range(draw(st.integers(1, 3)))
        ]
        spec["replicaScheduling"] = {"weightPreference": {"staticWeightList": rules}}
    elif kind == "StaticNone":
        spec["replicaScheduling"] = {"replicaSchedulingType": "Divided"}
    if draw(st.integers(0, 3)) == 0:
        spec["clusterAffinities"] = [
            {"affinityName": f"g{k}", **_affinity(draw, n_clusters)} for k in range(draw(st.integers(1, 3)))
        ]
    elif draw(st.booleans()):
        spec["clusterAffinity"] = _affinity(draw, n_clusters)
    if draw(st.booleans()):
        spec["clusterTolerations"] = draw(
            st.lists(
                st.sampled_from(
                    [
                        {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
                        {"key": "maintenance", "operator": "Exists"},
                        {"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"},
                        {"key": "tmc.kcp.io/not-ready", "operator": "Exists"},
                    ]
                ),
                max_size=3,
                unique_by=lambda t: t["key"],
            )
        )
    pick = draw(st.sampled_from(["PickAll", "PickAll", "PickN", "PickFixed"]))
    spread = draw(st.sampled_from(["none", "none", "cluster", "region", "zone", "provider", "label"]))
    lo = draw(st.integers(1, 3))
    if pick == "PickN":
        spec["placementType"] = "PickN"
        spec["numberOfClusters"] = draw(st.integers(lo if spread != "none" else 0, max(lo, n_clusters + 1)))
    elif pick == "PickFixed":
        spec["placementType"] = "PickFixed"
        spec["clusterNames"] = draw(
            st.lists(st.sampled_from([f"c{i}" for i in range(n_clusters + 1)]), min_size=1, unique=True)
        )
    if spread != "none":
        cluster_sc = {"spreadByField": "cluster", "minGroups": lo, "maxGroups": lo + draw(st.integers(0, 3))}
        spec["spreadConstraints"] = [cluster_sc]
        if spread in ("region", "zone", "provider"):
            g = draw(st.integers(1, min(2, cluster_sc["maxGroups"])))
            spec["spreadConstraints"].append({"spreadByField": spread, "minGroups": g, "maxGroups": g + 1})
        elif spread == "label":
            spec["spreadConstraints"].append({"spreadByLabel": "env", "minGroups": 1, "maxGroups": 2})
    if draw(st.integers(0, 3)) == 0:
        spec["topologySpreadConstraints"] = [
            {
                "maxSkew": draw(st.integers(1, 2)),
                "topologyKey": "topology/zone",
                "whenUnsatisfiable": draw(st.sampled_from(["DoNotSchedule", "ScheduleAnyway"])),
            }
        ]
    if draw(st.booleans()):
        spec["preferredClusterAffinities"] = [
            {"weight": draw(st.integers(-100, 100)), "preference": _affinity(draw, n_clusters)}
        ]
    if draw(st.booleans()):
        names = draw(
            st.lists(
                st.sampled_from(
                    [
                        "LeastAllocated",
                        "MostAllocated",
                        "BalancedAllocation",
                        "PreferredAffinity",
                        "Steady",
                        "TaintPreference",
                        "TopologySpread",
                        "Balance",
                        "ResourceAllocatableCPU",
                        "ResourceAllocatableMemory",
                    ]
                ),
                max_size=4,
                unique=True,
            )
        )
        prios: list[dict[str, Any]] = [{"name": nm, "weight": draw(st.integers(0, 5))} for nm in names]
        if draw(st.booleans()):
            prios.append(
                {
                    "name": "ClusterProperty",
                    "property": "cost",
                    "prefer": draw(st.sampled_from(["Lower", "Higher"])),
                    "weight": draw(st.integers(1, 5)),
                }
            )
        spec["prioritizers"] = prios
    return PlacementPolicy.model_validate(spec)


@st.composite
def worlds(
    draw: st.DrawFn, max_clusters: int = 8, max_workloads: int = 6
) -> tuple[list[Cluster], list[PlacementTask]]:
    """Clusters and tasks (workload + policy), with distinct workload names and UIDs."""
    fleet = draw(clusters(max_size=max_clusters))
    tasks = []
    for k in range(draw(st.integers(1, max_workloads))):
        requests: dict[str, str] = {"cpu": f"{draw(st.integers(0, 6)) * 250}m"}
        if draw(st.booleans()):
            requests["memory"] = f"{draw(st.integers(1, 4))}Gi"
        w = Workload(
            name=f"w{k}",
            namespace="ns",
            uid=draw(st.sampled_from(["", "uid-a", "uid-b", f"uid-{k}"])),
            replicas=draw(st.integers(0, 10)),
            requests=requests,
            priority=draw(st.integers(0, 2)),
        )
        tasks.append(PlacementTask(w, draw(policies(len(fleet))), placement=f"ns/p{k}"))
    return fleet, tasks
