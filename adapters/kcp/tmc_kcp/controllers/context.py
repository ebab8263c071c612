"""What every controller reads and writes through: the hub caches and ports, the members, the clock,
the settings and the metrics; plus the views they share (the fleet, a workload's decision)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests import cluster_from_manifest, placement_from_manifest
from tmc_core.model import Cluster, Decision, Fleet, WorkloadPlacement
from tmc_kcp.health import evicted
from tmc_kcp.members import Members
from tmc_kcp.metrics import Metrics
from tmc_kcp.workspaces import Hub, WorkspaceInformer, workspace_key, workspace_of

__all__ = ["Context", "describe"]

log = logging.getLogger("tmc_kcp.controllers")

Manifest = dict[str, Any]


def describe(obj: Manifest) -> str:
    """``Kind ws|ns/name`` for log lines."""
    return f"{obj.get('kind', '?')} {workspace_key(obj)}"


@dataclass
class Context:
    """Shared state of one controller process (see module docstring)."""

    hub: Hub
    members: Members
    registrations: WorkspaceInformer
    placements: WorkspaceInformer
    workloads: WorkspaceInformer
    metrics: Metrics
    clock: Callable[[], datetime]
    grace_period: float = 60.0
    heartbeat_interval: float = 20.0
    resync_period: float = 300.0
    solver: str = "greedy"
    solver_time_limit: float = 10.0
    fleet_workspace: str | None = None
    """On kcp, the logical cluster whose ClusterRegistrations form the fleet (None: every workspace).
    Without it any workspace bound to the export could add clusters to everyone's fleet."""
    _parsed: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)
    _parsed_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _parse(self, obj: Manifest, reader: Callable[[Manifest], Any]) -> Any:
        """``reader(obj)``, remembered per object and resourceVersion: every sync and status
        reconcile reads all placements, and parsing them each time made a batch quadratic."""
        meta = obj.get("metadata") or {}
        key = (str(obj.get("kind")), workspace_key(obj), str(meta.get("resourceVersion", "")))
        with self._parsed_lock:
            if key in self._parsed:
                found = self._parsed[key]
                if isinstance(found, InvalidInput):
                    raise found
                return found
        try:
            value = reader(obj)
        except InvalidInput as err:
            value = err
        with self._parsed_lock:
            if len(self._parsed) > 100_000:
                self._parsed.clear()
            self._parsed[key] = value
        if isinstance(value, InvalidInput):
            raise value
        return value

    def in_fleet(self, registration: Manifest) -> bool:
        """Whether a ClusterRegistration counts: it lives in the fleet workspace (when one is set)."""
        return self.fleet_workspace is None or workspace_of(registration) == self.fleet_workspace

    def clusters(self) -> list[tuple[Cluster, Manifest]]:
        """Every readable ClusterRegistration of the fleet workspace (of every workspace when none is
        set; then the first of equal names, by workspace, wins, since member names are the fleet's
        identity). Unreadable ones are logged and left out."""
        seen: set[str] = set()
        out: list[tuple[Cluster, Manifest]] = []
        for obj in self.registrations.list():
            if not self.in_fleet(obj):
                continue
            try:
                cluster = self._parse(obj, cluster_from_manifest)
            except InvalidInput as err:
                log.warning("%s: %s", describe(obj), err)
                continue
            if cluster.name in seen:
                log.warning("%s: a cluster of that name is already registered; ignored", describe(obj))
                continue
            seen.add(cluster.name)
            out.append((cluster, obj))
        return out

    def fleet(self, now: datetime | None = None) -> Fleet:
        """The clusters placement may use: every registered cluster that is not evicted (drained, or
        unreachable for longer than the grace period)."""
        now = now or self.clock()
        return Fleet(
            clusters=tuple(
                c for c, _ in self.clusters() if not evicted(c, now=now, grace_period=self.grace_period)
            )
        )

    def placements_of(self, workspace: str) -> list[tuple[WorkloadPlacement, Manifest]]:
        """The readable WorkloadPlacements of one workspace."""
        out: list[tuple[WorkloadPlacement, Manifest]] = []
        for obj in self.placements.list():
            if workspace_of(obj) != workspace:
                continue
            try:
                out.append((self._parse(obj, placement_from_manifest), obj))
            except InvalidInput as err:
                log.warning("%s: %s", describe(obj), err)
        return out

    def decision_for(self, workload: Manifest) -> Decision | None:
        """The current decision for an upstream workload: the one its placement's status records."""
        workspace = workspace_of(workload)
        meta = workload.get("metadata") or {}
        ident = (
            workload.get("apiVersion"),
            workload.get("kind"),
            meta.get("namespace", ""),
            meta.get("name"),
        )
        for placement, _ in self.placements_of(workspace):
            for d in placement.decisions:
                w = d.workload
                if (w.api_version, w.kind, w.namespace, w.name) == ident:
                    return d
        return None
