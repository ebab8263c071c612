"""Scaling study of the placement engine: time, memory and throughput per size, as a Markdown table.

Usage (from the repository root, in the project's virtualenv)::

    python benchmarks/scaling.py --quick
    python benchmarks/scaling.py --sizes 1kx100,10kx1k --shape single,divided --repeat 5
    python benchmarks/scaling.py --sizes 100kx5k --shape single --repeat 1 --json out.json

For each size and shape it generates the fleet and workloads (seeded), builds the FleetIndex, then
measures (each size in a fresh child process, so memory figures are its own):

- ``place_batch`` wall time, median of ``--repeat`` runs, and decisions per second;
- peak memory of the placement call: the tracemalloc peak (Python and numpy heap allocations made
  during one extra, untimed call) and the growth of the process's peak RSS (ru_maxrss) over the
  timed calls, plus the process's peak RSS itself (it includes the generated inputs);
- the per-cluster reference ``place_reference`` on a subsample (the first ``--ref-sample`` tasks),
  with the engine timed on the same subsample; the speed-up is per decision;
- the memory-bandwidth floor: one ``argmax`` pass over a dense float32 workloads x clusters
  matrix of the same size, built outside the timed part;
- the lead's batched mode (``place_batch(..., mode="batched")``): "n/a" until it exists.
"""

from __future__ import annotations

import argparse
import gc
import json
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
    BATCHED_MODE,
    agreement,
    batched_supported,
    build_case,
    floor_array,
    floor_pass,
    machine_facts,
    parse_size,
    place_with_mode,
)

from tmc_core.placement.batch import place_batch
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
    print(msg, file=sys.stderr, flush=True)


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
    modes: Sequence[str],
) -> dict[str, Any]:
    """Every measurement of one size and shape, as a flat dict (the JSON row)."""
    n_workloads, n_clusters = parse_size(size)
    row: dict[str, Any] = {"size": size, "shape": shape, "workloads": n_workloads, "clusters": n_clusters}
    _log(f"[{size} {shape}] generating ...")
    gen_s, case = _timed(lambda: build_case(size, shape))
    row["generate_s"] = gen_s
    tasks, index = case.tasks, case.index

    gc.collect()
    rss_before = _maxrss_mib()
    times: list[float] = []
    decisions: tuple[Any, ...] = ()
    for k in range(repeat):
        t, decisions = _timed(lambda: place_batch(index, tasks))
        times.append(t)
        _log(f"[{size} {shape}] place_batch run {k + 1}/{repeat}: {t:.3f} s")
    engine_s = statistics.median(times)
    row["engine_s"] = engine_s
    row["engine_runs_s"] = times
    row["decisions_per_s"] = n_workloads / engine_s if engine_s > 0 else None
    row["us_per_decision"] = engine_s / n_workloads * 1e6 if n_workloads else None
    row["rss_peak_mib"] = _maxrss_mib()
    row["rss_growth_mib"] = row["rss_peak_mib"] - rss_before
    row["schedulable"] = sum(d.schedulable for d in decisions) / max(1, len(decisions))
    row["clusters_per_decision"] = sum(len(d.clusters) for d in decisions) / max(1, len(decisions))

    if trace:
        gc.collect()
        tracemalloc.start()
        tracemalloc.reset_peak()
        place_batch(index, tasks)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        row["tracemalloc_peak_mib"] = peak / MiB
        _log(f"[{size} {shape}] tracemalloc peak {peak / MiB:.1f} MiB")

    # Hook for the lead's batched engine: n/a while place_batch has no mode= keyword.
    for mode in modes:
        if mode == "sequential":
            continue
        key = f"{mode}"
        mode_times: list[float] = []
        out: tuple[Any, ...] | None = None
        for _ in range(repeat):
            t, out = _timed(lambda: place_with_mode(index, tasks, mode))  # noqa: B023
            if out is None:
                break
            mode_times.append(t)
        if out is None:
            row[f"{key}_s"] = None
            _log(f"[{size} {shape}] mode={mode}: n/a")
            continue
        row[f"{key}_s"] = statistics.median(mode_times)
        row[f"{key}_decisions_per_s"] = n_workloads / row[f"{key}_s"]
        row[f"{key}_agreement"] = agreement(out, decisions)
        _log(
            f"[{size} {shape}] mode={mode}: {row[f'{key}_s']:.3f} s, agreement {row[f'{key}_agreement']:.4f}"
        )

    row["rss_peak_after_modes_mib"] = _maxrss_mib()

    m = default_ref_sample(n_workloads, n_clusters) if ref_sample is None else min(ref_sample, n_workloads)
    row["ref_sample"] = m
    if m > 0:
        sub = tasks[:m]
        clusters = case.fleet.clusters
        _log(f"[{size} {shape}] reference on the first {m} tasks ...")
        ref_s, ref = _timed(lambda: place_reference(clusters, sub))
        eng_sub_s, eng = _timed(lambda: place_batch(clusters, sub))
        row["ref_s"] = ref_s
        row["ref_us_per_decision"] = ref_s / m * 1e6
        row["engine_sub_s"] = eng_sub_s
        row["ref_agreement"] = agreement(eng, ref)
        row["speedup_vs_ref"] = (ref_s / m) / (engine_s / n_workloads) if engine_s > 0 else None
        row["speedup_vs_ref_same_sample"] = ref_s / eng_sub_s if eng_sub_s > 0 else None

    if floor:
        del decisions
        gc.collect()
        a = floor_array(n_workloads, n_clusters)
        floor_pass(a)  # warm-up
        floor_times = [_timed(lambda: floor_pass(a))[0] for _ in range(max(5, repeat))]
        floor_s = statistics.median(floor_times)
        row["floor_s"] = floor_s
        row["floor_gib_per_s"] = a.nbytes / floor_s / 2**30 if floor_s > 0 else None
        row["engine_over_floor"] = engine_s / floor_s if floor_s > 0 else None
        del a
    return row


