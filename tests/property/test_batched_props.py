"""Batched mode: the same invariants as sequential mode, and the same answers when batches hold one."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tmc_core.model import Cluster, PlacementPolicy, Workload
from tmc_core.placement import FleetIndex, PlacementTask, place_batch, placement_order
from tmc_core.placement.index import resource_vector
from tmc_core.placement.single import batchable

from .placement_worlds import _affinity, clusters

SETTINGS = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DYNAMIC = ["LeastAllocated", "MostAllocated", "BalancedAllocation", "Balance"]
STATIC = ["PreferredAffinity", "TaintPreference", "ResourceAllocatableCPU"]


@st.composite
def single_worlds(draw: st.DrawFn) -> tuple[list[Cluster], list[PlacementTask]]:
    """Fleets and single-cluster workloads (PickN 1, Duplicated) that the batched kernel takes."""
    fleet = draw(clusters(max_size=8))
    policies = []
    for _ in range(draw(st.integers(1, 3))):
        spec: dict[str, Any] = {
            "placementType": "PickN",
            "numberOfClusters": 1,
            "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
            "clusterAffinity": _affinity(draw, len(fleet)),
            "prioritizers": [
                {"name": n, "weight": draw(st.integers(0, 4))}
                for n in draw(
                    st.lists(st.sampled_from(DYNAMIC + STATIC), min_size=1, max_size=4, unique=True)
                )
            ],
        }
        if draw(st.booleans()):
            spec["clusterTolerations"] = [{"key": "dedicated", "operator": "Exists"}]
        policies.append(PlacementPolicy.model_validate(spec))
    tasks = []
    for k in range(draw(st.integers(1, 12))):
        w = Workload(
            name=f"w{k:02d}",
            namespace="ns",
            replicas=draw(st.integers(0, 4)),
            requests={"cpu": f"{draw(st.integers(0, 8)) * 250}m", "memory": f"{draw(st.integers(0, 3))}Gi"},
            priority=draw(st.integers(0, 1)),
        )
        tasks.append(PlacementTask(w, draw(st.sampled_from(policies)), placement=f"ns/p{k}"))
    return fleet, tasks


def _placed_with(
    fleet: list[Cluster], tasks: list[PlacementTask], mode: str, batch_size: int, **settings: float
) -> Any:
    """``place_batch`` with module settings of ``tmc_core.placement.single`` patched for the call."""
    import pytest

    from tmc_core.placement import single

    with pytest.MonkeyPatch.context() as mp:
        for name, value in settings.items():
            mp.setattr(single, name, value)
        return place_batch(fleet, tasks, mode=mode, batch_size=batch_size)  # type: ignore[arg-type]


@SETTINGS
@given(single_worlds(), st.integers(1, 5), st.booleans())
def test_batched_never_overcommits_and_places_whole_workloads(
    world: tuple[list[Cluster], list[PlacementTask]], batch_size: int, compiled: bool
) -> None:
    """Both batched implementations: the compiled rounds and, without numba, the numpy ones."""
    import pytest

    from tmc_core.placement import kernels

    fleet, tasks = world
    assert all(batchable(t) for t in tasks if t.workload.replicas > 0)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "AVAILABLE", kernels.AVAILABLE and compiled)
        decisions = place_batch(fleet, tasks, mode="batched", batch_size=batch_size)
    index = FleetIndex.from_fleet(fleet, extra_resources={"cpu", "memory"})
    used = index.free * 0
    for task, d in zip(tasks, decisions, strict=True):
        if d.schedulable:
            assert len(d.clusters) == 1 and d.clusters[0].replicas == task.workload.replicas
            c = index.position[d.clusters[0].name]
            used[c] += task.workload.replicas * resource_vector(task.workload.requests, index.resources)
            assert task.policy.affinity_terms()[0].matches(fleet[c])
        else:
            assert not d.clusters and d.reason.startswith("0/")
    assert (used <= index.free).all()


@SETTINGS
@given(single_worlds())
def test_batched_is_deterministic(world: tuple[list[Cluster], list[PlacementTask]]) -> None:
    fleet, tasks = world
    assert place_batch(fleet, tasks, mode="batched", batch_size=3) == place_batch(
        fleet, tasks, mode="batched", batch_size=3
    )


@SETTINGS
@given(single_worlds())
def test_a_batch_of_one_places_like_sequential_mode_up_to_exact_ties(
    world: tuple[list[Cluster], list[PlacementTask]],
) -> None:
    """With one workload per round the snapshot is always current; only factored float rounding
    can differ, so a different answer must be an (almost) exact tie under the sequential scores."""
    fleet, tasks = world
    seq = place_batch(fleet, tasks, explain=True)
    bat = place_batch(fleet, tasks, mode="batched", batch_size=1)
    for k in placement_order(tasks):
        s, b = seq[k], bat[k]
        assert s.schedulable == b.schedulable
        if s.clusters == b.clusters:
            continue
        assert s.explanation is not None
        totals = {cs.cluster: cs.total for cs in s.explanation.scores}
        assert abs(totals[s.clusters[0].name] - totals[b.clusters[0].name]) < 1e-6
        break  # later decisions legitimately diverge after a tie went the other way


@SETTINGS
@given(single_worlds())
def test_compiled_kernel_and_numpy_give_identical_decisions(
    world: tuple[list[Cluster], list[PlacementTask]],
) -> None:
    """The compiled fast path repeats the numpy pipeline's arithmetic in the same order."""
    import pytest

    from tmc_core.placement import kernels

    if not kernels.AVAILABLE:
        pytest.skip("numba not installed (the 'fast' extra)")
    fleet, tasks = world
    compiled = place_batch(fleet, tasks)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(kernels, "AVAILABLE", False)
        plain = place_batch(fleet, tasks)
    assert compiled == plain


