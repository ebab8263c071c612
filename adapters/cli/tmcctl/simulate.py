"""``tmcctl simulate``: run a scenario with one or more policies under test and report the metrics.

``--scenario`` and ``--policy`` take a YAML file or a built-in name; ``-f`` starts from manifests
instead of the scenario's generators. Output: ``table`` (one column per policy) or ``json`` (the
whole-run figures and the per-sample series of each run). A progress bar on stderr follows the
simulated clock when stderr is a terminal.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from tmc_core.errors import InvalidInput
from tmc_core.manifests import Inventory
from tmc_core.simulate import (
    POLICY_NAMES,
    SCENARIO_NAMES,
    Comparison,
    PolicyUnderTest,
    Scenario,
    builtin_scenario,
    load_policy,
    load_scenario,
    named_policy,
)
from tmc_core.simulate import (
    simulate as run_simulation,
)
from tmc_core.simulate.engine import Progress as ProgressCallback
from tmc_core.solvers.catalog import SOLVER_NAMES
from tmcctl.inputs import FilesOption, fail, inventory_or_exit, read_sources

__all__ = ["simulate"]


class Output(StrEnum):
    """Output formats of ``tmcctl simulate``."""

    JSON = "json"
    TABLE = "table"


def _looks_like_file(value: str) -> bool:
    return Path(value).suffix in (".yaml", ".yml", ".json") or "/" in value or Path(value).exists()


def _text_of(value: str, what: str) -> tuple[str, str]:
    """(source name, text) of a file argument, or exit 2 with the reason."""
    sources, problems = read_sources([value])
    if problems:
        fail([f"--{what}: {p}" for p in problems])
    return sources[0]


def _scenario(value: str) -> Scenario:
    try:
        if _looks_like_file(value):
            source, text = _text_of(value, "scenario")
            return load_scenario(text, source=source)
        return builtin_scenario(value)
    except InvalidInput as err:
        fail([str(err) if err.source else f"--scenario: {err.problem}"])


def _policy(value: str, solver: str | None) -> PolicyUnderTest:
    try:
        if _looks_like_file(value):
            source, text = _text_of(value, "policy")
            policy = load_policy(text, source=source, name=Path(value).stem)
        else:
            policy = named_policy(value)
        if solver is not None and policy.solver is None:
            policy = PolicyUnderTest(policy.name, policy.placement, solver, policy.time_limit)
    except InvalidInput as err:
        fail([str(err) if err.source else f"--policy: {err.problem}"])
    return policy


def _plain(value: Any) -> Any:
    """JSON-safe numbers: NaN and infinities become null, numpy scalars plain Python."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json(comparison: Comparison) -> str:
    sc = comparison.scenario
    runs = []
    for name, result in zip(comparison.names, comparison.results, strict=True):
        series = {k: [_plain(x) for x in v.tolist()] for k, v in result.metrics.series().items()}
        runs.append(
            {
                "policy": name,
                "solver": result.trace.solver,
                "summary": {k: _plain(v) for k, v in result.metrics.summary().items()},
                "series": series,
            }
        )
    doc = {
        "scenario": {
            "name": sc.name,
            "seed": sc.seed,
            "duration": sc.duration,
            "step": sc.step,
            "clusters": sc.fleet.clusters,
            "workloads": sc.workloads.count,
        },
        "runs": runs,
    }
    return json.dumps(doc, indent=2, allow_nan=False) + "\n"


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if not math.isfinite(value):
            return "-"
        return f"{value:.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _table(comparison: Comparison, console: Console) -> None:
    sc = comparison.scenario
    title = f"Scenario {sc.name} (seed {sc.seed}, {sc.duration:g}s simulated)"
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title, title_justify="left")
    table.add_column("metric", no_wrap=True)
    for name in comparison.names:
        table.add_column(name, justify="right", no_wrap=True)
    for row in comparison.table():
        table.add_row(Text(row["metric"]), *(Text(_cell(row[n])) for n in comparison.names))
    console.print(table)
    if sc.description:
        console.print(Text(sc.description))


@contextmanager
def _progress(enabled: bool, runs: int) -> Iterator[list[ProgressCallback | None]]:
    """Progress callbacks, one per run (``None`` when there is no terminal to draw on)."""
    if not enabled:
        yield [None] * runs
        return
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}% of simulated time"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        callbacks: list[ProgressCallback | None] = []
        for k in range(runs):
            task = bar.add_task(f"run {k + 1}/{runs}", total=1.0)

            def advance(t: float, duration: float, task: Any = task) -> None:
                bar.update(task, completed=t / duration if duration else 1.0)

            callbacks.append(advance)
        yield callbacks


def simulate(
    scenario: Annotated[
        str,
        typer.Option(
            "--scenario",
            "-s",
            metavar="FILE|NAME",
            help=f"A scenario YAML file or a built-in: {', '.join(SCENARIO_NAMES)}.",
        ),
    ] = "steady",
    policies: Annotated[
        list[str],
        typer.Option(
            "--policy",
            "-p",
            metavar="FILE|NAME",
            help=f"A policy YAML file or a named policy ({', '.join(POLICY_NAMES)}); repeat to compare "
            "several on the same scenario. Default: the scenario's own policies.",
            show_default=False,
        ),
    ] = [],  # noqa: B006 - typer reads the default, it is never mutated
    files: FilesOption = [],  # noqa: B006
    solver: Annotated[
        str | None,
        typer.Option(
            "--solver",
            help=f"Place with a batch solver ({', '.join(SOLVER_NAMES)}) where a policy names none; "
            "default: the greedy engine.",
        ),
    ] = None,
    clusters: Annotated[
        int | None, typer.Option("--clusters", min=1, help="Override the scenario's fleet size.")
    ] = None,
    workloads: Annotated[
        int | None, typer.Option("--workloads", min=0, help="Override the scenario's workload count.")
    ] = None,
    output: Annotated[
        Output, typer.Option("--output", "-o", help="table (one column per policy) or json.")
    ] = Output.TABLE,
) -> None:
    """Simulate a fleet that moves (failures, drains, scaling, arrivals) under placement policies."""
    if solver is not None and solver not in SOLVER_NAMES:
        fail([f"--solver: unknown solver {solver!r}: expected one of {', '.join(SOLVER_NAMES)}"])
    sc = _scenario(scenario)
    if clusters is not None or workloads is not None:
        sc = sc.scaled(clusters=clusters, workloads=workloads)
    chosen = [_policy(p, solver) for p in policies] or [_policy("scenario", solver)]
    inventory: Inventory | None = inventory_or_exit(files) if files else None
    show = Console(stderr=True).is_terminal
    with _progress(show, len(chosen)) as callbacks:
        try:
            results = tuple(
                run_simulation(sc, p, inventory=inventory, progress=cb)
                for p, cb in zip(chosen, callbacks, strict=True)
            )
        except InvalidInput as err:
            fail([str(err)])
    comparison = Comparison(sc, results)
    if output is Output.JSON:
        typer.echo(_json(comparison), nl=False)
    else:
        console = Console(soft_wrap=False)
        if not console.is_terminal:
            console = Console(soft_wrap=False, width=max(console.width, 120))
        _table(comparison, console)
