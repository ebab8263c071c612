"""Small simulation scenarios shared by the simulator's unit and property tests, and a plain replay
of a trace (dict loops, no numpy) that the tests use as an independent oracle."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from tmc_core.simulate import (
    CapacityChange,
    ClustersDrain,
    ClustersFail,
    ClustersJoin,
    ClustersRecover,
    FleetSpec,
    HeartbeatsStop,
    Scenario,
    Target,
    Traffic,
    WorkloadsArrive,
    WorkloadsLeave,
    WorkloadSpec,
    WorkloadsScale,
)
from tmc_core.simulate.trace import ClusterChange, DecisionRecord, Trace, WorkloadChange


def every_event_scenario(seed: int = 5, shape: str = "mixed") -> Scenario:
    """Twelve clusters, eighteen workloads, twenty simulated minutes with every kind of event."""
    return Scenario(
        name="every-event",
        seed=seed,
        duration=1200,
        step=60,
        grace_period=30,
        fleet=FleetSpec(clusters=12, providers=2, regions_per_provider=2, zones_per_region=2),
        workloads=WorkloadSpec(count=18, shape=shape, policies=6, load=0.6),  # type: ignore[arg-type]
        traffic=Traffic(arrivals_per_hour=9, departures_per_hour=6),
        events=(
            ClustersFail(at=120, target=Target(largest="region")),
            WorkloadsScale(at=300, factor=2.0, fraction=0.5),
            ClustersDrain(at=400, target=Target(count=1)),
            CapacityChange(at=500, target=Target(largest="zone"), factor=0.4),
            HeartbeatsStop(at=600, target=Target(count=1)),
            ClustersJoin(at=700, count=2),
            WorkloadsArrive(at=750, count=3),
            ClustersRecover(at=900, target=Target(largest="region")),
            WorkloadsLeave(at=1000, fraction=0.2),
        ),
    )


def moved(before: dict[str, int], after: dict[str, int]) -> int:
    """Replicas moved, counted with multiset differences (an independent spelling)."""
    b, a = Counter(before), Counter(after)
    return min(sum((b - a).values()), sum((a - b).values()))


@dataclass
class PlainState:
    """The state a trace describes at one moment, rebuilt with plain dicts."""

    status: dict[str, str] = field(default_factory=dict)
    capacity: dict[str, float] = field(default_factory=dict)
    replicas: dict[str, int] = field(default_factory=dict)
    assignment: dict[str, dict[str, int]] = field(default_factory=dict)
    schedulable: dict[str, bool] = field(default_factory=dict)


def records(trace: Trace) -> list[ClusterChange | WorkloadChange | DecisionRecord]:
    out: list[ClusterChange | WorkloadChange | DecisionRecord] = [
        *trace.cluster_changes,
        *trace.workload_changes,
        *trace.decisions,
    ]
    return sorted(out, key=lambda r: r.seq)


def state_at(trace: Trace, t: float) -> PlainState:
    """Replay every record up to and including time ``t``."""
    s = PlainState()
    for r in records(trace):
        if r.time > t:
            break
        if isinstance(r, ClusterChange):
            s.status[r.cluster] = r.status
            s.capacity[r.cluster] = r.capacity
        elif isinstance(r, WorkloadChange):
            if r.replicas:
                s.replicas[r.workload] = r.replicas
            else:
                s.replicas.pop(r.workload, None)
                s.assignment.pop(r.workload, None)
                s.schedulable.pop(r.workload, None)
        elif r.workload in s.replicas:
            s.assignment[r.workload] = dict(r.after)
            s.schedulable[r.workload] = r.schedulable
    return s


def wanted(trace: Trace, key: str, replicas: int, held: dict[str, int]) -> int:
    """Replicas asked for in total (Duplicated: a copy per cluster it must run on)."""
    policy = trace.workloads[key].policy
    if policy.replica_strategy != "Duplicated":
        return replicas
    copies = {
        "PickN": policy.number_of_clusters or 0,
        "PickFixed": len(policy.cluster_names),
    }.get(policy.placement_type, max(1, len([c for c, n in held.items() if n])))
    return replicas * copies


def times_of(trace: Trace) -> Iterable[float]:
    return [float(t) for t in trace.sample_times]
