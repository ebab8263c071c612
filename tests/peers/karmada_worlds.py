"""Hypothesis strategies for small worlds in the placement vocabulary Karmada implements.

A case is a fleet plus a few workloads, each with a Karmada-expressible policy (affinity with label
and field selectors, cluster names and exclude, or ordered clusterAffinities; tolerations; cluster
and region spread; Duplicated, static weights, dynamic weights, Aggregated) and a previous
assignment (none, a scale up or a scale down).

Capacity comes in three regimes, so that each strategy is drawn only where tmc and Karmada are
meant to agree (docs/karmada-comparison.md lists where they deliberately do not):

- ``tight``: any capacity, zero included: dynamic weights and Aggregated without spread, where a
  cluster without room gets weight 0 in Karmada and is filtered in tmc, with the same outcome;
- ``positive``: every cluster has room for at least one replica of any workload: dynamic and
  Aggregated with spread constraints (Karmada counts room-less clusters as feasible groups);
- ``ample``: every cluster has room for every replica: all strategies, including Duplicated and
  static weights (Karmada does not check capacity for them, tmc does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import strategies as st

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement import PlacementTask

Regime = Literal["tight", "positive", "ample"]
REGIMES: tuple[Regime, ...] = ("tight", "positive", "ample")

NAMES = ["a", "b", "c", "m1", "m2", "x", "y-1", "z"]
PROVIDERS = ["aws", "gcp", ""]
REGIONS = ["r1", "r2", "r3", ""]
ZONES = ["z1", "z2", ""]
TAINTS = [
    {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"},
    {"key": "maintenance", "effect": "NoExecute"},
    {"key": "spot", "value": "yes", "effect": "PreferNoSchedule"},
]
TOLERATIONS = [
    {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"},
    {"key": "maintenance", "operator": "Exists"},
    {"key": "tmc.kcp.io/not-ready", "operator": "Exists", "effect": "NoSchedule"},
    {"operator": "Exists"},
]
UIDS = ["", "0b4e8a7c-1", "0b4e8a7c-2", "d2f1-aa", "d2f1-ab", "7c11-9e"]
"""Workload uids: Karmada breaks exact Webster ties by the parity of FNV-32a(uid), so both occur."""
CPU_REQUESTS = ["100m", "250m", "500m", "1"]
MEMORY_REQUESTS = [None, "256Mi", "1Gi"]
MAX_REPLICAS = 12


@dataclass
class Case:
    """A fleet and workloads placed independently against it (as Karmada schedules bindings)."""

    regime: Regime
    fleet: list[Cluster]
    tasks: list[PlacementTask] = field(default_factory=list)


def _capacity(draw: st.DrawFn, regime: Regime) -> dict[str, Any]:
    """allocatable/allocated for one cluster, within the regime's guarantee of room."""
    if regime == "tight":
        if draw(st.integers(0, 14)) == 0:
            return {"allocatable": {}}
        cpu = draw(st.integers(0, 8)) * 1000
        used = min(cpu, draw(st.integers(0, 16)) * 250)
        mem, mem_used = draw(st.integers(0, 16)), draw(st.integers(0, 4))
        out: dict[str, Any] = {
            "allocatable": {"cpu": f"{cpu}m", "memory": f"{mem}Gi"},
            "allocated": {"cpu": f"{used}m", "memory": f"{min(mem, mem_used)}Gi"},
        }
        if draw(st.booleans()):
            pods = draw(st.integers(0, 20))
            out["allocatable"]["pods"] = str(pods)
            out["allocated"]["pods"] = str(min(pods, draw(st.integers(0, 5))))
        return out
    # positive: free >= one replica of the largest request; ample: free >= MAX_REPLICAS of them.
    floor = 1 if regime == "positive" else MAX_REPLICAS
    free_cpu = draw(st.integers(floor, floor + 8)) * 1000
    free_mem = draw(st.integers(floor, floor + 8))
    used_cpu, used_mem = draw(st.integers(0, 8)) * 250, draw(st.integers(0, 4))
    out = {
        "allocatable": {"cpu": f"{free_cpu + used_cpu}m", "memory": f"{free_mem + used_mem}Gi"},
        "allocated": {"cpu": f"{used_cpu}m", "memory": f"{used_mem}Gi"},
    }
    if draw(st.booleans()):
        used_pods = draw(st.integers(0, 5))
        out["allocatable"]["pods"] = str(used_pods + draw(st.integers(floor, floor + 10)))
        out["allocated"]["pods"] = str(used_pods)
    return out


