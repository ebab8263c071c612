"""tmc_core: pure multi-cluster placement and synchronisation (no I/O, no clock, no global state).

The most used names are re-exported here; each subpackage (``model``, ``manifests``, ``placement``,
``sync``) lists its own public API in ``__all__``.
"""

from tmc_core.errors import InvalidInput, TmcError
from tmc_core.model import (
    Cluster,
    Decision,
    Explanation,
    Fleet,
    PlacementPolicy,
    Quantity,
    ResourceList,
    Workload,
    WorkloadPlacement,
)
from tmc_core.placement import FleetIndex, PlacementTask, place, place_batch, place_inventory

__all__ = [
    "Cluster",
    "Decision",
    "Explanation",
    "Fleet",
    "FleetIndex",
    "InvalidInput",
    "PlacementPolicy",
    "PlacementTask",
    "Quantity",
    "ResourceList",
    "TmcError",
    "Workload",
    "WorkloadPlacement",
    "place",
    "place_batch",
    "place_inventory",
]
