"""A unit of placement work: one workload, its policy, its placement's name and where it runs now."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.workload import Workload

__all__ = ["PlacementTask"]


@dataclass(frozen=True, slots=True)
class PlacementTask:
    """One workload to place: its policy, the placement it comes from, and where it runs now."""

    workload: Workload
    policy: PlacementPolicy
    placement: str = ""
    current: Mapping[str, int] = field(default_factory=dict)
    policy_changed: bool = False
    """The policy was edited since ``current`` was decided: re-place instead of keeping it (as
    Karmada re-schedules when the applied placement changes)."""