# -- output --------------------------------------------------------------------------------------


def _fmt(value: Any, spec: str, none: str = "n/a") -> str:
    if value is None:
        return none
    return format(value, spec)


def _rate(value: float | None) -> str:
    if value is None:
        return "n/a"
    if value >= 1e6:
        return f"{value / 1e6:.2f}M"
    if value >= 1e3:
        return f"{value / 1e3:.1f}k"
    return f"{value:.0f}"


def markdown(rows: Sequence[dict[str, Any]], modes: Sequence[str]) -> str:
    """Two Markdown tables: time/throughput, then memory and context."""
    batched = BATCHED_MODE in modes
    head = [
        "size (W x C)",
        "shape",
        "place_batch median s",
        "decisions/s",
        "µs/decision",
    ]
    if batched:
        head += ["batched s", "batched dec/s", "batched agree"]
    head += [
        "ref sample",
        "ref µs/decision",
        "speed-up vs ref (x)",
        "ref agree",
        "floor ms",
        "time / floor (x)",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        cells = [
            f"{r['workloads']:,} x {r['clusters']:,}",
            r["shape"],
            _fmt(r["engine_s"], ".3f"),
            _rate(r.get("decisions_per_s")),
            _fmt(r.get("us_per_decision"), ".1f"),
        ]
        if batched:
            cells += [
                _fmt(r.get(f"{BATCHED_MODE}_s"), ".3f"),
                _rate(r.get(f"{BATCHED_MODE}_decisions_per_s")),
                _fmt(r.get(f"{BATCHED_MODE}_agreement"), ".2%"),
            ]
        cells += [
            str(r.get("ref_sample", 0)),
            _fmt(r.get("ref_us_per_decision"), ".0f", "-"),
            _fmt(r.get("speedup_vs_ref"), ".1f", "-"),
            _fmt(r.get("ref_agreement"), ".1%", "-"),
            _fmt(None if r.get("floor_s") is None else r["floor_s"] * 1e3, ".2f", "-"),
            _fmt(r.get("engine_over_floor"), ",.0f", "-"),
        ]
        lines.append("| " + " | ".join(cells) + " |")

    head2 = [
        "size (W x C)",
        "shape",
        "tracemalloc peak MiB",
        "ΔRSS peak MiB",
        "process peak RSS MiB",
        "peak RSS incl. other modes MiB",
        "schedulable",
        "clusters/decision",
        "generate s",
        "floor GiB/s",
    ]
    lines += ["", "| " + " | ".join(head2) + " |", "|" + "---|" * len(head2)]
    for r in rows:
        cells = [
            f"{r['workloads']:,} x {r['clusters']:,}",
            r["shape"],
            _fmt(r.get("tracemalloc_peak_mib"), ".1f", "-"),
            _fmt(r.get("rss_growth_mib"), ".0f"),
            _fmt(r.get("rss_peak_mib"), ".0f"),
            _fmt(r.get("rss_peak_after_modes_mib"), ".0f"),
            _fmt(r.get("schedulable"), ".1%"),
            _fmt(r.get("clusters_per_decision"), ".2f"),
            _fmt(r.get("generate_s"), ".2f"),
            _fmt(r.get("floor_gib_per_s"), ".1f", "-"),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


NOTES = """\
Notes:
- place_batch: median wall time of the repeats over a prebuilt FleetIndex (generation and indexing
  not included); decisions/s = workloads / median.
- ref: place_reference on the first `ref sample` tasks only (it is too slow for the full batch);
  "speed-up vs ref (x)" compares per-decision times (ref on the subsample vs the engine on the full
  batch), so capacity pressure differs slightly; "ref agree" is the share of identical decisions
  (clusters, replicas, schedulable) between the engine and the reference on that subsample.
- floor: one np.argmax(axis=1) pass over a preallocated dense float32 W x C matrix (the least a
  full-information greedy must read); "time / floor (x)" = place_batch median / floor median.
- tracemalloc peak: Python and numpy heap allocated during one extra untimed place_batch call
  (tracemalloc slows that call down; it is not part of the timings).
- ΔRSS peak: growth of the process's peak RSS (ru_maxrss) during the timed calls; 0 means the
  call stayed below the peak already reached while generating inputs. process peak RSS includes
  the generated fleet, workloads and index (each size runs in its own process); "incl. other
  modes" is the same after the batched runs too (the floor matrix and reference come later).
- batched: place_batch(..., mode="batched") when the engine has it, else n/a; "agree" = share of
  decisions identical to the sequential engine's."""


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
    ]
    if args.ref_sample is not None:
        cmd += ["--ref-sample", str(args.ref_sample)]
    if args.no_floor:
        cmd.append("--no-floor")
    if args.no_tracemalloc:
        cmd.append("--no-tracemalloc")
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
    parser.add_argument(
        "--modes", default=f"sequential,{BATCHED_MODE}", help="engine modes (default sequential,batched)"
    )
    parser.add_argument("--no-floor", action="store_true", help="skip the float32 argmax floor")
    parser.add_argument("--no-tracemalloc", action="store_true", help="skip the tracemalloc run (big sizes)")
    parser.add_argument("--in-process", action="store_true", help="do not start a child process per size")
    parser.add_argument("--json", type=Path, default=None, help="also write machine facts and rows as JSON")
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    args.modes = [m for m in args.modes.split(",") if m]
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
        shapes.append(s)  # type: ignore[arg-type]
    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for s in sizes:
        try:
            parse_size(s)
        except ValueError as err:
            parser.error(str(err))

    def run(size: str, shape: Shape) -> dict[str, Any]:
        return measure(
            size,
            shape,
            repeat=args.repeat,
            ref_sample=args.ref_sample,
            floor=not args.no_floor,
            trace=not args.no_tracemalloc,
            modes=args.modes,
        )

    if args.one:
        size, _, shape = args.one.partition(":")
        print(json.dumps(run(size, shape)))  # type: ignore[arg-type]
        return 0

    facts = machine_facts()
    print("## Machine\n")
    for k, v in facts.items():
        print(f"- {k}: {v}")
    print()
    if not batched_supported() and BATCHED_MODE in args.modes:
        print(f'batched mode: n/a (place_batch has no mode= keyword; the "{BATCHED_MODE}" column says n/a)\n')
    rows = []
    for size in sizes:
        for shape in shapes:
            rows.append(run(size, shape) if args.in_process else _child(args, size, shape))
    print(f"## Placement scaling (repeat={args.repeat}, median)\n")
    print(markdown(rows, args.modes))
    print()
    print(NOTES)
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "rows": rows}, indent=2))
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
