"""Where does place_batch spend its time? cProfile over one seeded batch, top functions by tottime.

Usage::

    python benchmarks/profile_placement.py --size 2kx1k --shape single --top 15
    python benchmarks/profile_placement.py --size 2kx1k --shape divided --mode batched --out prof.out

The FleetIndex is built before profiling starts, so only the placement call is profiled. cProfile
adds overhead per Python call, so absolute times are inflated; read the ranking, not the seconds.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_cases import build_case, place_with_mode

from tmc_core.simulate import SHAPES


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", default="2kx1k")
    parser.add_argument("--shape", default="single", choices=SHAPES)
    parser.add_argument("--mode", default=None, help="place_batch mode (default: the sequential engine)")
    parser.add_argument("--top", type=int, default=15)
    parser.add_argument("--sort", default="tottime", help="pstats sort key (tottime, cumulative, ...)")
    parser.add_argument("--out", type=Path, default=None, help="also dump the raw profile here")
    args = parser.parse_args()

    case = build_case(args.size, args.shape)
    prof = cProfile.Profile()
    prof.enable()
    out = place_with_mode(case.index, case.tasks, args.mode)
    prof.disable()
    if out is None:
        print(f"mode {args.mode!r}: n/a (place_batch has no mode= keyword)")
        return 1
    if args.out:
        prof.dump_stats(str(args.out))
    buf = io.StringIO()
    stats = pstats.Stats(prof, stream=buf)
    stats.strip_dirs().sort_stats(args.sort).print_stats(args.top)
    print(f"# {args.size} {args.shape} mode={args.mode or 'sequential'}: {len(out)} decisions")
    print(buf.getvalue())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
