"""The one place plugins are registered by name: the filter order and the score plugins.

Third parties extend placement by passing their own ``Registry`` (a value) to the pipeline; the
default one is ``DEFAULT_REGISTRY``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from tmc_core.model.policy import PlacementPolicy, Prioritizer
from tmc_core.placement.filters import (
    APIEnablement,
    ClusterAffinityFilter,
    ClusterReady,
    Filter,
    PickFixedFilter,
    ResourceFit,
    SpreadFields,
    TaintToleration,
    TopologyKeys,
)
from tmc_core.placement.scores import (
    Balance,
    BalancedAllocation,
    ClusterProperty,
    LeastAllocated,
    MostAllocated,
    PreferredAffinity,
    ResourceAllocatable,
    Score,
    Steady,
    TaintPreference,
    TopologySpread,
)

__all__ = ["DEFAULT_PRIORITIZERS", "DEFAULT_REGISTRY", "Registry", "effective_prioritizers"]

DEFAULT_PRIORITIZERS: tuple[Prioritizer, ...] = (Prioritizer(name="Steady", weight=1),)
"""Without prioritizers a policy scores like Karmada's in-tree plugins: only staying put counts."""


def effective_prioritizers(policy: PlacementPolicy) -> tuple[Prioritizer, ...]:
    """The policy's prioritizers (Karmada's default when none), plus the scores its soft rules need.

    ``preferredClusterAffinities`` and ``ScheduleAnyway`` topology spread only act through their
    score plugins, so they are added with weight 1 when the policy does not list them itself.
    """
    out = list(policy.prioritizers or DEFAULT_PRIORITIZERS)
    names = {p.name for p in out}
    if policy.preferred_cluster_affinities and "PreferredAffinity" not in names:
        out.append(Prioritizer(name="PreferredAffinity", weight=1))
    soft = any(t.when_unsatisfiable == "ScheduleAnyway" for t in policy.topology_spread_constraints)
    if soft and "TopologySpread" not in names:
        out.append(Prioritizer(name="TopologySpread", weight=1))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Registry:
    """Filters in the order they run (the first that rejects a cluster is its reason) and score
    plugins by prioritizer name."""

    filters: tuple[Filter, ...]
    scores: Mapping[str, Score] = field(default_factory=lambda: MappingProxyType({}))

    def score(self, name: str) -> Score:
        """The score plugin for a prioritizer name (``KeyError`` names the unknown plugin)."""
        try:
            return self.scores[name]
        except KeyError:
            raise KeyError(f"no score plugin registered as {name!r}") from None


DEFAULT_REGISTRY = Registry(
    filters=(
        ClusterAffinityFilter(),
        PickFixedFilter(),
        APIEnablement(),
        TaintToleration(),
        ClusterReady(),
        SpreadFields(),
        TopologyKeys(),
        ResourceFit(),
    ),
    scores=MappingProxyType(
        {
            "LeastAllocated": LeastAllocated(),
            "MostAllocated": MostAllocated(),
            "BalancedAllocation": BalancedAllocation(),
            "PreferredAffinity": PreferredAffinity(),
            "Steady": Steady(),
            "TaintPreference": TaintPreference(),
            "ClusterProperty": ClusterProperty(),
            "TopologySpread": TopologySpread(),
            "Balance": Balance(),
            "ResourceAllocatableCPU": ResourceAllocatable("cpu", "ResourceAllocatableCPU"),
            "ResourceAllocatableMemory": ResourceAllocatable("memory", "ResourceAllocatableMemory"),
        }
    ),
)
