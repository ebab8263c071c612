"""The placement policy vocabulary: Karmada's ``placement`` plus OCM prioritizers and Fleet pick modes.

Names and meaning follow Karmada's PropagationPolicy where it has the concept; see docs/placement.md for
where tmc extends or deliberately differs. Validation rejects contradictory policies with a field path.
"""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import Field, model_validator

from tmc_core.model.base import Value, field_error
from tmc_core.model.cluster import Cluster, Toleration
from tmc_core.model.decision import Decision
from tmc_core.model.selectors import FieldSelector, LabelSelector
from tmc_core.model.workload import Workload

__all__ = [
    "ClusterAffinity",
    "ClusterAffinityTerm",
    "ClusterPreferences",
    "PlacementPolicy",
    "PlacementType",
    "PreferredClusterAffinity",
    "Prioritizer",
    "PrioritizerName",
    "ReplicaSchedulingStrategy",
    "ReplicaStrategy",
    "ResourceSelector",
    "SpreadConstraint",
    "StaticClusterWeight",
    "TopologySpreadConstraint",
    "WorkloadPlacement",
]

PlacementType = Literal["PickAll", "PickN", "PickFixed"]
ReplicaStrategy = Literal["Duplicated", "Aggregated", "DynamicWeight", "StaticWeight"]
PrioritizerName = Literal[
    "LeastAllocated",
    "MostAllocated",
    "BalancedAllocation",
    "PreferredAffinity",
    "Steady",
    "TaintPreference",
    "ClusterProperty",
    "TopologySpread",
    # Open Cluster Management's built-in names, accepted as spelled there.
    "Balance",
    "ResourceAllocatableCPU",
    "ResourceAllocatableMemory",
]


class ClusterAffinity(Value):
    """Karmada's clusterAffinity: all present parts ANDed, ``exclude`` always wins; empty matches all."""

    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    cluster_names: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def matches(self, cluster: Cluster) -> bool:
        """Reference semantics of the ClusterAffinity filter for one cluster."""
        if cluster.name in self.exclude:
            return False
        if self.cluster_names and cluster.name not in self.cluster_names:
            return False
        if self.label_selector is not None and not self.label_selector.matches(cluster.labels):
            return False
        return self.field_selector is None or self.field_selector.matches(cluster.fields)

    def is_empty(self) -> bool:
        """True when the affinity places no restriction at all."""
        return (
            self.label_selector is None
            and self.field_selector is None
            and not self.cluster_names
            and not self.exclude
        )


class ClusterAffinityTerm(ClusterAffinity):
    """One named group of ``clusterAffinities``; later groups are fallbacks."""

    affinity_name: str = Field(min_length=1, max_length=32)


class PreferredClusterAffinity(Value):
    """A soft affinity (Fleet's preferredDuringScheduling): matching clusters gain ``weight``."""

    weight: int = Field(ge=-100, le=100)
    preference: ClusterAffinity


class SpreadConstraint(Value):
    """Spread over groups of clusters (Karmada): by a field or a label, between min and max groups.

    ``maxGroups`` 0 means no upper bound in tmc (Karmada would select nothing; see docs/placement.md).
    """

    spread_by_field: Literal["cluster", "region", "zone", "provider"] | None = None
    spread_by_label: str | None = None
    min_groups: int = Field(default=1, ge=0)
    max_groups: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> SpreadConstraint:
        if self.spread_by_field and self.spread_by_label:
            raise field_error("spreadByLabel", "spreadByField and spreadByLabel are mutually exclusive")
        if self.max_groups and self.min_groups > self.max_groups:
            raise field_error(
                "maxGroups", f"maxGroups {self.max_groups} is less than minGroups {self.min_groups}"
            )
        return self

    @property
    def key(self) -> str:
        """What groups are made of: ``cluster``, ``region``, ... or ``label:<key>``."""
        if self.spread_by_label:
            return f"label:{self.spread_by_label}"
        return self.spread_by_field or "cluster"

    @property
    def effective_min(self) -> int:
        """Karmada's defaulting: minGroups 0 means 1."""
        return max(1, self.min_groups)


