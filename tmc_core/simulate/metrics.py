"""Metrics of a run, computed from its trace alone: utilisation, imbalance, churn, unschedulable
replicas and their waits, spread violations and cost.

Series are numpy arrays with one row per sample time (the state after everything that happened up
to and including that time); ``Metrics.series()`` gives them as a dict of 1-D columns, ready for
``pandas.DataFrame``. Integrals (pending replica-seconds, cost) are exact over the piecewise-constant
state, not sampled.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.policy import PlacementPolicy
from tmc_core.simulate.trace import (
    VISIBLE,
    ClusterChange,
    ClusterStatus,
    DecisionRecord,
    Trace,
    WorkloadChange,
    wanted_replicas,
)

__all__ = ["Metrics", "Wait", "compute_metrics", "spread_violated"]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

_FIRST = {"cpu": 0, "memory": 1, "pods": 2, "ephemeral-storage": 3}


@dataclass(frozen=True, slots=True)
class Wait:
    """An episode of a workload having unplaced replicas: from ``start`` to ``end`` (the end of the
    run, with ``resolved`` false, if it never got them all placed), at most ``replicas`` pending."""

    workload: str
    start: float
    end: float
    replicas: int
    resolved: bool

    @property
    def seconds(self) -> float:
        """How long the episode lasted."""
        return self.end - self.start


@dataclass(frozen=True, slots=True, eq=False)
class Metrics:
    """Per-sample series and whole-run figures of one trace."""

    time: FloatArray
    resources: tuple[str, ...]
    utilisation: FloatArray
    """(T, R): used / allocatable per resource over the clusters the control plane places on."""
    clusters: tuple[str, ...]
    cluster_utilisation: FloatArray
    """(T, C): each cluster's dominant share (max over resources of used / allocatable); NaN when it
    is not placeable (not joined yet, NotReady or drained)."""
    regions: tuple[str, ...]
    region_utilisation: FloatArray
    """(T, G): the same dominant share over each region's placeable clusters."""
    imbalance_clusters: FloatArray
    """(T,): standard deviation of ``cluster_utilisation`` across placeable clusters."""
    imbalance_regions: FloatArray
    """(T,): standard deviation of ``region_utilisation`` across regions."""
    requested: IntArray
    placed: IntArray
    pending: IntArray
    """requested - placed: replicas asked for but not placed anywhere."""
    lost: IntArray
    """Replicas the control plane believes run but whose cluster is down (not noticed yet)."""
    moved: IntArray
    """Replicas moved between clusters since the previous sample (churn)."""
    unschedulable: IntArray
    """Workloads with pending replicas."""
    spread_violations: IntArray
    """Workloads whose clusters break a spread constraint of their policy (too few/many groups)."""
    cost_rate: FloatArray
    """Cost per hour of the placed replicas: cpu cores x each cluster's ``cost`` property."""
    waits: tuple[Wait, ...]
    pending_replica_seconds: float
    cost: float
    """Total cost over the run (the exact integral of the cost rate)."""
    decisions: int

    def series(self) -> dict[str, NDArray[Any]]:
        """The per-sample series as named 1-D columns (``utilisation_cpu``, ``pending``, ...)."""
        out: dict[str, NDArray[Any]] = {"time": self.time}
        for j, r in enumerate(self.resources):
            out[f"utilisation_{r}"] = self.utilisation[:, j]
        out.update(
            imbalance_clusters=self.imbalance_clusters,
            imbalance_regions=self.imbalance_regions,
            requested=self.requested,
            placed=self.placed,
            pending=self.pending,
            lost=self.lost,
            moved=self.moved,
            moved_total=np.cumsum(self.moved),
            unschedulable=self.unschedulable,
            spread_violations=self.spread_violations,
            cost_rate=self.cost_rate,
        )
        return out

    def records(self) -> list[dict[str, float]]:
        """The series as one dict per sample."""
        cols = self.series()
        return [{k: v[i].item() for k, v in cols.items()} for i in range(self.time.size)]

    def wait_records(self) -> list[dict[str, Any]]:
        """One dict per wait episode."""
        return [
            {"workload": w.workload, "start": w.start, "end": w.end, "seconds": w.seconds,
             "replicas": w.replicas, "resolved": w.resolved}
            for w in self.waits
        ]  # fmt: skip

    def summary(self) -> dict[str, float]:
        """Whole-run figures: mean utilisation per resource, mean imbalance, total churn, peak and
        integral of pending replicas, wait times, peak spread violations, total cost."""
        waits = [w.seconds for w in self.waits]
        out: dict[str, float] = {}
        for j, r in enumerate(self.resources):
            col = self.utilisation[:, j]
            out[f"utilisation_{r}"] = float(np.nanmean(col)) if np.isfinite(col).any() else float("nan")
        out.update(
            imbalance_clusters=_nanmean(self.imbalance_clusters),
            imbalance_regions=_nanmean(self.imbalance_regions),
            moved=int(self.moved.sum()),
            decisions=self.decisions,
            pending_peak=int(self.pending.max(initial=0)),
            pending_final=int(self.pending[-1]) if self.pending.size else 0,
            pending_replica_seconds=self.pending_replica_seconds,
            waits=len(waits),
            wait_mean=float(np.mean(waits)) if waits else 0.0,
            wait_max=float(np.max(waits)) if waits else 0.0,
            waits_unresolved=sum(1 for w in self.waits if not w.resolved),
            lost_peak=int(self.lost.max(initial=0)),
            spread_violations_peak=int(self.spread_violations.max(initial=0)),
            cost=self.cost,
        )
        return out


