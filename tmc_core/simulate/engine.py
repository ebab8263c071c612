"""The discrete-event simulator: events change the fleet, the placement engine re-places, every
decision is recorded.

Time is simulated seconds, kept in a heap (``EventQueue``); nothing reads a clock. At each moment
something happens, every event due then is applied, then every live workload is re-placed at once
through the engine (``place_batch``, or the policy's batch solver) with its current assignment, so
the engine's steady semantics decide what stays. Randomness comes only from the scenario's seed, one
independent stream per event, so two policies run on the same scenario see the same fleet, the
same workloads and the same events; only the placements differ.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tmc_core.manifests.inventory import Inventory
from tmc_core.model.decision import Decision
from tmc_core.model.policy import PlacementPolicy
from tmc_core.placement.batch import place_batch
from tmc_core.placement.task import PlacementTask
from tmc_core.simulate.events import (
    CapacityChange,
    ClustersDrain,
    ClustersFail,
    ClustersJoin,
    ClustersRecover,
    Event,
    EventQueue,
    HeartbeatsStop,
    WorkloadsArrive,
    WorkloadsLeave,
    WorkloadsScale,
)
from tmc_core.simulate.metrics import Metrics, compute_metrics
from tmc_core.simulate.policies import PolicyUnderTest, policy_under_test
from tmc_core.simulate.scenario import Scenario, scenario_or_builtin
from tmc_core.simulate.state import FleetState, LiveCluster, LiveWorkload, cluster_info, request_units
from tmc_core.simulate.trace import (
    VISIBLE,
    ClusterChange,
    ClusterInfo,
    ClusterStatus,
    DecisionRecord,
    EventRecord,
    Trace,
    WorkloadChange,
    WorkloadInfo,
)
from tmc_core.simulate.world import World, world_from_inventory, world_from_scenario
from tmc_core.solvers.catalog import make_solver
from tmc_core.solvers.problem import Problem

__all__ = ["Progress", "Result", "expand_traffic", "simulate"]

Progress = Callable[[float, float], None]
"""Called after each simulated moment with (time, duration)."""

_SCENARIO, _GRACE, _SAMPLE = 0, 1, 2  # ranks: scenario events, then grace checks, then samples


@dataclass(frozen=True, slots=True)
class _GraceCheck:
    cluster: str
    quiet_since: float


@dataclass(frozen=True, slots=True)
class _Sample:
    index: int


@dataclass(frozen=True, slots=True)
class _Numbered:
    number: int
    event: Event


@dataclass(frozen=True, slots=True, eq=False)
class Result:
    """One run: the scenario, the policy under test, what happened (``trace``) and how it went
    (``metrics``)."""

    scenario: Scenario
    policy: PolicyUnderTest
    trace: Trace
    metrics: Metrics


def expand_traffic(scenario: Scenario) -> tuple[Event, ...]:
    """The scenario's events plus its background traffic as single arrivals and departures
    (Poisson processes drawn from the seed), sorted by time (stable)."""
    rng = np.random.default_rng([scenario.seed, 2])
    extra: list[Event] = []
    for rate, make in (
        (scenario.traffic.arrivals_per_hour, lambda t: WorkloadsArrive(at=t, count=1)),
        (scenario.traffic.departures_per_hour, lambda t: WorkloadsLeave(at=t, count=1)),
    ):
        if rate <= 0:
            continue
        t = 0.0
        while True:
            t += float(rng.exponential(3600.0 / rate))
            if t > scenario.duration:
                break
            extra.append(make(round(t, 3)))
    return tuple(sorted((*scenario.events, *extra), key=lambda e: e.at))


class _Run:
    """The mutable state of one simulation and its recorder."""

    def __init__(self, scenario: Scenario, policy: PolicyUnderTest, world: World) -> None:
        self.scenario = scenario
        self.policy = policy
        self.world = world
        self.state = FleetState()
        self.seq = 0
        self.infos: dict[str, WorkloadInfo] = {}
        self.cluster_infos: dict[str, ClusterInfo] = {}
        self.cluster_changes: list[ClusterChange] = []
        self.workload_changes: list[WorkloadChange] = []
        self.decisions: list[DecisionRecord] = []
        self.events: list[EventRecord] = []
        self.next_cluster = len(world.fleet)
        self.next_workload = len(world.tasks)
        self.solver = (
            None if policy.solver is None else make_solver(policy.solver, time_limit=policy.time_limit)
        )

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    # -- recording -------------------------------------------------------------------------------

    def set_status(self, t: float, lc: LiveCluster, status: ClusterStatus) -> None:
        lc.status = status
        self.cluster_changes.append(ClusterChange(self._next(), t, lc.info.name, status, lc.capacity))

    def add_cluster(self, t: float, lc: LiveCluster) -> None:
        self.state.clusters[lc.info.name] = lc
        self.cluster_infos[lc.info.name] = lc.info
        self.set_status(t, lc, lc.status)

    def add_workload(self, t: float, task: PlacementTask) -> None:
        policy = self.policy.placement if self.policy.placement is not None else task.policy
        key = task.workload.key
        if key in self.state.workloads or key in self.infos:
            key = f"{task.workload.workspace}:{task.workload.kind}/{key}"
        info = WorkloadInfo(key, request_units(task.workload.requests), policy, task.workload.priority)
        self.infos[key] = info
        live = LiveWorkload(PlacementTask(task.workload, policy, placement=task.placement), info)
        live.assignment = {c: n for c, n in task.current.items() if n > 0 and c in self.state.clusters}
        self.state.workloads[key] = live
        self.workload_changes.append(WorkloadChange(self._next(), t, key, task.workload.replicas))

    def record_event(self, t: float, kind: str, clusters: list[str], workloads: int) -> None:
        self.events.append(EventRecord(self._next(), t, kind, tuple(clusters), workloads))

    # -- events ----------------------------------------------------------------------------------

    def apply(self, t: float, numbered: _Numbered, queue: EventQueue[object]) -> None:
        e = numbered.event
        rng = np.random.default_rng([self.scenario.seed, 1, numbered.number])
        st = self.state
        if isinstance(e, WorkloadsArrive):
            tasks = self.world.arrivals(e.count, seed=int(rng.integers(2**31)), first=self.next_workload)
            self.next_workload += e.count
            for task in tasks:
                self.add_workload(t, task)
            self.record_event(t, e.type, [], len(tasks))
        elif isinstance(e, WorkloadsScale | WorkloadsLeave):
            keys = sorted(st.workloads)
            if isinstance(e, WorkloadsLeave):
                k = e.count if e.count else round(e.fraction * len(keys))
            else:
                k = round(e.fraction * len(keys))
            k = min(k, len(keys))
            chosen = [keys[int(j)] for j in sorted(rng.choice(len(keys), size=k, replace=False).tolist())]
            for key in chosen:
                w = st.workloads[key]
                if isinstance(e, WorkloadsLeave):
                    del st.workloads[key]
                    self.workload_changes.append(WorkloadChange(self._next(), t, key, 0))
                    if w.assignment:
                        self.decisions.append(
                            DecisionRecord(self._next(), t, key, dict(w.assignment), {}, 0, True, "", e.type)
                        )
                    continue
                n = max(1, round(w.replicas * e.factor))
                workload = w.task.workload.model_copy(update={"replicas": n})
                w.task = PlacementTask(workload, w.task.policy, placement=w.task.placement)
                self.workload_changes.append(WorkloadChange(self._next(), t, key, n))
            self.record_event(t, e.type, [], len(chosen))
        elif isinstance(e, ClustersJoin):
            clusters = self.world.join(e.count, seed=int(rng.integers(2**31)), first=self.next_cluster)
            self.next_cluster += e.count
            for c in clusters:
                self.add_cluster(t, LiveCluster(c, cluster_info(c)))
            self.record_event(t, e.type, [c.name for c in clusters], 0)
        else:
            if isinstance(e, ClustersRecover):
                pool = [n for n, lc in st.clusters.items() if lc.status != "up"]
            elif isinstance(e, CapacityChange):
                pool = list(st.clusters)
            else:
                pool = [n for n, lc in st.clusters.items() if lc.status in VISIBLE]
            hit = st.targets(e.target, pool, rng)
            touched = 0
            for name in hit:
                lc = st.clusters[name]
                if isinstance(e, ClustersFail | HeartbeatsStop):
                    self.set_status(t, lc, "failed" if isinstance(e, ClustersFail) else "silent")
                    if lc.quiet_since is None:  # a cluster already quiet keeps its first deadline
                        lc.quiet_since = t
                        queue.push(t + self.scenario.grace_period, _GraceCheck(name, t), rank=_GRACE)
                elif isinstance(e, ClustersRecover):
                    lc.quiet_since = None
                    self.set_status(t, lc, "up")
                elif isinstance(e, ClustersDrain):
                    self.set_status(t, lc, "drained")
                    touched += st.evict_all(name)
                elif isinstance(e, CapacityChange):
                    lc.capacity *= e.factor
                    self.set_status(t, lc, lc.status)
                    touched += st.evict_overflow(name)
            self.record_event(t, e.type, hit, touched)

    def grace_expired(self, t: float, check: _GraceCheck) -> bool:
        lc = self.state.clusters[check.cluster]
        if lc.status not in ("failed", "silent") or lc.quiet_since != check.quiet_since:
            return False
        self.set_status(t, lc, "down")
        evicted = self.state.evict_all(check.cluster)
        self.record_event(t, "not-ready", [check.cluster], evicted)
        return True

    # -- placement -------------------------------------------------------------------------------

    def _decide(self, tasks: list[PlacementTask]) -> list[Decision]:
        fleet = self.state.visible_fleet()
        if self.solver is None:
            return list(place_batch(fleet, tasks))
        solution = self.solver.solve(Problem.build(fleet, tasks))
        by_id = {id(task): d for task, d in zip(solution.problem.tasks, solution.decisions(), strict=True)}
        return [by_id[id(task)] for task in tasks]

    def reconcile(self, t: float, before: dict[str, dict[str, int]], cause: str) -> None:
        keys = list(self.state.workloads)
        tasks = self.state.tasks()
        if not tasks:
            return
        for key, d in zip(keys, self._decide(tasks), strict=True):
            w = self.state.workloads[key]
            after = {c.name: c.replicas for c in d.clusters if c.replicas > 0}
            was = before.get(key, {})
            if after != was or d.schedulable != w.schedulable or key not in before:
                self.decisions.append(
                    DecisionRecord(
                        self._next(),
                        t,
                        key,
                        dict(was),
                        dict(after),
                        w.replicas,
                        d.schedulable,
                        d.reason,
                        cause,
                    )
                )
            w.assignment = after
            w.schedulable = d.schedulable
            w.reason = d.reason

    def trace(self, sample_times: np.ndarray) -> Trace:
        return Trace(
            scenario=self.scenario,
            policy=self.policy.name,
            solver=self.policy.solver or "engine",
            clusters=dict(self.cluster_infos),
            workloads=dict(self.infos),
            cluster_changes=tuple(self.cluster_changes),
            workload_changes=tuple(self.workload_changes),
            decisions=tuple(self.decisions),
            events=tuple(self.events),
            sample_times=sample_times,
        )


def _running_units(world: World) -> dict[str, dict[str, int]]:
    """Units the starting workloads already use per cluster (from their current assignments)."""
    out: dict[str, dict[str, int]] = {}
    for task in world.tasks:
        per = request_units(task.workload.requests)
        for c, n in task.current.items():
            into = out.setdefault(c, {})
            for r, u in per.items():
                into[r] = into.get(r, 0) + n * u
    return out


def simulate(
    scenario: Scenario | str,
    policy: PolicyUnderTest | PlacementPolicy | str | None = None,
    *,
    inventory: Inventory | None = None,
    progress: Progress | None = None,
) -> Result:
    """Run ``scenario`` (a value or a built-in name) with ``policy`` under test.

    ``policy``: a ``PolicyUnderTest``, a ``PlacementPolicy`` for every workload, a named policy
    (``spread``, ``bin-packing``, ``cost-aware``) or ``None`` for the scenario's own policies.
    ``inventory``: start from these manifests' fleet and workloads instead of the generators.
    The same arguments always give the same trace and metrics.
    """
    sc = scenario_or_builtin(scenario)
    put = policy_under_test(policy)
    world = world_from_inventory(inventory, sc) if inventory is not None else world_from_scenario(sc)
    run = _Run(sc, put, world)
    running = _running_units(world)
    for c in world.fleet.clusters:
        run.add_cluster(0.0, LiveCluster(c, cluster_info(c, running.get(c.name))))
    for task in world.tasks:
        run.add_workload(0.0, task)

    queue: EventQueue[object] = EventQueue()
    for number, e in enumerate(expand_traffic(sc)):
        queue.push(e.at, _Numbered(number, e), rank=_SCENARIO)
    times = np.asarray(sc.sample_times, dtype=np.float64)
    for k, t in enumerate(times.tolist()):
        queue.push(t, _Sample(k), rank=_SAMPLE)

    before: dict[str, dict[str, int]] = {}  # nothing was decided before the start
    changed = True
    causes: list[str] = ["start"]
    while (t := queue.next_time()) is not None:
        for item in queue.pop_at(t):
            if isinstance(item, _Numbered):
                run.apply(t, item, queue)
                changed = True
                causes.append(item.event.type)
            elif isinstance(item, _GraceCheck) and run.grace_expired(t, item):
                changed = True
                causes.append("not-ready")
        if queue.next_time() == t:  # events scheduled for this very moment (grace period 0)
            continue
        if changed:
            run.reconcile(t, before, ",".join(dict.fromkeys(causes)))
            changed = False
            causes = []
        before = {k: dict(w.assignment) for k, w in run.state.workloads.items()}
        if progress is not None:
            progress(t, sc.duration)
    trace = run.trace(times)
    return Result(sc, put, trace, compute_metrics(trace))