@st.composite
def fleets(draw: st.DrawFn, regime: Regime) -> list[Cluster]:
    """1-7 clusters with overlapping labels, topology, taints, readiness and API sets."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=7, unique=True))
    out = []
    for name in names:
        labels = {}
        if draw(st.booleans()):
            labels["env"] = draw(st.sampled_from(["prod", "dev"]))
        if draw(st.booleans()):
            labels["tier"] = draw(st.sampled_from(["1", "2"]))
        spec: dict[str, Any] = {
            "name": name,
            "labels": labels,
            "provider": draw(st.sampled_from(PROVIDERS)),
            "region": draw(st.sampled_from(REGIONS)),
            "zone": draw(st.sampled_from(ZONES)),
            **_capacity(draw, regime),
        }
        if draw(st.integers(0, 3)) == 0:
            spec["taints"] = draw(st.lists(st.sampled_from(TAINTS), max_size=2, unique_by=lambda t: t["key"]))
        if draw(st.integers(0, 7)) == 0:
            spec["conditions"] = [{"type": "Ready", "status": draw(st.sampled_from(["False", "Unknown"]))}]
        if draw(st.integers(0, 9)) == 0:
            spec["apiResources"] = ["v1/ConfigMap"]
        out.append(Cluster.model_validate(spec))
    return out


def _affinity(draw: st.DrawFn) -> dict[str, Any]:
    """A clusterAffinity in Karmada's vocabulary (no Gt/Lt, which are tmc's)."""
    aff: dict[str, Any] = {}
    if draw(st.integers(0, 2)) == 0:
        if draw(st.booleans()):
            aff["labelSelector"] = {"matchLabels": {"env": draw(st.sampled_from(["prod", "dev"]))}}
        else:
            op = draw(st.sampled_from(["In", "NotIn", "Exists", "DoesNotExist"]))
            key = draw(st.sampled_from(["env", "tier"]))
            req: dict[str, Any] = {"key": key, "operator": op}
            if op in ("In", "NotIn"):
                pool = ["prod", "dev"] if key == "env" else ["1", "2"]
                req["values"] = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
            aff["labelSelector"] = {"matchExpressions": [req]}
    if draw(st.integers(0, 2)) == 0:
        key = draw(st.sampled_from(["provider", "region", "zone"]))
        pool = {"provider": PROVIDERS, "region": REGIONS, "zone": ZONES}[key][:-1]
        values = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True))
        op = draw(st.sampled_from(["In", "NotIn"]))
        aff["fieldSelector"] = {"matchExpressions": [{"key": key, "operator": op, "values": values}]}
    if draw(st.integers(0, 3)) == 0:
        aff["clusterNames"] = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True))
    if draw(st.integers(0, 3)) == 0:
        aff["exclude"] = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=2, unique=True))
    return aff


def _spread(draw: st.DrawFn) -> list[dict[str, Any]]:
    if draw(st.booleans()):
        lo = draw(st.integers(1, 3))
        return [{"spreadByField": "cluster", "minGroups": lo, "maxGroups": draw(st.integers(lo, 5))}]
    rlo = draw(st.integers(1, 2))
    clo = draw(st.integers(1, 3))
    cmax = draw(st.integers(max(clo, rlo), 5))
    return [
        {"spreadByField": "region", "minGroups": rlo, "maxGroups": draw(st.integers(rlo, 3))},
        {"spreadByField": "cluster", "minGroups": clo, "maxGroups": cmax},
    ]


def _strategy(draw: st.DrawFn, regime: Regime) -> str:
    dividing = ["DynamicWeight", "Aggregated"]
    return draw(st.sampled_from(dividing if regime != "ample" else [*dividing, "Duplicated", "StaticWeight"]))


def _replica_scheduling(draw: st.DrawFn, strategy: str) -> dict[str, Any]:
    if strategy == "Duplicated":
        return {"replicaSchedulingType": "Duplicated"}
    if strategy == "Aggregated":
        return {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Aggregated"}
    if strategy == "DynamicWeight":
        return {
            "replicaSchedulingType": "Divided",
            "weightPreference": {"dynamicWeight": "AvailableReplicas"},
        }
    out: dict[str, Any] = {"replicaSchedulingType": "Divided", "replicaDivisionPreference": "Weighted"}
    if draw(st.integers(0, 3)) > 0:
        rules = [
            {"targetCluster": _affinity(draw), "weight": draw(st.integers(1, 4))}
            for _ in range(draw(st.integers(1, 3)))
        ]
        out["weightPreference"] = {"staticWeightList": rules}
    return out


def _current(
    draw: st.DrawFn, fleet: list[Cluster], replicas: int, strategy: str, scale_down_ok: list[str]
) -> dict[str, int]:
    """None, a scale up (fewer replicas assigned than wanted) or a scale down (more)."""
    names = [c.name for c in fleet]
    mode = draw(st.sampled_from(["fresh", "up", "down"]))
    if mode == "fresh":
        return {}
    if strategy == "Duplicated":
        on = draw(st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True))
        return dict.fromkeys(on, replicas)
    if mode == "up" and replicas >= 2:
        total = draw(st.integers(1, replicas - 1))
        pool = names
    elif mode == "down" and scale_down_ok:
        total = draw(st.integers(replicas + 1, replicas + 8))
        pool = scale_down_ok
    else:
        return {}
    on = draw(st.lists(st.sampled_from(pool), min_size=1, max_size=min(3, total), unique=True))
    k = len(on) - 1
    cuts = sorted(draw(st.lists(st.integers(1, total - 1), min_size=k, max_size=k, unique=True))) if k else []
    parts = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
    return dict(zip(on, parts, strict=True))


@st.composite
def tasks(draw: st.DrawFn, fleet: list[Cluster], regime: Regime, index: int) -> PlacementTask:
    """One workload with a Karmada-expressible policy and a previous assignment."""
    strategy = _strategy(draw, regime)
    replicas = draw(st.integers(1, MAX_REPLICAS))
    requests = {"cpu": draw(st.sampled_from(CPU_REQUESTS))}
    memory = draw(st.sampled_from(MEMORY_REQUESTS))
    if memory:
        requests["memory"] = memory
    workload = Workload.model_validate(
        {
            "name": f"w{index}",
            "namespace": "shop",
            "uid": draw(st.sampled_from(UIDS)),
            "replicas": replicas,
            "requests": requests,
        }
    )
    policy: dict[str, Any] = {"replicaScheduling": _replica_scheduling(draw, strategy)}
    single_term = True
    if draw(st.integers(0, 3)) == 0:
        terms = [{"affinityName": f"t{i}", **_affinity(draw)} for i in range(draw(st.integers(1, 3)))]
        policy["clusterAffinities"] = terms
        single_term = False
    elif draw(st.booleans()):
        policy["clusterAffinity"] = _affinity(draw)
    if draw(st.booleans()):
        policy["clusterTolerations"] = draw(
            st.lists(st.sampled_from(TOLERATIONS), min_size=1, max_size=2, unique_by=str)
        )
    spread = regime != "tight" and draw(st.booleans())
    if spread:
        policy["spreadConstraints"] = _spread(draw)
    parsed = PlacementPolicy.model_validate(policy)
    # A scale down divides by the previous replicas of every previous cluster in Karmada v1.16,
    # candidate or not (see docs/karmada-comparison.md): draw it only where all of them stay candidates.
    affinity = parsed.cluster_affinity
    scale_down_ok = (
        [c.name for c in fleet if affinity is None or affinity.matches(c)]
        if single_term and not spread
        else []
    )
    current = _current(draw, fleet, replicas, strategy, scale_down_ok)
    return PlacementTask(workload, parsed, placement=f"shop/w{index}", current=current)


@st.composite
def cases(draw: st.DrawFn, regime: Regime | None = None) -> Case:
    """A fleet in one capacity regime and 1-3 workloads to place against it."""
    chosen: Regime = regime or draw(st.sampled_from(REGIMES))
    fleet = draw(fleets(chosen))
    n = draw(st.integers(1, 3))
    return Case(chosen, fleet, [draw(tasks(fleet, chosen, i)) for i in range(n)])
