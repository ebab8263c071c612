"""Seeded generators of synthetic fleets, placement policies and workloads.

Everything here is pure: the same arguments (including ``seed``) give equal values, and the only
randomness is a ``numpy.random.default_rng(seed)`` created per call. The shapes are meant to look
like a real multi-cloud fleet, so that placement benchmarks and notebooks exercise every filter and
score plugin:

- clusters spread over providers, regions and zones, with ``env``/``tier``/topology labels, a
  fraction tainted (spot ``PreferNoSchedule``, dedicated ``NoSchedule``, maintenance ``NoExecute``),
  a fraction NotReady, numeric ``cost`` and ``latencyMs`` properties, capacities drawn from node
  shapes and counts, and a few GPU clusters (``nvidia.com/gpu``, tainted ``dedicated=gpu``);
- a small set of policy objects (the engine caches per policy object, so workloads share them) with
  6-8 weighted prioritizers, label/field-selector affinity, tolerations and soft affinities;
- workloads with 3-4 requested resources (pods always counts as one), replica counts and priorities.

Example::

    fleet = synthetic_fleet(1000, seed=1)
    tasks = synthetic_workloads(10_000, seed=2, fleet=fleet, shape="single")
    decisions = place_batch(fleet, tasks)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster, Condition, Fleet, Taint, Toleration
from tmc_core.model.policy import (
    ClusterAffinity,
    ClusterAffinityTerm,
    ClusterPreferences,
    PlacementPolicy,
    PreferredClusterAffinity,
    Prioritizer,
    ReplicaSchedulingStrategy,
    SpreadConstraint,
    StaticClusterWeight,
)
from tmc_core.model.resources import ResourceList
from tmc_core.model.selectors import (
    FieldSelector,
    FieldSelectorRequirement,
    LabelSelector,
    LabelSelectorRequirement,
)
from tmc_core.model.workload import Workload
from tmc_core.placement.batch import PlacementTask

__all__ = [
    "BATCH_TAINT",
    "DEFAULT_RESOURCES",
    "GPU",
    "GPU_TAINT",
    "MAINTENANCE_TAINT",
    "SHAPES",
    "SPOT_TAINT",
    "Shape",
    "Topology",
    "synthetic_fleet",
    "synthetic_policies",
    "synthetic_workloads",
    "topology",
]

Shape = Literal["single", "divided", "mixed"]
"""Policy shape: ``single`` = PickN 1 Duplicated (whole workload on the best cluster that fits);
``divided`` = PickAll, Divided Weighted by AvailableReplicas; ``mixed`` = a realistic mix."""
SHAPES: Final[tuple[Shape, ...]] = get_args(Shape)

GPU: Final = "nvidia.com/gpu"
DEFAULT_RESOURCES: Final = ("cpu", "memory", "pods", "ephemeral-storage")
_KNOWN_RESOURCES: Final = frozenset(DEFAULT_RESOURCES)

# -- vocabularies --------------------------------------------------------------------------------

_PROVIDERS: Final = ("aws", "gcp", "azure", "ibm", "oci")
_REGIONS: Final[Mapping[str, tuple[str, ...]]] = {
    "aws": ("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-1", "ap-northeast-1",
            "sa-east-1", "ca-central-1"),
    "gcp": ("us-central1", "us-east1", "europe-west1", "europe-west4", "asia-east1", "asia-northeast1",
            "southamerica-east1", "australia-southeast1"),
    "azure": ("eastus", "westus2", "westeurope", "northeurope", "southeastasia", "japaneast",
              "brazilsouth", "canadacentral"),
    "ibm": ("us-south", "us-east", "eu-de", "eu-gb", "jp-tok", "au-syd", "br-sao", "ca-tor"),
    "oci": ("us-ashburn-1", "us-phoenix-1", "eu-frankfurt-1", "uk-london-1", "ap-tokyo-1",
            "ap-sydney-1", "sa-saopaulo-1", "ca-toronto-1"),
}  # fmt: skip
_PROVIDER_PRICE: Final[Mapping[str, float]] = {"aws": 0.048, "gcp": 0.044, "azure": 0.046, "ibm": 0.05}

# Node shapes: (cores, memory GiB); probabilities below.
_NODE_SHAPES: Final = ((8, 32), (16, 64), (32, 128), (64, 256), (16, 128), (48, 96))
_NODE_SHAPE_P: Final = (0.15, 0.3, 0.25, 0.1, 0.1, 0.1)
_PODS_PER_NODE: Final = 110
_ENVS: Final = ("prod", "staging", "dev")
_ENV_P: Final = (0.5, 0.3, 0.2)

SPOT_TAINT: Final = Taint(key="node-pool", value="spot", effect="PreferNoSchedule")
BATCH_TAINT: Final = Taint(key="dedicated", value="batch", effect="NoSchedule")
MAINTENANCE_TAINT: Final = Taint(key="maintenance", effect="NoExecute")
GPU_TAINT: Final = Taint(key="dedicated", value="gpu", effect="NoSchedule")
_TAINTS: Final = (SPOT_TAINT, BATCH_TAINT, MAINTENANCE_TAINT)
_TAINT_P: Final = (0.55, 0.3, 0.15)
_NOT_READY: Final = (Condition(type="Ready", status="False", reason="HeartbeatMissed"),)

REGION_LABEL: Final = "topology.kubernetes.io/region"
ZONE_LABEL: Final = "topology.kubernetes.io/zone"

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]


# -- topology ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Topology:
    """Provider, region and zone names of a synthetic fleet (deterministic, no randomness)."""

    providers: tuple[str, ...]
    regions: Mapping[str, tuple[str, ...]]
    """Regions of each provider."""
    zones: Mapping[str, tuple[str, ...]]
    """Zones of each region."""

    @property
    def all_regions(self) -> tuple[str, ...]:
        """Every region, provider by provider."""
        return tuple(r for p in self.providers for r in self.regions[p])

    def provider_of(self, region: str) -> str:
        """The provider a region belongs to."""
        for p in self.providers:
            if region in self.regions[p]:
                return p
        raise KeyError(region)


def _letter(z: int) -> str:
    return chr(ord("a") + z) if z < 26 else f"z{z}"


def topology(providers: int = 3, regions_per_provider: int = 4, zones_per_region: int = 3) -> Topology:
    """Realistic names for ``providers`` x ``regions_per_provider`` x ``zones_per_region``.

    The first providers are aws, gcp, azure, ibm, oci with their real region names; beyond those
    lists names are made up (``p6``, ``aws-region-9``).
    """
    for name, v in (
        ("providers", providers),
        ("regions_per_provider", regions_per_provider),
        ("zones_per_region", zones_per_region),
    ):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise InvalidInput(f"must be a positive integer, got {v!r}", path=name)
    names = tuple(_PROVIDERS[k] if k < len(_PROVIDERS) else f"p{k + 1}" for k in range(providers))
    regions: dict[str, tuple[str, ...]] = {}
    zones: dict[str, tuple[str, ...]] = {}
    for p in names:
        known = _REGIONS.get(p, ())
        regs = tuple(
            known[j] if j < len(known) else f"{p}-region-{j + 1}" for j in range(regions_per_provider)
        )
        regions[p] = regs
        for r in regs:
            if p == "aws":
                zones[r] = tuple(f"{r}{_letter(z)}" for z in range(zones_per_region))
            elif p == "azure":
                zones[r] = tuple(f"{r}-{z + 1}" for z in range(zones_per_region))
            else:
                zones[r] = tuple(f"{r}-{_letter(z)}" for z in range(zones_per_region))
    return Topology(names, regions, zones)


def _topology_of(fleet: Fleet) -> Topology:
    """The providers/regions/zones a fleet actually has (clusters without a provider are skipped)."""
    regions: dict[str, set[str]] = {}
    zones: dict[str, set[str]] = {}
    for c in fleet.clusters:
        if not c.provider or not c.region:
            continue
        regions.setdefault(c.provider, set()).add(c.region)
        if c.zone:
            zones.setdefault(c.region, set()).add(c.zone)
    providers = tuple(sorted(regions))
    return Topology(
        providers,
        {p: tuple(sorted(regions[p])) for p in providers},
        {r: tuple(sorted(z)) for r, z in zones.items()},
    )


# -- argument checks -----------------------------------------------------------------------------


def _count(value: int, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput(f"must be a non-negative integer, got {value!r}", path=path)
    return value


def _fraction(value: float, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise InvalidInput(f"must be a number between 0 and 1, got {value!r}", path=path)
    return float(value)


def _shape(value: str) -> Shape:
    for s in SHAPES:
        if value == s:
            return s
    raise InvalidInput(f"unknown shape {value!r}: expected one of {', '.join(SHAPES)}", path="shape")


# -- fleets --------------------------------------------------------------------------------------


def synthetic_fleet(
    n_clusters: int,
    *,
    seed: int,
    providers: int = 3,
    regions_per_provider: int = 4,
    zones_per_region: int = 3,
    resources: Sequence[str] = DEFAULT_RESOURCES,
    utilisation: tuple[float, float] = (0.2, 0.7),
    taint_fraction: float = 0.15,
    not_ready_fraction: float = 0.02,
    gpu_fraction: float = 0.03,
    first: int = 0,
) -> Fleet:
    """A fleet of ``n_clusters`` clusters drawn from ``seed``.

    - Topology: providers get decreasing shares (the first is the largest); regions and zones are
      uniform within their provider/region. Labels: ``env`` (prod/staging/dev), ``tier`` ("1".."3",
      integers for Gt/Lt), ``topology.kubernetes.io/region`` and ``/zone``; GPU clusters also carry
      ``accelerator=nvidia``.
    - Capacity: a node count (log-normal, median 12, 3..500) times a node shape (8-64 cores,
      32-256 GiB), less a system reserve; 110 pods and 100-500 GiB of ephemeral storage per node.
      Only ``resources`` (a subset of cpu, memory, pods, ephemeral-storage) are reported.
      ``allocated`` is ``allocatable`` times a per-cluster utilisation drawn uniformly from
      ``utilisation`` (with a little per-resource noise).
    - ``taint_fraction`` of clusters get one taint (spot PreferNoSchedule, dedicated=batch
      NoSchedule or maintenance NoExecute); ``not_ready_fraction`` report Ready=False;
      ``gpu_fraction`` (at least one cluster in fleets of 10 or more when positive) have
      ``nvidia.com/gpu`` and a ``dedicated=gpu:NoSchedule`` taint.
    - Properties: ``cost`` (per core-hour: provider price x region factor, cheaper on spot, dearer
      with GPUs) and ``latencyMs`` (per region, with per-cluster jitter).
    - Names end in a serial number counted from ``first``, so clusters drawn later (a simulator's
      joining clusters) do not clash with an earlier fleet's.
    """
    n = _count(n_clusters, "n_clusters")
    first = _count(first, "first")
    topo = topology(providers, regions_per_provider, zones_per_region)
    lo, hi = (_fraction(x, "utilisation") for x in utilisation)
    if lo > hi:
        raise InvalidInput(f"lower bound {lo} is above upper bound {hi}", path="utilisation")
    taint_p = _fraction(taint_fraction, "taint_fraction")
    not_ready_p = _fraction(not_ready_fraction, "not_ready_fraction")
    gpu_p = _fraction(gpu_fraction, "gpu_fraction")
    for r in resources:
        if r not in _KNOWN_RESOURCES:
            raise InvalidInput(f"unknown resource {r!r}: expected some of {', '.join(DEFAULT_RESOURCES)}",
                               path="resources")  # fmt: skip
    reported = frozenset(resources)

    rng = np.random.default_rng(seed)
    n_prov = len(topo.providers)
    share = 1.0 / np.arange(1, n_prov + 1, dtype=np.float64) ** 0.7
    prov = rng.choice(n_prov, size=n, p=share / share.sum())
    reg = rng.integers(0, regions_per_provider, size=n)
    zon = rng.integers(0, zones_per_region, size=n)
    region_latency = rng.uniform(5.0, 120.0, size=(n_prov, regions_per_provider))
    region_price = rng.uniform(0.9, 1.3, size=(n_prov, regions_per_provider))
    nodes = np.clip(np.rint(rng.lognormal(math.log(12.0), 0.9, size=n)), 3, 500).astype(np.int64)
    shape = rng.choice(len(_NODE_SHAPES), size=n, p=np.asarray(_NODE_SHAPE_P))
    eph_per_node = rng.choice(np.array([100, 200, 500], dtype=np.int64), size=n)
    env = rng.choice(len(_ENVS), size=n, p=np.asarray(_ENV_P))
    tier = rng.integers(1, 4, size=n)
    base_util = rng.uniform(lo, hi, size=n)
    util = np.clip(base_util[:, None] + rng.normal(0.0, 0.05, size=(n, 4)), 0.0, 0.98)
    util[:, 2] *= 0.6  # pods fill up more slowly than cpu/memory
    tainted = rng.random(n) < taint_p
    taint_kind = rng.choice(len(_TAINTS), size=n, p=np.asarray(_TAINT_P))
    not_ready = rng.random(n) < not_ready_p
    gpu = rng.random(n) < gpu_p
    if gpu_p > 0 and n >= 10 and not gpu.any():
        gpu[int(rng.integers(0, n))] = True
    gpus_per_node = rng.choice(np.array([4, 8], dtype=np.int64), size=n)
    latency_jitter = rng.normal(0.0, 2.0, size=n)

    width = max(5, len(str(max(first + n - 1, 0))))
    clusters: list[Cluster] = []
    for i in range(n):
        p = topo.providers[int(prov[i])]
        region = topo.regions[p][int(reg[i])]
        zone = topo.zones[region][int(zon[i])]
        cores, mem_gi = _NODE_SHAPES[int(shape[i])]
        k = int(nodes[i])
        alloc_units = {
            "cpu": k * cores * 950,  # millicores, 5% system reserve
            "memory": k * mem_gi * 1024 * 92 // 100,  # MiB, 8% reserve
            "pods": k * _PODS_PER_NODE,
            "ephemeral-storage": k * int(eph_per_node[i]) * 9 // 10,  # GiB
        }
        used_units = {
            r: int(alloc_units[r] * float(util[i, j]))
            for j, r in enumerate(("cpu", "memory", "pods", "ephemeral-storage"))
        }
        allocatable = {r: _quantity(r, v) for r, v in alloc_units.items() if r in reported}
        allocated = {r: _quantity(r, v) for r, v in used_units.items() if r in reported}
        taints: list[Taint] = []
        labels = {
            "env": _ENVS[int(env[i])],
            "tier": str(int(tier[i])),
            REGION_LABEL: region,
            ZONE_LABEL: zone,
        }
        spot = False
        if tainted[i]:
            t = _TAINTS[int(taint_kind[i])]
            taints.append(t)
            spot = t == SPOT_TAINT
        cost = _PROVIDER_PRICE.get(p, 0.05) * float(region_price[int(prov[i]), int(reg[i])])
        if spot:
            cost *= 0.35
        if gpu[i]:
            allocatable[GPU] = str(k * int(gpus_per_node[i]))
            allocated[GPU] = str(int(k * int(gpus_per_node[i]) * float(util[i, 0])))
            taints.append(GPU_TAINT)
            labels["accelerator"] = "nvidia"
            cost *= 8.0
        latency = max(1.0, float(region_latency[int(prov[i]), int(reg[i])]) + float(latency_jitter[i]))
        clusters.append(
            Cluster(
                name=f"{p}-{zone}-{first + i:0{width}d}",
                labels=labels,
                provider=p,
                region=region,
                zone=zone,
                taints=tuple(taints),
                properties={"cost": round(cost, 5), "latencyMs": round(latency, 1)},
                allocatable=ResourceList(allocatable),
                allocated=ResourceList(allocated),
                conditions=_NOT_READY if not_ready[i] else (),
            )
        )
    return Fleet(clusters=tuple(clusters))


def _quantity(resource: str, units: int) -> str:
    if resource == "cpu":
        return f"{units}m"
    if resource == "memory":
        return f"{units}Mi"
    if resource == "ephemeral-storage":
        return f"{units}Gi"
    return str(units)


# -- policies ------------------------------------------------------------------------------------

_PRIORITIZERS: Final = (
    Prioritizer(name="LeastAllocated"),
    Prioritizer(name="BalancedAllocation"),
    Prioritizer(name="ClusterProperty", property="cost", prefer="Lower"),
    Prioritizer(name="ClusterProperty", property="latencyMs", prefer="Lower"),
    Prioritizer(name="PreferredAffinity"),
    Prioritizer(name="TaintPreference"),
    Prioritizer(name="Steady"),
    Prioritizer(name="Balance"),
)

_DUPLICATED: Final = ReplicaSchedulingStrategy(replica_scheduling_type="Duplicated")
_DYNAMIC: Final = ReplicaSchedulingStrategy(
    replica_scheduling_type="Divided",
    replica_division_preference="Weighted",
    weight_preference=ClusterPreferences(dynamic_weight="AvailableReplicas"),
)
_AGGREGATED: Final = ReplicaSchedulingStrategy(
    replica_scheduling_type="Divided", replica_division_preference="Aggregated"
)

_TOLERATE_BATCH: Final = Toleration(key="dedicated", value="batch", effect="NoSchedule")
_TOLERATE_SPOT: Final = Toleration(key="node-pool", value="spot", effect="PreferNoSchedule")
_TOLERATE_MAINTENANCE: Final = Toleration(
    key="maintenance", operator="Exists", effect="NoExecute", toleration_seconds=300
)
_TOLERATE_NOT_READY: Final = Toleration(key="tmc.kcp.io/not-ready", operator="Exists")
_TOLERATE_GPU: Final = Toleration(key="dedicated", value="gpu", effect="NoSchedule")

# Policy kinds of the "mixed" shape and how often each is drawn.
_MIXED_KINDS: Final = (
    "single",  # PickN 1, Duplicated
    "divided",  # PickAll, Divided by available replicas
    "pickn-divided",  # PickN 3, Divided by available replicas
    "static",  # PickAll over 2-3 regions, static weights per region
    "aggregated",  # PickAll, Divided Aggregated
    "spread",  # Divided over 2-3 regions and 2-6 clusters (spread constraints)
    "ha",  # PickN 2, Duplicated (a full copy in two clusters)
    "fallback",  # clusterAffinities: one region first, then its provider
    "gpu",  # PickN 1 Duplicated on GPU clusters (tolerates dedicated=gpu)
)
_MIXED_P: Final = (0.28, 0.17, 0.1, 0.1, 0.1, 0.1, 0.07, 0.05, 0.03)


def _in(key: Literal["provider", "region", "zone"], *values: str) -> FieldSelector:
    return FieldSelector(match_expressions=(FieldSelectorRequirement(key=key, operator="In", values=values),))


def _region_affinity(*regions: str) -> ClusterAffinity:
    return ClusterAffinity(field_selector=_in("region", *regions))


def _pick(rng: np.random.Generator, items: Sequence[str], k: int = 1) -> tuple[str, ...]:
    idx = rng.choice(len(items), size=min(k, len(items)), replace=False)
    return tuple(items[int(j)] for j in sorted(idx.tolist()))


def _affinity(rng: np.random.Generator, topo: Topology) -> ClusterAffinity | None:
    """A hard affinity: none, by env, by tier, by provider, by regions, or env plus provider."""
    choice = int(rng.choice(7, p=np.asarray([0.2, 0.2, 0.15, 0.1, 0.15, 0.1, 0.1])))
    if choice == 0 or not topo.providers:
        return None
    if choice == 1:
        return ClusterAffinity(label_selector=LabelSelector(match_labels={"env": "prod"}))
    if choice == 2:
        req = LabelSelectorRequirement(key="env", operator="NotIn", values=("dev",))
        return ClusterAffinity(label_selector=LabelSelector(match_expressions=(req,)))
    if choice == 3:
        req = LabelSelectorRequirement(key="tier", operator="Gt", values=("1",))
        return ClusterAffinity(label_selector=LabelSelector(match_expressions=(req,)))
    if choice == 4:
        return ClusterAffinity(field_selector=_in("provider", *_pick(rng, topo.providers)))
    if choice == 5:
        return _region_affinity(*_pick(rng, topo.all_regions, 2))
    excluded = _pick(rng, topo.providers)
    return ClusterAffinity(
        label_selector=LabelSelector(
            match_expressions=(
                LabelSelectorRequirement(key="env", operator="In", values=("prod", "staging")),
            )
        ),
        field_selector=FieldSelector(
            match_expressions=(FieldSelectorRequirement(key="provider", operator="NotIn", values=excluded),)
        ),
    )


def _tolerations(rng: np.random.Generator) -> tuple[Toleration, ...]:
    draw = rng.random(4)
    out = []
    if draw[0] < 0.3:
        out.append(_TOLERATE_BATCH)
    if draw[1] < 0.3:
        out.append(_TOLERATE_SPOT)
    if draw[2] < 0.1:
        out.append(_TOLERATE_MAINTENANCE)
    if draw[3] < 0.05:
        out.append(_TOLERATE_NOT_READY)
    return tuple(out)


def _preferences(rng: np.random.Generator, topo: Topology) -> tuple[PreferredClusterAffinity, ...]:
    """1-3 soft affinities: a preferred region, a preferred provider, staging avoided, tier 3 liked."""
    options = rng.permutation(4)[: int(rng.integers(1, 4))]
    out = []
    for o in sorted(options.tolist()):
        if o == 0 and topo.providers:
            pref = _region_affinity(*_pick(rng, topo.all_regions))
            out.append(PreferredClusterAffinity(weight=int(rng.integers(10, 61)), preference=pref))
        elif o == 1 and topo.providers:
            pref = ClusterAffinity(field_selector=_in("provider", *_pick(rng, topo.providers)))
            out.append(PreferredClusterAffinity(weight=int(rng.integers(5, 41)), preference=pref))
        elif o == 2:
            pref = ClusterAffinity(label_selector=LabelSelector(match_labels={"env": "staging"}))
            out.append(PreferredClusterAffinity(weight=-int(rng.integers(10, 51)), preference=pref))
        elif o == 3:
            req = LabelSelectorRequirement(key="tier", operator="Gt", values=("2",))
            pref = ClusterAffinity(label_selector=LabelSelector(match_expressions=(req,)))
            out.append(PreferredClusterAffinity(weight=20, preference=pref))
    return tuple(out)


def _prioritizers(rng: np.random.Generator) -> tuple[Prioritizer, ...]:
    """6-8 of the eight score factors, each with a weight 1..5, in a fixed order."""
    count = int(rng.integers(6, 9))
    chosen = sorted(rng.choice(len(_PRIORITIZERS), size=count, replace=False).tolist())
    weights = rng.integers(1, 6, size=count)
    return tuple(
        _PRIORITIZERS[j].model_copy(update={"weight": int(w)}) for j, w in zip(chosen, weights, strict=True)
    )


def _policy(kind: str, rng: np.random.Generator, topo: Topology) -> PlacementPolicy:
    affinity = _affinity(rng, topo)
    common = {
        "cluster_tolerations": _tolerations(rng),
        "preferred_cluster_affinities": _preferences(rng, topo),
        "prioritizers": _prioritizers(rng),
    }
    if kind == "single":
        return PlacementPolicy(
            placement_type="PickN", number_of_clusters=1, cluster_affinity=affinity,
            replica_scheduling=_DUPLICATED, **common,
        )  # fmt: skip
    if kind == "divided":
        return PlacementPolicy(cluster_affinity=affinity, replica_scheduling=_DYNAMIC, **common)
    if kind == "pickn-divided":
        return PlacementPolicy(
            placement_type="PickN", number_of_clusters=3, cluster_affinity=affinity,
            replica_scheduling=_DYNAMIC, **common,
        )  # fmt: skip
    if kind == "aggregated":
        return PlacementPolicy(cluster_affinity=affinity, replica_scheduling=_AGGREGATED, **common)
    if kind == "ha":
        return PlacementPolicy(
            placement_type="PickN", number_of_clusters=2, cluster_affinity=affinity,
            replica_scheduling=_DUPLICATED, **common,
        )  # fmt: skip
    if kind == "gpu":
        gpu_only = ClusterAffinity(
            label_selector=LabelSelector(
                match_expressions=(LabelSelectorRequirement(key="accelerator", operator="Exists"),)
            )
        )
        common["cluster_tolerations"] = (_TOLERATE_GPU,)
        return PlacementPolicy(
            placement_type="PickN", number_of_clusters=1, cluster_affinity=gpu_only,
            replica_scheduling=_DUPLICATED, **common,
        )  # fmt: skip
    regions = topo.all_regions
    if not regions:  # a fleet without topology: region-based kinds become plain Divided
        kind = "divided" if kind in ("static", "fallback") else kind
        if kind == "divided":
            return PlacementPolicy(cluster_affinity=affinity, replica_scheduling=_DYNAMIC, **common)
    if kind == "static":
        chosen = _pick(rng, regions, int(rng.integers(2, 4)))
        rules = tuple(
            StaticClusterWeight(target_cluster=_region_affinity(r), weight=int(rng.integers(1, 5)))
            for r in chosen
        )
        weighted = ReplicaSchedulingStrategy(
            replica_scheduling_type="Divided",
            replica_division_preference="Weighted",
            weight_preference=ClusterPreferences(static_weight_list=rules),
        )
        return PlacementPolicy(
            cluster_affinity=_region_affinity(*chosen), replica_scheduling=weighted, **common
        )
    if kind == "spread":
        spreads = (
            SpreadConstraint(spread_by_field="region", min_groups=2, max_groups=3),
            SpreadConstraint(spread_by_field="cluster", min_groups=2, max_groups=6),
        )
        return PlacementPolicy(
            cluster_affinity=affinity, spread_constraints=spreads, replica_scheduling=_DYNAMIC, **common
        )
    if kind == "fallback":
        region = _pick(rng, regions)[0]
        terms = (
            ClusterAffinityTerm(affinity_name="primary", field_selector=_in("region", region)),
            ClusterAffinityTerm(
                affinity_name="backup", field_selector=_in("provider", topo.provider_of(region))
            ),
        )
        return PlacementPolicy(cluster_affinities=terms, replica_scheduling=_DYNAMIC, **common)
    raise AssertionError(kind)  # pragma: no cover


def _kinds(k: int, shape: Shape, rng: np.random.Generator) -> list[str]:
    if shape != "mixed":
        return [shape] * k
    # Every kind once (when there are enough policies), the rest drawn by frequency.
    first = list(_MIXED_KINDS[:k])
    rest = rng.choice(len(_MIXED_KINDS), size=max(0, k - len(first)), p=np.asarray(_MIXED_P))
    return first + [_MIXED_KINDS[int(j)] for j in rest]


def synthetic_policies(
    k: int, *, seed: int, shape: Shape = "mixed", fleet: Fleet | None = None
) -> list[PlacementPolicy]:
    """``k`` distinct placement policies of ``shape`` (see :data:`Shape`), drawn from ``seed``.

    Each has 6-8 weighted prioritizers (LeastAllocated, BalancedAllocation, ClusterProperty cost
    and latencyMs (Lower), PreferredAffinity, TaintPreference, Steady, Balance), a hard affinity by
    label or field selector (or none), tolerations and 1-3 soft affinities. Region and provider
    names come from ``fleet`` when given, else from :func:`topology` with its defaults.
    """
    k = _count(k, "policies")
    shape = _shape(shape)
    topo = _topology_of(fleet) if fleet is not None else topology()
    rng = np.random.default_rng(seed)
    return [_policy(kind, rng, topo) for kind in _kinds(k, shape, rng)]


# -- workloads -----------------------------------------------------------------------------------

_CPU_M: Final = np.array([50, 100, 250, 500, 1000, 2000, 4000], dtype=np.int64)
_CPU_P: Final = np.array([0.05, 0.15, 0.25, 0.25, 0.18, 0.09, 0.03])
_MEM_PER_CORE_MI: Final = np.array([1024, 2048, 4096, 8192], dtype=np.int64)
_MEM_P: Final = np.array([0.3, 0.35, 0.25, 0.1])
_EPH_GI: Final = (0, 1, 2, 5, 10)
_EPH_P: Final = np.array([0.5, 0.2, 0.15, 0.1, 0.05])
_PRIORITIES: Final = np.array([0, 100, 1000], dtype=np.int64)
_PRIORITY_P: Final = np.array([0.85, 0.1, 0.05])


def _wants_gpu(policy: PlacementPolicy) -> bool:
    return any(t.tolerates(GPU_TAINT) and t.key == "dedicated" for t in policy.cluster_tolerations)


def _copies(policy: PlacementPolicy, n_clusters: int) -> int:
    """How many full copies of a workload a policy places (for the load estimate)."""
    if policy.replica_strategy != "Duplicated":
        return 1
    if policy.placement_type == "PickN":
        return max(1, policy.number_of_clusters or 0)
    if policy.placement_type == "PickFixed":
        return max(1, len(policy.cluster_names))
    return max(1, n_clusters)


def _free_millicores(fleet: Fleet) -> int:
    total = 0
    for c in fleet.clusters:
        if not c.ready or "cpu" not in c.allocatable:
            continue
        alloc = c.allocatable["cpu"].milli_value()
        used = c.allocated["cpu"].milli_value() if "cpu" in c.allocated else 0
        total += max(0, alloc - used)
    return total


def synthetic_workloads(
    n: int,
    *,
    seed: int,
    fleet: Fleet | None = None,
    policies: int | Sequence[PlacementPolicy] = 32,
    shape: Shape = "mixed",
    load: float | None = 0.5,
    namespaces: int = 20,
    first: int = 0,
) -> list[PlacementTask]:
    """``n`` placement tasks (fresh placements: nothing runs anywhere yet), drawn from ``seed``.

    - Policies: ``policies`` distinct objects from :func:`synthetic_policies` (same ``seed`` and
      ``shape``), or the given ones; every workload refers to one of them (policy ``j`` is drawn
      with weight ~ 1/sqrt(j+1)), so the engine's per-policy caches are shared as in real use.
    - Requests: cpu 50m..4 (most 250m-1), memory 1-8 GiB per core, and for half of them
      ephemeral-storage 1-10 GiB; with the implicit pod that is 3-4 resources. Workloads of a
      GPU policy also ask for one ``nvidia.com/gpu`` (and have at most 4 replicas). With
      ``fleet``, only resources the fleet reports are requested.
    - Replicas: log-normal, median 3 (Duplicated) or 12 (Divided). With ``fleet`` and ``load``,
      replica counts are scaled so that the expected CPU demand (replicas x cpu x copies) is about
      ``load`` times the free CPU of the fleet's ready clusters (at least 1 replica each).
    - Identity: namespace ``team-NN`` (``namespaces`` of them), name ``app-NNNNNN``, a uuid-like
      ``uid`` (Karmada's tie-break hash reads it), priority 0 (85%), 100 or 1000. Names are
      numbered from ``first`` (workloads arriving later in a simulation get fresh names).
    """
    n = _count(n, "n")
    first = _count(first, "first")
    shape = _shape(shape)
    namespaces = _count(namespaces, "namespaces")
    if namespaces < 1:
        raise InvalidInput("must be at least 1", path="namespaces")
    if load is not None and (isinstance(load, bool) or not isinstance(load, int | float) or load <= 0):
        raise InvalidInput(f"must be a positive number or None, got {load!r}", path="load")
    if isinstance(policies, int):
        pols = synthetic_policies(policies, seed=seed, shape=shape, fleet=fleet)
    else:
        pols = list(policies)
    if not pols:
        raise InvalidInput("at least one policy is needed", path="policies")
    rng = np.random.default_rng(seed).spawn(1)[0]  # a stream independent of the policies' one

    k = len(pols)
    pw = 1.0 / np.sqrt(np.arange(1, k + 1, dtype=np.float64))
    which = rng.choice(k, size=n, p=pw / pw.sum())
    cpu_i = rng.choice(len(_CPU_M), size=n, p=_CPU_P)
    mem_i = rng.choice(len(_MEM_PER_CORE_MI), size=n, p=_MEM_P)
    eph_i = rng.choice(len(_EPH_GI), size=n, p=_EPH_P)
    ns = rng.integers(0, namespaces, size=n)
    prio = _PRIORITIES[rng.choice(len(_PRIORITIES), size=n, p=_PRIORITY_P)]
    uid_bits = rng.integers(0, np.iinfo(np.int64).max, size=(n, 2), dtype=np.int64, endpoint=True)
    raw = rng.lognormal(math.log(3.0), 0.9, size=n)

    duplicated = np.array([p.replica_strategy == "Duplicated" for p in pols], dtype=np.bool_)
    base = np.where(duplicated[which], raw, raw * 4.0)
    if fleet is not None and load is not None:
        copies = np.array([_copies(p, len(fleet)) for p in pols], dtype=np.float64)
        demand = float((base * _CPU_M[cpu_i] * copies[which]).sum())
        free = _free_millicores(fleet)
        scale = load * free / demand if demand > 0 and free > 0 else 1.0
        base = base * scale
    replicas = np.maximum(1, np.rint(np.minimum(base, 1e6))).astype(np.int64)
    gpu_policy = [_wants_gpu(p) for p in pols]
    if any(gpu_policy):  # GPU jobs stay small: 1-4 replicas, one GPU each
        replicas = np.where(np.asarray(gpu_policy)[which], np.minimum(replicas, 4), replicas)

    have: frozenset[str] | None = None
    if fleet is not None:
        have = frozenset(r for c in fleet.clusters for r in c.allocatable)
    requests: dict[tuple[int, int, int, bool], ResourceList] = {}

    def request(c: int, m: int, e: int, gpu: bool) -> ResourceList:
        key = (c, m, e, gpu)
        rl = requests.get(key)
        if rl is None:
            cpu_m = int(_CPU_M[c])
            wanted: dict[str, str] = {
                "cpu": f"{cpu_m}m",
                "memory": f"{max(64, cpu_m * int(_MEM_PER_CORE_MI[m]) // 1000)}Mi",
            }
            if _EPH_GI[e]:
                wanted["ephemeral-storage"] = f"{_EPH_GI[e]}Gi"
            if gpu:
                wanted[GPU] = "1"
            if have is not None:
                wanted = {r: q for r, q in wanted.items() if r in have}
            rl = ResourceList(wanted)
            requests[key] = rl
        return rl

    names = [f"pol-{j:02d}" for j in range(k)]
    width = max(6, len(str(max(first + n - 1, 0))))
    out: list[PlacementTask] = []
    which_l = which.tolist()
    uids = uid_bits.tolist()
    for i in range(n):
        j = which_l[i]
        h = f"{uids[i][0]:016x}{uids[i][1]:016x}"
        namespace = f"team-{int(ns[i]):02d}"
        name = f"app-{first + i:0{width}d}"
        w = Workload(
            namespace=namespace,
            name=name,
            uid=f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}",
            replicas=int(replicas[i]),
            requests=request(int(cpu_i[i]), int(mem_i[i]), int(eph_i[i]), gpu_policy[j]),
            labels={"app": name},
            priority=int(prio[i]),
        )
        out.append(PlacementTask(w, pols[j], placement=f"{namespace}/{names[j]}"))
    return out