def _nanmean(a: FloatArray) -> float:
    return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")


def spread_violated(
    policy: PlacementPolicy, groups_of: Mapping[str, Mapping[str, str]], held: Mapping[str, int]
) -> bool:
    """Whether the clusters holding replicas break a spread constraint: fewer groups than
    ``minGroups`` (at least 1) or more than a non-zero ``maxGroups``. ``groups_of[key][cluster]``
    is the cluster's group for a spread key."""
    on = [c for c, n in held.items() if n > 0]
    if not on:
        return False
    for sc in policy.spread_constraints:
        groups = {groups_of[sc.key].get(c, "") for c in on} - {""}
        if len(groups) < sc.effective_min or (sc.max_groups and len(groups) > sc.max_groups):
            return True
    return False


_Record = ClusterChange | WorkloadChange | DecisionRecord


def _in_order(trace: Trace) -> Iterator[_Record]:
    merged: list[_Record] = [*trace.cluster_changes, *trace.workload_changes, *trace.decisions]
    merged.sort(key=lambda r: r.seq)
    return iter(merged)


@dataclass(slots=True)
class _Replay:
    """The state a trace describes at a moment, rebuilt record by record."""

    trace: Trace
    status: dict[str, ClusterStatus] = field(default_factory=dict)
    capacity: dict[str, float] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    assignment: dict[str, dict[str, int]] = field(default_factory=dict)

    def apply(self, r: _Record) -> None:
        if isinstance(r, ClusterChange):
            self.status[r.cluster] = r.status
            self.capacity[r.cluster] = r.capacity
        elif isinstance(r, WorkloadChange):
            if r.replicas == 0:
                self.replicas.pop(r.workload, None)
                self.assignment.pop(r.workload, None)
            else:
                self.replicas[r.workload] = r.replicas
        elif r.workload in self.replicas:
            self.assignment[r.workload] = dict(r.after)

    def pending_of(self, key: str) -> int:
        held = self.assignment.get(key, {})
        wanted = wanted_replicas(self.trace.workloads[key].policy, self.replicas[key], held)
        return wanted - sum(held.values())

    def cost_rate(self) -> float:
        total = 0.0
        for key, held in self.assignment.items():
            cores = self.trace.workloads[key].requests.get("cpu", 0) / 1000.0
            for c, n in held.items():
                total += n * cores * self.trace.clusters[c].cost
        return total


