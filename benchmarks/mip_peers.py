"""How far an optimality proof of the 500 x 50 mixed batch is from reach: the same model, other solvers.

Issue 4 asks CP-SAT to prove the 500 x 50 batch optimal within 5 s. This script builds the batch the
solver benchmark uses (``optimal_row(500, 50, ...)``: ``synthetic_fleet(50, seed=2)``, ``shape="mixed"``,
load 0.8), writes ``Optimal``'s model as a MIP through OR-Tools' linear solver wrapper and hands it
to HiGHS or SCIP (both ship inside the ``ortools`` wheel), so their branch and cut can be compared
with CP-SAT's search on the same constraints:

    python benchmarks/mip_peers.py --solver HIGHS --seconds 5
    python benchmarks/mip_peers.py --solver SCIP --seconds 60 --log

The model is ``tmc_core.solvers.optimal``'s (see its module docstring): per task a placed bool; per
candidate an integer replica count (Divided, summing to ``replicas`` when placed) or a bool
(Duplicated); "uses" bools where PickN or a spread rule needs them; spread groups; capacity rows on
every resource; objective ``Objective.coefficients``. The batch has no running replicas (no churn)
and no anti-affinity groups, so those parts are left out here. The printed gap is
(bound - objective) / bound as the solver reports them; HiGHS and SCIP stop at a relative gap of
1e-4 by default, CP-SAT only at a proof (an exact one, up to its 1/1000 rounding of coefficients).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from tmc_core.simulate.generate import synthetic_fleet, synthetic_workloads
from tmc_core.solvers import Objective, Problem


def batch(n_workloads: int, n_clusters: int, seed: int) -> Problem:
    """The solver benchmark's mixed batch (``benchmarks/solvers.py``, ``optimal_row``)."""
    fleet = synthetic_fleet(n_clusters, seed=seed)
    tasks = synthetic_workloads(n_workloads, seed=seed + 1, fleet=fleet, shape="mixed", load=0.8)
    return Problem.build(fleet, tasks)


def _uses(
    solver: pywraplp.Solver, amount: dict[int, Any], uses: dict[int, Any], reps: int, group: Sequence[int]
) -> list[Any]:
    """The "uses the cluster" bools of ``group`` (created for Divided entries on demand)."""
    for e in group:
        if e not in uses:
            uses[e] = solver.BoolVar("")
            solver.Add(amount[e] <= reps * uses[e])
            solver.Add(amount[e] >= uses[e])
    return [uses[e] for e in group]


