"""The simulator: deterministic for a seed, failures noticed after the grace period, drains and
capacity loss honoured, same events for every policy, manifests as a starting point, solvers."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from tmc_core.examples import example_inventory
from tmc_core.simulate import (
    CapacityChange,
    ClustersDrain,
    ClustersFail,
    HeartbeatsStop,
    PolicyUnderTest,
    Result,
    Scenario,
    Target,
    compare,
    named_policy,
    simulate,
)
from tmc_core.simulate.trace import VISIBLE, Trace
from tmc_core.solvers.catalog import SOLVER_NAMES

from ..simulate_cases import every_event_scenario, state_at


def _fingerprint(trace: Trace) -> tuple[object, ...]:
    return (
        trace.decision_records(),
        trace.event_records(),
        trace.cluster_records(),
        [(w.workload, w.replicas, w.time) for w in trace.workload_changes],
    )


@pytest.fixture(scope="module")
def every_event() -> Result:
    return simulate(every_event_scenario(), "spread")


def test_same_seed_same_run(every_event: Result) -> None:
    again = simulate(every_event_scenario(), "spread")
    assert _fingerprint(again.trace) == _fingerprint(every_event.trace)
    assert repr(again.metrics.records()) == repr(every_event.metrics.records())


def test_another_seed_another_run(every_event: Result) -> None:
    other = simulate(every_event_scenario(seed=6), "spread")
    assert _fingerprint(other.trace) != _fingerprint(every_event.trace)


def test_every_event_kind_happened(every_event: Result) -> None:
    kinds = {e.event for e in every_event.trace.events}
    expected = {"fail", "scale", "drain", "capacity", "heartbeat-stop", "join", "arrive", "recover", "leave"}
    assert expected | {"not-ready"} <= kinds


def _cluster_load(result: Result, t: float) -> dict[str, int]:
    state = state_at(result.trace, t)
    load: dict[str, int] = {}
    for held in state.assignment.values():
        for c, n in held.items():
            load[c] = load.get(c, 0) + n
    return load


@pytest.mark.parametrize("kind", [ClustersFail, HeartbeatsStop])
def test_quiet_cluster_keeps_replicas_until_grace_then_none(kind: type) -> None:
    sc = Scenario(
        seed=3, duration=600, step=30, grace_period=90, events=(kind(at=120, target=Target(count=2)),)
    )
    result = simulate(sc, "spread")
    hit = next(e.clusters for e in result.trace.events if e.event == kind.model_fields["type"].default)
    before = _cluster_load(result, 119)
    assert any(before.get(c, 0) for c in hit), "the scenario should hit clusters that run something"
    during = _cluster_load(result, 150)  # inside the grace period: the control plane has not noticed
    assert {c: during.get(c, 0) for c in hit} == {c: before.get(c, 0) for c in hit}
    after = _cluster_load(result, 120 + 90)
    assert all(after.get(c, 0) == 0 for c in hit)
    lost_during = result.metrics.lost[list(result.metrics.time).index(150.0)]
    assert lost_during == (sum(before.get(c, 0) for c in hit) if kind is ClustersFail else 0)


def test_drain_moves_everything_at_once() -> None:
    sc = Scenario(
        seed=4, duration=300, step=60, events=(ClustersDrain(at=60, target=Target(largest="region")),)
    )
    result = simulate(sc, "spread")
    hit = next(e.clusters for e in result.trace.events if e.event == "drain")
    assert sum(_cluster_load(result, 59).get(c, 0) for c in hit) > 0
    assert all(_cluster_load(result, 60).get(c, 0) == 0 for c in hit)
    assert result.metrics.moved[1] > 0


def _used_units(result: Result, t: float) -> dict[str, Mapping[str, int]]:
    state = state_at(result.trace, t)
    out: dict[str, dict[str, int]] = {}
    for key, held in state.assignment.items():
        for c, n in held.items():
            for r, u in result.trace.workloads[key].requests.items():
                out.setdefault(c, {})
                out[c][r] = out[c].get(r, 0) + n * u
    return out


def test_capacity_loss_evicts_until_fits() -> None:
    sc = Scenario(seed=6, duration=300, step=60, fleet={"utilisation": (0.3, 0.5)},  # type: ignore[arg-type]
                  events=(CapacityChange(at=60, target=Target(largest="zone"), factor=0.3),))  # fmt: skip
    result = simulate(sc, "bin-packing")
    hit = next(e for e in result.trace.events if e.event == "capacity")
    assert hit.affected > 0, "the capacity loss should have evicted something"
    used = _used_units(result, 60)
    for c in hit.clusters:
        info = result.trace.clusters[c]
        for r, u in used.get(c, {}).items():
            if r in info.allocatable:
                assert info.background.get(r, 0) + u <= int(info.allocatable[r] * 0.3)


def test_placements_only_on_visible_clusters(every_event: Result) -> None:
    for t in every_event.trace.sample_times:
        state = state_at(every_event.trace, float(t))
        for held in state.assignment.values():
            assert all(state.status[c] in VISIBLE for c in held), t


def test_every_policy_sees_the_same_world() -> None:
    both = compare("spread", "cost-aware", every_event_scenario())
    a, b = (r.trace for r in both.results)
    assert [(e.time, e.event, e.clusters) for e in a.events] == [
        (e.time, e.event, e.clusters) for e in b.events
    ]
    assert a.cluster_records() == b.cluster_records()
    assert [(w.workload, w.replicas, w.time) for w in a.workload_changes] == [
        (w.workload, w.replicas, w.time) for w in b.workload_changes
    ]
    assert a.decision_records() != b.decision_records()
    assert both.names == ("spread", "cost-aware")
    assert [row["policy"] for row in both.summary_records()] == ["spread", "cost-aware"]


def test_policy_under_test_replaces_every_policy(every_event: Result) -> None:
    spread = named_policy("spread").placement
    assert {w.policy for w in every_event.trace.workloads.values()} == {spread}
    own = simulate(every_event_scenario(), None)
    assert len({w.policy.fingerprint() for w in own.trace.workloads.values()}) > 1


def test_starts_from_manifests() -> None:
    inventory = example_inventory()
    sc = Scenario(
        duration=600, step=60, events=(ClustersFail(at=60, target=Target(clusters=("aws-use1-a",))),)
    )
    result = simulate(sc, None, inventory=inventory)
    assert set(result.trace.clusters) == set(inventory.fleet.names)
    selected = {w.key for p in inventory.placements for w in inventory.selected(p)}
    assert set(result.trace.workloads) == selected
    # shop/web runs 4 replicas of 500m on aws-use1-a (status.decisions): allocated 10 cores includes
    # them, so the background the simulator keeps is 10 - 2 cores, and the start keeps them there.
    assert result.trace.clusters["aws-use1-a"].background["cpu"] == 10_000 - 4 * 500
    start = next(d for d in result.trace.decisions if d.workload == "shop/web")
    assert start.after == {"aws-use1-a": 4, "gcp-euw1-b": 2}
    assert all(n == 0 for c, n in _cluster_load(result, 600).items() if c == "aws-use1-a")


@pytest.mark.parametrize("solver", [s for s in SOLVER_NAMES if s != "optimal"])
def test_batch_solvers_re_place_too(solver: str) -> None:
    sc = Scenario(seed=2, duration=300, step=60, events=(ClustersDrain(at=60, target=Target(count=2)),))
    policy = PolicyUnderTest("spread", named_policy("spread").placement, solver=solver)
    result = simulate(sc, policy)
    assert result.trace.solver == solver
    hit = next(e.clusters for e in result.trace.events if e.event == "drain")
    assert all(_cluster_load(result, 60).get(c, 0) == 0 for c in hit)
    assert result.metrics.placed[-1] > 0


def test_progress_follows_simulated_time() -> None:
    seen: list[float] = []
    sc = Scenario(duration=300, step=100)
    simulate(sc, "spread", progress=lambda t, d: seen.append(t / d))
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 4
