"""Where does the engine spend its time? cProfile over one seeded batch, plus kernel-call counts.

Usage::

    python benchmarks/profile_placement.py --size 10kx1k --shape single --mode batched --top 15
    python benchmarks/profile_placement.py --size 2kx1k --shape divided --decisions --out prof.out
    python benchmarks/profile_placement.py --size 10kx1k --mode batched --numba-threads 1

Profiles ``assign_batch(index, tasks, mode=...)`` (the engine; ``--decisions``: ``place_batch``,
the engine plus Decision objects). The FleetIndex is built and the compiled kernels are warmed
before profiling starts, so only the placement call is profiled. cProfile adds overhead per Python
call, so absolute times are inflated; read the ranking, not the seconds.

The compiled kernels are numba dispatchers, which cProfile does not see as functions of their own
(their time lands in the caller's tottime). So the kernels are wrapped for the profiled call: the
report ends with their call counts, the rows they scored and their wall time (measured outside
cProfile too: a second, unprofiled, counted call), e.g. how many batched rounds re-scored
workloads that lost a conflict.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cases import BATCH_SIZE, MODES, build_case, engine, engine_decisions, warm_jit

from tmc_core.placement import kernels
from tmc_core.simulate import SHAPES


class KernelCounter:
    """Wraps ``kernels.place_rounds`` (batched) and ``kernels.place_run`` (sequential): calls, rows
    scored and seconds."""

    NAMES = ("place_rounds", "place_run")

    def __init__(self) -> None:
        self.calls = dict.fromkeys(self.NAMES, 0)
        self.rows = dict.fromkeys(self.NAMES, 0)
        self.seconds = dict.fromkeys(self.NAMES, 0.0)
        self._saved: dict[str, Callable[..., Any]] = {}

    def __enter__(self) -> KernelCounter:
        for name in self.NAMES:
            fn = getattr(kernels, name)
            self._saved[name] = fn
            setattr(kernels, name, self._wrap(name, fn))
        return self

    def __exit__(self, *exc: object) -> None:
        for name, fn in self._saved.items():
            setattr(kernels, name, fn)

    def _wrap(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def counted(*args: Any) -> Any:
            start = time.perf_counter()
            out = fn(*args)
            self.seconds[name] += time.perf_counter() - start
            self.calls[name] += 1
            # place_run scores each workload it is given once; place_rounds reports its rows.
            self.rows[name] += int(out[2]) if name == "place_rounds" else int(args[0][0].shape[0])
            return out

        return counted

    def report(self, workloads: int, total_s: float) -> str:
        lines = []
        for name in self.NAMES:
            if not self.calls[name]:
                continue
            rows = self.rows[name]
            lines.append(
                f"{name}: {self.calls[name]} calls, {rows} rows scored "
                f"({rows / max(1, workloads):.2f} per workload), {self.seconds[name] * 1e3:.1f} ms "
                f"({self.seconds[name] / total_s:.0%} of the call; "
                f"{self.seconds[name] / max(1, rows) * 1e6:.2f} µs per row)"
            )
        return "\n".join(lines) or "no compiled kernel was called"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="10kx1k")
    parser.add_argument("--shape", default="single", choices=SHAPES)
    parser.add_argument("--mode", default="sequential", choices=MODES)
    parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
    parser.add_argument("--decisions", action="store_true", help="profile place_batch (+ Decision objects)")
    parser.add_argument("--numba-threads", type=int, default=None, help="numba.set_num_threads")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative, ...)")
    parser.add_argument("--out", type=Path, default=None, help="also dump the raw profile here")
    args = parser.parse_args()

    if args.numba_threads is not None and kernels.AVAILABLE:
        import numba

        numba.set_num_threads(args.numba_threads)
    warm_jit()
    case = build_case(args.size, args.shape)
    fn = engine_decisions if args.decisions else engine

    def call() -> Any:
        return fn(case.index, case.tasks, args.mode, args.batch_size)

    call()  # warm-up (numba dispatch, caches)
    plain_s = min(_timed(call) for _ in range(3))
    with KernelCounter() as counted:
        counted_s = _timed(call)
    prof = cProfile.Profile()
    prof.enable()
    out = call()
    prof.disable()
    if args.out:
        prof.dump_stats(str(args.out))
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    what = "place_batch" if args.decisions else "assign_batch"
    print(
        f"# {args.size} {args.shape} {what} mode={args.mode} batch_size={args.batch_size}: "
        f"{len(out)} decisions; unprofiled best of 3: {plain_s * 1e3:.1f} ms "
        f"({len(out) / plain_s:,.0f}/s)"
    )
    print(f"# kernels (a counted, unprofiled call of {counted_s * 1e3:.1f} ms):")
    print(counted.report(len(out), counted_s))
    print(buf.getvalue())
    return 0


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