@dataclass(frozen=True, slots=True, eq=False)
class _Layout:
    """Fixed facts of a trace as arrays: cluster and resource positions, base capacity, background."""

    col: Mapping[str, int]
    rpos: Mapping[str, int]
    regions: tuple[str, ...]
    region_of: IntArray
    alloc0: FloatArray
    background: FloatArray
    groups_of: Mapping[str, Mapping[str, str]]

    @classmethod
    def of(cls, trace: Trace) -> _Layout:
        infos = trace.clusters
        col = {c: j for j, c in enumerate(infos)}
        resources = sorted(
            {r for i in infos.values() for r in i.allocatable}, key=lambda r: (_FIRST.get(r, 9), r)
        )
        rpos = {r: j for j, r in enumerate(resources)}
        regions = tuple(sorted({i.region for i in infos.values() if i.region}))
        gpos = {g: j for j, g in enumerate(regions)}
        alloc0 = np.zeros((len(col), len(rpos)), dtype=np.float64)
        background = np.zeros_like(alloc0)
        for c, i in infos.items():
            for r, u in i.allocatable.items():
                alloc0[col[c], rpos[r]] = u
            for r, u in i.background.items():
                if r in rpos:
                    background[col[c], rpos[r]] = u
        groups_of: dict[str, dict[str, str]] = {}
        for w in trace.workloads.values():
            for sc in w.policy.spread_constraints:
                if sc.key not in groups_of:
                    groups_of[sc.key] = {c: i.group(sc.key) for c, i in infos.items()}
        region_of = np.array([gpos.get(infos[c].region, -1) for c in col], dtype=np.int64)
        return cls(col, rpos, regions, region_of, alloc0, background, groups_of)


@dataclass(slots=True, eq=False)
class _Series:
    """The per-sample arrays being filled."""

    util: FloatArray
    cluster_util: FloatArray
    region_util: FloatArray
    imb_c: FloatArray
    imb_g: FloatArray
    requested: IntArray
    placed: IntArray
    lost: IntArray
    moved: IntArray
    unsched: IntArray
    violations: IntArray
    cost_rate: FloatArray

    @classmethod
    def empty(cls, n_t: int, layout: _Layout) -> _Series:
        def ints() -> IntArray:
            return np.zeros(n_t, dtype=np.int64)

        return cls(
            util=np.full((n_t, len(layout.rpos)), np.nan),
            cluster_util=np.full((n_t, len(layout.col)), np.nan),
            region_util=np.full((n_t, len(layout.regions)), np.nan),
            imb_c=np.full(n_t, np.nan),
            imb_g=np.full(n_t, np.nan),
            requested=ints(),
            placed=ints(),
            lost=ints(),
            moved=ints(),
            unsched=ints(),
            violations=ints(),
            cost_rate=np.zeros(n_t, dtype=np.float64),
        )


@dataclass(slots=True)
class _Waits:
    """Integrals over time and wait episodes, updated after all records of one moment."""

    open: dict[str, tuple[float, int]] = field(default_factory=dict)
    done: list[Wait] = field(default_factory=list)
    pending_seconds: float = 0.0
    cost: float = 0.0
    last_t: float = 0.0
    last_pending: int = 0
    last_cost: float = 0.0

    def settle(self, t: float, replay: _Replay) -> None:
        """Close the interval up to ``t``, then open or close episodes for the state at ``t``."""
        self.pending_seconds += self.last_pending * (t - self.last_t)
        self.cost += self.last_cost * (t - self.last_t) / 3600.0
        for key in list(self.open):
            if key not in replay.replicas or replay.pending_of(key) <= 0:
                start, most = self.open.pop(key)
                self.done.append(Wait(key, start, t, most, True))
        total = 0
        for key in replay.replicas:
            p = replay.pending_of(key)
            total += p
            if p > 0:
                start, most = self.open.get(key, (t, 0))
                self.open[key] = (start, max(most, p))
        self.last_t, self.last_pending, self.last_cost = t, total, replay.cost_rate()

    def finish(self, end: float) -> tuple[Wait, ...]:
        for key, (start, most) in sorted(self.open.items()):
            self.done.append(Wait(key, start, end, most, False))
        self.open.clear()
        return tuple(sorted(self.done, key=lambda w: (w.start, w.workload)))


