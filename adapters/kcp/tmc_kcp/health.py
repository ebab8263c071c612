"""Registrations as placement sees them: conditions Ready / Unreachable / Cordoned, cordon and evict.

Pure functions over ``tmc_core`` values and manifests; time is an argument. A cluster is *cordoned*
by the taint ``tmc.kcp.io/cordoned:NoSchedule`` (no new replicas; what runs there stays) and *drained*
by ``tmc.kcp.io/cordoned:NoExecute`` (its replicas move now). An unreachable cluster keeps its replicas
for the grace period, then counts as evicted: it leaves the fleet, so its replicas are placed elsewhere.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from tmc_core.model import Cluster, Condition, Taint

__all__ = [
    "CORDON_KEY",
    "cordon",
    "drain",
    "evicted",
    "registration_conditions",
    "unreachable_since",
]

CORDON_KEY = "tmc.kcp.io/cordoned"


def _with_taint(manifest: Mapping[str, Any], effect: str, on: bool) -> dict[str, Any]:
    out = copy.deepcopy(dict(manifest))
    spec = out.setdefault("spec", {})
    taints = [
        t for t in spec.get("taints") or () if not (t.get("key") == CORDON_KEY and t.get("effect") == effect)
    ]
    if on:
        taints.append({"key": CORDON_KEY, "effect": effect})
    if taints:
        spec["taints"] = taints
    else:
        spec.pop("taints", None)
    return out


def cordon(manifest: Mapping[str, Any], on: bool = True) -> dict[str, Any]:
    """The ClusterRegistration with (or without) the cordon taint: no new replicas go there."""
    return _with_taint(manifest, "NoSchedule", on)


def drain(manifest: Mapping[str, Any], on: bool = True) -> dict[str, Any]:
    """The ClusterRegistration with (or without) the drain taint: its replicas are placed elsewhere."""
    return _with_taint(cordon(manifest, on), "NoExecute", on)


def _condition(
    previous: Mapping[str, Condition], kind: str, status: str, reason: str, message: str, now: datetime
) -> Condition:
    before = previous.get(kind)
    since = before.last_transition_time if before is not None and before.status == status else None
    return Condition(
        type=kind,
        status=status,
        reason=reason,
        message=message,
        last_transition_time=since or now,
        last_heartbeat_time=now,
    )


def registration_conditions(
    cluster: Cluster, *, probe_error: str, probed_ready: bool, probe_message: str, now: datetime
) -> tuple[Condition, ...]:
    """Ready, Unreachable and Cordoned for a heartbeat at ``now``; each keeps its
    lastTransitionTime while its status does not change (that is what the grace period counts from).

    ``probe_error`` is why the member could not be read ("" when it was); ``probed_ready`` and
    ``probe_message`` are its /readyz answer when it was.
    """
    previous = {c.type: c for c in cluster.conditions}
    cordoned = any(t.key == CORDON_KEY for t in cluster.taints)
    draining = any(t.key == CORDON_KEY and t.effect == "NoExecute" for t in cluster.taints)
    if probe_error:
        ready = _condition(previous, "Ready", "False", "Unreachable", probe_error, now)
    elif probed_ready:
        ready = _condition(previous, "Ready", "True", "APIServerReady", probe_message, now)
    else:
        ready = _condition(previous, "Ready", "False", "APIServerNotReady", probe_message, now)
    unreachable = _condition(
        previous,
        "Unreachable",
        "True" if probe_error else "False",
        "ProbeFailed" if probe_error else "Reachable",
        probe_error,
        now,
    )
    reason = "Draining" if draining else ("Cordoned" if cordoned else "Schedulable")
    cordon_condition = _condition(previous, "Cordoned", "True" if cordoned else "False", reason, "", now)
    others = tuple(c for c in cluster.conditions if c.type not in ("Ready", "Unreachable", "Cordoned"))
    return (ready, unreachable, cordon_condition, *others)


def unreachable_since(cluster: Cluster) -> datetime | None:
    """When the cluster became unreachable (its Unreachable=True transition), or None."""
    for c in cluster.conditions:
        if c.type == "Unreachable" and c.status == "True":
            return c.last_transition_time
    return None


def evicted(cluster: Cluster, *, now: datetime, grace_period: float) -> bool:
    """Whether the cluster's replicas must move: drained, or unreachable for ``grace_period`` seconds."""
    if any(t == Taint(key=CORDON_KEY, effect="NoExecute") for t in cluster.taints):
        return True
    since = unreachable_since(cluster)
    return since is not None and now - since >= timedelta(seconds=grace_period)
