"""Placement: filter -> score -> select -> divide over a columnar fleet index, with explanations."""

from tmc_core.placement.batch import (
    Assignment,
    PlacementTask,
    assign_batch,
    place,
    place_batch,
    placement_order,
)
from tmc_core.placement.index import FleetIndex
from tmc_core.placement.inventory import inventory_tasks, place_inventory
from tmc_core.placement.registry import DEFAULT_PRIORITIZERS, DEFAULT_REGISTRY, Registry

__all__ = [
    "DEFAULT_PRIORITIZERS",
    "DEFAULT_REGISTRY",
    "Assignment",
    "FleetIndex",
    "PlacementTask",
    "Registry",
    "assign_batch",
    "inventory_tasks",
    "place",
    "place_batch",
    "place_inventory",
    "placement_order",
]