class TopologySpreadConstraint(Value):
    """Fleet/Kubernetes-style topology spread: group sizes may differ by at most ``maxSkew``."""

    max_skew: int = Field(default=1, ge=1)
    topology_key: str = Field(min_length=1)
    when_unsatisfiable: Literal["DoNotSchedule", "ScheduleAnyway"] = "DoNotSchedule"


class StaticClusterWeight(Value):
    """A static weight rule: clusters matching ``targetCluster`` get ``weight`` (max over rules)."""

    target_cluster: ClusterAffinity
    weight: int = Field(ge=1)


class ClusterPreferences(Value):
    """Karmada's weightPreference: static weights, or dynamic weights by available replicas."""

    static_weight_list: tuple[StaticClusterWeight, ...] = ()
    dynamic_weight: Literal["AvailableReplicas"] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> ClusterPreferences:
        if not self.static_weight_list and self.dynamic_weight is None:
            raise field_error("staticWeightList", "set staticWeightList or dynamicWeight")
        return self


class ReplicaSchedulingStrategy(Value):
    """Karmada's replicaScheduling: Duplicated everywhere or Divided (Aggregated | Weighted)."""

    replica_scheduling_type: Literal["Duplicated", "Divided"] = "Divided"
    replica_division_preference: Literal["Aggregated", "Weighted"] = "Weighted"
    weight_preference: ClusterPreferences | None = None


class Prioritizer(Value):
    """A score plugin with its weight (OCM's prioritizerPolicy); ``property`` for ClusterProperty."""

    name: PrioritizerName
    weight: int = Field(default=1, ge=0, le=100)
    property: str | None = None
    prefer: Literal["Lower", "Higher"] = "Lower"

    @model_validator(mode="after")
    def _property(self) -> Prioritizer:
        if self.name == "ClusterProperty" and not self.property:
            raise field_error("property", "ClusterProperty needs the name of a numeric cluster property")
        if self.name != "ClusterProperty" and self.property:
            raise field_error("property", f"only ClusterProperty takes a property, not {self.name}")
        return self


