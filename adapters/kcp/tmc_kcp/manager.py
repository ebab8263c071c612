"""Wires the hub informers to the four controllers: which change enqueues which key.

* a ClusterRegistration: its own heartbeat key; placement when its spec, capacity or readiness moved;
* a WorkloadPlacement: placement; sync and status of the workloads its decisions name;
* a Deployment: its sync and status keys; placement when it appeared, went, or its spec changed.

``start`` runs informers and controllers on threads; ``settle`` drives the queues on the caller's
thread until nothing is left to do now, which is how the fast tests step through a scenario.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tmc_core.manifests.inventory import TMC_GROUP, TMC_VERSION
from tmc_kcp.controllers import (
    PLACEMENT_KEY,
    Context,
    reconcile_placements,
    reconcile_registration,
    reconcile_status,
    reconcile_sync,
)
from tmc_kcp.members import Members
from tmc_kcp.metrics import Metrics
from tmc_kcp.workspaces import Hub, workspace_key, workspace_of
from tmc_kube import Controller, Result

__all__ = ["Manager"]

log = logging.getLogger("tmc_kcp.manager")

Manifest = dict[str, Any]
TMC_API = f"{TMC_GROUP}/{TMC_VERSION}"


def _now() -> datetime:
    return datetime.now(UTC)


def _capacity_view(obj: Manifest | None) -> Any:
    """What placement reads of a registration: spec, capacity and condition statuses (not heartbeats)."""
    if obj is None:
        return None
    status = obj.get("status") or {}
    conditions = sorted((c.get("type"), c.get("status")) for c in status.get("conditions") or ())
    labels = (obj.get("metadata") or {}).get("labels")
    return (obj.get("spec"), labels, status.get("allocatable"), status.get("allocated"), conditions)


def _generation(obj: Manifest | None) -> Any:
    return ((obj or {}).get("metadata") or {}).get("generation"), (obj or {}).get("spec")


def _decided(obj: Manifest | None) -> set[tuple[str, str, str]]:
    """(namespace, name, kind) of every workload a placement's status decides."""
    if obj is None:
        return set()
    out = set()
    for record in (obj.get("status") or {}).get("decisions") or ():
        w = record.get("workload") or {}
        out.add((str(w.get("namespace", "")), str(w.get("name", "")), str(w.get("kind", ""))))
    return out


