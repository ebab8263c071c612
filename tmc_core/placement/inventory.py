"""Place what a set of manifests describes: every workload a WorkloadPlacement selects.

This is the library form of ``tmcctl place``: the current assignment of each workload is read from
its placement's ``status.decisions`` (steady re-placement), and decisions come back sorted by
(namespace, name) as the output contract requires.
"""

from __future__ import annotations

from tmc_core.manifests.inventory import Inventory
from tmc_core.manifests.placements import sort_decisions
from tmc_core.model.decision import Decision
from tmc_core.placement.batch import PlacementTask, place_batch

__all__ = ["inventory_tasks", "place_inventory"]


def inventory_tasks(inventory: Inventory) -> list[PlacementTask]:
    """One task per selected workload, carrying its placement's policy and current decision."""
    tasks: list[PlacementTask] = []
    for placement in inventory.placements:
        current = {
            (
                d.workload.api_version,
                d.workload.kind,
                d.workload.namespace,
                d.workload.name,
                d.workload.workspace,
            ): d
            for d in placement.decisions
        }
        for w in inventory.selected(placement):
            now = current.get((w.api_version, w.kind, w.namespace, w.name, w.workspace))
            tasks.append(
                PlacementTask(
                    workload=w,
                    policy=placement.placement,
                    placement=placement.key,
                    current=now.replicas if now is not None else {},
                    policy_changed=bool(placement.observed_placement)
                    and placement.observed_placement != placement.placement.fingerprint(),
                )
            )
    return tasks


def place_inventory(inventory: Inventory, *, explain: bool = False) -> tuple[Decision, ...]:
    """Decisions for every selected workload, in the contract's output order (namespace, name)."""
    tasks = inventory_tasks(inventory)
    decisions = place_batch(inventory.fleet, tasks, explain=explain)
    return tuple(sort_decisions(decisions))
