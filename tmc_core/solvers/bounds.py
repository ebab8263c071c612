"""Certified upper bounds: the LP relaxation of the batch model, solved by HiGHS through scipy.

The optimisation model, per candidate entry e = (task i, cluster c): replicas x_e; for a Divided
task y_i in {0, 1} with sum_e x_e = replicas_i * y_i (all or nothing); for a Duplicated task
z_e in {0, 1} with x_e = replicas_i * z_e; for PickN at most n clusters used; capacity on every
resource; churn = sum_e max(current_e - x_e, 0). The relaxation:

- x_e continuous in [0, ub_e], ub_e = min(replicas_i, the replicas of task i that fit on c alone in
  every resource): a valid tightening, since no feasible assignment exceeds it.
- Divided: sum_e x_e <= replicas_i (y_i continuous in [0, 1], projected out). Duplicated:
  x_e = replicas_i * z_e with z_e in [0, 1], i.e. x_e in [0, ub_e] on its own (no row).
- PickN: u_e in [0, 1], x_e <= ub_e * u_e, sum_e u_e <= n.
- Capacity: sum over a cluster's entries of request_i[r] * x_e <= capacity[c, r] for every
  resource (rows that cannot bind, e.g. unlimited pods, are left out).
- Churn, linearised exactly: x_e = a_e + b_e, a_e in [0, min(current_e, ub_e)] worth
  value_e + churn and b_e worth value_e (value_e = ``Objective.coefficients``); the constant
  -churn * (sum_e current_e + moved_anyway) is added back.
- Dropped, which keeps it an upper bound: integrality, all-or-nothing (y, z continuous),
  spreadConstraints and topologySpreadConstraints, anti-affinity, the policies' division
  preferences.

"Feasible" means: passes ``violations``, which also holds an unschedulable task to at most
replicas_i replicas on a cluster (and in total, for Divided).

The number returned is not HiGHS' objective value but the Lagrangian bound
``b.y + sum_j ub_j * max(0, v_j - (A^T y)_j)`` of the duals ``y >= 0`` HiGHS returns, evaluated over
*every* candidate of the problem (the multiplier of each PickN row x_e <= ub_e u_e is chosen per
entry in closed form). It is valid for any ``y >= 0``, so solver tolerances and time limits can
only weaken it, never make it wrong; without usable duals (HiGHS stopped at once) the simple
duals "every replica at its best value" give a weak but valid bound. This also lets a pruned LP
certify the full problem: with ``top_k``, the LP is solved over each task's ``top_k`` best
candidates, every candidate is priced with the duals, each task's ``top_k`` most promising
candidates with a positive reduced cost join the LP, and after ``rounds`` solves the best
Lagrangian bound is returned (column generation; every round's bound holds for the full problem,
and enough rounds reach the full LP's).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.solvers.objective import Objective
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution

__all__ = ["certify", "lp_bound", "lp_replicas"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

_SAFETY = 1e-9
"""Relative margin added to the bound against floating-point rounding in its evaluation."""
_OPTIMAL_GAP = 1e-8
"""``certify`` reports OPTIMAL within this relative gap (10 x the safety margin)."""
_CHUNK = 1 << 22
"""Candidate entries priced at a time (keeps memory flat on very large problems)."""


@dataclasses.dataclass(frozen=True, slots=True)
class _Duals:
    """Multipliers (all >= 0) of the relaxation's rows; rows the LP did not have are 0. The rows
    x_e <= ub_e u_e of PickN entries get their best multiplier per entry in closed form instead."""

    task: FloatArray  # per task: sum_e x_e <= replicas_i (Divided only)
    cap: FloatArray  # C x R: capacity
    pick_task: FloatArray  # per task: sum_e u_e <= n


@dataclasses.dataclass(frozen=True, slots=True)
class _Data:
    """Per candidate entry data of the relaxation, for the whole problem."""

    task: IntArray
    value: FloatArray
    ub: IntArray
    keep_now: IntArray  # min(current, ub): the replicas worth value + churn
    divided: BoolArray  # per task


def _data(problem: Problem, objective: Objective) -> _Data:
    counts = np.diff(problem.cand_ptr)
    task = np.repeat(np.arange(problem.size, dtype=np.int64), counts)
    ub = problem.replicas[task].copy()
    clusters = problem.cand_idx
    for r in range(problem.capacity.shape[1]):
        req = problem.requests[task, r]
        ask = req > 0
        ub[ask] = np.minimum(ub[ask], np.maximum(problem.capacity[clusters[ask], r], 0) // req[ask])
    return _Data(
        task=task,
        value=objective.coefficients(problem),
        ub=ub,
        keep_now=np.minimum(problem.current, ub),
        divided=~problem.duplicated,
    )


def _terms(problem: Problem, data: _Data, duals: _Duals, churn: float, lo: int, hi: int) -> FloatArray:
    """Per candidate entry lo..hi: what its columns add to the Lagrangian bound (>= 0).

    With r = value - (A^T y) of the b column (the a column: r + churn), an entry adds
    (ub - keep) max(0, r) + keep max(0, r + churn). For a PickN entry, the row x_e <= ub_e u_e
    with multiplier z and the column u_e (reduced cost ub_e z - y_pick) make it
    min over z >= 0 of (ub - keep) max(0, r - z) + keep max(0, r + churn - z) + max(0, ub z - y_pick),
    a convex piecewise-linear function whose minimum lies at 0 or a breakpoint.
    """
    t = data.task[lo:hi]
    c = problem.cand_idx[lo:hi]
    r = data.value[lo:hi] - duals.task[t] * data.divided[t]
    for res in range(problem.capacity.shape[1]):
        y = duals.cap[:, res]
        if y.any():
            r -= problem.requests[t, res] * y[c]
    ub = data.ub[lo:hi].astype(np.float64)
    keep = data.keep_now[lo:hi].astype(np.float64)

    def at(z: FloatArray | float) -> FloatArray:
        return (ub - keep) * np.maximum(r - z, 0.0) + keep * np.maximum(r + churn - z, 0.0)

    out = at(0.0)
    picky = problem.pick_n[t] >= 0
    if picky.any():
        p_t = duals.pick_task[t]
        level = np.divide(p_t, ub, out=np.zeros_like(ub), where=ub > 0)
        for z in (np.maximum(r, 0.0), np.maximum(r + churn, 0.0), level):
            out = np.where(picky, np.minimum(out, at(z) + np.maximum(ub * z - p_t, 0.0)), out)
    return out


def _lagrangian(problem: Problem, data: _Data, duals: _Duals, churn: float) -> float:
    """b.y + what every entry's columns add: an upper bound for any multipliers >= 0."""
    total = float((problem.replicas * duals.task * data.divided).sum())
    total += float((problem.capacity.astype(np.float64) * duals.cap).sum())
    total += float((np.maximum(problem.pick_n, 0) * duals.pick_task).sum())
    n_entries = problem.cand_idx.size
    for lo in range(0, n_entries, _CHUNK):
        total += float(_terms(problem, data, duals, churn, lo, min(n_entries, lo + _CHUNK)).sum())
    return total