def mip(problem: Problem, solver: pywraplp.Solver) -> None:
    """Add ``Optimal``'s model of ``problem`` (without churn and anti-affinity) to ``solver``."""
    if problem.current.any() or problem.anti_affinity:
        raise SystemExit("this comparison covers batches with nothing running and no anti-affinity")
    coef = Objective().coefficients(problem)
    objective = solver.Objective()
    capacity: dict[tuple[int, int], list[tuple[Any, int]]] = {}
    for i in range(problem.size):
        lo, hi = int(problem.cand_ptr[i]), int(problem.cand_ptr[i + 1])
        reps, dup = int(problem.replicas[i]), bool(problem.duplicated[i])
        if reps == 0 or hi == lo:
            continue
        placed = solver.BoolVar(f"y{i}")
        policy = problem.tasks[i].policy
        spreads = list(policy.spread_constraints) if policy.replica_strategy != "StaticWeight" else []
        usable = np.ones(hi - lo, dtype=np.bool_)
        codes: dict[int, Any] = {}
        for j, sc in enumerate(spreads):
            if sc.key != "cluster":
                column = (
                    problem.index.label(sc.spread_by_label)
                    if sc.spread_by_label
                    else problem.index.fields[sc.spread_by_field or ""]
                )
                codes[j] = column.codes[problem.cand_idx[lo:hi]]
                usable &= codes[j] >= 0
        entries = [lo + k for k in range(hi - lo) if usable[k]]
        amount: dict[int, Any] = {}
        uses: dict[int, Any] = {}
        for e in entries:
            if dup:
                z = solver.BoolVar("")
                amount[e] = uses[e] = z
                solver.Add(z <= placed)
                objective.SetCoefficient(z, float(coef[e]) * reps)
            else:
                amount[e] = solver.IntVar(0, reps, "")
                objective.SetCoefficient(amount[e], float(coef[e]))
        total = solver.Sum([amount[e] for e in entries])
        solver.Add(total >= placed) if dup else solver.Add(total == reps * placed)

        pick = int(problem.pick_n[i])
        if 0 <= pick < len(entries):
            solver.Add(solver.Sum(_uses(solver, amount, uses, reps, entries)) <= pick)
        for j, sc in enumerate(spreads):
            least = sc.effective_min if dup else min(sc.effective_min, reps)
            members: dict[int, list[int]] = {}
            for e in entries:
                members.setdefault(int(codes[j][e - lo]) if j in codes else e, []).append(e)
            if len(members) < sc.effective_min:
                solver.Add(placed == 0)
                continue
            capped = bool(sc.max_groups) and sc.max_groups < len(members)
            if not capped and least <= 1:
                continue
            counted = []
            for group in members.values():
                if j in codes:
                    g = solver.BoolVar("")
                    in_group = _uses(solver, amount, uses, reps, group)
                    for u in in_group:
                        solver.Add(u <= g)
                    solver.Add(g <= solver.Sum(in_group))
                    counted.append(g)
                else:
                    counted += _uses(solver, amount, uses, reps, group)
            if capped:
                solver.Add(solver.Sum(counted) <= sc.max_groups)
            if least > 1:
                solver.Add(solver.Sum(counted) >= least * placed)
        for e in entries:
            cluster = int(problem.cand_idx[e])
            for r in range(problem.requests.shape[1]):
                request = int(problem.requests[i, r])
                if request:
                    capacity.setdefault((cluster, r), []).append((amount[e], request * (reps if dup else 1)))
    for (cluster, r), terms in capacity.items():
        solver.Add(solver.Sum([w * v for v, w in terms]) <= int(problem.capacity[cluster, r]))
    objective.SetMaximization()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--solver", default="HIGHS", choices=["HIGHS", "SCIP", "CBC"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--size", default="500x50", help="WORKLOADSxCLUSTERS (default 500x50)")
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("--log", action="store_true", help="the solver's own progress log")
    args = parser.parse_args(argv)
    n_workloads, n_clusters = (int(x) for x in args.size.split("x"))
    problem = batch(n_workloads, n_clusters, args.seed)
    solver = pywraplp.Solver.CreateSolver(args.solver)
    if solver is None:
        raise SystemExit(f"{args.solver} is not in this OR-Tools build")
    start = time.perf_counter()
    mip(problem, solver)
    built = time.perf_counter() - start
    solver.SetTimeLimit(int(args.seconds * 1000))
    solver.SetNumThreads(1)
    if args.log:
        solver.EnableOutput()
    start = time.perf_counter()
    status = solver.Solve()
    seconds = time.perf_counter() - start
    names = {
        pywraplp.Solver.OPTIMAL: "OPTIMAL (within the solver's gap tolerance)",
        pywraplp.Solver.FEASIBLE: "FEASIBLE",
    }
    if status not in names:
        print(
            f"{args.solver}: no solution in {seconds:.1f} s (status {status}); model built in {built:.2f} s"
        )
        return 0
    value, bound = solver.Objective().Value(), solver.Objective().BestBound()
    gap = (bound - value) / max(1.0, abs(bound))
    print(
        f"{args.solver} {args.size}: {names[status]}, objective {value:.9g}, bound {bound:.9g}, "
        f"gap {gap:.2e}, {seconds:.1f} s (model built in {built:.2f} s, "
        f"{solver.NumVariables()} variables, {solver.NumConstraints()} constraints)"
    )
    if args.solver == "HIGHS" and status == pywraplp.Solver.OPTIMAL:
        print(
            "  (once its gap tolerance is met the wrapper reports HiGHS' objective as the bound; "
            "--log shows the dual bound)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
