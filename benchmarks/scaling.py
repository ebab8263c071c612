"""Scaling study of the placement engine: throughput, baselines and memory per size, as Markdown tables.

Usage (from the repository root, in the project's virtualenv)::

    python benchmarks/scaling.py --quick
    python benchmarks/scaling.py --sizes 1kx100,10kx1k,100kx5k --shape single --repeat 3
    python benchmarks/scaling.py --sizes 1kx100,10kx1k --shape divided,mixed --repeat 3
    python benchmarks/scaling.py --sizes 10kx1k --numba-threads 1 --json out.json

For each size and shape it generates the fleet and workloads (seeded), builds the FleetIndex, warms
the compiled kernels (a tiny call), then measures (each size in a fresh child process, so memory
figures are its own):

- the engine, ``assign_batch(index, tasks, mode=...)`` in sequential and batched mode: wall time
  (median of ``--repeat`` runs) and decisions per second. Its result is arrays (``Assignment``);
  no Decision objects are built;
- ``place_batch(index, tasks)`` in sequential mode: the engine plus one pydantic ``Decision`` per
  workload, what most callers use;
- batched agreement: the share of batched decisions identical to the sequential ones;
- the per-cluster reference ``place_reference`` (the test oracle) on a subsample (the first
  ``--ref-sample`` tasks), with the engine's sequential decisions on the same subsample compared to
  it; the speed-up is per decision (reference on the subsample, engine on the full batch);
- the memory-bandwidth floor: one ``argmax`` pass over a dense float32 workloads x clusters
  matrix of the same size, built after every engine measurement (it is not part of the engine's RSS);
- memory: the tracemalloc peak of one extra, untimed call of each entry point, and the process's
  peak RSS (ru_maxrss) after the engine runs and after the place_batch runs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cases import (
    BATCH_SIZE,
    MODES,
    Mode,
    agreement,
    assignment_agreement,
    assignment_stats,
    build_case,
    engine,
    engine_decisions,
    floor_array,
    floor_pass,
    machine_facts,
    parse_size,
    warm_jit,
)

from tmc_core.placement import kernels
from tmc_core.placement.reference import place_reference
from tmc_core.simulate import SHAPES, Shape

T = TypeVar("T")
MiB = 2**20


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _log(msg: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} {msg}", file=sys.stderr, flush=True)


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else []


def _traced_peak_mib(fn: Callable[[], object]) -> float:
    """Peak of Python + numpy heap allocations during one call of ``fn`` (its result is dropped)."""
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / MiB


def set_numba_threads(threads: int | None) -> None:
    """``numba.set_num_threads`` (the batched kernel's prange threads); ignored without numba."""
    if threads is None or not kernels.AVAILABLE:
        return
    import numba

    numba.set_num_threads(threads)


def default_ref_sample(n_workloads: int, n_clusters: int) -> int:
    """Tasks the reference runs on: 1000, fewer on big fleets (~1e6 workload x cluster pairs)."""
    return min(n_workloads, 1000, max(100, 1_000_000 // max(1, n_clusters)))


def measure(
    size: str,
    shape: Shape,
    *,
    repeat: int,
    ref_sample: int | None,
    floor: bool,
    trace: bool,
    modes: Sequence[Mode],
    decisions: bool,
    batch_size: int,
) -> dict[str, Any]:
    """Every measurement of one size and shape, as a flat dict (the JSON row)."""
    n_workloads, n_clusters = parse_size(size)
    row: dict[str, Any] = {
        "size": size,
        "shape": shape,
        "workloads": n_workloads,
        "clusters": n_clusters,
        "batch_size": batch_size,
        "load_start": _load(),
    }
    tag = f"[{size} {shape}]"
    _log(f"{tag} generating ... (load {row['load_start']})")
    gen_s, case = _timed(lambda: build_case(size, shape))
    row["generate_s"] = gen_s
    tasks, index = case.tasks, case.index
    row["jit_warm_s"] = warm_jit()
    if kernels.AVAILABLE:
        import numba

        row["numba_threads"] = numba.get_num_threads()

    def per_s(seconds: float) -> float | None:
        return n_workloads / seconds if seconds > 0 else None

    # -- the engine: assign_batch, each mode ---------------------------------------------------
    gc.collect()
    rss_before = _maxrss_mib()
    row["rss_before_mib"] = rss_before
    results: dict[str, Any] = {}
    for mode in modes:
        times: list[float] = []
        out: Any = None
        for k in range(repeat):
            out = None
            t, out = _timed(lambda: engine(index, tasks, mode, batch_size))  # noqa: B023
            times.append(t)
            _log(f"{tag} assign_batch {mode} run {k + 1}/{repeat}: {t:.3f} s")
        results[mode] = out
        med = statistics.median(times)
        row[f"{mode}_s"] = med
        row[f"{mode}_runs_s"] = times
        row[f"{mode}_decisions_per_s"] = per_s(med)
        row[f"{mode}_us_per_decision"] = med / n_workloads * 1e6 if n_workloads else None
    row["rss_engine_mib"] = _maxrss_mib()
    row["rss_growth_mib"] = row["rss_engine_mib"] - rss_before

    seq = results.get("sequential")
    if seq is not None:
        row["schedulable"], row["clusters_per_decision"] = assignment_stats(seq)
        if "batched" in results:
            row["batched_agreement"] = assignment_agreement(results["batched"], seq)
            _log(f"{tag} batched agreement with sequential: {row['batched_agreement']:.4f}")

    # -- engine + Decision objects: place_batch, sequential ------------------------------------
    if decisions:
        times = []
        out = None
        for k in range(repeat):
            out = None
            t, out = _timed(lambda: engine_decisions(index, tasks, "sequential", batch_size))
            times.append(t)
            _log(f"{tag} place_batch sequential run {k + 1}/{repeat}: {t:.3f} s")
        del out
        med = statistics.median(times)
        row["place_batch_s"] = med
        row["place_batch_runs_s"] = times
        row["place_batch_decisions_per_s"] = per_s(med)
        if row.get("sequential_s"):
            row["decisions_share"] = 1.0 - row["sequential_s"] / med
    row["rss_decisions_mib"] = _maxrss_mib()

    # -- tracemalloc: one extra, untimed call of each entry point ------------------------------
    if trace:
        for mode in modes:
            row[f"{mode}_tracemalloc_mib"] = _traced_peak_mib(
                lambda: engine(index, tasks, mode, batch_size)  # noqa: B023
            )
            _log(f"{tag} tracemalloc peak, assign_batch {mode}: {row[f'{mode}_tracemalloc_mib']:.1f} MiB")
        if decisions:
            row["place_batch_tracemalloc_mib"] = _traced_peak_mib(
                lambda: engine_decisions(index, tasks, "sequential", batch_size)
            )
            _log(f"{tag} tracemalloc peak, place_batch: {row['place_batch_tracemalloc_mib']:.1f} MiB")

    # -- the per-cluster reference, on a subsample ---------------------------------------------
    m = default_ref_sample(n_workloads, n_clusters) if ref_sample is None else min(ref_sample, n_workloads)
    row["ref_sample"] = m
    if m > 0:
        sub = tasks[:m]
        clusters = case.fleet.clusters
        _log(f"{tag} reference on the first {m} tasks ...")
        ref_s, ref = _timed(lambda: place_reference(clusters, sub))
        eng_sub_s, eng = _timed(lambda: engine(index, sub, "sequential"))
        row["ref_s"] = ref_s
        row["ref_us_per_decision"] = ref_s / m * 1e6
        row["engine_sub_s"] = eng_sub_s
        row["ref_agreement"] = agreement(eng.decisions(sub), ref)
        row["speedup_vs_ref_same_sample"] = ref_s / eng_sub_s if eng_sub_s > 0 else None
        for mode in modes:
            mode_s = row.get(f"{mode}_s")
            row[f"{mode}_speedup_vs_ref"] = (ref_s / m) / (mode_s / n_workloads) if mode_s else None

    # -- the memory-bandwidth floor --------------------------------------------------------------
    if floor:
        results.clear()
        gc.collect()
        a = floor_array(n_workloads, n_clusters)
        floor_pass(a)  # warm-up
        floor_times = [_timed(lambda: floor_pass(a))[0] for _ in range(max(5, repeat))]
        floor_s = statistics.median(floor_times)
        row["floor_s"] = floor_s
        row["floor_gib_per_s"] = a.nbytes / floor_s / 2**30 if floor_s > 0 else None
        for mode in modes:
            mode_s = row.get(f"{mode}_s")
            row[f"{mode}_over_floor"] = mode_s / floor_s if mode_s and floor_s > 0 else None
        del a
    row["load_end"] = _load()
    return row


# -- output --------------------------------------------------------------------------------------


def _fmt(value: Any, spec: str, none: str = "-") -> str:
    if value is None:
        return none
    return format(value, spec)


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def _ms(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    ms = seconds * 1e3
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows]
    return "\n".join(lines)


def _label(r: dict[str, Any]) -> list[str]:
    return [f"{r['workloads']:,} x {r['clusters']:,}", r["shape"]]


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """Three Markdown tables: throughput, baselines (reference and floor), memory and context."""
    t1 = _table(
        [
            "size (W x C)",
            "shape",
            "sequential ms",
            "sequential dec/s",
            "batched ms",
            "batched dec/s",
            "batched agree",
            "place_batch seq ms",
            "place_batch seq dec/s",
            "Decision share",
        ],
        [
            [
                *_label(r),
                _ms(r.get("sequential_s")),
                _rate(r.get("sequential_decisions_per_s")),
                _ms(r.get("batched_s")),
                _rate(r.get("batched_decisions_per_s")),
                _fmt(r.get("batched_agreement"), ".2%"),
                _ms(r.get("place_batch_s")),
                _rate(r.get("place_batch_decisions_per_s")),
                _fmt(r.get("decisions_share"), ".0%"),
            ]
            for r in rows
        ],
    )
    t2 = _table(
        [
            "size (W x C)",
            "shape",
            "ref sample",
            "ref µs/dec",
            "seq µs/dec",
            "batched µs/dec",
            "seq vs ref (x)",
            "batched vs ref (x)",
            "ref agree",
            "floor ms",
            "seq / floor (x)",
            "batched / floor (x)",
        ],
        [
            [
                *_label(r),
                str(r.get("ref_sample", 0)),
                _fmt(r.get("ref_us_per_decision"), ",.0f"),
                _fmt(r.get("sequential_us_per_decision"), ".2f"),
                _fmt(r.get("batched_us_per_decision"), ".2f"),
                _fmt(r.get("sequential_speedup_vs_ref"), ",.0f"),
                _fmt(r.get("batched_speedup_vs_ref"), ",.0f"),
                _fmt(r.get("ref_agreement"), ".1%"),
                _fmt(None if r.get("floor_s") is None else r["floor_s"] * 1e3, ".2f"),
                _fmt(r.get("sequential_over_floor"), ",.0f"),
                _fmt(r.get("batched_over_floor"), ",.0f"),
            ]
            for r in rows
        ],
    )
    t3 = _table(
        [
            "size (W x C)",
            "shape",
            "tracemalloc seq MiB",
            "tracemalloc batched MiB",
            "tracemalloc place_batch MiB",
            "peak RSS after engine MiB",
            "ΔRSS engine MiB",
            "peak RSS after place_batch MiB",
            "schedulable",
            "clusters/decision",
            "generate s",
            "floor GiB/s",
            "load 1/5/15 at start",
        ],
        [
            [
                *_label(r),
                _fmt(r.get("sequential_tracemalloc_mib"), ".1f"),
                _fmt(r.get("batched_tracemalloc_mib"), ".1f"),
                _fmt(r.get("place_batch_tracemalloc_mib"), ".1f"),
                _fmt(r.get("rss_engine_mib"), ".0f"),
                _fmt(r.get("rss_growth_mib"), ".0f"),
                _fmt(r.get("rss_decisions_mib"), ".0f"),
                _fmt(r.get("schedulable"), ".1%"),
                _fmt(r.get("clusters_per_decision"), ".2f"),
                _fmt(r.get("generate_s"), ".2f"),
                _fmt(r.get("floor_gib_per_s"), ".1f"),
                " ".join(f"{x:.2f}" for x in r.get("load_start", [])) or "-",
            ]
            for r in rows
        ],
    )
    return "\n\n".join(
        [
            "### Throughput",
            t1,
            "### Against the reference and the floor",
            t2,
            "### Memory and context",
            t3,
        ]
    )


NOTES = """\
Notes:
- sequential / batched: assign_batch(index, tasks, mode=...) over a prebuilt FleetIndex, median of
  the repeats; the engine's raw result (CSR arrays), no Decision objects. dec/s = workloads / median.
  The compiled kernels were warmed (a tiny call) before timing; generation and indexing not timed.
- batched agree: share of batched decisions identical (clusters, replicas, schedulable) to the
  sequential ones. Batched mode has batch-snapshot semantics, so below 100% is expected.
- place_batch seq: place_batch(index, tasks) = assign_batch(...).decisions(tasks), sequential mode:
  the engine plus one pydantic Decision per workload. Decision share = 1 - sequential / place_batch.
- ref: place_reference (the per-cluster Python oracle; it builds its own FleetIndex, included in its
  time) on the first `ref sample` tasks only (it is too slow for the full batch). "vs ref (x)" =
  reference µs/decision on the subsample / engine µs/decision on the full batch (capacity
  pressure differs slightly). "ref agree" = share of identical decisions between the sequential
  engine and the reference on that subsample (anything below 100% is a bug).
- floor: one np.argmax(axis=1) pass over a preallocated dense float32 W x C matrix (the least a
  full-information greedy must read); "/ floor (x)" = engine median / floor median. The matrix is
  built after the RSS readings; the engine never builds a W x C matrix.
- tracemalloc: peak Python + numpy heap allocated during one extra, untimed call of each entry point
  (what the call allocates, not its inputs; tracemalloc slows the call, it is not in the timings).
- peak RSS (ru_maxrss): of the whole child process (inputs + index + engine) after the engine runs,
  then after the place_batch runs; ΔRSS engine = growth of the peak over the engine runs (0 = the
  engine stayed below the peak reached while generating the inputs)."""


def _child(args: argparse.Namespace, size: str, shape: Shape) -> dict[str, Any]:
    """Run one size in a fresh interpreter (clean peak RSS); the row comes back as JSON on stdout."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--one",
        f"{size}:{shape}",
        "--repeat",
        str(args.repeat),
        "--modes",
        ",".join(args.modes),
        "--batch-size",
        str(args.batch_size),
    ]
    if args.ref_sample is not None:
        cmd += ["--ref-sample", str(args.ref_sample)]
    if args.numba_threads is not None:
        cmd += ["--numba-threads", str(args.numba_threads)]
    for flag in ("no_floor", "no_tracemalloc", "no_decisions"):
        if getattr(args, flag):
            cmd.append("--" + flag.replace("_", "-"))
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, check=True)
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default=None, help="comma-separated WxC sizes (default 1kx100,10kx1k,100kx5k)"
    )
    parser.add_argument(
        "--shape",
        default="single",
        help=f"policy shape(s), comma-separated: {', '.join(SHAPES)} (default single)",
    )
    parser.add_argument(
        "--repeat", type=int, default=None, help="timed runs per size; the median is reported"
    )
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, 1 repeat: a smoke test of the script"
    )
    parser.add_argument(
        "--ref-sample", type=int, default=None, help="tasks the reference runs on (default: min(1000, 1e6/C))"
    )
    parser.add_argument("--modes", default=",".join(MODES), help="engine modes (default sequential,batched)")
    parser.add_argument(
        "--batch-size", type=int, default=BATCH_SIZE, help=f"batched mode's batch_size (default {BATCH_SIZE})"
    )
    parser.add_argument(
        "--numba-threads", type=int, default=None, help="numba.set_num_threads (default: numba's, all cores)"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the float32 argmax floor")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc runs")
    parser.add_argument("--no-decisions", action="store_true", help="skip place_batch (Decision objects)")
    parser.add_argument("--in-process", action="store_true", help="do not start a child process per size")
    parser.add_argument("--json", type=Path, default=None, help="also write machine facts and rows as JSON")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    modes: list[Mode] = []
    for m in args.modes.split(","):
        if m and m not in MODES:
            parser.error(f"unknown mode {m!r}: expected {', '.join(MODES)}")
        if m:
            modes.append(m)
    args.modes = modes
    if args.quick:
        args.sizes = args.sizes or "500x50,1kx100"
        args.repeat = args.repeat or 1
        if args.ref_sample is None:
            args.ref_sample = 200
    args.sizes = args.sizes or "1kx100,10kx1k,100kx5k"
    args.repeat = args.repeat or 3
    shapes: list[Shape] = []
    for s in args.shape.split(","):
        if s not in SHAPES:
            parser.error(f"unknown shape {s!r}: expected {', '.join(SHAPES)}")
        shapes.append(s)
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        try:
            parse_size(s)
        except ValueError as err:
            parser.error(str(err))
    set_numba_threads(args.numba_threads)

    def run(size: str, shape: Shape) -> dict[str, Any]:
        return measure(
            size,
            shape,
            repeat=args.repeat,
            ref_sample=args.ref_sample,
            floor=not args.no_floor,
            trace=not args.no_tracemalloc,
            modes=args.modes,
            decisions=not args.no_decisions,
            batch_size=args.batch_size,
        )

    if args.one:
        size, _, shape = args.one.partition(":")
        print(json.dumps(run(size, shape)))
        return 0

    warm_jit()  # so the facts can name numba's threading layer
    facts = machine_facts()
    print("## Machine\n")
    for k, v in facts.items():
        print(f"- {k}: {v}")
    print()
    rows = []
    for size in sizes:
        for shape in shapes:
            rows.append(run(size, shape) if args.in_process else _child(args, size, shape))
    print(f"## Placement scaling (repeat={args.repeat}, median; batch_size={args.batch_size})\n")
    print(markdown(rows))
    print()
    print(NOTES)
    end_load = _load()
    print(f"\nload average (1/5/15 min) at the end: {' '.join(f'{x:.2f}' for x in end_load)}")
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "rows": rows, "load_end": end_load}, indent=2))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
