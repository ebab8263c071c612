"""Status: read every member's copy of an upstream workload and write their aggregate (tmc_core.sync
``aggregate``: counters summed, conditions merged, observedGeneration only when every copy caught up)
into the upstream object's status; polled every heartbeat interval."""

from __future__ import annotations

from tmc_core.sync import MemberStatus, aggregate, downstream_namespace
from tmc_kcp.controllers.context import Context
from tmc_kcp.workspaces import workspace_of
from tmc_kube import ObjectRef, Result, member_status

__all__ = ["reconcile_status"]


def reconcile_status(ctx: Context, key: str) -> Result | None:
    """Aggregate the member copies of the upstream workload under workspace key ``key``."""
    upstream = ctx.workloads.get(key)
    if upstream is None:
        return None
    meta = upstream.get("metadata") or {}
    if meta.get("deletionTimestamp"):
        return None
    decision = ctx.decision_for(upstream)
    if decision is None:
        return Result(requeue_after=ctx.heartbeat_interval)
    workspace = workspace_of(upstream)
    ref = ObjectRef(
        str(upstream.get("apiVersion")),
        str(upstream.get("kind")),
        downstream_namespace(workspace, meta.get("namespace", "")),
        str(meta.get("name")),
    )
    members = []
    for cluster in sorted(decision.replicas):
        port = ctx.members.port(cluster)
        if port is None:
            members.append(MemberStatus(cluster=cluster, manifest=None, reachable=False))
        else:
            members.append(member_status(port, cluster, ref))
    result = aggregate(upstream, members)
    if result.status != (upstream.get("status") or {}):
        ctx.hub.write_port(workspace).update_status({**upstream, "status": result.status})
    return Result(requeue_after=ctx.heartbeat_interval)