def compute_metrics(trace: Trace) -> Metrics:
    """The metrics of a trace (see ``Metrics``); deterministic, from the trace alone."""
    layout = _Layout.of(trace)
    times = trace.sample_times
    n_t = times.size
    out = _Series.empty(n_t, layout)
    replay = _Replay(trace)
    records = _in_order(trace)
    record: _Record | None = next(records, None)
    waits = _Waits()
    k = 0
    while record is not None or k < n_t:
        record_t = record.time if record is not None else np.inf
        if k < n_t and times[k] < record_t:
            _measure(k, replay, layout, out)
            k += 1
            continue
        while record is not None and record.time == record_t:
            if isinstance(record, DecisionRecord):
                slot = int(np.searchsorted(times, record_t, side="left"))
                if slot < n_t:
                    out.moved[slot] += record.moved
            replay.apply(record)
            record = next(records, None)
        waits.settle(float(record_t), replay)
    waits.settle(trace.scenario.duration, replay)
    return Metrics(
        time=times,
        resources=tuple(layout.rpos),
        utilisation=out.util,
        clusters=tuple(layout.col),
        cluster_utilisation=out.cluster_util,
        regions=layout.regions,
        region_utilisation=out.region_util,
        imbalance_clusters=out.imb_c,
        imbalance_regions=out.imb_g,
        requested=out.requested,
        placed=out.placed,
        pending=out.requested - out.placed,
        lost=out.lost,
        moved=out.moved,
        unschedulable=out.unsched,
        spread_violations=out.violations,
        cost_rate=out.cost_rate,
        waits=waits.finish(trace.scenario.duration),
        pending_replica_seconds=waits.pending_seconds,
        cost=waits.cost,
        decisions=len(trace.decisions),
    )


def _dominant(used: FloatArray, alloc: FloatArray) -> FloatArray:
    """Per row, the largest used / allocatable over resources with capacity (NaN when none)."""
    share = np.divide(used, alloc, out=np.full(used.shape, -np.inf), where=alloc > 0)
    dom: FloatArray = share.max(axis=1, initial=-np.inf)
    dom[~np.isfinite(dom)] = np.nan
    return dom


def _std(a: FloatArray) -> float:
    return float(np.nanstd(a)) if np.isfinite(a).any() else float("nan")


def _measure(k: int, replay: _Replay, layout: _Layout, out: _Series) -> None:
    """Fill row ``k`` of every series from the replayed state."""
    trace = replay.trace
    col, rpos = layout.col, layout.rpos
    used = layout.background.copy()
    for key, held in replay.assignment.items():
        req = trace.workloads[key].requests
        for c, n in held.items():
            for r, u in req.items():
                if r in rpos:
                    used[col[c], rpos[r]] += n * u
    factor = np.array([replay.capacity.get(c, 1.0) for c in col], dtype=np.float64)
    alloc = np.floor(layout.alloc0 * factor[:, None])
    visible = np.array([replay.status.get(c) in VISIBLE for c in col], dtype=np.bool_)
    if visible.any():
        denom = alloc[visible].sum(axis=0)
        total = used[visible].sum(axis=0)
        out.util[k] = np.divide(total, denom, out=np.full(denom.shape, np.nan), where=denom > 0)
        dominant = _dominant(used, alloc)
        dominant[~visible] = np.nan
        out.cluster_util[k] = dominant
        out.imb_c[k] = _std(dominant)
        if layout.regions:
            g_used = np.zeros((len(layout.regions), alloc.shape[1]))
            g_alloc = np.zeros_like(g_used)
            sel = visible & (layout.region_of >= 0)
            np.add.at(g_used, layout.region_of[sel], used[sel])
            np.add.at(g_alloc, layout.region_of[sel], alloc[sel])
            g_dom = _dominant(g_used, g_alloc)
            out.region_util[k] = g_dom
            out.imb_g[k] = _std(g_dom)
    total_req = total_placed = total_lost = n_unsched = n_viol = 0
    for key, reps in replay.replicas.items():
        held = replay.assignment.get(key, {})
        policy = trace.workloads[key].policy
        wanted = wanted_replicas(policy, reps, held)
        got = sum(held.values())
        total_req += wanted
        total_placed += got
        n_unsched += wanted > got
        total_lost += sum(n for c, n in held.items() if replay.status.get(c) == "failed")
        n_viol += spread_violated(policy, layout.groups_of, held)
    out.requested[k] = total_req
    out.placed[k] = total_placed
    out.lost[k] = total_lost
    out.unsched[k] = n_unsched
    out.violations[k] = n_viol
    out.cost_rate[k] = replay.cost_rate()
