"""Cluster registration: probe each member (capacity from its Nodes and Pods via tmc_kube, readiness
from /readyz), write ``status`` (allocatable, allocated, Ready / Unreachable / Cordoned), and come
back every heartbeat interval. An unreachable member keeps its last known capacity."""

from __future__ import annotations

import logging
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests import cluster_from_manifest
from tmc_kcp.controllers.context import Context, describe
from tmc_kcp.health import registration_conditions
from tmc_kcp.workspaces import workspace_of
from tmc_kube import KubeError, Result, discover_cluster

__all__ = ["reconcile_registration", "registration_status"]

log = logging.getLogger("tmc_kcp.controllers.registration")


def registration_status(ctx: Context, obj: dict[str, Any]) -> dict[str, Any]:
    """The status a heartbeat at ``ctx.clock()`` gives this registration (does the probing)."""
    cluster = cluster_from_manifest(obj)
    now = ctx.clock()
    port = ctx.members.port(cluster.name)
    error, ready, message = "", False, ""
    probed = cluster
    if port is None:
        error = "no credentials for this cluster"
    else:
        try:
            probed = discover_cluster(port, cluster.name, now=now, base=cluster)
            ready_condition = next(c for c in probed.conditions if c.type == "Ready")
            ready, message = ready_condition.status == "True", ready_condition.message
        except KubeError as err:
            error = str(err).splitlines()[0] if str(err) else type(err).__name__
    conditions = registration_conditions(
        cluster, probe_error=error, probed_ready=ready, probe_message=message, now=now
    )
    status: dict[str, Any] = dict(obj.get("status") or {})
    if not error:
        status["allocatable"] = probed.allocatable.to_dict()
        status["allocated"] = probed.allocated.to_dict()
    status["conditions"] = [c.dump() for c in conditions]
    return status


def reconcile_registration(ctx: Context, key: str) -> Result | None:
    """Heartbeat one ClusterRegistration (``key``: its workspace key)."""
    obj = ctx.registrations.get(key)
    if obj is None:
        ctx.metrics.forget_cluster(key.rsplit("|", 1)[-1])
        return None
    if not ctx.in_fleet(obj):  # another workspace's: neither probed nor written to
        log.debug("%s: outside the fleet workspace %r; ignored", describe(obj), ctx.fleet_workspace)
        return None
    name = (obj.get("metadata") or {}).get("name", "")
    try:
        status = registration_status(ctx, obj)
    except InvalidInput as err:
        log.warning("%s: %s", describe(obj), err)
        ctx.metrics.sync_errors.labels("registration", name).inc()
        return Result(requeue_after=ctx.resync_period)
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in status["conditions"])
    ctx.metrics.cluster_ready.labels(name).set(1 if ready else 0)
    if status != (obj.get("status") or {}):
        body = {**obj, "status": status}
        ctx.hub.write_port(workspace_of(obj)).update_status(body)
    return Result(requeue_after=ctx.heartbeat_interval)