class PlacementPolicy(Value):
    """Where and how a workload is placed (``spec.placement`` of a WorkloadPlacement)."""

    placement_type: PlacementType = "PickAll"
    number_of_clusters: int | None = Field(default=None, ge=0)
    cluster_names: tuple[str, ...] = ()
    cluster_affinity: ClusterAffinity | None = None
    cluster_affinities: tuple[ClusterAffinityTerm, ...] = ()
    cluster_tolerations: tuple[Toleration, ...] = ()
    preferred_cluster_affinities: tuple[PreferredClusterAffinity, ...] = ()
    spread_constraints: tuple[SpreadConstraint, ...] = ()
    topology_spread_constraints: tuple[TopologySpreadConstraint, ...] = ()
    replica_scheduling: ReplicaSchedulingStrategy | None = None
    prioritizers: tuple[Prioritizer, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> PlacementPolicy:
        if self.cluster_affinity is not None and self.cluster_affinities:
            raise field_error(
                "clusterAffinities", "clusterAffinity and clusterAffinities are mutually exclusive"
            )
        names = [t.affinity_name for t in self.cluster_affinities]
        for i, name in enumerate(names):
            if name in names[:i]:
                raise field_error(f"clusterAffinities[{i}].affinityName", f"duplicate name {name!r}")
        if self.placement_type == "PickN" and self.number_of_clusters is None:
            raise field_error("numberOfClusters", "required when placementType is PickN")
        if self.placement_type != "PickN" and self.number_of_clusters is not None:
            raise field_error(
                "numberOfClusters", f"only allowed with placementType PickN, not {self.placement_type}"
            )
        if self.placement_type == "PickFixed" and not self.cluster_names:
            raise field_error("clusterNames", "required when placementType is PickFixed")
        if self.placement_type != "PickFixed" and self.cluster_names:
            raise field_error(
                "clusterNames",
                "only allowed with placementType PickFixed (use clusterAffinity.clusterNames)",
            )
        for sc in self.spread_constraints:
            n = self.number_of_clusters
            if sc.key == "cluster" and n is not None and n < sc.effective_min:
                raise field_error(
                    "numberOfClusters", f"{n} is less than the cluster spread minGroups {sc.effective_min}"
                )
        groups = [(i, sc) for i, sc in enumerate(self.spread_constraints) if sc.key != "cluster"]
        if len(groups) > 1:
            raise field_error(
                f"spreadConstraints[{groups[1][0]}]",
                "only one spread constraint besides cluster is supported (provider, region, zone or a label)",
            )
        least = max((g.effective_min for _, g in groups), default=0)
        for i, sc in enumerate(self.spread_constraints):
            if sc.key == "cluster" and sc.max_groups and sc.max_groups < least:
                raise field_error(
                    f"spreadConstraints[{i}].maxGroups",
                    f"{sc.max_groups} clusters cannot cover minGroups {least} of {groups[0][1].key}",
                )
        seen: set[str] = set()
        for i, sc in enumerate(self.spread_constraints):
            if sc.key in seen:
                raise field_error(f"spreadConstraints[{i}]", f"more than one constraint on {sc.key}")
            seen.add(sc.key)
        seen_t: set[str] = set()
        for i, tc in enumerate(self.topology_spread_constraints):
            if tc.topology_key in seen_t:
                raise field_error(
                    f"topologySpreadConstraints[{i}].topologyKey",
                    f"more than one constraint on {tc.topology_key}",
                )
            seen_t.add(tc.topology_key)
        for i, p in enumerate(self.prioritizers):
            dup = [q for q in self.prioritizers[:i] if (q.name, q.property) == (p.name, p.property)]
            if dup:
                raise field_error(f"prioritizers[{i}].name", f"duplicate prioritizer {p.name}")
        return self

    def fingerprint(self) -> str:
        """A short stable hash of what the policy means (defaults left out), recorded as
        ``status.observedPlacement`` so a later run can tell that the placement was edited."""
        canonical = json.dumps(self.dump(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @property
    def replica_strategy(self) -> ReplicaStrategy:
        """Karmada's internal strategy: Duplicated unless replicaScheduling says Divided."""
        rs = self.replica_scheduling
        if rs is None or rs.replica_scheduling_type == "Duplicated":
            return "Duplicated"
        if rs.replica_division_preference == "Aggregated":
            return "Aggregated"
        if rs.weight_preference is not None and rs.weight_preference.dynamic_weight:
            return "DynamicWeight"
        return "StaticWeight"

    def affinity_terms(self) -> tuple[ClusterAffinityTerm, ...]:
        """The ordered affinity groups to try; a single clusterAffinity is one unnamed group."""
        if self.cluster_affinities:
            return self.cluster_affinities
        base = self.cluster_affinity or ClusterAffinity()
        return (ClusterAffinityTerm(affinity_name="default", **dict(base)),)


class ResourceSelector(Value):
    """Selects upstream workloads by apiVersion/kind and a name or a label selector."""

    api_version: str = Field(min_length=1)
    kind: str = Field(min_length=1)
    name: str | None = None
    namespace: str | None = None
    label_selector: LabelSelector | None = None

    @model_validator(mode="after")
    def _name_or_selector(self) -> ResourceSelector:
        if self.name and self.label_selector is not None:
            raise field_error("labelSelector", "name and labelSelector are mutually exclusive")
        return self

    def selects(self, workload: Workload, placement_namespace: str) -> bool:
        """Whether the selector picks this workload (namespaced placements only see their namespace)."""
        ns = self.namespace if self.namespace is not None else placement_namespace
        if ns and workload.namespace != ns:
            return False
        if (workload.api_version, workload.kind) != (self.api_version, self.kind):
            return False
        if self.name:
            return workload.name == self.name
        return self.label_selector is None or self.label_selector.matches(workload.labels)


class WorkloadPlacement(Value):
    """A ``tmc.kcp.io/v1alpha1`` WorkloadPlacement: which workloads, the policy, the current decisions."""

    name: str = Field(min_length=1)
    namespace: str = ""
    resource_selectors: tuple[ResourceSelector, ...] = Field(min_length=1)
    placement: PlacementPolicy = Field(default_factory=PlacementPolicy)
    decisions: tuple[Decision, ...] = ()
    observed_placement: str = ""
    """Fingerprint of the policy the decisions were made under (``status.observedPlacement``)."""

    @property
    def key(self) -> str:
        """``namespace/name``, the ``placement`` field of decision records."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name
