"""Hypothesis strategies for tmc's values, for this project's property tests and for users' own.

Every strategy generates *valid* values (they pass the model validators), with realistic Kubernetes
spellings: DNS-1123 names, label keys and values, quantities in every suffix family. Example::

    from hypothesis import given
    from tmc_core.testing import strategies as tst

    @given(tst.fleets(min_size=1), tst.workloads())
    def test_my_policy(fleet, workload): ...

Requires ``hypothesis`` (a test dependency, not a runtime one).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from hypothesis import strategies as st
from pydantic import BaseModel

from tmc_core.model.cluster import Cluster, Condition, Fleet, Taint, Toleration
from tmc_core.model.policy import (
    ClusterAffinity,
    ClusterAffinityTerm,
    ClusterPreferences,
    PlacementPolicy,
    PreferredClusterAffinity,
    Prioritizer,
    ReplicaSchedulingStrategy,
    ResourceSelector,
    SpreadConstraint,
    StaticClusterWeight,
    TopologySpreadConstraint,
    WorkloadPlacement,
)
from tmc_core.model.quantity import Quantity
from tmc_core.model.resources import ResourceList
from tmc_core.model.selectors import (
    FieldSelector,
    FieldSelectorRequirement,
    LabelSelector,
    LabelSelectorRequirement,
)
from tmc_core.model.workload import Workload

__all__ = [
    "PROVIDERS",
    "REGIONS",
    "cluster_affinities",
    "clusters",
    "conditions",
    "field_selectors",
    "fleets",
    "label_keys",
    "label_selectors",
    "label_values",
    "labels",
    "names",
    "placement_policies",
    "prioritizers",
    "quantities",
    "replica_scheduling",
    "resource_lists",
    "resource_selectors",
    "spread_constraints",
    "taints",
    "tolerations",
    "workload_placements",
    "workloads",
]

PROVIDERS = ("aws", "gcp", "azure")
REGIONS = ("us-east-1", "us-west-2", "eu-west-1", "europe-west1", "asia-east1", "eastus")
_ZONE_SUFFIXES = ("a", "b", "c")
_RESOURCES = ("cpu", "memory", "pods", "ephemeral-storage", "nvidia.com/gpu")
M = TypeVar("M", bound=BaseModel)

_PRIORITIZERS = (
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
)


def _make(cls: type[M]) -> Callable[..., M]:
    """A constructor taking snake_case keywords; ``st.builds(Model, ...)`` itself would also infer
    the camelCase aliases of required fields and pass them twice."""

    def make(**kwargs: Any) -> M:
        return cls(**kwargs)

    return make


def names(max_length: int = 20) -> st.SearchStrategy[str]:
    """DNS-1123 labels (object names): lower-case alphanumerics and '-', alphanumeric at both ends."""
    inner = max(0, max_length - 2)
    return st.from_regex(rf"\A[a-z]([-a-z0-9]{{0,{inner}}}[a-z0-9])?\Z")


def label_keys() -> st.SearchStrategy[str]:
    """Kubernetes label keys, optionally with a DNS prefix (``topology.kubernetes.io/zone``)."""
    name = st.from_regex(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]{0,12}[A-Za-z0-9])?\Z")
    prefix = st.sampled_from(("", "example.com/", "topology.kubernetes.io/", "tmc.kcp.io/"))
    return st.builds(lambda p, n: p + n, prefix, name)


def label_values() -> st.SearchStrategy[str]:
    """Kubernetes label values (possibly empty)."""
    return st.one_of(st.just(""), st.from_regex(r"\A[A-Za-z0-9]([-A-Za-z0-9_.]{0,12}[A-Za-z0-9])?\Z"))


def labels(max_size: int = 4) -> st.SearchStrategy[dict[str, str]]:
    """A label set."""
    return st.dictionaries(label_keys(), label_values(), max_size=max_size)


def quantities(max_units: int = 10**6) -> st.SearchStrategy[Quantity]:
    """Non-negative quantities in every spelling: ``"3"``, ``"250m"``, ``"4Gi"``, ``"2k"``, ``"1e3"``."""
    n = st.integers(min_value=0, max_value=max_units)
    spelled = st.one_of(
        n.map(str),
        n.map(lambda v: f"{v}m"),
        st.builds(lambda v, s: f"{v}{s}", n, st.sampled_from(("Ki", "Mi", "Gi"))),
        st.builds(lambda v, s: f"{v}{s}", n, st.sampled_from(("k", "M", "G"))),
        st.builds(lambda v, e: f"{v}e{e}", n, st.integers(min_value=0, max_value=6)),
    )
    return spelled.map(Quantity)


def resource_lists(resources: tuple[str, ...] = _RESOURCES) -> st.SearchStrategy[ResourceList]:
    """Resource lists over (a subset of) the given resource names."""
    return st.dictionaries(st.sampled_from(resources), quantities(), max_size=len(resources)).map(
        ResourceList
    )


def taints() -> st.SearchStrategy[Taint]:
    """Cluster taints of every effect."""
    return st.builds(
        _make(Taint),
        key=label_keys(),
        value=label_values(),
        effect=st.sampled_from(("NoSchedule", "PreferNoSchedule", "NoExecute")),
    )


@st.composite
def tolerations(draw: st.DrawFn) -> Toleration:
    """Tolerations: Equal with a value, Exists with or without a key, any effect or none."""
    operator = draw(st.sampled_from(("Equal", "Exists")))
    key = draw(label_keys()) if operator == "Equal" else draw(st.one_of(st.just(""), label_keys()))
    value = draw(label_values()) if operator == "Equal" else ""
    effect = draw(st.sampled_from(("", "NoSchedule", "PreferNoSchedule", "NoExecute")))
    seconds = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=3600)))
    return Toleration(key=key, operator=operator, value=value, effect=effect, toleration_seconds=seconds)


def _times() -> st.SearchStrategy[datetime]:
    return st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
    )


def conditions() -> st.SearchStrategy[Condition]:
    """Status conditions (Ready and others), sometimes with timestamps."""
    return st.builds(
        _make(Condition),
        type=st.sampled_from(("Ready", "Unreachable", "MemoryPressure")),
        status=st.sampled_from(("True", "False", "Unknown")),
        reason=st.sampled_from(("", "KubeletReady", "Heartbeat")),
        message=st.text(max_size=20),
        last_transition_time=st.one_of(st.none(), _times()),
    )


@st.composite
def clusters(draw: st.DrawFn, name: str | None = None) -> Cluster:
    """A member cluster with topology, labels, taints, numeric properties, capacity and conditions."""
    provider = draw(st.sampled_from(("", *PROVIDERS)))
    region = draw(st.sampled_from(("", *REGIONS)))
    zone = draw(st.sampled_from(("", *(region + s for s in _ZONE_SUFFIXES)))) if region else ""
    props = st.dictionaries(
        st.sampled_from(("cost", "latencyMs", "renewablePct")),
        st.floats(allow_nan=False, allow_infinity=False, width=64),
        max_size=3,
    )
    api_resources = st.one_of(
        st.none(),
        st.lists(
            st.sampled_from(("apps/v1/Deployment", "apps/v1/StatefulSet", "v1/ConfigMap", "batch/v1/Job")),
            unique=True,
            max_size=4,
        ).map(tuple),
    )
    return Cluster(
        name=name if name is not None else draw(names()),
        labels=draw(labels()),
        provider=provider,
        region=region,
        zone=zone,
        taints=tuple(draw(st.lists(taints(), max_size=2))),
        properties=draw(props),
        api_resources=draw(api_resources),
        allocatable=draw(resource_lists()),
        allocated=draw(resource_lists()),
        conditions=tuple(draw(st.lists(conditions(), max_size=2, unique_by=lambda c: c.type))),
    )


@st.composite
def fleets(draw: st.DrawFn, min_size: int = 0, max_size: int = 8) -> Fleet:
    """A fleet of clusters with unique names."""
    cluster_names = draw(st.lists(names(), min_size=min_size, max_size=max_size, unique=True))
    return Fleet(clusters=tuple(draw(clusters(name=n)) for n in cluster_names))


def workloads() -> st.SearchStrategy[Workload]:
    """Workloads of the usual kinds with replicas, per-replica requests, labels and priority."""
    kinds = st.sampled_from(
        (("apps/v1", "Deployment"), ("apps/v1", "StatefulSet"), ("apps/v1", "ReplicaSet"))
    )
    return st.builds(
        lambda kind, **kw: Workload(api_version=kind[0], kind=kind[1], **kw),
        kinds,
        namespace=st.one_of(st.just(""), names(12)),
        name=names(),
        workspace=st.sampled_from(("", "root:org:team")),
        uid=st.one_of(st.just(""), st.uuids().map(str)),
        replicas=st.integers(min_value=0, max_value=50),
        requests=resource_lists(("cpu", "memory", "nvidia.com/gpu")),
        labels=labels(),
        priority=st.integers(min_value=-1000, max_value=10**6),
    )


@st.composite
def _requirements(draw: st.DrawFn) -> LabelSelectorRequirement:
    operator = draw(st.sampled_from(("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")))
    if operator in ("In", "NotIn"):
        values = tuple(draw(st.lists(label_values(), min_size=1, max_size=3, unique=True)))
    elif operator in ("Gt", "Lt"):
        values = (str(draw(st.integers(min_value=-100, max_value=100))),)
    else:
        values = ()
    return LabelSelectorRequirement(key=draw(label_keys()), operator=operator, values=values)


def label_selectors() -> st.SearchStrategy[LabelSelector]:
    """Label selectors using matchLabels and every matchExpressions operator."""
    return st.builds(
        _make(LabelSelector),
        match_labels=labels(3),
        match_expressions=st.lists(_requirements(), max_size=3).map(tuple),
    )


def field_selectors() -> st.SearchStrategy[FieldSelector]:
    """Karmada field selectors over provider, region and zone."""
    requirement = st.builds(
        _make(FieldSelectorRequirement),
        key=st.sampled_from(("provider", "region", "zone")),
        operator=st.sampled_from(("In", "NotIn")),
        values=st.lists(st.sampled_from(PROVIDERS + REGIONS), min_size=1, max_size=3, unique=True).map(tuple),
    )
    return st.builds(_make(FieldSelector), match_expressions=st.lists(requirement, max_size=2).map(tuple))


def _affinity_fields() -> dict[str, st.SearchStrategy[object]]:
    return {
        "label_selector": st.one_of(st.none(), label_selectors()),
        "field_selector": st.one_of(st.none(), field_selectors()),
        "cluster_names": st.lists(names(), max_size=3, unique=True).map(tuple),
        "exclude": st.lists(names(), max_size=2, unique=True).map(tuple),
    }


def cluster_affinities() -> st.SearchStrategy[ClusterAffinity]:
    """Cluster affinities: any mix of label selector, field selector, cluster names and exclude."""
    return st.builds(_make(ClusterAffinity), **_affinity_fields())


@st.composite
def spread_constraints(draw: st.DrawFn, key: str) -> SpreadConstraint:
    """A spread constraint on ``key`` (``cluster``, ``region``, ... or ``label:<key>``)."""
    min_groups = draw(st.integers(min_value=0, max_value=4))
    max_groups = draw(st.one_of(st.just(0), st.integers(min_value=max(min_groups, 1), max_value=6)))
    if key.startswith("label:"):
        return SpreadConstraint(
            spread_by_label=key[len("label:") :], min_groups=min_groups, max_groups=max_groups
        )
    return SpreadConstraint(spread_by_field=key, min_groups=min_groups, max_groups=max_groups)


def replica_scheduling() -> st.SearchStrategy[ReplicaSchedulingStrategy]:
    """Duplicated, Divided Aggregated, Divided Weighted with static or dynamic weights."""
    static = st.builds(
        _make(StaticClusterWeight),
        target_cluster=cluster_affinities(),
        weight=st.integers(min_value=1, max_value=10),
    )
    preferences = st.one_of(
        st.builds(
            _make(ClusterPreferences), static_weight_list=st.lists(static, min_size=1, max_size=3).map(tuple)
        ),
        st.builds(_make(ClusterPreferences), dynamic_weight=st.just("AvailableReplicas")),
    )
    return st.one_of(
        st.builds(_make(ReplicaSchedulingStrategy), replica_scheduling_type=st.just("Duplicated")),
        st.builds(
            _make(ReplicaSchedulingStrategy),
            replica_scheduling_type=st.just("Divided"),
            replica_division_preference=st.just("Aggregated"),
        ),
        st.builds(
            _make(ReplicaSchedulingStrategy),
            replica_scheduling_type=st.just("Divided"),
            replica_division_preference=st.just("Weighted"),
            weight_preference=preferences,
        ),
    )


def prioritizers() -> st.SearchStrategy[Prioritizer]:
    """Any prioritizer with a weight; ClusterProperty with a property and a direction."""
    weight = st.integers(min_value=0, max_value=100)
    return st.one_of(
        st.builds(_make(Prioritizer), name=st.sampled_from(_PRIORITIZERS), weight=weight),
        st.builds(
            _make(Prioritizer),
            name=st.just("ClusterProperty"),
            weight=weight,
            property=st.sampled_from(("cost", "latencyMs", "renewablePct")),
            prefer=st.sampled_from(("Lower", "Higher")),
        ),
    )


@st.composite
def placement_policies(draw: st.DrawFn) -> PlacementPolicy:
    """Valid placement policies exercising the whole vocabulary (never contradictory)."""
    placement_type = draw(st.sampled_from(("PickAll", "PickN", "PickFixed")))
    fields: dict[str, object] = {"placement_type": placement_type}
    if placement_type == "PickFixed":
        fields["cluster_names"] = tuple(draw(st.lists(names(), min_size=1, max_size=3, unique=True)))
    affinity = draw(st.sampled_from(("none", "one", "groups")))
    if affinity == "one":
        fields["cluster_affinity"] = draw(cluster_affinities())
    elif affinity == "groups":
        term_names = draw(st.lists(names(12), min_size=1, max_size=3, unique=True))
        fields["cluster_affinities"] = tuple(
            draw(st.builds(_make(ClusterAffinityTerm), affinity_name=st.just(n), **_affinity_fields()))
            for n in term_names
        )
    fields["cluster_tolerations"] = tuple(draw(st.lists(tolerations(), max_size=2)))
    fields["preferred_cluster_affinities"] = tuple(
        draw(
            st.lists(
                st.builds(
                    _make(PreferredClusterAffinity),
                    weight=st.integers(min_value=-100, max_value=100),
                    preference=cluster_affinities(),
                ),
                max_size=2,
            )
        )
    )
    # tmc supports the cluster constraint plus at most one group-level constraint.
    group_key = draw(st.sampled_from((None, "region", "zone", "provider", "label:tier", "label:env")))
    spread_keys = [k for k in (group_key,) if k] + (["cluster"] if draw(st.booleans()) else [])
    spreads = tuple(draw(spread_constraints(k)) for k in spread_keys)
    if len(spreads) == 2 and spreads[1].max_groups and spreads[1].max_groups < spreads[0].effective_min:
        spreads = (spreads[0], spreads[1].model_copy(update={"max_groups": spreads[0].effective_min}))
    fields["spread_constraints"] = spreads
    if placement_type == "PickN":
        # PickN must be able to satisfy a cluster spread's minGroups.
        least = max((sc.effective_min for sc in spreads if sc.key == "cluster"), default=0)
        fields["number_of_clusters"] = draw(st.integers(min_value=least, max_value=10))
    fields["topology_spread_constraints"] = tuple(
        draw(
            st.lists(
                st.builds(
                    _make(TopologySpreadConstraint),
                    max_skew=st.integers(min_value=1, max_value=5),
                    topology_key=label_keys(),
                    when_unsatisfiable=st.sampled_from(("DoNotSchedule", "ScheduleAnyway")),
                ),
                max_size=2,
                unique_by=lambda t: t.topology_key,
            )
        )
    )
    fields["replica_scheduling"] = draw(st.one_of(st.none(), replica_scheduling()))
    fields["prioritizers"] = tuple(
        draw(st.lists(prioritizers(), max_size=4, unique_by=lambda p: (p.name, p.property)))
    )
    return PlacementPolicy.model_validate(fields)


def resource_selectors() -> st.SearchStrategy[ResourceSelector]:
    """Resource selectors by name or by label selector."""
    kind = st.sampled_from((("apps/v1", "Deployment"), ("apps/v1", "StatefulSet")))
    by_name = st.builds(lambda k, n: ResourceSelector(api_version=k[0], kind=k[1], name=n), kind, names())
    by_labels = st.builds(
        lambda k, s: ResourceSelector(api_version=k[0], kind=k[1], label_selector=s),
        kind,
        label_selectors(),
    )
    return st.one_of(by_name, by_labels)


def workload_placements() -> st.SearchStrategy[WorkloadPlacement]:
    """WorkloadPlacements (without decisions) with one to three selectors and any valid policy."""
    return st.builds(
        _make(WorkloadPlacement),
        name=names(),
        namespace=st.one_of(st.just(""), names(12)),
        resource_selectors=st.lists(resource_selectors(), min_size=1, max_size=3).map(tuple),
        placement=placement_policies(),
    )
