"""What one placement attempt sees: the fleet index, the policy term, the workload and the snapshot.

Like the Kubernetes scheduler's CycleState, a ``Cycle`` is the single argument every plugin gets; it is
immutable, and everything a plugin may read is on it, so plugins stay pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.policy import ClusterAffinityTerm, PlacementPolicy
from tmc_core.model.workload import Workload
from tmc_core.placement.index import FleetIndex

__all__ = ["Cycle", "available_replicas"]

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]


def available_replicas(free: IntArray, request: IntArray) -> IntArray:
    """Karmada's general estimate per cluster: min over requested resources of free // request.

    ``request`` always asks for one pod, so free pod slots bound the answer; a resource a cluster
    does not have gives zero.
    """
    asked = np.flatnonzero(request > 0)
    out: IntArray
    if asked.size == 1:
        r = int(asked[0])
        out = free[:, r] // request[r]
    else:
        out = (free[:, asked] // request[asked]).min(axis=1)
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Cycle:
    """Inputs of one attempt to place ``workload`` with one affinity ``term`` of ``policy``.

    ``available`` is each cluster's free room in replicas (not counting what the workload already
    runs there); ``previous`` is the workload's current replicas per cluster; ``placed`` counts the
    workloads each cluster has received so far in the batch (OCM's Balance reads it).
    """

    index: FleetIndex
    policy: PlacementPolicy
    term: ClusterAffinityTerm
    term_index: int
    workload: Workload
    gvk: str
    request: IntArray
    free: IntArray
    available: IntArray
    previous: IntArray
    placed: IntArray
    memo: dict[str, Any] = field(default_factory=dict, repr=False)
    """Intermediate arrays several plugins share within this one attempt (e.g. used fractions)."""
    requirements: dict[Any, Any] | None = field(default=None, repr=False)
    """Label-requirement masks shared by every attempt of one batch call (``PolicyCache``; policies
    of a batch repeat the same few selectors), or None: computed each time."""

    @property
    def holding(self) -> BoolArray:
        """Clusters that currently run replicas of the workload."""
        return self.previous > 0

    @property
    def room(self) -> IntArray:
        """Replicas each cluster could run in total: free room plus what it runs now (Karmada's
        AvailableReplicas)."""
        return self.available + self.previous