def _simple_duals(problem: Problem, data: _Data, churn: float) -> _Duals:
    """Every replica of a Divided task, and every cluster of a Duplicated PickN task, at its best
    value."""
    live = data.ub > 0
    task = data.task[live]
    per_replica = data.value[live] + churn * (data.keep_now[live] > 0)
    best = np.zeros(problem.size)
    np.maximum.at(best, task, per_replica)
    per_cluster = np.zeros(problem.size)
    np.maximum.at(per_cluster, task, per_replica * data.ub[live])
    return _Duals(
        task=np.where(data.divided, best, 0.0),
        cap=np.zeros(problem.capacity.shape),
        pick_task=np.where(~data.divided & (problem.pick_n >= 0), per_cluster, 0.0),
    )


def _solve_lp(
    problem: Problem, data: _Data, entries: IntArray, churn: float, time_limit: float | None
) -> tuple[_Duals | None, FloatArray | None]:
    """Solve the relaxation restricted to candidate ``entries``: its duals (None when unusable) and
    its replicas per entry of ``entries`` (None when HiGHS found no solution)."""
    import scipy.sparse as sp  # imported on use: scipy.optimize is slow to import
    from scipy.optimize import linprog

    n_tasks = problem.size
    size, r_count = problem.capacity.shape
    e_task, e_cl, e_ub = data.task[entries], problem.cand_idx[entries], data.ub[entries]
    keep_now = data.keep_now[entries]
    n_live = entries.size
    first = np.flatnonzero(keep_now > 0)
    picky = np.flatnonzero(problem.pick_n[e_task] >= 0)
    # columns: b_e (every entry), a_e (entries that run replicas now), u_e (PickN entries)
    col_entry = np.concatenate([np.arange(n_live), first])
    col_val = np.concatenate([data.value[entries], data.value[entries][first] + churn])
    col_ub = np.concatenate([(e_ub - keep_now).astype(np.float64), keep_now[first].astype(np.float64)])
    n_x = col_entry.size
    n_cols = n_x + picky.size
    x_task, x_cl = e_task[col_entry], e_cl[col_entry]

    rows: list[IntArray] = []
    cols: list[IntArray] = []
    vals: list[FloatArray] = []
    rhs: list[FloatArray] = []
    n_rows = 0
    on = np.flatnonzero(data.divided[x_task])
    dtasks = np.unique(x_task[on])
    row_of_task = np.full(n_tasks, -1, dtype=np.int64)
    row_of_task[dtasks] = np.arange(dtasks.size)
    rows.append(row_of_task[x_task[on]])
    cols.append(on)
    vals.append(np.ones(on.size))
    rhs.append(problem.replicas[dtasks].astype(np.float64))
    n_rows += dtasks.size
    cap_rows: list[tuple[int, IntArray, IntArray]] = []  # (resource, clusters, first row)
    for r in range(r_count):
        req = problem.requests[x_task, r].astype(np.float64)
        ask = np.flatnonzero(req > 0)
        if not ask.size:
            continue
        most = np.bincount(x_cl[ask], weights=req[ask] * col_ub[ask], minlength=size)
        cap = problem.capacity[:, r].astype(np.float64)
        which = np.flatnonzero(most > cap)
        if not which.size:
            continue
        row_of_cl = np.full(size, -1, dtype=np.int64)
        row_of_cl[which] = n_rows + np.arange(which.size)
        sel = ask[row_of_cl[x_cl[ask]] >= 0]
        rows.append(row_of_cl[x_cl[sel]])
        cols.append(sel)
        vals.append(req[sel])
        rhs.append(cap[which])
        cap_rows.append((r, which, row_of_cl[which]))
        n_rows += which.size
    ptasks = np.unique(e_task[picky])
    if picky.size:
        u_col = n_x + np.arange(picky.size)
        row_of_live = np.full(n_live, -1, dtype=np.int64)
        row_of_live[picky] = n_rows + np.arange(picky.size)
        has = np.flatnonzero(row_of_live[col_entry] >= 0)
        rows += [row_of_live[col_entry[has]], row_of_live[picky]]
        cols += [has, u_col]
        vals += [np.ones(has.size), -e_ub[picky].astype(np.float64)]
        rhs.append(np.zeros(picky.size))
        n_rows += picky.size
        row_of_p = np.full(n_tasks, -1, dtype=np.int64)
        row_of_p[ptasks] = n_rows + np.arange(ptasks.size)
        rows.append(row_of_p[e_task[picky]])
        cols.append(u_col)
        vals.append(np.ones(picky.size))
        rhs.append(problem.pick_n[ptasks].astype(np.float64))
        n_rows += ptasks.size
    if n_rows == 0:
        return None, None
    a_ub = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_rows, n_cols)
    )
    options: dict[str, Any] = {"presolve": True}
    if time_limit is not None:
        options["time_limit"] = float(time_limit)
    res = linprog(
        -np.concatenate([col_val, np.zeros(picky.size)]),
        A_ub=a_ub,
        b_ub=np.concatenate(rhs),
        bounds=np.column_stack([np.zeros(n_cols), np.concatenate([col_ub, np.ones(picky.size)])]),
        method="highs",
        options=options,
    )
    x: FloatArray | None = None
    if getattr(res, "x", None) is not None and len(res.x) == n_cols:
        x = np.zeros(n_live)
        np.add.at(x, col_entry, np.maximum(np.asarray(res.x[:n_x], dtype=np.float64), 0.0))
    marginals = getattr(getattr(res, "ineqlin", None), "marginals", None)
    if marginals is None or len(marginals) != n_rows or not np.all(np.isfinite(marginals)):
        return None, x
    y = np.maximum(-np.asarray(marginals, dtype=np.float64), 0.0)
    duals = _Duals(task=np.zeros(n_tasks), cap=np.zeros(problem.capacity.shape), pick_task=np.zeros(n_tasks))
    duals.task[dtasks] = y[: dtasks.size]
    for r, which, row in cap_rows:
        duals.cap[which, r] = y[row]
    if picky.size:
        duals.pick_task[ptasks] = y[row_of_p[ptasks]]
    return duals, x


