"""Workload placement: every WorkloadPlacement of every workspace, placed in one batch against the
shared fleet with the configured solver, and ``status.decisions`` (with explanations) written where
they changed. The current decisions are the steady input: an unchanged world keeps them, a scale-up
places only the increase, an evicted cluster's replicas go elsewhere (tmc_core's semantics).

Workspaces are separate inventories (a placement selects workloads of its own workspace only); the
fleet is shared. There is one key, :data:`PLACEMENT_KEY`: any change re-runs the batch.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests import Inventory, is_workload, workload_from_manifest
from tmc_core.manifests.placements import sort_decisions
from tmc_core.model import Decision, Fleet, Workload, WorkloadPlacement
from tmc_core.placement import place_batch
from tmc_core.placement.inventory import inventory_tasks
from tmc_core.placement.task import PlacementTask
from tmc_core.solvers.catalog import make_solver
from tmc_core.solvers.explain import explain
from tmc_core.solvers.problem import Problem
from tmc_kcp.controllers.context import Context, describe
from tmc_kcp.health import evicted, unreachable_since
from tmc_kcp.workspaces import workspace_of
from tmc_kube import Result

__all__ = ["PLACEMENT_KEY", "decide", "placement_status", "reconcile_placements"]

log = logging.getLogger("tmc_kcp.controllers.placement")

PLACEMENT_KEY = "placements"


def decide(fleet: Fleet, tasks: Sequence[PlacementTask], solver: str, time_limit: float) -> list[Decision]:
    """Decisions for ``tasks`` in task order. The greedy solver is the placement engine itself and
    explains every decision; the others' decisions get the engine's filters and scores at the batch's
    starting capacity plus a note with the solver's status and gap (``tmc_core.solvers.explain``)."""
    if not tasks:
        return []
    if solver == "greedy":
        return list(place_batch(fleet, tasks, explain=True))
    solution = make_solver(solver, time_limit=time_limit).solve(Problem.build(fleet, tasks))
    by_ref = {d.workload: d for d in explain(solution)}
    out = []
    for task in tasks:
        d = by_ref[task.workload.ref]
        e = d.explanation
        if e is not None and solution.reasons:
            d = d.model_copy(
                update={"explanation": e.model_copy(update={"notes": (*e.notes, *solution.reasons)})}
            )
        out.append(d)
    return out


def placement_status(placement: WorkloadPlacement, decisions: Iterable[Decision]) -> dict[str, Any]:
    """``status`` of a WorkloadPlacement: the decision records with their explanations, sorted as the
    output contract sorts them, and the fingerprint of the policy they were made under."""
    records = []
    for d in sort_decisions(decisions):
        record = d.to_record()
        if d.explanation is not None:
            record["explanation"] = d.explanation.dump()
        records.append(record)
    return {"decisions": records, "observedPlacement": placement.placement.fingerprint()}


def _workloads(ctx: Context) -> dict[str, list[Workload]]:
    by_workspace: dict[str, list[Workload]] = {}
    for obj in ctx.workloads.list():
        if not is_workload(obj) or (obj.get("metadata") or {}).get("deletionTimestamp"):
            continue
        try:
            w = workload_from_manifest(obj)
        except InvalidInput as err:
            log.warning("%s: %s", describe(obj), err)
            continue
        by_workspace.setdefault(workspace_of(obj), []).append(w)
    return by_workspace


def reconcile_placements(ctx: Context, key: str = PLACEMENT_KEY) -> Result | None:
    """Place everything and write the decisions that changed."""
    fleet = ctx.fleet()
    workloads = _workloads(ctx)
    tasks: list[PlacementTask] = []
    owners: list[tuple[WorkloadPlacement, dict[str, Any]]] = []
    workspaces = {workspace_of(o) for o in ctx.placements.list()}
    for workspace in sorted(workspaces):
        placed = ctx.placements_of(workspace)
        try:
            inventory = Inventory(
                fleet=fleet,
                workloads=tuple(workloads.get(workspace, ())),
                placements=tuple(p for p, _ in placed),
            )
        except InvalidInput as err:  # a workload selected by two placements
            log.warning("workspace %r: %s", workspace, err)
            ctx.metrics.sync_errors.labels("placement", "").inc()
            continue
        tasks.extend(inventory_tasks(inventory))
        owners.extend(placed)
    started = time.perf_counter()
    decisions = decide(fleet, tasks, ctx.solver, ctx.solver_time_limit)
    ctx.metrics.placement_seconds.labels(ctx.solver).observe(time.perf_counter() - started)
    by_placement: dict[tuple[str, str], list[Decision]] = {}
    for task, d in zip(tasks, decisions, strict=True):
        by_placement.setdefault((task.workload.workspace, task.placement), []).append(d)
    for placement, obj in owners:
        mine = by_placement.get((workspace_of(obj), placement.key), [])
        status = placement_status(placement, mine)
        if status == (obj.get("status") or {}):
            continue
        ctx.hub.write_port(workspace_of(obj)).update_status({**obj, "status": status})
        for d in mine:
            ctx.metrics.decisions.labels(ctx.solver, str(d.schedulable).lower()).inc()
    return Result(requeue_after=_next_run(ctx))


def _next_run(ctx: Context) -> float:
    """The resync period, or sooner: when an unreachable cluster's grace period ends, since nothing
    else changes at that moment that would trigger a re-placement."""
    now = ctx.clock()
    waits = [ctx.resync_period]
    for cluster, _ in ctx.clusters():
        since = unreachable_since(cluster)
        if since is not None and not evicted(cluster, now=now, grace_period=ctx.grace_period):
            waits.append(ctx.grace_period - (now - since).total_seconds() + 0.5)
    return max(0.5, min(waits))
