"""Shared inputs and helpers of the placement benchmarks (pytest-benchmark suite and scaling.py).

Every input is synthetic and seeded (``tmc_core.simulate``), so two runs on the same machine time
the same work. The fleet index is built outside the timed part: the timings are of the engine over
a ready ``FleetIndex``, not of parsing or indexing. Two entry points are timed:

- ``assign_batch(index, tasks, mode=...)`` (``engine``): the engine's raw result, an ``Assignment``
  of CSR arrays, no Python object per decision; this is the decisions/s the targets are about;
- ``place_batch(index, tasks)`` (``engine_decisions``): the same plus one pydantic ``Decision`` per
  workload (``Assignment.decisions``), what most callers use.
"""

from __future__ import annotations

import functools
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from tmc_core.model import Decision, Fleet
from tmc_core.placement import kernels
from tmc_core.placement.batch import DEFAULT_BATCH_SIZE, Assignment, PlacementTask, assign_batch, place_batch
from tmc_core.placement.index import FleetIndex
from tmc_core.simulate import Shape, synthetic_fleet, synthetic_workloads

FLEET_SEED = 20240601
WORKLOAD_SEED = 20240602
POLICIES = 32

Mode = Literal["sequential", "batched"]
MODES: tuple[Mode, ...] = get_args(Mode)
BATCHED_MODE: Mode = "batched"
"""Batch-snapshot semantics: runs of single-cluster workloads scored ``batch_size`` at a time against
one snapshot, conflicts resolved exactly (perf-anchors G1/G2); every other workload sequentially."""

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


def warm_jit() -> float:
    """Compile (or load from numba's cache) the single-cluster kernels before anything is timed.

    Places a tiny single-shape batch in both modes (``place_run`` for sequential, ``place_rounds``
    with its parallel row scoring for batched); returns the seconds it took. A no-op without the
    ``fast`` extra.
    """
    if not kernels.AVAILABLE:
        return 0.0
    start = time.perf_counter()
    case = build_case("64x16", "single")
    for mode in MODES:
        assign_batch(case.index, case.tasks, mode=mode)
    return time.perf_counter() - start


BATCH_SIZE = DEFAULT_BATCH_SIZE
"""``assign_batch``'s default ``batch_size``."""


def engine(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    mode: Mode = "sequential",
    batch_size: int = BATCH_SIZE,
) -> Assignment:
    """The engine alone: ``assign_batch`` over a prebuilt index (arrays, no Decision objects)."""
    return assign_batch(index, tasks, mode=mode, batch_size=batch_size)


def engine_decisions(
    index: FleetIndex,
    tasks: Sequence[PlacementTask],
    mode: Mode = "sequential",
    batch_size: int = BATCH_SIZE,
) -> tuple[Decision, ...]:
    """Engine plus Decision objects: ``place_batch`` (= ``assign_batch(...).decisions(tasks)``)."""
    return place_batch(index, tasks, mode=mode, batch_size=batch_size)


def same_decision(a: Decision, b: Decision) -> bool:
    """Same clusters, replicas and schedulability (reasons and explanations are not compared)."""
    return a.clusters == b.clusters and a.schedulable == b.schedulable


def agreement(a: Sequence[Decision], b: Sequence[Decision]) -> float:
    """Fraction of positions where two decision lists agree (``same_decision``)."""
    if not a:
        return 1.0
    return sum(same_decision(x, y) for x, y in zip(a, b, strict=True)) / len(a)


def assignment_agreement(a: Assignment, b: Assignment) -> float:
    """``agreement`` on the engine's arrays: per task the same (cluster, replicas) list and the same
    schedulability. Equal to ``agreement(a.decisions(tasks), b.decisions(tasks))`` (decisions list
    their clusters in the assignment's order), without building Decision objects."""
    if len(a) != len(b):
        raise ValueError(f"assignments of different lengths: {len(a)} and {len(b)}")
    if a.cluster_names != b.cluster_names:
        raise ValueError("assignments over different fleets")
    n = len(a)
    if n == 0:
        return 1.0
    ao, ac, ar, asch = a.offsets.tolist(), a.clusters.tolist(), a.replicas.tolist(), a.schedulable.tolist()
    bo, bc, br, bsch = b.offsets.tolist(), b.clusters.tolist(), b.replicas.tolist(), b.schedulable.tolist()
    same = 0
    for i in range(n):
        if asch[i] != bsch[i]:
            continue
        a_lo, a_hi, b_lo, b_hi = ao[i], ao[i + 1], bo[i], bo[i + 1]
        if ac[a_lo:a_hi] == bc[b_lo:b_hi] and ar[a_lo:a_hi] == br[b_lo:b_hi]:
            same += 1
    return same / n


def assignment_stats(a: Assignment) -> tuple[float, float]:
    """(share of schedulable decisions, mean clusters per decision) of an assignment."""
    n = len(a)
    if n == 0:
        return 1.0, 0.0
    return float(a.schedulable.mean()), float(a.clusters.size) / n


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
    out: np.ndarray[Any, np.dtype[np.intp]] = np.argmax(a, axis=1)
    return out


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
    try:
        import numba

        most = numba.config.NUMBA_NUM_THREADS  # type: ignore[attr-defined]
        threads = f"threads: {numba.get_num_threads()} of {most}"
        layer: str
        try:
            layer = numba.threading_layer()  # type: ignore[attr-defined]
        except ValueError:  # no parallel kernel has run in this process yet
            layer = "not initialised"
        facts["numba"] = f"{numba.__version__} ({threads}; threading layer: {layer})"
    except ImportError:
        facts["numba"] = "not installed"
    facts["platform"] = platform.platform()
    for var in ("OPENBLAS_CORETYPE", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "NUMBA_NUM_THREADS"):
        if os.environ.get(var):
            facts[var] = os.environ[var]
    facts["compiled kernel (kernels.AVAILABLE)"] = (
        "yes: single-cluster workloads use the numba kernels"
        if kernels.AVAILABLE
        else "no: numpy pipeline only"
    )
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
        changed = sorted(line.split(maxsplit=1)[-1] for line in dirty.splitlines())
        shown = ", ".join(changed[:8]) + (f" and {len(changed) - 8} more" if len(changed) > 8 else "")
        facts["tmc commit"] = head + (f" (+ uncommitted changes: {shown})" if changed else "")
    except (OSError, subprocess.CalledProcessError):
        facts["tmc commit"] = "unknown"
    facts["argv"] = " ".join([os.path.basename(sys.executable), *sys.argv])
    return facts
