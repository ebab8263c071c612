"""Metrics equal a direct recomputation from the recorded trace, and replicas are conserved.

The oracle (``tests.simulate_cases``) replays the trace with plain dicts, independently of the
numpy replay in ``tmc_core.simulate.metrics``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tmc_core.simulate import Result, simulate
from tmc_core.simulate.trace import DecisionRecord, Trace

from ..simulate_cases import every_event_scenario, moved, records, state_at, times_of, wanted


@pytest.fixture(scope="module", params=["spread", "bin-packing", None])
def result(request: pytest.FixtureRequest) -> Result:
    return simulate(every_event_scenario(), request.param)


def test_replica_counts_and_conservation(result: Result) -> None:
    m, trace = result.metrics, result.trace
    for k, t in enumerate(times_of(trace)):
        s = state_at(trace, t)
        requested = sum(wanted(trace, w, n, s.assignment.get(w, {})) for w, n in s.replicas.items())
        placed = sum(sum(held.values()) for held in s.assignment.values())
        assert m.requested[k] == requested, t
        assert m.placed[k] == placed, t
        assert m.placed[k] + m.pending[k] == m.requested[k]
        assert m.pending[k] >= 0
        for w, n in s.replicas.items():
            held = s.assignment.get(w, {})
            short = wanted(trace, w, n, held) - sum(held.values())
            # Replicas short means the engine said so (it may also report a PickN that found fewer
            # clusters than asked as unschedulable while every replica is placed).
            assert short == 0 or not s.schedulable[w], (t, w)
            assert short >= 0, (t, w)
        assert m.unschedulable[k] == sum(
            1
            for w, n in s.replicas.items()
            if wanted(trace, w, n, s.assignment.get(w, {})) > sum(s.assignment.get(w, {}).values())
        )


def test_churn_is_the_sum_of_moves_per_interval(result: Result) -> None:
    m, trace = result.metrics, result.trace
    times = list(times_of(trace))
    for k, t in enumerate(times):
        lo = times[k - 1] if k else -math.inf
        expect = sum(moved(dict(d.before), dict(d.after)) for d in trace.decisions if lo < d.time <= t)
        assert m.moved[k] == expect, t
    assert m.summary()["moved"] == sum(moved(dict(d.before), dict(d.after)) for d in trace.decisions)


def _cost_rate(trace: Trace, t: float) -> float:
    s = state_at(trace, t)
    return sum(
        n * trace.workloads[w].requests.get("cpu", 0) / 1000 * trace.clusters[c].cost
        for w, held in s.assignment.items()
        for c, n in held.items()
    )


def test_cost_rate_and_total(result: Result) -> None:
    m, trace = result.metrics, result.trace
    for k, t in enumerate(times_of(trace)):
        assert m.cost_rate[k] == pytest.approx(_cost_rate(trace, t))
    # The total is the integral of a step function that changes only at record times.
    moments = sorted({r.time for r in records(trace)} | {trace.scenario.duration})
    total = sum(_cost_rate(trace, a) * (b - a) / 3600 for a, b in itertools.pairwise(moments))
    assert m.cost == pytest.approx(total)


def test_cpu_utilisation_over_placeable_clusters(result: Result) -> None:
    m, trace = result.metrics, result.trace
    j = m.resources.index("cpu")
    for k, t in enumerate(times_of(trace)):
        s = state_at(trace, t)
        used = alloc = 0.0
        for c, info in trace.clusters.items():
            if s.status.get(c) not in ("up", "failed", "silent"):
                continue
            alloc += int(info.allocatable.get("cpu", 0) * s.capacity[c])
            used += info.background.get("cpu", 0)
            used += sum(
                held.get(c, 0) * trace.workloads[w].requests.get("cpu", 0) for w, held in s.assignment.items()
            )
        assert m.utilisation[k, j] == pytest.approx(used / alloc), t


def test_cluster_imbalance_is_the_spread_of_dominant_shares(result: Result) -> None:
    m, trace = result.metrics, result.trace
    k = len(m.time) // 2
    t = float(m.time[k])
    s = state_at(trace, t)
    shares = []
    for c, info in trace.clusters.items():
        if s.status.get(c) not in ("up", "failed", "silent"):
            continue
        best = -1.0
        for r, a in info.allocatable.items():
            cap = int(a * s.capacity[c])
            if cap <= 0:
                continue
            use = info.background.get(r, 0) + sum(
                held.get(c, 0) * trace.workloads[w].requests.get(r, 0) for w, held in s.assignment.items()
            )
            best = max(best, use / cap)
        shares.append(best)
        assert m.cluster_utilisation[k, m.clusters.index(c)] == pytest.approx(best)
    assert m.imbalance_clusters[k] == pytest.approx(float(np.std(shares)))


def test_spread_violations(result: Result) -> None:
    m, trace = result.metrics, result.trace
    for k, t in enumerate(times_of(trace)):
        s = state_at(trace, t)
        count = 0
        for w, held in s.assignment.items():
            on = [c for c, n in held.items() if n > 0]
            if not on:
                continue
            for sc in trace.workloads[w].policy.spread_constraints:
                groups = {trace.clusters[c].group(sc.key) for c in on} - {""}
                if len(groups) < max(1, sc.min_groups) or (sc.max_groups and len(groups) > sc.max_groups):
                    count += 1
                    break
        assert m.spread_violations[k] == count, t


def test_pending_integral_and_waits(result: Result) -> None:
    m, trace = result.metrics, result.trace
    moments = sorted({r.time for r in records(trace)} | {trace.scenario.duration})
    pending_at = []
    for a in moments:
        s = state_at(trace, a)
        pending_at.append(
            {
                w: wanted(trace, w, n, s.assignment.get(w, {})) - sum(s.assignment.get(w, {}).values())
                for w, n in s.replicas.items()
            }
        )
    integral = sum(
        sum(p.values()) * (b - a) for p, a, b in zip(pending_at, moments, moments[1:], strict=False)
    )
    assert m.pending_replica_seconds == pytest.approx(integral)
    for wait in m.waits:
        i = moments.index(wait.start)
        assert pending_at[i].get(wait.workload, 0) > 0
        assert i == 0 or pending_at[i - 1].get(wait.workload, 0) <= 0
        if wait.resolved:
            j = moments.index(wait.end)
            assert pending_at[j].get(wait.workload, 0) <= 0
            assert all(p.get(wait.workload, 0) > 0 for p in pending_at[i:j])
            assert wait.replicas == max(p[wait.workload] for p in pending_at[i:j])


def test_records_are_pandas_shaped(result: Result) -> None:
    series = result.metrics.series()
    lengths = {k: v.shape for k, v in series.items()}
    assert set(lengths.values()) == {(len(result.metrics.time),)}
    rows = result.metrics.records()
    assert len(rows) == len(result.metrics.time) and set(rows[0]) == set(series)
    decisions = result.trace.decision_records()
    assert len(decisions) == len(result.trace.decisions)
    assert all(isinstance(d, DecisionRecord) for d in result.trace.decisions)