class Manager:
    """The controllers of one tmc-controller process over one hub and its members."""

    def __init__(
        self,
        hub: Hub,
        members: Members,
        *,
        metrics: Metrics | None = None,
        clock: Callable[[], datetime] = _now,
        concurrency: int = 4,
        grace_period: float = 60.0,
        heartbeat_interval: float = 20.0,
        resync_period: float = 300.0,
        solver: str = "greedy",
        solver_time_limit: float = 10.0,
        fleet_workspace: str | None = None,
    ) -> None:
        self.metrics = metrics or Metrics()
        self.ctx = Context(
            hub=hub,
            members=members,
            registrations=hub.informer(TMC_API, "ClusterRegistration"),
            placements=hub.informer(TMC_API, "WorkloadPlacement"),
            workloads=hub.informer("apps/v1", "Deployment"),
            metrics=self.metrics,
            clock=clock,
            grace_period=grace_period,
            heartbeat_interval=heartbeat_interval,
            resync_period=resync_period,
            solver=solver,
            solver_time_limit=solver_time_limit,
            fleet_workspace=fleet_workspace,
        )
        ctx = self.ctx
        self.controllers: dict[str, Controller[str]] = {
            "registration": self._controller("registration", reconcile_registration, concurrency),
            "placement": self._controller("placement", reconcile_placements, 1),
            "sync": self._controller("sync", reconcile_sync, concurrency),
            "status": self._controller("status", reconcile_status, concurrency),
        }
        ctx.registrations.add_handler(self._on_registration)
        ctx.placements.add_handler(self._on_placement)
        ctx.workloads.add_handler(self._on_workload)
        self._stop = threading.Event()
        self.ready = threading.Event()
        """Set once the caches synced and the controllers run (this replica leads)."""

    def _controller(
        self, name: str, reconcile: Callable[[Context, str], Result | None], workers: int
    ) -> Controller[str]:
        gauge = self.metrics.queue_depth.labels(name)
        controller: Controller[str]

        def run(key: str) -> Result | None:
            try:
                return reconcile(self.ctx, key)
            finally:
                gauge.set(len(controller.queue))

        controller = Controller(run, name=name, workers=workers)
        return controller

    # -- event routing ----------------------------------------------------------------------------

    def _enqueue(self, controller: str, key: str) -> None:
        self.controllers[controller].enqueue(key)
        self.metrics.queue_depth.labels(controller).set(len(self.controllers[controller].queue))

    def _on_registration(self, kind: str, obj: Manifest, prev: Manifest | None) -> None:
        if not self.ctx.in_fleet(obj):
            return
        # Its own status writes come back as MODIFIED: only a new object or a spec edit is probed at
        # once, heartbeats come from the requeue (else every write would trigger the next).
        if kind == "ADDED" or _generation(obj) != _generation(prev):
            self._enqueue("registration", workspace_key(obj))
        if kind != "MODIFIED" or _capacity_view(obj) != _capacity_view(prev):
            self._enqueue("placement", PLACEMENT_KEY)

    def _on_placement(self, kind: str, obj: Manifest, prev: Manifest | None) -> None:
        if kind != "MODIFIED" or (obj.get("spec"), obj.get("metadata", {}).get("generation")) != (
            (prev or {}).get("spec"),
            (prev or {}).get("metadata", {}).get("generation"),
        ):
            self._enqueue("placement", PLACEMENT_KEY)
        workspace = workspace_of(obj)
        for namespace, name, _kind in _decided(obj) | _decided(prev):
            key = f"{namespace}/{name}" if namespace else name
            key = f"{workspace}|{key}" if workspace else key
            self._enqueue("sync", key)
            self._enqueue("status", key)

    def _on_workload(self, kind: str, obj: Manifest, prev: Manifest | None) -> None:
        key = workspace_key(obj)
        self._enqueue("sync", key)
        if kind != "DELETED":
            self._enqueue("status", key)
        meta, before = obj.get("metadata") or {}, (prev or {}).get("metadata") or {}
        changed = (obj.get("spec"), meta.get("labels"), meta.get("deletionTimestamp")) != (
            (prev or {}).get("spec"),
            before.get("labels"),
            before.get("deletionTimestamp"),
        )
        if kind != "MODIFIED" or changed:
            self._enqueue("placement", PLACEMENT_KEY)

    # -- running ----------------------------------------------------------------------------------

    def informers(self) -> tuple[Any, ...]:
        return (self.ctx.registrations, self.ctx.placements, self.ctx.workloads)

    def start_informers(self, timeout: float | None = 30.0) -> bool:
        """Start the hub informers; True once every cache holds its first list."""
        for informer in self.informers():
            informer.start()
        return all(i.wait_for_sync(timeout) for i in self.informers())

    def run_controllers(self, stop: threading.Event) -> None:
        """Run the controllers until ``stop`` (the leading term of this replica)."""
        for c in self.controllers.values():
            c.start()
        self.ready.set()
        stop.wait()
        self.ready.clear()
        for c in self.controllers.values():
            c.stop()

    def settle(self, quiet: float = 0.3, limit: float = 30.0) -> int:
        """Process queued keys on this thread until no queue has had work for ``quiet`` seconds
        (events reach the queues from the informer threads); delayed requeues are left for later.
        Returns how many reconciles ran. For tests and single-pass runs."""
        ran, idle_since, started = 0, time.monotonic(), time.monotonic()
        while time.monotonic() - started < limit:
            busy = False
            for c in self.controllers.values():
                if len(c.queue) and c.process_one(timeout=1.0):
                    busy, ran = True, ran + 1
            now = time.monotonic()
            if busy:
                idle_since = now
            elif now - idle_since >= quiet:
                return ran
            else:
                time.sleep(0.01)
        raise RuntimeError(f"controllers did not settle within {limit} s")

    def stop(self) -> None:
        self._stop.set()
        for informer in self.informers():
            informer.stop()
