"""Solver benchmark: greedy, flow and CP-SAT on the sizes issue 4 names, plus the packing-heavy family.

Every row runs greedy on the same batch in the same process, so the figures that matter are ratios and
solver outcomes (status, gap, unschedulable, stranded capacity), not absolute seconds on a busy machine.

    python benchmarks/solvers.py                 # the full table (a few minutes on 2 cores)
    python benchmarks/solvers.py --quick         # small sizes only (seconds; what CI could run)
    python benchmarks/solvers.py --json out.json # also the raw rows

Rows:
- flow 10k x 1k and 100k x 5k, shape ``divided``: ``Problem.build`` with a candidate pool (every
  eligible cluster at 10k x 1k; each workload's best 500 at 100k x 5k, to bound memory), timed
  separately, then ``Flow(top_k=20)``: the network uses each workload's top 20, the repair pass the
  whole pool. Greedy places the same batch as the baseline. The "top-20 problem" rows build the
  top-20 problem itself and solve it whole (``Flow(top_k=None)``): the flow's optimum is then a
  certified bound and the gap column says how close rounding and repair come to it. Flow times are
  the median of 3 runs (1 at 100k x 5k) after the compiled kernels were loaded.
- flow 10k x 1k on a slot model (the fleet reports pods only, each replica is one pod: where the
  flow model fits exactly), as drawn and with replica counts doubled so the top-20 pools are
  contended; the top-20 problem solved whole, so the flow optimum bounds it.
- optimal 500 x 50 (proof within 5 s) and 1000 x 100 (gap within 10 s), shape ``mixed``, on 1 and on
  2 workers.
- packing family (tmc_core.simulate.packing) at 40 and 120 clusters: greedy vs optimal vs flow -
  workloads left unschedulable, CPU stranded, objective, time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from tmc_core.placement import PlacementTask
from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads
from tmc_core.simulate.packing import packing_family, stranded
from tmc_core.solvers import Flow, Greedy, Optimal, Problem
from tmc_core.solvers.solution import Solution

T = TypeVar("T")


def _timed(fn: Callable[[], T]) -> tuple[float, T]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _outcome(solution: Solution) -> dict[str, Any]:
    a = solution.assignment
    return {
        "status": solution.status,
        "objective": solution.objective,
        "bound": solution.bound,
        "gap": solution.gap,
        "unschedulable": int((~a.schedulable).sum()),
        "placed_replicas": int(a.replicas.sum()),
    }


def _free_cpu(problem: Problem, solution: Solution) -> np.ndarray:
    cpu = problem.index.resource_position("cpu")
    used = np.zeros(problem.index.size, dtype=np.int64)
    a = solution.assignment
    for i in range(problem.size):
        lo, hi = int(a.offsets[i]), int(a.offsets[i + 1])
        np.add.at(used, a.clusters[lo:hi], a.replicas[lo:hi] * problem.requests[i, cpu])
    return problem.capacity[:, cpu] - used


def _stranded(problem: Problem, solution: Solution) -> int:
    cpu = problem.index.resource_position("cpu")
    waiting = ~solution.assignment.schedulable
    blocks = problem.requests[waiting, cpu] * problem.replicas[waiting]
    return stranded(_free_cpu(problem, solution), blocks)


def _warm_flow() -> None:
    """Load the flow's compiled kernels (numba's cache) on a tiny batch, so no row times that."""
    fleet = synthetic_fleet(20, seed=9)
    tasks = synthetic_workloads(60, seed=9, fleet=fleet, shape="divided")
    Flow(top_k=5).solve(Problem.build(fleet, tasks, top_k=10))


def flow_row(
    n_workloads: int, n_clusters: int, pool: int | None, seed: int = 1, repeat: int = 3
) -> dict[str, Any]:
    """Flow (top-20 network) on a divided batch built with a candidate ``pool``; greedy as baseline.

    ``pool=20`` builds the top-20 problem itself and solves it with ``Flow(top_k=None)``: nothing is
    pruned inside the solver, so the flow's optimum is a certified bound on that problem and the
    row's gap says how far rounding and repair stay from it. Flow's time is the median of
    ``repeat`` runs after the kernels were warmed."""
    _warm_flow()
    fleet = synthetic_fleet(n_clusters, seed=seed)
    tasks = synthetic_workloads(n_workloads, seed=seed + 1, fleet=fleet, shape="divided")
    label = "top-20 problem, Flow(top_k=None)" if pool == 20 else f"top-20 of pool {pool or 'all'}"
    solver = Flow(top_k=None if pool == 20 else 20)
    return _flow_case(f"flow {n_workloads} x {n_clusters} ({label})", fleet, tasks, pool, solver, repeat)


def _flow_case(
    case: str, fleet: Any, tasks: Sequence[PlacementTask], pool: int | None, solver: Flow, repeat: int
) -> dict[str, Any]:
    """Build the problem (candidate ``pool``), then greedy once and ``solver`` ``repeat`` times on it
    (the median run is reported): one table row."""
    build_s, problem = _timed(lambda: Problem.build(fleet, tasks, top_k=pool))
    greedy_s, greedy = _timed(lambda: Greedy().solve(problem))
    runs = [_timed(lambda: solver.solve(problem)) for _ in range(repeat)]
    flow_s, flow = sorted(runs, key=lambda r: r[0])[len(runs) // 2]
    return {
        "case": case,
        "build_s": build_s,
        "greedy_s": greedy_s,
        "solver_s": flow_s,
        "ratio": flow_s / greedy_s,
        "greedy": _outcome(greedy),
        "solver": _outcome(flow),
        "entries": int(problem.cand_idx.size),
    }


def slot_row(
    n_workloads: int, n_clusters: int, pressure: float, seed: int = 1, repeat: int = 3
) -> dict[str, Any]:
    """Flow where its model fits exactly: a slot model (the fleet reports pods only, every replica is
    one pod), replica counts of the divided family times ``pressure`` so that the top-20 pools are
    contended; the top-20 problem solved whole, so the flow optimum is a certified bound."""
    _warm_flow()
    fleet = synthetic_fleet(n_clusters, seed=seed, resources=("pods",))
    drawn = synthetic_workloads(n_workloads, seed=seed + 1, fleet=fleet, shape="divided", load=None)
    tasks = [
        PlacementTask(
            t.workload.model_copy(update={"replicas": round(t.workload.replicas * pressure)}), t.policy
        )
        for t in drawn
    ]
    case = f"flow {n_workloads} x {n_clusters} slot model, replicas x{pressure:g} (top-20 problem)"
    return _flow_case(case, fleet, tasks, 20, Flow(top_k=None), repeat)


def optimal_row(
    n_workloads: int, n_clusters: int, time_limit: float, workers: int, seed: int = 2
) -> dict[str, Any]:
    """CP-SAT on a mixed batch (full candidate lists), greedy on the same batch as the baseline."""
    fleet = synthetic_fleet(n_clusters, seed=seed)
    tasks = synthetic_workloads(n_workloads, seed=seed + 1, fleet=fleet, shape="mixed", load=0.8)
    build_s, problem = _timed(lambda: Problem.build(fleet, tasks))
    greedy_s, greedy = _timed(lambda: Greedy().solve(problem))
    solver = Optimal(time_limit=time_limit, workers=workers)
    opt_s, opt = _timed(lambda: solver.solve(problem))
    return {
        "case": f"optimal {n_workloads} x {n_clusters} ({workers} workers, {time_limit:g} s)",
        "build_s": build_s,
        "greedy_s": greedy_s,
        "solver_s": opt_s,
        "ratio": opt_s / greedy_s,
        "greedy": _outcome(greedy),
        "solver": _outcome(opt),
        "entries": int(problem.cand_idx.size),
    }


def packing_rows(n_clusters: int, time_limit: float, workers: int, seed: int = 3) -> list[dict[str, Any]]:
    """Greedy, flow and CP-SAT on one packing-heavy batch, each with its stranded CPU."""
    fleet, tasks = packing_family(n_clusters, seed=seed)
    build_s, problem = _timed(lambda: Problem.build(fleet, tasks))
    rows = []
    greedy_s = None
    for name, solver in (
        ("greedy", Greedy()),
        ("flow", Flow(top_k=None)),
        ("optimal", Optimal(time_limit=time_limit, workers=workers)),
    ):
        seconds, solution = _timed(lambda s=solver: s.solve(problem))
        greedy_s = seconds if greedy_s is None else greedy_s
        out = _outcome(solution)
        out["stranded_cpu_cores"] = _stranded(problem, solution) / 1000
        rows.append(
            {
                "case": f"packing {len(tasks)} x {n_clusters}: {name}",
                "build_s": build_s,
                "solver_s": seconds,
                "ratio": seconds / greedy_s,
                "solver": out,
                "workloads": len(tasks),
            }
        )
    return rows


def _fmt(value: Any, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The table docs/solvers.md shows."""
    head = (
        "| case | build s | greedy s | solver s | solver/greedy | status | gap | "
        "unschedulable (greedy -> solver) | stranded cores |"
    )
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        s = r["solver"]
        g = r.get("greedy")
        unsched = f"{g['unschedulable']} -> {s['unschedulable']}" if g else str(s["unschedulable"])
        lines.append(
            f"| {r['case']} | {r['build_s']:.2f} | {_fmt(r.get('greedy_s'), '.3f')} | {r['solver_s']:.3f} | "
            f"{r['ratio']:.1f} | {s['status']} | {_fmt(s['gap'], '.4%')} | {unsched} | "
            f"{_fmt(s.get('stranded_cpu_cores'), '.1f')} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="small sizes only")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers (default 2)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument("--skip-largest", action="store_true", help="leave out flow 100k x 5k")
    parser.add_argument("--only-largest", action="store_true", help="run flow 100k x 5k alone")
    args = parser.parse_args(argv)

    rows: list[dict[str, Any]] = []
    plan: list[tuple[str, Callable[[], Any]]] = []
    if args.quick:
        plan += [
            ("flow 2k x 200", lambda: flow_row(2_000, 200, None)),
            ("optimal 100 x 20", lambda: optimal_row(100, 20, 2.0, args.workers)),
            ("packing 20", lambda: packing_rows(20, 2.0, args.workers)),
        ]
    else:
        plan += [
            ("flow 10k x 1k", lambda: flow_row(10_000, 1_000, None)),
            ("flow 10k x 1k, top-20 problem", lambda: flow_row(10_000, 1_000, 20)),
            ("flow 10k x 1k, slot model", lambda: slot_row(10_000, 1_000, 1.0)),
            ("flow 10k x 1k, contended slot model", lambda: slot_row(10_000, 1_000, 2.0)),
            ("optimal 500 x 50, 1 worker", lambda: optimal_row(500, 50, 5.0, 1)),
            ("optimal 500 x 50", lambda: optimal_row(500, 50, 5.0, args.workers)),
            ("optimal 1000 x 100, 1 worker", lambda: optimal_row(1_000, 100, 10.0, 1)),
            ("optimal 1000 x 100", lambda: optimal_row(1_000, 100, 10.0, args.workers)),
            ("packing 40", lambda: packing_rows(40, 10.0, args.workers)),
            ("packing 120", lambda: packing_rows(120, 10.0, args.workers)),
        ]
        if not args.skip_largest:
            plan.append(("flow 100k x 5k", lambda: flow_row(100_000, 5_000, 500, repeat=1)))
    if args.only_largest:
        plan = [
            ("flow 100k x 5k", lambda: flow_row(100_000, 5_000, 500, repeat=1)),
            ("flow 100k x 5k, top-20 problem", lambda: flow_row(100_000, 5_000, 20, repeat=1)),
        ]
    for label, run in plan:
        _log(f"running {label} ...")
        out = run()
        rows.extend(out if isinstance(out, list) else [out])
    print(markdown(rows))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\nmachine: {platform.processor() or platform.machine()}, {os.cpu_count()} cpus, "
        f"peak RSS {rss:.0f} MiB"
    )
    if args.json:
        args.json.write_text(json.dumps({"rows": rows, "peak_rss_mib": rss}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
