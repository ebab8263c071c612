"""Simulation: seeded generators of synthetic fleets and workloads (pure: the seed is an argument)."""

from tmc_core.simulate.generate import (
    SHAPES,
    Shape,
    Topology,
    synthetic_fleet,
    synthetic_policies,
    synthetic_workloads,
    topology,
)

__all__ = [
    "SHAPES",
    "Shape",
    "Topology",
    "synthetic_fleet",
    "synthetic_policies",
    "synthetic_workloads",
    "topology",
]
