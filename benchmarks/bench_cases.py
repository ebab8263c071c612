"""Shared inputs and helpers of the placement benchmarks (pytest-benchmark suite and scaling.py).

Every input is synthetic and seeded (``tmc_core.simulate``), so two runs on the same machine time
the same work. The fleet index is built outside the timed part: the timings are of the decision
kernel (``place_batch`` over a ready ``FleetIndex``), not of parsing or indexing.
"""

from __future__ import annotations

import functools
import inspect
import os
import platform
import re
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from tmc_core.model import Decision, Fleet
from tmc_core.placement.batch import PlacementTask, place_batch
from tmc_core.placement.index import FleetIndex
from tmc_core.simulate import Shape, synthetic_fleet, synthetic_workloads

FLEET_SEED = 20240601
WORKLOAD_SEED = 20240602
POLICIES = 32

BATCHED_MODE = "batched"
"""The lead's faster batched engine: ``place_batch(..., mode="batched")`` (batch-snapshot semantics).
Reported as n/a while ``place_batch`` has no ``mode`` keyword."""

_UNITS = {"": 1, "k": 1_000, "m": 1_000_000}


def parse_count(text: str) -> int:
    """``"10k"`` -> 10000, ``"5000"`` -> 5000, ``"1m"`` -> 1000000."""
    m = re.fullmatch(r"(\d+)([km]?)", text.strip().lower())
    if not m:
        raise ValueError(f"not a count: {text!r} (expected e.g. 100, 10k, 1m)")
    return int(m.group(1)) * _UNITS[m.group(2)]


def parse_size(text: str) -> tuple[int, int]:
    """``"10kx1k"`` -> (10000 workloads, 1000 clusters)."""
    parts = text.lower().split("x")
    if len(parts) != 2:
        raise ValueError(f"not a size: {text!r} (expected WORKLOADSxCLUSTERS, e.g. 10kx1k)")
    return parse_count(parts[0]), parse_count(parts[1])


@dataclass(frozen=True)
class Case:
    """One benchmark input: a fleet, its index, and the tasks to place."""

    size: str
    shape: Shape
    fleet: Fleet
    index: FleetIndex
    tasks: list[PlacementTask]

    @property
    def workloads(self) -> int:
        return len(self.tasks)

    @property
    def clusters(self) -> int:
        return self.index.size


def build_case(size: str, shape: Shape, *, seed: int = 0) -> Case:
    """Generate the fleet and workloads for ``size`` (e.g. ``"10kx1k"``) and build the index."""
    n_workloads, n_clusters = parse_size(size)
    fleet = synthetic_fleet(n_clusters, seed=FLEET_SEED + seed)
    tasks = synthetic_workloads(
        n_workloads, seed=WORKLOAD_SEED + seed, fleet=fleet, shape=shape, policies=POLICIES
    )
    asked = {r for t in tasks for r in t.workload.requests}
    index = FleetIndex.from_fleet(fleet, extra_resources=asked)
    return Case(size, shape, fleet, index, tasks)


@functools.lru_cache(maxsize=8)
def cached_case(size: str, shape: Shape) -> Case:
    """``build_case`` memoised, so a pytest session generates each input once."""
    return build_case(size, shape)


def batched_supported() -> bool:
    """Whether ``place_batch`` takes the ``mode`` keyword (the lead's batched engine)."""
    try:
        params = inspect.signature(place_batch).parameters
    except (TypeError, ValueError):  # pragma: no cover - signature always available here
        return False
    return "mode" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def place_with_mode(
    index: FleetIndex, tasks: Sequence[PlacementTask], mode: str | None
) -> tuple[Decision, ...] | None:
    """``place_batch`` in ``mode`` (``None`` = the default sequential engine).

    Returns ``None`` (report "n/a") when ``mode`` is given and ``place_batch`` has no such
    keyword yet; a TypeError from inside an engine that does take ``mode`` is re-raised.
    """
    if mode is None:
        return place_batch(index, tasks)
    try:
        return place_batch(index, tasks, mode=mode)  # type: ignore[call-arg,unused-ignore]
    except TypeError:
        if batched_supported():
            raise
        return None


def same_decision(a: Decision, b: Decision) -> bool:
    """Same clusters, replicas and schedulability (reasons and explanations are not compared)."""
    return a.clusters == b.clusters and a.schedulable == b.schedulable


def agreement(a: Sequence[Decision], b: Sequence[Decision]) -> float:
    """Fraction of positions where two decision lists agree (``same_decision``)."""
    if not a:
        return 1.0
    return sum(same_decision(x, y) for x, y in zip(a, b, strict=True)) / len(a)


def floor_array(n_workloads: int, n_clusters: int, seed: int = 0) -> np.ndarray[Any, np.dtype[np.float32]]:
    """A dense float32 workloads x clusters score matrix (random), for the memory-bandwidth floor."""
    rng = np.random.default_rng(seed)
    out = np.empty((n_workloads, n_clusters), dtype=np.float32)
    step = max(1, (1 << 26) // max(1, n_clusters))  # fill in ~256 MB chunks
    for start in range(0, n_workloads, step):
        out[start : start + step] = rng.random((min(step, n_workloads - start), n_clusters), dtype=np.float32)
    return out


def floor_pass(a: np.ndarray[Any, np.dtype[np.float32]]) -> np.ndarray[Any, np.dtype[np.intp]]:
    """One pass over the matrix: the best cluster per workload (what a dense greedy must at least read)."""
    return np.argmax(a, axis=1)


def machine_facts() -> dict[str, str]:
    """CPU model, cores, memory, Python/numpy versions and the tmc commit, for the record."""
    facts: dict[str, str] = {}
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        text = cpuinfo.read_text()
        model = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        facts["cpu"] = model.group(1).strip() if model else "unknown"
        flags = re.search(r"^flags\s*:\s*(.+)$", text, re.M)
        if flags:
            have = set(flags.group(1).split())
            simd = [f for f in ("avx2", "avx512f", "avx512bw", "avx512_vnni") if f in have]
            facts["simd"] = " ".join(simd) or "none of avx2/avx512"
        cache = re.search(r"^cache size\s*:\s*(.+)$", text, re.M)
        if cache:
            facts["cache (per cpuinfo)"] = cache.group(1).strip()
    else:  # pragma: no cover - non-Linux
        facts["cpu"] = platform.processor() or "unknown"
    facts["logical cpus"] = str(os.cpu_count())
    if hasattr(os, "sched_getaffinity"):
        facts["usable cpus"] = str(len(os.sched_getaffinity(0)))
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        total = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.M)
        if total:
            facts["memory"] = f"{int(total.group(1)) / 2**20:.1f} GiB"
    if hasattr(os, "getloadavg"):
        facts["load average (1/5/15 min)"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    facts["python"] = platform.python_version()
    facts["numpy"] = np.__version__
    facts["platform"] = platform.platform()
    for var in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        if os.environ.get(var):
            facts[var] = os.environ[var]
    facts["batched mode"] = "available" if batched_supported() else "n/a (place_batch has no mode=)"
    try:
        root = Path(__file__).resolve().parent.parent
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        facts["tmc commit"] = head + (" (+ uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        facts["tmc commit"] = "unknown"
    facts["argv"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    return facts
