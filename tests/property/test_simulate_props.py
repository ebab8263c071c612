"""Properties of the simulator on random small scenarios: one seed gives one run, replicas are
conserved at every sample, and a cluster that went quiet holds nothing once its grace period is over."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmc_core.simulate import (
    CapacityChange,
    ClustersDrain,
    ClustersFail,
    ClustersJoin,
    ClustersRecover,
    Event,
    FleetSpec,
    HeartbeatsStop,
    Result,
    Scenario,
    Target,
    WorkloadsArrive,
    WorkloadsLeave,
    WorkloadSpec,
    WorkloadsScale,
    simulate,
)
from tmc_core.simulate.trace import VISIBLE

from ..simulate_cases import state_at, times_of, wanted

DURATION = 600.0

times = st.integers(min_value=0, max_value=int(DURATION) // 30).map(lambda k: float(k * 30))
targets = st.one_of(
    st.builds(Target, count=st.integers(min_value=1, max_value=3)),
    st.sampled_from([Target(largest="region"), Target(largest="zone"), Target(largest="provider")]),
)
events: st.SearchStrategy[Event] = st.one_of(
    st.builds(WorkloadsArrive, at=times, count=st.integers(1, 4)),
    st.builds(
        WorkloadsScale,
        at=times,
        factor=st.sampled_from([0.5, 2.0, 3.0]),
        fraction=st.sampled_from([0.3, 1.0]),
    ),
    st.builds(WorkloadsLeave, at=times, count=st.integers(1, 3)),
    st.builds(ClustersJoin, at=times, count=st.integers(1, 2)),
    st.builds(ClustersFail, at=times, target=targets),
    st.builds(HeartbeatsStop, at=times, target=targets),
    st.builds(ClustersRecover, at=times, target=targets),
    st.builds(ClustersDrain, at=times, target=targets),
    st.builds(CapacityChange, at=times, target=targets, factor=st.sampled_from([0.3, 0.7, 1.5])),
)


quiet = st.one_of(
    st.builds(ClustersFail, at=times, target=targets), st.builds(HeartbeatsStop, at=times, target=targets)
)


@st.composite
def scenarios(draw: st.DrawFn, going_quiet: bool = False) -> Scenario:
    """Small random scenarios; ``going_quiet`` always includes a cluster failure or heartbeat stop."""
    first = (draw(quiet),) if going_quiet else ()
    return Scenario(
        seed=draw(st.integers(min_value=0, max_value=2**16)),
        duration=DURATION,
        step=60,
        grace_period=draw(st.sampled_from([0.0, 30.0, 45.0])),
        fleet=FleetSpec(
            clusters=draw(st.integers(4, 8)), providers=2, regions_per_provider=2, zones_per_region=1
        ),
        workloads=WorkloadSpec(
            count=draw(st.integers(3, 10)), shape=draw(st.sampled_from(["divided", "mixed"])), policies=3
        ),
        events=tuple(sorted((*first, *draw(st.lists(events, max_size=6))), key=lambda e: e.at)),
    )


policies = st.sampled_from([None, "spread", "bin-packing", "cost-aware"])
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _records(r: Result) -> str:
    # repr, so that NaN (utilisation while no cluster is placeable) compares equal to itself.
    return repr(
        (r.trace.decision_records(), r.trace.event_records(), r.trace.cluster_records(), r.metrics.records())
    )


@SETTINGS
@given(scenarios(), policies)
def test_one_seed_one_run(scenario: Scenario, policy: str | None) -> None:
    assert _records(simulate(scenario, policy)) == _records(simulate(scenario, policy))


@SETTINGS
@given(scenarios(), policies)
def test_replicas_are_conserved_at_every_sample(scenario: Scenario, policy: str | None) -> None:
    result = simulate(scenario, policy)
    trace, m = result.trace, result.metrics
    for k, t in enumerate(times_of(trace)):
        s = state_at(trace, t)
        requested = sum(wanted(trace, w, n, s.assignment.get(w, {})) for w, n in s.replicas.items())
        placed = sum(sum(h.values()) for h in s.assignment.values())
        assert m.placed[k] + m.pending[k] == requested
        assert m.placed[k] == placed
        for w, n in s.replicas.items():
            held = s.assignment.get(w, {})
            assert sum(held.values()) <= wanted(trace, w, n, held), (t, w)
            assert all(s.status[c] in VISIBLE for c in held), (t, w)


@SETTINGS
@given(scenarios(going_quiet=True), policies)
def test_quiet_cluster_is_empty_after_the_grace_period(scenario: Scenario, policy: str | None) -> None:
    result = simulate(scenario, policy)
    trace = result.trace
    grace = scenario.grace_period
    quiet_since: dict[str, float] = {}
    checks: list[tuple[str, float, float]] = []  # (cluster, from, until)
    for change in trace.cluster_changes:
        c = change.cluster
        if change.status in ("failed", "silent"):
            quiet_since.setdefault(c, change.time)
        elif change.status in ("up",) and c in quiet_since:
            start = quiet_since.pop(c)
            if start + grace < change.time:
                checks.append((c, start + grace, change.time))
    for c, start in quiet_since.items():
        checks.append((c, start + grace, scenario.duration + 1))
    for c, since, until in checks:
        for t in times_of(trace):
            if since <= t < until:
                held = sum(h.get(c, 0) for h in state_at(trace, t).assignment.values())
                assert held == 0, (c, since, t)
