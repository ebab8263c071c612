"""The domain values of tmc: quantities, clusters, workloads, placement policies and decisions."""

from tmc_core.model.cluster import Cluster, Condition, Fleet, Taint, TaintEffect, Toleration
from tmc_core.model.decision import ClusterScore, Decision, Explanation, TargetCluster
from tmc_core.model.policy import (
    ClusterAffinity,
    ClusterAffinityTerm,
    ClusterPreferences,
    PlacementPolicy,
    PlacementType,
    PreferredClusterAffinity,
    Prioritizer,
    PrioritizerName,
    ReplicaSchedulingStrategy,
    ReplicaStrategy,
    ResourceSelector,
    SpreadConstraint,
    StaticClusterWeight,
    TopologySpreadConstraint,
    WorkloadPlacement,
)
from tmc_core.model.quantity import Quantity, parse_quantity
from tmc_core.model.resources import ResourceList
from tmc_core.model.selectors import (
    FieldSelector,
    FieldSelectorRequirement,
    LabelSelector,
    LabelSelectorRequirement,
)
from tmc_core.model.validation import parse_value
from tmc_core.model.workload import Workload, WorkloadRef

__all__ = [
    "Cluster",
    "ClusterAffinity",
    "ClusterAffinityTerm",
    "ClusterPreferences",
    "ClusterScore",
    "Condition",
    "Decision",
    "Explanation",
    "FieldSelector",
    "FieldSelectorRequirement",
    "Fleet",
    "LabelSelector",
    "LabelSelectorRequirement",
    "PlacementPolicy",
    "PlacementType",
    "PreferredClusterAffinity",
    "Prioritizer",
    "PrioritizerName",
    "Quantity",
    "ReplicaSchedulingStrategy",
    "ReplicaStrategy",
    "ResourceList",
    "ResourceSelector",
    "SpreadConstraint",
    "StaticClusterWeight",
    "Taint",
    "TaintEffect",
    "TargetCluster",
    "Toleration",
    "TopologySpreadConstraint",
    "Workload",
    "WorkloadPlacement",
    "WorkloadRef",
    "parse_quantity",
    "parse_value",
]
