"""Sync: make the members hold what the decision says for one upstream workload (render, plan, apply
with tmc_core.sync and tmc_kube), keep the ``tmc.kcp.io/sync`` finalizer on the upstream object while
any member may hold a copy, and on deletion remove every copy, then the downstream namespace when
nothing of ours is left in it, then the finalizer.

Members that cannot be read are skipped and retried; an evicted member (unreachable past the grace
period, or drained) is not waited for.
"""

from __future__ import annotations

import logging
from typing import Any

from tmc_core.sync import FINALIZER, downstream_namespace, owner_value, plan, render
from tmc_core.sync.manifests import key_of
from tmc_core.sync.ownership import MANAGED_BY_LABEL, OWNER_LABEL, is_owned
from tmc_kcp.controllers.context import Context, describe
from tmc_kcp.workspaces import workspace_of
from tmc_kube import Applier, KubeError, KubePort, NotFound, ObjectRef, Result

__all__ = ["reconcile_sync"]

log = logging.getLogger("tmc_kcp.controllers.sync")

Manifest = dict[str, Any]


def _set_finalizer(ctx: Context, obj: Manifest, present: bool) -> None:
    meta = dict(obj.get("metadata") or {})
    finalizers = [f for f in meta.get("finalizers") or () if f != FINALIZER]
    if present:
        finalizers.append(FINALIZER)
    if finalizers == list(meta.get("finalizers") or ()):
        return
    meta["finalizers"] = finalizers
    ctx.hub.write_port(workspace_of(obj)).update({**obj, "metadata": meta})


def _namespace_if_ours(port: KubePort, name: str) -> Manifest | None:
    try:
        ns = port.get(ObjectRef("v1", "Namespace", "", name))
    except NotFound:
        return None
    return ns if is_owned(ns) else None


def _clean_namespace(port: KubePort, name: str) -> None:
    """Delete the downstream namespace when it is ours and holds no workload of ours any more."""
    ns = _namespace_if_ours(port, name)
    if ns is None or (ns.get("metadata") or {}).get("deletionTimestamp"):
        return
    left = port.list("apps/v1", "Deployment", namespace=name, label_selector=f"{MANAGED_BY_LABEL}=tmc").items
    if not left:
        Applier(port).delete(ObjectRef("v1", "Namespace", "", name))


def reconcile_sync(ctx: Context, key: str) -> Result | None:
    """Bring the members in line for the upstream workload under workspace key ``key``."""
    upstream = ctx.workloads.get(key)
    if upstream is None:
        return None
    workspace = workspace_of(upstream)
    meta = upstream.get("metadata") or {}
    deleting = bool(meta.get("deletionTimestamp"))
    decision = None if deleting else ctx.decision_for(upstream)
    targets = decision.replicas if decision is not None else {}
    owner = owner_value(workspace, key_of(upstream))
    namespace = downstream_namespace(workspace, meta.get("namespace", ""))
    fleet_names = set(ctx.fleet().names)
    registered = {c.name for c, _ in ctx.clusters()}
    if not deleting and targets:
        _set_finalizer(ctx, upstream, True)
    pending, failed = False, False
    for cluster in sorted(registered):
        port = ctx.members.port(cluster)
        if port is None:
            continue
        want = decision is not None and cluster in targets
        try:
            observed = port.list("apps/v1", "Deployment", label_selector=f"{OWNER_LABEL}={owner}").items
            desired: list[Manifest] = []
            if want and decision is not None:
                desired = render(upstream, decision, cluster, workspace=workspace)
                ours = _namespace_if_ours(port, namespace)
                if ours is not None:
                    observed = [ours, *observed]
            actions = plan({cluster: desired}, {cluster: observed}).actions
            for result in Applier(port).execute_all(actions):
                if result.outcome == "failed":
                    failed = True
                    ctx.metrics.sync_errors.labels("sync", cluster).inc()
                    log.warning(
                        "%s on %s: %s failed: %s", describe(upstream), cluster, result.action, result.error
                    )
            if not want:
                still = port.list("apps/v1", "Deployment", label_selector=f"{OWNER_LABEL}={owner}").items
                if still:
                    pending = True
                elif deleting:
                    _clean_namespace(port, namespace)
        except KubeError as err:
            if cluster in fleet_names:  # reachable members must be cleaned before the finalizer goes
                pending = True
            failed = True
            ctx.metrics.sync_errors.labels("sync", cluster).inc()
            log.info("%s: member %s not synced: %s", describe(upstream), cluster, err)
    if deleting and not pending:
        _set_finalizer(ctx, upstream, False)
        return None
    if failed or pending:
        return Result(requeue_after=min(ctx.heartbeat_interval, 5.0))
    return Result(requeue_after=ctx.resync_period)