@SETTINGS
@given(single_worlds(), st.sampled_from(["sequential", "batched"]), st.integers(1, 5))
def test_compacted_columns_give_the_same_decisions(
    world: tuple[list[Cluster], list[PlacementTask]], mode: str, batch_size: int
) -> None:
    """Per-term compacted columns only drop clusters a term excludes; nothing else may change."""
    import pytest

    from tmc_core.placement import kernels

    if not kernels.AVAILABLE:
        pytest.skip("numba not installed (the 'fast' extra)")
    fleet, tasks = world
    shared = _placed_with(fleet, tasks, mode, batch_size, COMPACT_MIN_TASKS_PER_TERM=1_000_000)
    compact = _placed_with(
        fleet, tasks, mode, batch_size, COMPACT_MIN_TASKS_PER_TERM=0, COMPACT_MAX_SHARE=1.0
    )
    assert compact == shared


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.integers(0, 10_000),
    st.integers(20, 60),
    st.sampled_from(["sequential", "batched"]),
    st.integers(1, 16),
    st.sampled_from([0.0, 0.3, 1.0]),
)
def test_score_cache_gives_the_same_decisions(
    seed: int, n_clusters: int, mode: str, batch_size: int, ratio: float
) -> None:
    """The kernels' per-request score cache (kept up to date as clusters take workloads) holds what
    the fused pass computes: on for every request, for some (``ratio``), off, and the numpy
    pipeline decide alike, on the benchmark's fleets (2 to 4 scored resources per request, every
    dynamic prioritizer)."""
    import pytest

    from tmc_core.placement import kernels, single
    from tmc_core.placement.batch import assign_batch
    from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads

    if not kernels.AVAILABLE:
        pytest.skip("numba not installed (the 'fast' extra)")
    fleet = synthetic_fleet(n_clusters, seed=seed)
    tasks = synthetic_workloads(4 * n_clusters, seed=seed + 1, fleet=fleet, shape="single")
    index = FleetIndex.from_fleet(fleet)

    def run(**patch: float) -> Any:
        with pytest.MonkeyPatch.context() as mp:
            for name, value in patch.items():
                mp.setattr(single, name, value)
            return assign_batch(index, tasks, mode=mode, batch_size=batch_size)  # type: ignore[arg-type]

    on = run(MOMENTS_COST_RATIO=ratio)
    off = run(MOMENTS_MAX_BYTES=0)
    assert (on.clusters == off.clusters).all() and (on.offsets == off.offsets).all()
    assert (on.schedulable == off.schedulable).all()
    if mode == "sequential":  # the numpy pipeline is the reference for sequential decisions
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(kernels, "AVAILABLE", False)
            plain = assign_batch(index, tasks)
        assert (on.clusters == plain.clusters).all() and (on.offsets == plain.offsets).all()


@SETTINGS
@given(single_worlds(), st.sampled_from(["sequential", "batched"]), st.integers(1, 5))
def test_score_cache_on_small_fleets(
    world: tuple[list[Cluster], list[PlacementTask]], mode: str, batch_size: int
) -> None:
    """The cache forced on over fleets of a few clusters and resources (fewer scored rows than its
    four slots, zero requests, workloads nothing fits) decides as the fused pass does."""
    import pytest

    from tmc_core.placement import kernels

    if not kernels.AVAILABLE:
        pytest.skip("numba not installed (the 'fast' extra)")
    fleet, tasks = world
    on = _placed_with(fleet, tasks, mode, batch_size, MOMENTS_COST_RATIO=0.0)
    off = _placed_with(fleet, tasks, mode, batch_size, MOMENTS_MAX_BYTES=0)
    assert on == off
