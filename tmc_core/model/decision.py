"""Decisions (cluster -> replicas) and their explanations; the records of the output contract."""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import Field, model_validator

from tmc_core.model.base import Value, field_error
from tmc_core.model.workload import WorkloadRef

__all__ = ["ClusterScore", "Decision", "Explanation", "TargetCluster", "summarise_filtered"]


class TargetCluster(Value):
    """One cluster of a decision and the replicas it runs."""

    name: str
    replicas: int = Field(ge=0)


class ClusterScore(Value):
    """How one feasible cluster scored: the weighted total and each plugin's 0..100 score."""

    cluster: str
    total: float
    plugins: dict[str, float] = Field(default_factory=dict)


def summarise_filtered(total: int, fit: int, filtered: dict[str, str]) -> str:
    """The scheduler-style summary: ``"3/12 clusters fit: 5 insufficient cpu, 4 untolerated ..."``.

    Reasons are grouped, counted and listed most frequent first (then alphabetically), so the line
    reads the same for the same input.
    """
    counts = Counter(filtered.values())
    parts = [f"{n} {reason}" for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]
    head = f"{fit}/{total} clusters fit"
    return f"{head}: {', '.join(parts)}" if parts else head


class Explanation(Value):
    """Why a decision came out as it did.

    ``filtered`` maps every excluded cluster to the first filter that rejected it; ``scores`` covers the
    clusters that passed, best first; ``shortfall`` says what capacity was missing when replicas could
    not all be placed; ``affinity_term`` names the clusterAffinities group used.
    """

    total_clusters: int = 0
    filtered: dict[str, str] = Field(default_factory=dict)
    scores: tuple[ClusterScore, ...] = ()
    selected: tuple[str, ...] = ()
    shortfall: str = ""
    affinity_term: str = ""
    notes: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line: how many clusters fit and why the others did not."""
        return summarise_filtered(
            self.total_clusters, self.total_clusters - len(self.filtered), self.filtered
        )


class Decision(Value):
    """Where one workload runs: replicas per cluster, whether all of it fits, and why."""

    workload: WorkloadRef
    placement: str = ""
    clusters: tuple[TargetCluster, ...] = ()
    schedulable: bool = True
    reason: str = ""
    explanation: Explanation | None = None

    @model_validator(mode="after")
    def _sorted_unique(self) -> Decision:
        names = [c.name for c in self.clusters]
        if len(set(names)) != len(names):
            raise field_error("clusters", "a cluster appears more than once")
        if names != sorted(names):
            object.__setattr__(self, "clusters", tuple(sorted(self.clusters, key=lambda c: c.name)))
        return self

    @property
    def replicas(self) -> dict[str, int]:
        """Cluster name -> replicas."""
        return {c.name: c.replicas for c in self.clusters}

    @property
    def total_replicas(self) -> int:
        """Sum of replicas over clusters (for Duplicated, each cluster counts the full count)."""
        return sum(c.replicas for c in self.clusters)

    def to_record(self) -> dict[str, Any]:
        """The contract's decision record (no explanation; see ``to_record(explain=True)`` users)."""
        workload = {
            "apiVersion": self.workload.api_version,
            "kind": self.workload.kind,
            "namespace": self.workload.namespace,
            "name": self.workload.name,
        }
        if self.workload.workspace:
            workload["workspace"] = self.workload.workspace
        return {
            "workload": workload,
            "placement": self.placement,
            "clusters": [{"name": c.name, "replicas": c.replicas} for c in self.clusters],
            "schedulable": self.schedulable,
            "reason": self.reason,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Decision:
        """Read a decision record (e.g. ``WorkloadPlacement.status.decisions[i]``)."""
        return cls.model_validate(record)
