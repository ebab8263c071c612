"""pytest-benchmark suites for the placement engine (perf-anchors.md section 7, G1).

Not part of the default test run (``testpaths = ["tests"]``). Run with::

    python -m pytest benchmarks -q --benchmark-only

Groups are sizes (workloads x clusters); within a group compare the engine per shape, the
per-cluster reference (the baseline) and the memory-bandwidth floor (one argmax pass over a dense
float32 workloads x clusters matrix, the least any dense greedy must read). Inputs are generated
and indexed outside the timed part. Slow cases use ``benchmark.pedantic`` with 5 rounds after one
warm-up round; the report's median is the number to quote.
"""

from __future__ import annotations

from typing import Any

import pytest
from bench_cases import (
    BATCHED_MODE,
    agreement,
    batched_supported,
    cached_case,
    floor_array,
    floor_pass,
    parse_size,
    place_with_mode,
)

from tmc_core.placement.batch import place_batch
from tmc_core.placement.index import FleetIndex
from tmc_core.placement.reference import place_reference
from tmc_core.simulate import Shape

ROUNDS = 5
ENGINE_CASES = [
    ("1kx100", "single"),
    ("1kx100", "divided"),
    ("10kx1k", "single"),
    ("10kx1k", "divided"),
]


def _info(benchmark: Any, size: str, shape: str, decisions: int) -> None:
    benchmark.group = size
    benchmark.extra_info.update({"size": size, "shape": shape, "decisions": decisions})


@pytest.mark.parametrize(("size", "shape"), ENGINE_CASES, ids=[f"{s}-{h}" for s, h in ENGINE_CASES])
def test_place_batch(benchmark: Any, size: str, shape: Shape) -> None:
    """The default (sequential) engine over a prebuilt FleetIndex."""
    case = cached_case(size, shape)
    _info(benchmark, size, shape, case.workloads)
    out = benchmark.pedantic(
        place_batch, args=(case.index, case.tasks), rounds=ROUNDS, warmup_rounds=1, iterations=1
    )
    assert len(out) == case.workloads


@pytest.mark.parametrize(("size", "shape"), ENGINE_CASES, ids=[f"{s}-{h}" for s, h in ENGINE_CASES])
def test_place_batch_batched(benchmark: Any, size: str, shape: Shape) -> None:
    """The lead's batched mode (``place_batch(..., mode="batched")``), when it exists."""
    if not batched_supported():
        pytest.skip("n/a: place_batch has no mode= keyword yet (batched mode not merged)")
    case = cached_case(size, shape)
    _info(benchmark, size, f"{shape}/batched", case.workloads)
    out = benchmark.pedantic(
        place_with_mode,
        args=(case.index, case.tasks, BATCHED_MODE),
        rounds=ROUNDS,
        warmup_rounds=1,
        iterations=1,
    )
    assert out is not None and len(out) == case.workloads
    benchmark.extra_info["agreement_with_sequential"] = agreement(out, place_batch(case.index, case.tasks))


@pytest.mark.parametrize("shape", ["single", "divided"])
def test_place_reference(benchmark: Any, shape: Shape) -> None:
    """The per-cluster Python reference at 1k x 100: the baseline the engine is compared with.

    ``place_reference`` builds its own FleetIndex from the clusters (a few ms at 100 clusters)."""
    case = cached_case("1kx100", shape)
    _info(benchmark, "1kx100", f"{shape}/reference", case.workloads)
    out = benchmark.pedantic(
        place_reference, args=(case.fleet.clusters, case.tasks), rounds=ROUNDS, warmup_rounds=1, iterations=1
    )
    assert len(out) == case.workloads


@pytest.mark.parametrize("size", ["1kx100", "10kx1k"])
def test_floor_argmax(benchmark: Any, size: str) -> None:
    """Memory-bandwidth floor: one argmax pass over a preallocated float32 W x C matrix."""
    n_workloads, n_clusters = parse_size(size)
    a = floor_array(n_workloads, n_clusters)
    _info(benchmark, size, "floor: argmax over float32 WxC", n_workloads)
    benchmark.extra_info["bytes"] = a.nbytes
    out = benchmark(floor_pass, a)
    assert out.shape == (n_workloads,)


@pytest.mark.parametrize("size", ["10kx1k"])
def test_fleet_index_build(benchmark: Any, size: str) -> None:
    """For context: building the FleetIndex (done once per fleet, outside the engine timings)."""
    case = cached_case(size, "single")
    _info(benchmark, size, "FleetIndex.from_fleet", 0)
    benchmark.pedantic(
        FleetIndex.from_fleet, args=(case.fleet,), rounds=ROUNDS, warmup_rounds=1, iterations=1
    )
