"""``tmcctl validate``: read manifests and summarise them, or list every problem (exit 2)."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tmc_core.manifests import Inventory
from tmc_core.model import Cluster, WorkloadPlacement
from tmcctl.inputs import FilesOption, inventory_or_exit

__all__ = ["validate"]


def _free(cluster: Cluster, resource: str) -> str:
    q = cluster.free.get(resource)
    return str(q) if q is not None else "-"


def _policy(p: WorkloadPlacement) -> str:
    policy = p.placement
    pick: str = policy.placement_type
    if pick == "PickN":
        pick = f"PickN({policy.number_of_clusters})"
    return f"{pick}, {policy.replica_strategy}"


def _clusters_table(inventory: Inventory) -> Table:
    table = Table(
        title="Clusters (free = allocatable - allocated)",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )
    table.add_column("name", no_wrap=True)
    table.add_column("provider/zone", no_wrap=True)
    table.add_column("ready", no_wrap=True)
    table.add_column("free cpu", justify="right", no_wrap=True)
    table.add_column("memory", justify="right", no_wrap=True)
    table.add_column("taints", overflow="fold", min_width=12)
    for c in inventory.fleet:
        table.add_row(
            Text(c.name),
            Text("/".join(p for p in (c.provider, c.zone or c.region) if p)),
            Text("yes", style="green") if c.ready else Text("NO", style="bold red"),
            Text(_free(c, "cpu")),
            Text(_free(c, "memory")),
            Text("\n".join(str(t) for t in c.taints)),
        )
    return table


def _placements_table(inventory: Inventory) -> Table:
    table = Table(title="Placements", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("placement", no_wrap=True)
    table.add_column("policy", overflow="fold")
    table.add_column("selects", overflow="fold")
    for p in inventory.placements:
        selected = inventory.selected(p)
        names = "\n".join(f"{w.kind}/{w.key}" for w in selected)
        table.add_row(
            Text(p.key),
            Text(_policy(p)),
            Text(names) if selected else Text("nothing", style="yellow"),
        )
    return table


def validate(files: FilesOption) -> None:
    """Check manifests (clusters, workloads, placements) and show what they contain.

    Exit code 0 when everything is valid; 2 with one line per problem on stderr otherwise.
    """
    inventory = inventory_or_exit(files)
    console = Console(highlight=False)
    ready = sum(1 for c in inventory.fleet if c.ready)
    not_ready = len(inventory.fleet) - ready
    others = len(inventory.objects) - len(inventory.workloads)
    console.print(
        Text(
            f"valid: {len(inventory.fleet)} clusters ({ready} ready, {not_ready} not ready), "
            f"{len(inventory.workloads)} workloads, {len(inventory.placements)} placements, "
            f"{others} other objects"
        )
    )
    if len(inventory.fleet):
        console.print(_clusters_table(inventory))
    if inventory.placements:
        console.print(_placements_table(inventory))
    unselected = inventory.unselected()
    if unselected:
        console.print(
            Text(
                "selected by no placement (not placed): "
                + ", ".join(f"{w.kind}/{w.key}" for w in unselected),
                style="yellow",
            )
        )