def _priced(
    problem: Problem, data: _Data, duals: _Duals, churn: float, entries: IntArray, top_k: int
) -> IntArray:
    """Candidate entries outside ``entries`` whose columns have a positive reduced cost under
    ``duals``: the ``top_k`` best of each task (partial pricing keeps the LP small)."""
    from tmc_core.solvers.flow import best_per_task

    n_entries = problem.cand_idx.size
    tol = 1e-9 * max(1.0, float(np.abs(data.value).max()))
    found: list[IntArray] = []
    gain: list[FloatArray] = []
    inside = np.zeros(n_entries, dtype=np.bool_)
    inside[entries] = True
    for lo in range(0, n_entries, _CHUNK):
        hi = min(n_entries, lo + _CHUNK)
        adds = _terms(problem, data, duals, churn, lo, hi)
        hit = np.flatnonzero((adds > tol) & ~inside[lo:hi])
        found.append(lo + hit)
        gain.append(adds[hit])
    useful = np.concatenate(found)
    if not useful.size:
        return useful
    ptr = np.searchsorted(useful, problem.cand_ptr).astype(np.int64)
    return useful[best_per_task(ptr, np.concatenate(gain), top_k)]


def _top_k(problem: Problem, data: _Data, top_k: int) -> IntArray:
    """Each task's ``top_k`` best-scoring candidates among those it fits on."""
    from tmc_core.solvers.flow import best_per_task

    live = np.flatnonzero(data.ub > 0)
    ptr = np.searchsorted(live, problem.cand_ptr).astype(np.int64)
    return live[best_per_task(ptr, problem.score[live], top_k)]


