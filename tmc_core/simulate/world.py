"""Where a simulated fleet comes from: the scenario's seeded generators, or a manifest inventory.

A ``World`` is the starting fleet and workloads plus the two generators events draw from later:
clusters that join and workloads that arrive. From an inventory (``tmc_core.manifests``) the fleet
and workloads are the manifests' own (their placements' ``status.decisions`` are where they run at
the start); joining clusters and arriving workloads still come from the scenario's generators.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tmc_core.manifests.inventory import Inventory
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.policy import PlacementPolicy
from tmc_core.placement.inventory import inventory_tasks
from tmc_core.placement.task import PlacementTask
from tmc_core.simulate.generate import synthetic_fleet, synthetic_policies, synthetic_workloads
from tmc_core.simulate.scenario import FleetSpec, Scenario, WorkloadSpec

__all__ = ["World", "world_from_inventory", "world_from_scenario"]


@dataclass(frozen=True, slots=True)
class World:
    """The starting fleet and workloads, and the generators that draw joining clusters and arrivals."""

    fleet: Fleet
    tasks: tuple[PlacementTask, ...]
    policies: tuple[PlacementPolicy, ...]
    """Policies arriving workloads are drawn with (each picks one)."""
    fleet_spec: FleetSpec
    workload_spec: WorkloadSpec
    load_fleet: Fleet
    """The fleet whose free CPU sizes arriving workloads (the starting fleet)."""

    def join(self, count: int, *, seed: int, first: int) -> list[Cluster]:
        """``count`` new clusters, Ready and nearly empty, numbered from ``first``."""
        spec = self.fleet_spec
        drawn = synthetic_fleet(
            count,
            seed=seed,
            providers=spec.providers,
            regions_per_provider=spec.regions_per_provider,
            zones_per_region=spec.zones_per_region,
            utilisation=(0.0, 0.0),
            taint_fraction=spec.taint_fraction,
            not_ready_fraction=0.0,
            gpu_fraction=spec.gpu_fraction,
            first=first,
        )
        return list(drawn.clusters)

    def arrivals(self, count: int, *, seed: int, first: int) -> list[PlacementTask]:
        """``count`` new workloads, sized like the starting ones, numbered from ``first``."""
        spec = self.workload_spec
        load = spec.load * count / max(1, spec.count)
        return synthetic_workloads(
            count,
            seed=seed,
            fleet=self.load_fleet,
            policies=list(self.policies),
            shape=spec.shape,
            load=load,
            namespaces=spec.namespaces,
            first=first,
        )


def world_from_scenario(scenario: Scenario) -> World:
    """The scenario's synthetic fleet and workloads (the same for every policy under test)."""
    fs, ws = scenario.fleet, scenario.workloads
    fleet = synthetic_fleet(
        fs.clusters,
        seed=scenario.seed,
        providers=fs.providers,
        regions_per_provider=fs.regions_per_provider,
        zones_per_region=fs.zones_per_region,
        utilisation=fs.utilisation,
        taint_fraction=fs.taint_fraction,
        not_ready_fraction=fs.not_ready_fraction,
        gpu_fraction=fs.gpu_fraction,
    )
    policies = synthetic_policies(ws.policies, seed=scenario.seed, shape=ws.shape, fleet=fleet)
    tasks = synthetic_workloads(
        ws.count,
        seed=scenario.seed,
        fleet=fleet,
        policies=policies,
        shape=ws.shape,
        load=ws.load,
        namespaces=ws.namespaces,
    )
    return World(fleet, tuple(tasks), tuple(policies), fs, ws, fleet)


def _distinct(policies: Sequence[PlacementPolicy]) -> tuple[PlacementPolicy, ...]:
    seen: dict[str, PlacementPolicy] = {}
    for p in policies:
        seen.setdefault(p.fingerprint(), p)
    return tuple(seen.values())


def world_from_inventory(inventory: Inventory, scenario: Scenario) -> World:
    """The inventory's fleet and selected workloads (running where their placements' decisions
    say); arrivals use the inventory's placement policies, joins the scenario's fleet generator."""
    tasks = inventory_tasks(inventory)
    policies = _distinct([p.placement for p in inventory.placements])
    if not policies:
        ws = scenario.workloads
        policies = tuple(
            synthetic_policies(ws.policies, seed=scenario.seed, shape=ws.shape, fleet=inventory.fleet)
        )
    return World(
        inventory.fleet,
        tuple(tasks),
        policies,
        scenario.fleet,
        scenario.workloads.model_copy(update={"count": max(1, len(tasks))}),
        inventory.fleet,
    )
