"""aggregate: the statuses of an object's copies on its clusters -> one upstream status and a verdict.

* Deployment: ``replicas``, ``updatedReplicas``, ``readyReplicas``, ``availableReplicas``,
  ``unavailableReplicas`` (and ``terminatingReplicas`` where reported) are summed;
* StatefulSet: ``replicas``, ``readyReplicas``, ``currentReplicas``, ``updatedReplicas``,
  ``availableReplicas`` summed;
* Job: ``active``, ``succeeded``, ``failed``, ``ready``, ``terminating`` summed, ``startTime`` the
  earliest, ``completionTime`` the latest once every copy completed;
* any other kind: the generic form ``{"clusters": [{"cluster", "health", "status"}, ...]}``.

``observedGeneration`` (Deployment, StatefulSet) is the upstream ``metadata.generation`` only when
every copy carries that generation (``tmc.kcp.io/generation``, stamped by render) and its own
controller has observed it; otherwise it is left out, so "observed" upstream means observed
everywhere. Cluster-local fields (revisions, collision counts, selectors) are not aggregated.

Conditions are merged per type: the worst status wins (``False`` for positive types such as
Available; ``True`` for negative ones such as ReplicaFailure or Failed), the deciding clusters are
named in the reason as ``<Reason>:<cluster>,<cluster>`` and their messages are joined. Job's
``Complete`` is reported only when every copy completed.

The verdict: Degraded if any copy is, else Unknown if any copy cannot be read, else Progressing if
any copy is still converging, else Healthy; the clusters listed are the ones that decide it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from pydantic import Field

from tmc_core.errors import InvalidInput
from tmc_core.model.base import Value
from tmc_core.sync.manifests import describe, json_copy, key_of, metadata
from tmc_core.sync.ownership import GENERATION_ANNOTATION

__all__ = ["AggregatedStatus", "Health", "MemberStatus", "Verdict", "aggregate", "member_health"]

Health = Literal["Healthy", "Progressing", "Degraded", "Unknown"]
_SEVERITY: dict[str, int] = {"Healthy": 0, "Progressing": 1, "Unknown": 2, "Degraded": 3}

_DEPLOYMENT_COUNTERS = (
    "replicas",
    "updatedReplicas",
    "readyReplicas",
    "availableReplicas",
    "unavailableReplicas",
    "terminatingReplicas",
)
_STATEFULSET_COUNTERS = (
    "replicas",
    "readyReplicas",
    "currentReplicas",
    "updatedReplicas",
    "availableReplicas",
)
_JOB_COUNTERS = ("active", "succeeded", "failed", "ready", "terminating")
_NEGATIVE_CONDITIONS = frozenset({"ReplicaFailure", "Failed", "FailureTarget", "Degraded", "Stalled"})
_ALL_MUST_HOLD = frozenset({"Complete", "SuccessCriteriaMet"})


class MemberStatus(Value):
    """What one cluster reports for a copy: the observed object (``None``: not there yet), and
    whether the cluster could be read at all."""

    cluster: str = Field(min_length=1)
    manifest: dict[str, Any] | None = None
    reachable: bool = True


class Verdict(Value):
    """Overall health and the clusters that decide it."""

    health: Health
    clusters: tuple[str, ...] = ()
    reason: str = ""


class AggregatedStatus(Value):
    """The upstream ``status`` to write, the verdict, and each cluster's own health."""

    status: dict[str, Any]
    verdict: Verdict
    per_cluster: dict[str, Health] = Field(default_factory=dict)