def lp_bound(
    problem: Problem,
    objective: Objective | None = None,
    *,
    time_limit: float | None = None,
    top_k: int | None = None,
    rounds: int = 3,
) -> float:
    """An upper bound on ``objective.evaluate`` of every feasible assignment of ``problem`` (see the
    module docstring). ``time_limit`` (seconds, per LP solve) stops HiGHS early: the bound stays
    valid, only weaker. ``top_k``: solve the LP over each task's ``top_k`` best candidates and add
    the candidates its duals price as useful, for up to ``rounds`` solves; the bound still holds
    for the full problem."""
    objective = objective if objective is not None else Objective()
    if time_limit is not None and not time_limit > 0:
        raise InvalidInput(f"must be positive, got {time_limit}", path="time_limit")
    if top_k is not None and top_k < 1:
        raise InvalidInput(f"must be at least 1, got {top_k}", path="top_k")
    if rounds < 1:
        raise InvalidInput(f"must be at least 1, got {rounds}", path="rounds")
    churn = objective.churn
    constant = -churn * float(problem.current.sum() + problem.moved_anyway.sum())
    if problem.cand_idx.size == 0:
        return constant
    data = _data(problem, objective)
    best = _lagrangian(problem, data, _simple_duals(problem, data, churn), churn)
    entries = np.flatnonzero(data.ub > 0) if top_k is None else _top_k(problem, data, top_k)
    for _ in range(rounds if top_k is not None else 1):
        duals, _ = _solve_lp(problem, data, entries, churn, time_limit)
        if duals is None:
            break
        best = min(best, _lagrangian(problem, data, duals, churn))
        # price every candidate; per task, the top_k that could still add value join the LP
        fresh = _priced(problem, data, duals, churn, entries, top_k or 1)
        if not fresh.size:
            break
        entries = np.union1d(entries, fresh)
    bound = best + constant
    return bound + _SAFETY * max(1.0, abs(bound))


def lp_replicas(
    problem: Problem,
    entries: IntArray,
    objective: Objective | None = None,
    *,
    time_limit: float | None = None,
) -> FloatArray:
    """The relaxation's replicas per candidate entry of ``entries`` (ascending positions into the
    problem's entries), solved over those entries only: a fractional placement a solver may round.
    All zeros when HiGHS finds no solution in time (or the relaxation has no row)."""
    objective = objective if objective is not None else Objective()
    entries = np.asarray(entries, dtype=np.int64)
    data = _data(problem, objective)
    live = entries[data.ub[entries] > 0]
    out = np.zeros(entries.size)
    if not live.size:
        return out
    _, x = _solve_lp(problem, data, live, objective.churn, time_limit)
    if x is not None:
        out[np.searchsorted(entries, live)] = x
    return out


def certify(
    solution: Solution,
    objective: Objective | None = None,
    *,
    time_limit: float | None = None,
    top_k: int | None = None,
) -> Solution:
    """The solution with ``bound`` = min(its own bound, the LP bound of its problem), and OPTIMAL when
    it reaches the bound (within 1e-8 relative). ``objective`` must be the one the solver used; ``top_k``
    as in ``lp_bound`` (the bound holds for the full problem either way)."""
    objective = objective if objective is not None else Objective()
    start = time.perf_counter()
    lp = lp_bound(solution.problem, objective, time_limit=time_limit, top_k=top_k)
    if solution.objective > lp + 1e-6 * max(1.0, abs(lp)):
        raise InvalidInput(
            f"objective {solution.objective} is above the LP bound {lp}: was the solution scored with "
            "another Objective, or is it infeasible?",
            path="objective",
        )
    bound = lp if solution.bound is None else min(solution.bound, lp)
    bound = max(bound, solution.objective)
    status = solution.status
    if status == "FEASIBLE" and solution.objective >= bound - _OPTIMAL_GAP * max(1.0, abs(bound)):
        status = "OPTIMAL"
    note = f"bound: LP relaxation (HiGHS) {lp:.6g} in {time.perf_counter() - start:.2f} s"
    return dataclasses.replace(solution, bound=bound, status=status, reasons=(*solution.reasons, note))
