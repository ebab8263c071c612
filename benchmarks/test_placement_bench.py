"""pytest-benchmark suites for the placement engine (perf-anchors.md section 7, G1-G3).

Not part of the default test run (``testpaths = ["tests"]``). Run with::

    python -m pytest benchmarks -q --benchmark-only

Groups are sizes (workloads x clusters); within a group compare the engine (``assign_batch``, the
raw array result) per mode and shape, ``place_batch`` (the engine plus Decision objects), the
per-cluster reference (the baseline and test oracle) and the memory-bandwidth floor (one argmax
pass over a dense float32 workloads x clusters matrix, the least any dense greedy must read).
Inputs are generated and indexed outside the timed part, and the compiled kernels are warmed once
per session. Slow cases use ``benchmark.pedantic`` with 5 rounds after one warm-up round; the
report's median is the number to quote.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bench_cases import (
    MODES,
    assignment_agreement,
    cached_case,
    engine,
    engine_decisions,
    floor_array,
    floor_pass,
    parse_size,
    warm_jit,
)

from tmc_core.placement.index import FleetIndex
from tmc_core.placement.reference import place_reference
from tmc_core.simulate import Shape

ROUNDS = 5
SIZES = ["1kx100", "10kx1k"]
SHAPES = ["single", "divided"]
ENGINE_CASES = [(size, shape, mode) for size in SIZES for shape in SHAPES for mode in MODES]


@pytest.fixture(scope="module", autouse=True)
def _warm_kernels() -> Iterator[None]:
    """Compile (or load from cache) the numba kernels before the first timed call."""
    warm_jit()
    yield


def _info(benchmark: Any, size: str, label: str, decisions: int) -> None:
    benchmark.group = size
    benchmark.extra_info.update({"size": size, "case": label, "decisions": decisions})


@pytest.mark.parametrize(
    ("size", "shape", "mode"), ENGINE_CASES, ids=[f"{s}-{h}-{m}" for s, h, m in ENGINE_CASES]
)
def test_assign_batch(benchmark: Any, size: str, shape: Shape, mode: str) -> None:
    """The engine: ``assign_batch(index, tasks, mode=...)`` over a prebuilt FleetIndex (arrays only)."""
    case = cached_case(size, shape)
    _info(benchmark, size, f"assign_batch {shape}/{mode}", case.workloads)
    out = benchmark.pedantic(
        engine, args=(case.index, case.tasks, mode), rounds=ROUNDS, warmup_rounds=1, iterations=1
    )
    assert len(out) == case.workloads
    if mode != "sequential":
        seq = engine(case.index, case.tasks, "sequential")
        benchmark.extra_info["agreement_with_sequential"] = assignment_agreement(out, seq)


@pytest.mark.parametrize("shape", SHAPES)
def test_place_batch(benchmark: Any, shape: Shape) -> None:
    """Engine plus Decision objects: ``place_batch(index, tasks)`` (sequential) at 10k x 1k."""
    case = cached_case("10kx1k", shape)
    _info(benchmark, "10kx1k", f"place_batch {shape}/sequential", case.workloads)
    out = benchmark.pedantic(
        engine_decisions, args=(case.index, case.tasks), rounds=ROUNDS, warmup_rounds=1, iterations=1
    )
    assert len(out) == case.workloads


@pytest.mark.parametrize("shape", SHAPES)
def test_place_reference(benchmark: Any, shape: Shape) -> None:
    """The per-cluster Python reference at 1k x 100: the baseline the engine is compared with.

    ``place_reference`` builds its own FleetIndex from the clusters (a few ms at 100 clusters)."""
    case = cached_case("1kx100", shape)
    _info(benchmark, "1kx100", f"place_reference {shape}", case.workloads)
    out = benchmark.pedantic(
        place_reference, args=(case.fleet.clusters, case.tasks), rounds=ROUNDS, warmup_rounds=1, iterations=1
    )
    assert len(out) == case.workloads


@pytest.mark.parametrize("size", SIZES)
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
