"""``tmcctl place``: decide where every selected workload runs, and say why.

Without ``-f`` it places the bundled example fleet, so a newcomer sees a real answer at once.
Output: ``json`` (the contract's decision records), ``yaml`` (WorkloadPlacement objects with
``status.decisions``, ready to feed back for steady re-placement) or ``table``.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from tmc_core.errors import InvalidInput
from tmc_core.examples import example_inventory
from tmc_core.manifests import Inventory, decision_records, placements_yaml
from tmc_core.manifests.placements import sort_decisions
from tmc_core.model import Decision, Explanation
from tmc_core.placement.inventory import place_inventory
from tmc_core.solvers.bounds import certify as certify_solution
from tmc_core.solvers.catalog import SOLVER_NAMES, make_solver, solve_inventory
from tmc_core.solvers.explain import explain as explain_solution
from tmc_core.solvers.solution import Solution
from tmcctl.inputs import FilesOption, fail, inventory_or_exit

__all__ = ["place"]


class Output(StrEnum):
    """Output formats of ``tmcctl place``."""

    JSON = "json"
    YAML = "yaml"
    TABLE = "table"


def _explanation_record(e: Explanation) -> dict[str, Any]:
    return {
        "summary": e.summary(),
        "affinityTerm": e.affinity_term,
        "filtered": dict(sorted(e.filtered.items())),
        "scores": [
            {"cluster": s.cluster, "total": round(s.total, 3), "plugins": s.plugins} for s in e.scores
        ],
        "selected": list(e.selected),
        "shortfall": e.shortfall,
        "notes": list(e.notes),
    }


def _json(decisions: tuple[Decision, ...], explain: bool) -> str:
    ordered = sort_decisions(decisions)
    records = decision_records(ordered)
    if explain:
        # Records come in the same (contract) order as ``ordered``.
        for r, d in zip(records, ordered, strict=True):
            if d.explanation is not None:
                r["explanation"] = _explanation_record(d.explanation)
    return json.dumps(records, indent=2) + "\n"


def _clusters_text(d: Decision) -> Text:
    return Text("\n".join(f"{c.name}={c.replicas}" for c in d.clusters) or "-")


def _table(decisions: tuple[Decision, ...], explain: bool, console: Console) -> None:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title="Placement decisions", title_justify="left")
    table.add_column("workload", no_wrap=True)
    table.add_column("placement", no_wrap=True)
    table.add_column("clusters (replicas)", no_wrap=True)
    table.add_column("status", no_wrap=True)
    table.add_column("reason", overflow="fold", min_width=30)
    for d in decisions:
        ok = Text("placed", style="green") if d.schedulable else Text("UNSCHEDULABLE", style="bold red")
        table.add_row(Text(d.workload.key), Text(d.placement), _clusters_text(d), ok, Text(d.reason))
    console.print(table)
    if not explain:
        return
    for d in decisions:
        e = d.explanation
        if e is None:
            continue
        console.print(Text(f"\n{d.workload.kind} {d.workload.key}", style="bold"))
        line = e.summary()
        if e.affinity_term:
            line += f" (clusterAffinities group {e.affinity_term})"
        console.print(Text(f"  {line}"))
        for name, why in sorted(e.filtered.items()):
            console.print(Text(f"  - {name}: {why}"))
        if e.scores:
            scores = Table(box=box.MINIMAL, pad_edge=False, show_edge=False)
            scores.add_column("cluster", no_wrap=True)
            scores.add_column("total", justify="right")
            names = list(e.scores[0].plugins)
            for n in names:
                scores.add_column(n, justify="right")
            for s in e.scores:
                mark = "*" if s.cluster in e.selected else " "
                scores.add_row(
                    f"{mark}{s.cluster}", f"{s.total:.1f}", *(f"{s.plugins.get(n, 0.0):.1f}" for n in names)
                )
            console.print(scores)
        for note in (*e.notes, *([e.shortfall] if e.shortfall else [])):
            console.print(Text(f"  note: {note}"))


def _solver_line(solution: Solution) -> str:
    gap = "n/a" if solution.gap is None else f"{100 * solution.gap:.3f}%"
    bound = "none" if solution.bound is None else f"{solution.bound:.6g}"
    return (
        f"solver {solution.solver}: {solution.status}, objective {solution.objective:.6g}, "
        f"bound {bound}, gap {gap}, {solution.seconds:.2f}s"
    )


def _solver_record(solution: Solution) -> dict[str, Any]:
    return {
        "name": solution.solver,
        "status": solution.status,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "seconds": round(solution.seconds, 3),
        "notes": list(solution.reasons),
    }


def place(
    files: FilesOption = [],  # noqa: B006 - typer reads the default, it is never mutated
    output: Annotated[
        Output,
        typer.Option(
            "--output", "-o", help="json (decision records), yaml (placements with status) or table."
        ),
    ] = Output.TABLE,
    explain: Annotated[
        bool, typer.Option("--explain", help="Say why each cluster was filtered out and how the rest scored.")
    ] = False,
    solver: Annotated[
        str | None,
        typer.Option(
            "--solver",
            help=f"Place the whole batch with a solver ({', '.join(SOLVER_NAMES)}) and report its gap; "
            "without it, the greedy engine places workloads one by one.",
        ),
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", min=0.1, help="Seconds a solver may search (optimal).")
    ] = None,
    certify: Annotated[
        bool,
        typer.Option(
            "--certify/--no-certify",
            help="With --solver: when the solver proves no bound of its own (greedy, flow with pruning or "
            "greedy-placed workloads), bound its answer by the LP relaxation so the gap is certified.",
        ),
    ] = True,
) -> None:
    """Place every workload a WorkloadPlacement selects (the bundled example fleet without -f)."""
    inventory: Inventory = inventory_or_exit(files) if files else example_inventory()
    solution: Solution | None = None
    if solver is None:
        decisions = place_inventory(inventory, explain=explain)
    else:
        try:
            chosen = make_solver(solver, time_limit=time_limit)
        except InvalidInput as err:
            fail([f"--solver: {err.problem}"])
        solution = solve_inventory(inventory, chosen)
        if certify and solution.bound is None:
            solution = certify_solution(solution)
        decisions = tuple(sort_decisions(explain_solution(solution) if explain else solution.decisions()))
        if output is not Output.TABLE:
            typer.echo(_solver_line(solution), err=True)
    if output is Output.JSON:
        text = _json(decisions, explain)
        if solution is not None:
            records = json.loads(text)
            for r in records:
                r["solver"] = _solver_record(solution)
            text = json.dumps(records, indent=2) + "\n"
        typer.echo(text, nl=False)
    elif output is Output.YAML:
        typer.echo(placements_yaml(inventory.placements, decisions), nl=False)
    else:
        console = Console(soft_wrap=False)
        if not console.is_terminal:
            console = Console(soft_wrap=False, width=max(console.width, 140))
        _table(decisions, explain, console)
        if solution is not None:
            console.print(Text(_solver_line(solution)))