def _status(m: MemberStatus) -> dict[str, Any]:
    status = m.manifest.get("status") if m.manifest is not None else None
    return status if isinstance(status, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _conditions(status: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for c in status.get("conditions") or []:
        if isinstance(c, dict) and isinstance(c.get("type"), str):
            out.setdefault(c["type"], c)
    return out


def _holds(status: Mapping[str, Any], ctype: str, value: str = "True") -> bool:
    return _conditions(status).get(ctype, {}).get("status") == value


def _observed_current(upstream_generation: int | None, m: MemberStatus) -> bool:
    """The copy was written from this upstream generation and its controller has seen it."""
    if not m.reachable or m.manifest is None:
        return False
    meta = metadata(m.manifest)
    if upstream_generation is not None:
        annotations = meta.get("annotations")
        pushed = annotations.get(GENERATION_ANNOTATION) if isinstance(annotations, Mapping) else None
        if pushed != str(upstream_generation):
            return False
    generation = meta.get("generation")
    if generation is None:
        return True
    observed = _status(m).get("observedGeneration")
    return isinstance(observed, int) and observed >= _int(generation)


def _spec_replicas(m: MemberStatus) -> int:
    spec = m.manifest.get("spec") if m.manifest is not None else None
    value = spec.get("replicas", 1) if isinstance(spec, dict) else 1
    return _int(value)


def member_health(kind: tuple[str, str], upstream_generation: int | None, m: MemberStatus) -> Health:
    """One copy's health (``kind`` is (group, kind)); the rules are in the module docstring."""
    if not m.reachable:
        return "Unknown"
    if m.manifest is None:
        return "Progressing"
    status = _status(m)
    current = _observed_current(upstream_generation, m)
    if kind == ("apps", "Deployment"):
        if _holds(status, "ReplicaFailure") or _holds(status, "Progressing", "False"):
            return "Degraded"
        want = _spec_replicas(m)
        counts = [
            _int(status.get(f)) for f in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
        ]
        return "Healthy" if current and counts == [want] * 4 else "Progressing"
    if kind == ("apps", "StatefulSet"):
        want = _spec_replicas(m)
        counts = [_int(status.get(f)) for f in ("readyReplicas", "updatedReplicas")]
        same_revision = status.get("currentRevision") == status.get("updateRevision")
        return "Healthy" if current and counts == [want] * 2 and same_revision else "Progressing"
    if kind == ("batch", "Job"):
        if _holds(status, "Failed"):
            return "Degraded"
        return "Healthy" if _holds(status, "Complete") else "Progressing"
    if not current:
        return "Progressing"
    conditions = _conditions(status)
    for ctype in ("Ready", "Available"):
        if ctype in conditions:
            value = conditions[ctype].get("status")
            if value == "True":
                return "Healthy"
            return "Degraded" if value == "False" else "Progressing"
    return "Healthy"


def _badness(ctype: str, status: Any) -> int:
    if ctype in _NEGATIVE_CONDITIONS:
        return {"True": 2, "Unknown": 1}.get(status, 0)
    return {"False": 2, "Unknown": 1}.get(status, 0)


def _merge_conditions(members: Sequence[MemberStatus]) -> list[dict[str, Any]]:
    by_type: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for m in members:
        for ctype, cond in _conditions(_status(m)).items():
            by_type.setdefault(ctype, []).append((m.cluster, cond))
    reporting = [m for m in members if m.manifest is not None]
    merged: list[dict[str, Any]] = []
    for ctype, entries in by_type.items():
        if ctype in _ALL_MUST_HOLD and (
            len(entries) < len(reporting) or any(c.get("status") != "True" for _, c in entries)
        ):
            continue
        worst = max(_badness(ctype, c.get("status")) for _, c in entries)
        deciding = [(name, c) for name, c in entries if _badness(ctype, c.get("status")) == worst]
        reasons = {str(c.get("reason") or "") for _, c in deciding}
        reason = reasons.pop() if len(reasons) == 1 else "Mixed"
        out: dict[str, Any] = {
            "type": ctype,
            "status": deciding[0][1].get("status"),
            "reason": f"{reason or 'Unspecified'}:{','.join(name for name, _ in deciding)}",
        }
        messages = [f"{name}: {c['message']}" for name, c in deciding if c.get("message")]
        if messages:
            out["message"] = "; ".join(messages)
        for stamp_field in ("lastTransitionTime", "lastUpdateTime", "lastProbeTime"):
            times = [str(c[stamp_field]) for _, c in deciding if c.get(stamp_field)]
            if times:
                out[stamp_field] = max(times)
        merged.append(out)
    return merged


def _sum(members: Sequence[MemberStatus], fields: Sequence[str], always: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields:
        values = [_status(m)[f] for m in members if f in _status(m)]
        if values or f in always:
            out[f] = sum(_int(v) for v in values)
    return out


def _verdict(per_cluster: Mapping[str, Health]) -> Verdict:
    if not per_cluster:
        return Verdict(health="Unknown", reason="no clusters")
    worst = max(per_cluster.values(), key=lambda h: _SEVERITY[h])
    clusters = tuple(sorted(c for c, h in per_cluster.items() if h == worst))
    on = ", ".join(clusters)
    reason = "every copy is healthy" if worst == "Healthy" else f"{worst.lower()} on {on}"
    return Verdict(health=worst, clusters=clusters, reason=reason)


def aggregate(upstream: Mapping[str, Any], members: Sequence[MemberStatus]) -> AggregatedStatus:
    """The upstream status of ``upstream`` from its copies' statuses (one per cluster).

    Deterministic and independent of the order of ``members``; inputs are not modified.
    """
    obj = describe(upstream)
    key = key_of(upstream)
    names = [m.cluster for m in members]
    if len(set(names)) != len(names):
        raise InvalidInput("a cluster appears more than once", obj=obj, path="members")
    ordered = sorted(members, key=lambda m: m.cluster)
    gen_raw = metadata(upstream).get("generation")
    generation = gen_raw if isinstance(gen_raw, int) and not isinstance(gen_raw, bool) else None
    kind = (key.group, key.kind)
    per_cluster = {m.cluster: member_health(kind, generation, m) for m in ordered}

    status: dict[str, Any]
    if kind in (("apps", "Deployment"), ("apps", "StatefulSet")):
        counters = _DEPLOYMENT_COUNTERS if kind[1] == "Deployment" else _STATEFULSET_COUNTERS
        status = _sum(ordered, counters, always=("replicas",))
        if generation is not None and ordered and all(_observed_current(generation, m) for m in ordered):
            status["observedGeneration"] = generation
        conditions = _merge_conditions(ordered)
        if conditions:
            status["conditions"] = conditions
    elif kind == ("batch", "Job"):
        status = _sum(ordered, _JOB_COUNTERS, always=())
        starts = [str(_status(m)["startTime"]) for m in ordered if _status(m).get("startTime")]
        if starts:
            status["startTime"] = min(starts)
        ends = [str(_status(m).get("completionTime") or "") for m in ordered]
        if ordered and all(ends) and all(_holds(_status(m), "Complete") for m in ordered):
            status["completionTime"] = max(ends)
        conditions = _merge_conditions(ordered)
        if conditions:
            status["conditions"] = conditions
    else:
        status = {
            "clusters": [
                {"cluster": m.cluster, "health": per_cluster[m.cluster], "status": json_copy(_status(m))}
                for m in ordered
            ]
        }
    return AggregatedStatus(status=status, verdict=_verdict(per_cluster), per_cluster=per_cluster)
