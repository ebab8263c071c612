"""The optimal solver: one OR-Tools CP-SAT model over the whole batch.

Model (task ``i``, candidate entry ``e`` = (i, cluster c); only candidate entries get variables, so
the policy's filters are fixed zeros by construction):

- ``y[i]`` (bool): the task is placed, all or nothing as in the engine. Divided: integer
  ``x[e]`` in ``[0, replicas]`` with ``sum_e x[e] = replicas * y[i]``. Duplicated: bool ``z[e]``,
  ``x[e] = replicas * z[e]``, ``z[e] <= y[i] <= sum_e z[e]``.
- A task "uses" a cluster when ``x > 0`` (Divided; a bool ``u[e]`` with ``u <= x <= replicas * u``,
  created only where a constraint needs it) or ``z = 1`` (Duplicated).
- PickN: clusters used ``<= numberOfClusters``. ``max_replicas_per_cluster``: ``x[e] <=`` it.
- Capacity, for every (cluster, resource) whose candidates could exceed it:
  ``sum_e requests[i, r] * x[e] <= capacity[c, r]`` (each row divided by the gcd of its requests).
- spreadConstraints (skipped under StaticWeight, as Karmada does): by cluster, clusters used
  ``<= maxGroups`` and ``>= m * y[i]``; by region/zone/provider/label, a bool ``g[i, k]`` per group
  (``g = OR`` of the uses in it) with the same bounds on ``sum_k g``, and clusters outside every
  group (no value for the key) stay unused. ``m`` is ``effective_min`` for Duplicated and
  ``min(effective_min, replicas)`` for Divided (``replicas`` replicas cannot occupy more groups).
  As in Karmada, a task whose candidates hold fewer than ``effective_min`` groups is not placed.
- Anti-affinity: for each group and cluster, at most one member uses the cluster.
- Objective (maximised): ``sum_e coef[e] * x[e] - churn * moved`` with ``coef`` =
  ``Objective.coefficients`` (placed weight + score - cost) and
  ``moved = sum over current entries of max(0, current - x)``, linearised as
  ``current - kept`` with ``kept <= x``, ``kept <= current``. Tasks with no replicas have nothing
  to place: they are schedulable with no clusters.

Scaling: CP-SAT needs integers, so every coefficient (and the churn weight) is multiplied by
:data:`SCALE` (1000) and rounded. The reported ``objective`` is always ``Objective.evaluate`` of the
final assignment (never CP-SAT's internal value); the reported ``bound`` is CP-SAT's best bound
scaled back plus the largest gain the rounding could have hidden, so it stays an upper bound on
``Objective.evaluate`` over the model's feasible assignments (for ``OPTIMAL`` the gap is that
rounding slack, about 0.5/1000 per replica).
"""

from __future__ import annotations

import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from ortools.sat.python import cp_model

from tmc_core.errors import InvalidInput, TmcError
from tmc_core.placement.batch import Assignment
from tmc_core.solvers.bounds import lp_bound
from tmc_core.solvers.flow import Flow
from tmc_core.solvers.greedy import Greedy
from tmc_core.solvers.objective import Objective
from tmc_core.solvers.problem import Problem
from tmc_core.solvers.solution import Solution, Status

__all__ = ["SCALE", "UNITS_PER_SECOND", "Optimal"]

IntArray = NDArray[np.int64]
FloatArray = NDArray[np.float64]

SCALE = 1000
"""Objective coefficients are multiplied by this and rounded to integers for CP-SAT."""

UNITS_PER_SECOND: dict[bool, float] = {False: 0.3, True: 0.4}
"""Default deterministic work budget per second of ``time_limit``, for Divided-heavy batches (False)
and packing batches (True: mostly Duplicated entries). CP-SAT's deterministic time is not seconds:
on the project's 2-vCPU machine one unit took 1.3-2.4 s of wall time on packing batches and 2.5-3.6
s on Divided ones (the LP dominates and is under-counted), so these budgets end the search at or
before the wall clock on that machine; elsewhere set ``work_limit``."""

_MAX_CORE_SOLVES = 64
"""Most CP-SAT runs spent finding and shrinking conflicting sets."""

_MAX_CONFLICTS = 5
"""Most independent conflicts named for an infeasible batch."""

_Kind = Literal["task", "capacity", "spread", "pick", "anti", "bound"]


@dataclass(frozen=True, slots=True)
class _Culprit:
    """What an assumption literal stands for: (kind, a, b) read per kind."""

    kind: _Kind
    a: int = -1
    b: int = -1


@dataclass(frozen=True)
class Optimal:
    """Batch placement with OR-Tools CP-SAT: shared capacity, spread, PickN, anti-affinity, churn.

    See the module docstring for the model. Settings:

    - ``time_limit`` (seconds) and ``work_limit`` (CP-SAT deterministic units; default
      ``time_limit x 0.3``, or ``x 0.4`` for packing batches, see :data:`UNITS_PER_SECOND`): the
      search stops at a proof, at ``work_limit`` (``max_deterministic_time``: the same point on
      every machine, so the answer is reproducible) or at ``time_limit`` of wall clock
      (``max_time_in_seconds``, the safety net), whichever comes first. When the wall clock ends a
      search the solution says so in ``reasons``: such an answer may differ between runs. Model
      building and the greedy warm start come on top.
    - ``workers`` (default 1) and ``deterministic``: on the project's 2-vCPU machines two concurrent
      CP-SAT searches each run at about half speed, so a second worker adds no throughput there;
      hence the default of one. CP-SAT's own parallel search is not reproducible, and its
      deterministic variant (``interleave_search``) measured worse than one worker, so it is not
      used. Run 0 takes the hint only as its first incumbent and, when most candidate entries
      belong to Duplicated workloads (a packing problem), uses the full linear relaxation with
      cuts (``linearization_level=2``: much tighter bounds there, slower on Divided batches).
      With ``deterministic`` (the default) and ``workers > 1``, ``workers`` independent
      single-threaded runs go in parallel threads, alternating that configuration with CP-SAT's
      defaults (which also search along the hint), seeds ``seed + k``; each run is reproducible,
      run 0 proving optimality ends the others, else the best objective wins (ties: the lower run)
      and the best of their bounds is reported. With ``deterministic=False``, CP-SAT's parallel
      portfolio runs on ``workers`` threads: sometimes stronger, but the answer may differ between
      runs (sklearn would tag it ``non_deterministic``).
    - ``seed``: CP-SAT's ``random_seed``.
    - ``top_k``: solve over each task's ``top_k`` best-scoring clusters (plus the clusters it runs
      on now and the ones the greedy warm start chose, so the greedy answer stays feasible). The
      answer is valid for the full problem; CP-SAT's bound holds for the pruned problem only, so
      ``bound`` is ``None`` (and the status at best FEASIBLE) whenever pruning removed a candidate;
      the pruned bound and gap are stated in ``reasons``. ``certify(solution)`` (the LP bound of
      ``tmc_core.solvers.bounds``) gives a bound that holds for the full problem.
    - ``max_replicas_per_cluster``: at most this many replicas of one workload per cluster (a
      Duplicated workload cannot use a cluster if its replica count is larger).
    - ``hint``: warm-start CP-SAT with greedy's answer (as solution hints). When CP-SAT finds no
      solution within its budget, or stops before beating greedy's or flow's answer (flow's when the
      batch has Divided workloads), the better of those is returned as FEASIBLE (UNKNOWN under
      ``require_all`` or ``max_replicas_per_cluster``, which neither honours).
    - ``certify``: when the answer returned is greedy's or flow's rather than CP-SAT's, bound it by
      the LP relaxation (``lp_bound``; about a second at 1000 x 100), so the gap stays certified.
    - ``require_all``: every task must be placed. When that is impossible the solution is
      INFEASIBLE, places nothing, and its ``reasons`` name a small conflicting set of tasks and
      constraints (CP-SAT assumptions: ``sufficient_assumptions_for_infeasibility``, shrunk by
      deletion, single worker).
    """

    time_limit: float = 10.0
    work_limit: float | None = None
    workers: int = 1
    seed: int = 0
    top_k: int | None = None
    objective: Objective = field(default_factory=Objective)
    max_replicas_per_cluster: int | None = None
    hint: bool = True
    certify: bool = True
    require_all: bool = False
    deterministic: bool = True
    name: str = "optimal"

    def __post_init__(self) -> None:
        if isinstance(self.time_limit, bool) or not (
            isinstance(self.time_limit, int | float)
            and math.isfinite(self.time_limit)
            and self.time_limit > 0
        ):
            raise InvalidInput(
                f"must be a positive number of seconds, got {self.time_limit!r}", path="time_limit"
            )
        if self.work_limit is not None and (
            isinstance(self.work_limit, bool)
            or not isinstance(self.work_limit, int | float)
            or not (math.isfinite(self.work_limit) and self.work_limit > 0)
        ):
            raise InvalidInput(f"must be a positive number, got {self.work_limit!r}", path="work_limit")
        for name, value, least in (
            ("workers", self.workers, 1),
            ("seed", self.seed, 0),
            ("top_k", self.top_k, 1),
            ("max_replicas_per_cluster", self.max_replicas_per_cluster, 0),
        ):
            if value is None and name in ("top_k", "max_replicas_per_cluster"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise InvalidInput(f"must be an integer >= {least}, got {value!r}", path=name)

    # -- the solve ------------------------------------------------------------------------------

    def solve(self, problem: Problem) -> Solution:
        """Place the batch; see the class docstring for what the status, bound and reasons mean."""
        start = time.perf_counter()
        greedy = Greedy(objective=self.objective).solve(problem) if self.hint else None
        work = problem
        pruned = False
        if self.top_k is not None:
            work = _prune(problem, self.top_k, greedy.assignment if greedy is not None else None)
            pruned = work.cand_idx.size < problem.cand_idx.size
        model = _Model(work, self, explain=False)
        if greedy is not None:
            model.add_hints(greedy.assignment)
        solver, code, scaled_bound, ran = self._search(model)
        if code == cp_model.INFEASIBLE and pruned:
            # Pruning can cut away the only way to place every task: decide on the full problem.
            again = replace(self, top_k=None).solve(problem)
            note = f"require_all is infeasible over the top {self.top_k} candidates; solved over all of them"
            return replace(again, seconds=time.perf_counter() - start, reasons=(note, *again.reasons))
        reasons: list[str] = []
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            assignment = model.assignment(solver)
            terms = self.objective.evaluate(problem, assignment)
            bound: float | None = model.bound(scaled_bound)
            status: Status = "OPTIMAL" if code == cp_model.OPTIMAL else "FEASIBLE"
            if code != cp_model.OPTIMAL:
                reasons.append(self._stopped(ran))
            better = self._better_start(problem, greedy, terms.value) if code != cp_model.OPTIMAL else None
            if better is not None:
                # The search ended before it beat greedy's or flow's answer (a hint task the model
                # could not take as it was is left out of CP-SAT's start): that valid answer is the
                # better one. The model's bound does not cover it (the model counts spread by
                # replicas, not by selection); the LP bound does.
                reasons.append(
                    f"the {better.solver} answer ({better.objective:.6g}) beats the best CP-SAT found "
                    f"({terms.value:.6g}) within its budget and is returned"
                )
                return self._returned(problem, better, reasons, start)
            if pruned:
                assert bound is not None
                gap = max(0.0, bound - terms.value) / max(1.0, abs(bound))
                reasons.append(
                    f"candidates pruned to the top {self.top_k} clusters per workload (plus current and "
                    f"greedy clusters): CP-SAT's bound {bound:.6g} (gap {gap:.4%}) holds for the pruned "
                    "problem only, so no bound is claimed for the full problem"
                )
                bound = None
                status = "FEASIBLE"
            return Solution(
                solver=self.name,
                status=status,
                problem=problem,
                assignment=assignment,
                objective=terms.value,
                bound=bound,
                seconds=time.perf_counter() - start,
                reasons=tuple(reasons),
            )
        if code == cp_model.INFEASIBLE:
            # The model always admits "place nothing"; only require_all can make it infeasible.
            reasons = self._explain(work)
            empty = _empty(problem, "not placed: the batch cannot be placed in full (require_all)")
            return Solution(
                solver=self.name,
                status="INFEASIBLE",
                problem=problem,
                assignment=empty,
                objective=self.objective.evaluate(problem, empty).value,
                seconds=time.perf_counter() - start,
                reasons=tuple(reasons),
            )
        if code == cp_model.MODEL_INVALID:  # a bug in the model, not bad input
            raise TmcError(f"CP-SAT rejected the model: {model.cp.validate()}")
        reasons.append(f"CP-SAT found no solution: {self._stopped(ran)}")
        better = self._better_start(problem, greedy, -math.inf)
        if better is not None:
            # A valid answer of greedy or flow; CP-SAT's best bound is not usable here (without a
            # solution it reports a meaningless value), the LP bound is.
            reasons.append(f"the {better.solver} answer is returned")
            return self._returned(problem, better, reasons, start)
        if greedy is not None:
            reasons.append("the greedy answer is returned (no bound)")
            fallback = greedy.assignment
        else:
            fallback = _empty(problem, "not placed: the optimiser found no solution within its time limit")
        return Solution(
            solver=self.name,
            status="UNKNOWN",
            problem=problem,
            assignment=fallback,
            objective=self.objective.evaluate(problem, fallback).value,
            seconds=time.perf_counter() - start,
            reasons=tuple(reasons),
        )

    def _better_start(self, problem: Problem, greedy: Solution | None, value: float) -> Solution | None:
        """Greedy's answer or flow's (when the batch has Divided workloads: flow places them by the
        batch objective in a fraction of a second, often far above greedy - 1000 x 100 mixed, 168.4M
        against 154.8M), whichever is higher, when it beats ``value``; None otherwise, or when the
        solve asks for what neither honours (``require_all``, ``max_replicas_per_cluster``). Flow is
        tried with both relaxations: its min-cost flow, and the LP over every resource (PickN
        workloads where the whole batch's LP puts them, the Divided ones rounded down, then repaired),
        which is far better on multi-resource batches (1000 x 100 mixed: 170.0M against 167.8M, an
        LP gap of 0.34%) and takes a second or two at the sizes CP-SAT runs on."""
        if greedy is None or self.require_all or self.max_replicas_per_cluster is not None:
            return None
        best = greedy
        if not bool(problem.duplicated.all()):
            for flow_solver in (
                Flow(objective=self.objective),
                Flow(objective=self.objective, relaxation="lp", top_k=None),
            ):
                flow = flow_solver.solve(problem)
                if flow.objective > best.objective:
                    best = flow
        return best if best.objective > value else None

    def _returned(self, problem: Problem, answer: Solution, reasons: list[str], start: float) -> Solution:
        """``answer`` (greedy's or flow's) as this solver's FEASIBLE result, bounded by the LP
        relaxation when ``certify`` is on."""
        bound = lp_bound(problem, self.objective) if self.certify else None
        if bound is not None:
            reasons.append("bound: the LP relaxation (tmc_core.solvers.bounds.lp_bound)")
        return replace(
            answer,
            solver=self.name,
            status="FEASIBLE",
            bound=bound,
            seconds=time.perf_counter() - start,
            reasons=tuple(reasons),
        )

    def work(self, packing: bool) -> float:
        """The deterministic work budget of one CP-SAT run."""
        if self.work_limit is not None:
            return self.work_limit
        return self.time_limit * UNITS_PER_SECOND[packing]

    def _cp_solver(
        self, work: float, seconds: float, workers: int, run: int = 0, packing: bool = False
    ) -> cp_model.CpSolver:
        solver = cp_model.CpSolver()
        params = solver.parameters
        params.num_workers = workers
        params.random_seed = self.seed + run
        params.max_deterministic_time = work
        params.max_time_in_seconds = seconds
        params.interleave_search = False
        params.log_search_progress = False
        if run % 2 == 0:
            # The hint is only the first incumbent, no search along it: on large Divided batches that
            # search costs more than the whole budget (the LP at every hinted decision). Mostly
            # whole-workload (Duplicated) batches are packing problems: the full linear relaxation
            # with cuts bounds them far better (a 100 x 10 batch at a 7.6% gap after 1.5 units
            # closed to 0.4%), while on Divided batches it slows the search down.
            params.hint_conflict_limit = 0
            if packing:
                params.linearization_level = 2
        return solver

    def _search(self, model: _Model) -> tuple[cp_model.CpSolver, Any, float, list[cp_model.CpSolver]]:
        """Run CP-SAT: the solver whose answer counts, its status, the best proven bound (scaled)
        and every solver that ran to its end.

        Deterministic with several workers: ``workers`` single-threaded runs (alternating search
        configurations, seeds ``seed + k``) in parallel threads, each stopping on its own at a proof
        or at the deterministic limit. Run 0 proving optimality stops the others and is the answer;
        otherwise the best objective wins (ties: the lower run). Every run is reproducible and the
        choice depends only on their results, so the answer is too.
        """
        if self.workers == 1 or not self.deterministic:
            work = self.work(model.packing)
            solver = self._cp_solver(work, self.time_limit, self.workers, packing=model.packing)
            code = solver.solve(model.cp)
            return solver, code, float(solver.best_objective_bound), [solver]
        solvers = [
            self._cp_solver(self.work(model.packing), self.time_limit, 1, run=k, packing=model.packing)
            for k in range(self.workers)
        ]
        done = threading.Event()

        def run(k: int) -> Any:
            if k > 0 and done.is_set():
                return None
            code = solvers[k].solve(model.cp)
            if k == 0 and code == cp_model.OPTIMAL:
                done.set()
                for other in solvers[1:]:
                    other.stop_search()
            return code

        with ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="tmc-cpsat") as pool:
            codes = list(pool.map(run, range(self.workers)))
        if codes[0] in (cp_model.OPTIMAL, cp_model.INFEASIBLE, cp_model.MODEL_INVALID):
            return solvers[0], codes[0], float(solvers[0].best_objective_bound), solvers[:1]
        ran = [solvers[k] for k, c in enumerate(codes) if c is not None]
        if any(c == cp_model.INFEASIBLE for c in codes):
            k = codes.index(cp_model.INFEASIBLE)
            return solvers[k], codes[k], math.inf, ran
        found = [k for k, c in enumerate(codes) if c in (cp_model.OPTIMAL, cp_model.FEASIBLE)]
        bound = min(float(solvers[k].best_objective_bound) for k, c in enumerate(codes) if c is not None)
        if not found:
            return solvers[0], codes[0], bound, ran
        best = max(found, key=lambda k: (float(solvers[k].objective_value), -k))
        value = float(solvers[best].objective_value)
        code = cp_model.OPTIMAL if math.floor(bound + 1e-6) <= value else cp_model.FEASIBLE
        return solvers[best], code, bound, ran

    def _stopped(self, ran: list[cp_model.CpSolver]) -> str:
        """Why the search stopped short of a proof (the wall-clock net firing in any run makes the
        answer depend on machine speed, so it says so)."""
        for solver in ran:
            dtime = float(solver.response_proto.deterministic_time)
            guard = float(solver.parameters.max_time_in_seconds)
            work = float(solver.parameters.max_deterministic_time)
            if dtime < 0.99 * work and solver.wall_time >= guard - 0.05:
                return (
                    f"stopped by the wall clock (time_limit {guard:.3g} s) before the work limit "
                    f"({dtime:.3g} of {work:.3g} units used): the answer may differ between runs"
                )
        work = float(ran[0].parameters.max_deterministic_time)
        return f"stopped at the work limit ({work:.3g} deterministic units)"

    # -- infeasibility ----------------------------------------------------------------------------

    def _explain(self, problem: Problem) -> list[str]:
        """Small sets of tasks and constraints that cannot all hold, in words.

        Each conflict is a core of the assumptions (``sufficient_assumptions_for_infeasibility``)
        shrunk by deletion; its tasks are then released and the search repeats, so independent
        conflicts are all named (up to a few). Budgets are counted in CP-SAT's deterministic time,
        so the explanation is reproducible too.
        """
        model = _Model(problem, self, explain=True)
        lits = [lit for lit, _ in model.assumptions]
        what = {lit.index: culprit for lit, culprit in model.assumptions}
        budget = [self.work(model.packing)]
        solves = [0]

        def attempt(assumed: list[cp_model.IntVar]) -> list[cp_model.IntVar] | bool:
            """A core of ``assumed`` if infeasible, True if feasible, False if undecided."""
            if budget[0] <= 0 or solves[0] >= _MAX_CORE_SOLVES:
                return False
            model.cp.clear_assumptions()
            model.cp.add_assumptions(assumed)
            per_run = max(0.1, self.work(model.packing) / 4)
            solver = self._cp_solver(min(budget[0], per_run), self.time_limit, 1)
            code = solver.solve(model.cp)
            solves[0] += 1
            budget[0] -= float(solver.response_proto.deterministic_time)
            if code == cp_model.INFEASIBLE:
                core = set(solver.sufficient_assumptions_for_infeasibility())
                return [lit for lit in assumed if lit.index in core]
            return code in (cp_model.OPTIMAL, cp_model.FEASIBLE)

        conflicts: list[list[_Culprit]] = []
        assumed = lits
        while len(conflicts) < _MAX_CONFLICTS:
            found = attempt(assumed)
            if not isinstance(found, list) or not found:
                break
            core = found
            pos = 0
            while pos < len(core):  # deletion: drop what the rest stays infeasible without
                smaller = attempt(core[:pos] + core[pos + 1 :])
                if isinstance(smaller, list):
                    core = smaller
                else:
                    pos += 1
                if smaller is False:
                    break
            conflicts.append([what[lit.index] for lit in core])
            release = {lit.index for lit in core if what[lit.index].kind == "task"} or {
                lit.index for lit in core
            }
            assumed = [lit for lit in assumed if lit.index not in release]
        if not conflicts:
            return [
                "require_all: the batch cannot be placed in full, but no conflicting set was found in time"
            ]
        return _describe(problem, conflicts, self.max_replicas_per_cluster)


# -- the CP-SAT model -----------------------------------------------------------------------------


class _Model:
    """The CP-SAT model of a problem, and how to read a solution back.

    ``explain`` builds the same constraints, each family switched by an assumption literal (and
    ``y[i]`` itself assumed true), without an objective: for cores, not for optimising.
    """

    def __init__(self, problem: Problem, settings: Optimal, explain: bool) -> None:
        self.problem = problem
        self.explain = explain
        self.cp = cp_model.CpModel()
        self.assumptions: list[tuple[cp_model.IntVar, _Culprit]] = []
        n = problem.size
        size = int(problem.cand_idx.size)
        self.task_of: IntArray = np.repeat(np.arange(n, dtype=np.int64), np.diff(problem.cand_ptr))
        self.var: list[cp_model.IntVar | None] = [None] * size  # x (Divided) or z (Duplicated)
        self.use: list[cp_model.IntVar | None] = [None] * size
        self.kept: list[cp_model.IntVar | None] = [None] * size  # Divided entries with current > 0
        self.groups: list[list[tuple[cp_model.IntVar, list[int]]]] = [[] for _ in range(n)]
        # per task: (least groups, most groups or 0, the groups' entries) of each binding spread rule,
        # so a hint that breaks one is dropped rather than handed to CP-SAT as an infeasible start
        self.spread_rules: list[list[tuple[int, int, list[list[int]]]]] = [[] for _ in range(n)]
        self.y: list[cp_model.IntVar | None] = [None] * n
        self.ub = np.zeros(n, dtype=np.int64)  # upper bound of a Divided task's x
        self.blocked: dict[int, str] = {}
        self.trivial = problem.replicas == 0
        coef = settings.objective.coefficients(problem) * SCALE
        self.coef: IntArray = np.rint(coef).astype(np.int64)
        self.slack_e: FloatArray = np.maximum(coef - self.coef, 0.0)
        churn = settings.objective.churn * SCALE
        self.churn = round(churn)
        self.churn_slack = max(churn - self.churn, 0.0)
        self.churn_w = settings.objective.churn
        self.bound_cap = settings.max_replicas_per_cluster
        self.require_all = settings.require_all
        self._bound_lit: list[cp_model.IntVar] | None = None
        for i in range(n):
            if not self.trivial[i]:
                self._task(i)
        # Mostly whole-workload (Duplicated) entries: a packing problem.
        entries_dup = int(np.diff(problem.cand_ptr)[problem.duplicated].sum())
        self.packing = 2 * entries_dup >= size > 0
        self._anti_affinity()
        self._capacity()
        if not explain:
            self._objective()

    # literals standing for a constraint family in explain mode (none otherwise)
    def _switch(self, culprit: _Culprit) -> list[cp_model.IntVar]:
        if not self.explain:
            return []
        lit = self.cp.new_bool_var(f"{culprit.kind}_{culprit.a}_{culprit.b}")
        self.assumptions.append((lit, culprit))
        return [lit]

    def _bound_switch(self) -> list[cp_model.IntVar]:
        if self._bound_lit is None:
            self._bound_lit = self._switch(_Culprit("bound"))
        return self._bound_lit

    def _add(self, ct: cp_model.Constraint, lits: list[cp_model.IntVar]) -> None:
        if lits:
            ct.only_enforce_if(lits)

    def _task(self, i: int) -> None:
        p = self.problem
        cp = self.cp
        lo, hi = int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])
        reps = int(p.replicas[i])
        dup = bool(p.duplicated[i])
        task = p.tasks[i]
        cur = p.current[lo:hi]
        y = cp.new_bool_var(f"y{i}")
        self.y[i] = y
        if self.explain:
            self.assumptions.append((y, _Culprit("task", i)))
        elif self.require_all:
            cp.add(y == 1)
        # Which entries may be used at all (normal mode: fixed zeros are simply not created).
        usable = np.ones(hi - lo, dtype=np.bool_)
        cap = self.bound_cap
        if cap is not None and not self.explain and dup and reps > cap:
            usable[:] = False
        spreads = []
        if task.policy.replica_strategy != "StaticWeight":
            spreads = list(enumerate(task.policy.spread_constraints))
        codes_of: dict[int, NDArray[np.int32]] = {}
        for j, sc in spreads:
            if sc.key == "cluster":
                continue
            col = (
                p.index.label(sc.spread_by_label)
                if sc.spread_by_label
                else p.index.fields[sc.spread_by_field or ""]
            )
            codes = col.codes[p.cand_idx[lo:hi]]
            codes_of[j] = codes
            if not self.explain:
                usable &= codes >= 0
        ub = reps if cap is None or self.explain else min(reps, cap)
        self.ub[i] = ub
        for k in range(hi - lo):
            e = lo + k
            if not usable[k]:
                continue
            if dup:
                z = cp.new_bool_var("")
                self.var[e] = self.use[e] = z
                cp.add_implication(z, y)
            else:
                self.var[e] = cp.new_int_var(0, ub, "")
            if cur[k] > 0 and not dup:
                kept = cp.new_int_var(0, int(min(cur[k], ub)), "")
                cp.add(kept <= self.var[e])
                self.kept[e] = kept
        entries = [lo + k for k in range(hi - lo) if usable[k]]
        if dup:
            cp.add(cp_model.LinearExpr.sum(self._vars(entries)) >= y)
        else:
            cp.add(cp_model.LinearExpr.sum(self._vars(entries)) == reps * y)
        if self.explain and cap is not None and cap < reps:
            lits = self._bound_switch()
            for v in self._vars(entries):
                self._add(cp.add(v == 0) if dup else cp.add(v <= cap), lits)
        if p.pick_n[i] == 0 and not self.explain:
            self.blocked[i] = "numberOfClusters is 0"
        if p.pick_n[i] >= 0 and len(entries) > p.pick_n[i]:
            lits = self._switch(_Culprit("pick", i))
            self._add(cp.add(cp_model.LinearExpr.sum(self._uses(entries)) <= int(p.pick_n[i])), lits)
        for j, _ in spreads:
            self._spread(i, j, entries, codes_of.get(j), y, reps, dup)
        if not entries and not self.explain:
            self.blocked.setdefault(
                i,
                "no eligible cluster"
                if hi == lo
                else f"none of its {hi - lo} eligible clusters is allowed by its spread constraints "
                "and max_replicas_per_cluster",
            )

    def _vars(self, entries: list[int]) -> list[cp_model.IntVar]:
        out = [self.var[e] for e in entries]
        return [v for v in out if v is not None]

    def _uses(self, entries: list[int]) -> list[cp_model.IntVar]:
        """The "uses the cluster" literals of ``entries`` (created for Divided entries on demand:
        ``u <= x <= ub * u``)."""
        out = []
        for e in entries:
            u = self.use[e]
            x = self.var[e]
            if u is None and x is not None:
                u = self.cp.new_bool_var("")
                self.cp.add(x <= int(self.ub[int(self.task_of[e])]) * u)
                self.cp.add(x >= u)
                self.use[e] = u
            if u is not None:
                out.append(u)
        return out

    def _spread(
        self,
        i: int,
        j: int,
        entries: list[int],
        codes: NDArray[np.int32] | None,
        y: cp_model.IntVar,
        reps: int,
        dup: bool,
    ) -> None:
        p = self.problem
        cp = self.cp
        sc = p.tasks[i].policy.spread_constraints[j]
        lits = self._switch(_Culprit("spread", i, j))
        lo = int(p.cand_ptr[i])
        least = sc.effective_min if dup else min(sc.effective_min, reps)
        members: dict[int, list[int]] = {}
        if codes is None:  # by cluster: every cluster is its own group
            members = {e: [e] for e in entries}
        else:
            for e in entries:
                code = int(codes[e - lo])
                if code >= 0:
                    members.setdefault(code, []).append(e)
                elif self.explain:  # clusters outside every group stay unused
                    v = self.var[e]
                    assert v is not None
                    self._add(cp.add(v == 0), lits)
        available = len(members)
        if available < sc.effective_min:
            # Karmada: fewer feasible groups than minGroups -> the workload is not placed.
            what = sc.spread_by_label or sc.spread_by_field or "cluster"
            self._add(cp.add(y == 0), lits)
            if not self.explain:
                self.blocked[i] = (
                    f"{available} eligible {what} groups, fewer than minGroups {sc.effective_min}"
                )
            return
        capped = bool(sc.max_groups) and sc.max_groups < available
        if not capped and least <= 1:
            return  # placing anything uses a group, and no limit can bind
        self.spread_rules[i].append((least, sc.max_groups if capped else 0, list(members.values())))
        counted: list[cp_model.IntVar] = []
        if codes is None:
            counted = self._uses(entries)
        else:
            for code in sorted(members):
                g = cp.new_bool_var("")
                group = members[code]
                uses = self._uses(group)
                for u in uses:
                    cp.add_implication(u, g)
                cp.add(g <= cp_model.LinearExpr.sum(uses))
                self.groups[i].append((g, group))
                counted.append(g)
        if capped:
            self._add(cp.add(cp_model.LinearExpr.sum(counted) <= sc.max_groups), lits)
        if least > 1:
            self._add(cp.add(cp_model.LinearExpr.sum(counted) >= least * y), lits)

    def _anti_affinity(self) -> None:
        p = self.problem
        for g, members in enumerate(p.anti_affinity):
            by_cluster: dict[int, list[int]] = {}
            for i in members:
                for e in range(int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])):
                    if self.var[e] is not None:
                        by_cluster.setdefault(int(p.cand_idx[e]), []).append(e)
            lits: list[cp_model.IntVar] | None = None
            for c in sorted(by_cluster):
                if len(by_cluster[c]) > 1:
                    if lits is None:
                        lits = self._switch(_Culprit("anti", g))
                    self._add(self.cp.add_at_most_one(self._uses(by_cluster[c])), lits)

    def _capacity(self) -> None:
        p = self.problem
        live = np.array([v is not None for v in self.var], dtype=np.bool_)
        if not live.any():
            return
        entries = np.flatnonzero(live)
        tasks = self.task_of[entries]
        divided_ub = p.replicas[tasks]
        if self.bound_cap is not None and not self.explain:
            divided_ub = np.minimum(divided_ub, self.bound_cap)
        amount_ub = np.where(p.duplicated[tasks], p.replicas[tasks], divided_ub)
        clusters = p.cand_idx[entries]
        order = np.argsort(clusters, kind="stable")
        entries, tasks, amount_ub, clusters = entries[order], tasks[order], amount_ub[order], clusters[order]
        cuts = np.flatnonzero(np.diff(clusters)) + 1
        starts = np.concatenate([[0], cuts])
        ends = np.concatenate([cuts, [clusters.size]])
        for s, t in zip(starts.tolist(), ends.tolist(), strict=True):
            c = int(clusters[s])
            es, ts, ubs = entries[s:t], tasks[s:t], amount_ub[s:t]
            for r in range(p.requests.shape[1]):
                req = p.requests[ts, r]
                if not req.any():
                    continue
                limit = max(int(p.capacity[c, r]), 0)
                if int((req * ubs).sum()) <= limit:
                    continue  # cannot bind
                nz = req > 0
                g = int(np.gcd.reduce(req[nz]))
                weights = (req[nz] // g) * np.where(p.duplicated[ts[nz]], p.replicas[ts[nz]], 1)
                vars_ = [self.var[int(e)] for e in es[nz]]
                lits = self._switch(_Culprit("capacity", c, r))
                expr = cp_model.LinearExpr.weighted_sum(vars_, weights.tolist())
                self._add(self.cp.add(expr <= limit // g), lits)

    def _objective(self) -> None:
        p = self.problem
        vars_: list[cp_model.IntVar] = []
        weights: list[int] = []
        for e, v in enumerate(self.var):
            if v is None:
                continue
            i = int(self.task_of[e])
            if p.duplicated[i]:
                reps = int(p.replicas[i])
                weights.append(int(self.coef[e]) * reps + self.churn * min(int(p.current[e]), reps))
            else:
                weights.append(int(self.coef[e]))
            vars_.append(v)
            kept = self.kept[e]
            if kept is not None and self.churn:
                vars_.append(kept)
                weights.append(self.churn)
        self.cp.maximize(cp_model.LinearExpr.weighted_sum(vars_, weights))

    # -- hints and answers ------------------------------------------------------------------------

    def add_hints(self, assignment: Assignment) -> None:
        """Hint every variable from ``assignment`` (tasks the model cannot take as they are: unplaced)."""
        p = self.problem
        for i in range(p.size):
            y = self.y[i]
            if y is None:
                continue
            lo, hi = int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])
            a_lo, a_hi = int(assignment.offsets[i]), int(assignment.offsets[i + 1])
            got = dict(
                zip(
                    assignment.clusters[a_lo:a_hi].tolist(),
                    assignment.replicas[a_lo:a_hi].tolist(),
                    strict=True,
                )
            )
            at = {int(p.cand_idx[e]): e for e in range(lo, hi) if self.var[e] is not None}
            reps = int(p.replicas[i])
            ok = bool(assignment.schedulable[i]) and all(c in at for c, n in got.items() if n > 0)
            if ok and p.duplicated[i]:
                ok = all(n == reps for n in got.values()) and bool(got)
            elif ok:
                ok = sum(got.values()) == reps
            if ok:
                ok = self._spread_holds(i, got)
            self.cp.add_hint(y, ok)
            for c, e in at.items():
                n = got.get(c, 0) if ok else 0
                v = self.var[e]
                assert v is not None
                if p.duplicated[i]:
                    self.cp.add_hint(v, c in got if ok else False)
                    continue
                self.cp.add_hint(v, n)
                u = self.use[e]
                if u is not None:
                    self.cp.add_hint(u, n > 0)
                kept = self.kept[e]
                if kept is not None:
                    self.cp.add_hint(kept, min(n, int(p.current[e])))
            for g, group in self.groups[i]:
                self.cp.add_hint(g, ok and any(got.get(int(p.cand_idx[e]), 0) > 0 for e in group))

    def _spread_holds(self, i: int, got: dict[int, int]) -> bool:
        """Whether ``got`` (cluster -> replicas) meets task ``i``'s spread rules as the model counts
        them: a group is used when it runs replicas. The engine's Karmada selection may pick a group
        that division then leaves empty, which the model does not accept."""
        p = self.problem
        dup = bool(p.duplicated[i])
        for least, most, groups in self.spread_rules[i]:
            used = sum(
                1
                for group in groups
                if any((c := int(p.cand_idx[e])) in got and (dup or got[c] > 0) for e in group)
            )
            if used < least or (most and used > most):
                return False
        return True

    def assignment(self, solver: cp_model.CpSolver) -> Assignment:
        """The solved values as an Assignment (clusters sorted by name within a task)."""
        p = self.problem
        values = np.asarray(solver.response_proto.solution, dtype=np.int64)
        counts = np.zeros(p.size, dtype=np.int64)
        parts_c: list[IntArray] = []
        parts_r: list[IntArray] = []
        schedulable = np.ones(p.size, dtype=np.bool_)
        reasons = [""] * p.size
        for i in range(p.size):
            y = self.y[i]
            if y is None:  # nothing to place
                continue
            if not values[y.index]:
                schedulable[i] = False
                reasons[i] = self._unplaced(i)
                continue
            lo, hi = int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])
            es = [e for e in range(lo, hi) if self.var[e] is not None]
            amount = np.array([values[self.var[e].index] for e in es], dtype=np.int64)  # type: ignore[union-attr]
            if p.duplicated[i]:
                amount = amount * p.replicas[i]
            keep = amount > 0
            c = p.cand_idx[np.asarray(es, dtype=np.int64)][keep] if es else np.zeros(0, dtype=np.int64)
            r = amount[keep]
            order = np.argsort(p.index.name_rank[c], kind="stable")
            parts_c.append(c[order])
            parts_r.append(r[order])
            counts[i] = c.size
        empty = np.zeros(0, dtype=np.int64)
        return Assignment(
            cluster_names=p.index.names,
            offsets=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
            clusters=np.concatenate(parts_c) if parts_c else empty,
            replicas=np.concatenate(parts_r) if parts_r else empty,
            schedulable=schedulable,
            reasons=tuple(reasons),
            explanations=(None,) * p.size,
        )

    def _unplaced(self, i: int) -> str:
        why = self.blocked.get(i)
        if why is None:
            p = self.problem
            why = (
                f"its {int(p.replicas[i])} replicas ({_requests(p, i)} each) do not fit within its "
                "constraints next to the batch's more valuable placements"
            )
        return f"not placed by the optimiser: {why}"

    def bound(self, scaled_bound: float) -> float:
        """An upper bound on ``Objective.evaluate`` over the model's feasible assignments, from an
        upper bound on the scaled CP-SAT objective."""
        p = self.problem
        scaled = math.floor(scaled_bound + 1e-6)
        slack = 0.0
        for i in range(p.size):
            if self.y[i] is None:
                continue
            lo, hi = int(p.cand_ptr[i]), int(p.cand_ptr[i + 1])
            live = [e for e in range(lo, hi) if self.var[e] is not None]
            if not live:
                continue
            s = self.slack_e[live]
            slack += int(p.replicas[i]) * float(s.sum() if p.duplicated[i] else s.max())
        slack += self.churn_slack * float(p.current.sum())
        moved_all = float(p.moved_anyway.sum() + p.current.sum())
        return (scaled + slack) / SCALE - self.churn_w * moved_all


# -- helpers --------------------------------------------------------------------------------------


def _prune(problem: Problem, top_k: int, also: Assignment | None) -> Problem:
    """Each task's ``top_k`` best-scoring candidates and the ones it runs on now (as
    ``Problem.prune``), plus the clusters ``also`` uses, so that answer stays feasible."""
    keep = np.zeros(problem.cand_idx.size, dtype=np.bool_)
    counts = np.zeros(problem.size, dtype=np.int64)
    for i in range(problem.size):
        lo, hi = int(problem.cand_ptr[i]), int(problem.cand_ptr[i + 1])
        part = keep[lo:hi]
        part[np.argsort(-problem.score[lo:hi], kind="stable")[:top_k]] = True
        part |= problem.current[lo:hi] > 0
        if also is not None:
            used = also.clusters[int(also.offsets[i]) : int(also.offsets[i + 1])]
            part |= np.isin(problem.cand_idx[lo:hi], used)
        counts[i] = int(part.sum())
    return Problem(
        index=problem.index,
        tasks=problem.tasks,
        requests=problem.requests,
        replicas=problem.replicas,
        duplicated=problem.duplicated,
        pick_n=problem.pick_n,
        cand_ptr=np.concatenate([[0], np.cumsum(counts)]).astype(np.int64),
        cand_idx=problem.cand_idx[keep],
        score=problem.score[keep],
        current=problem.current[keep],
        moved_anyway=problem.moved_anyway,
        capacity=problem.capacity,
        anti_affinity=problem.anti_affinity,
    )


def _empty(problem: Problem, reason: str) -> Assignment:
    """Every task placed nowhere and unschedulable with ``reason``."""
    n = problem.size
    return Assignment(
        cluster_names=problem.index.names,
        offsets=np.zeros(n + 1, dtype=np.int64),
        clusters=np.zeros(0, dtype=np.int64),
        replicas=np.zeros(0, dtype=np.int64),
        schedulable=np.zeros(n, dtype=np.bool_),
        reasons=(reason,) * n,
        explanations=(None,) * n,
    )


def _requests(problem: Problem, i: int) -> str:
    req = problem.tasks[i].workload.requests
    return ", ".join(f"{k} {v}" for k, v in req.items()) or "no requests"


def _names(items: list[str], most: int = 8) -> str:
    if len(items) <= most:
        return ", ".join(items)
    return ", ".join(items[:most]) + f" and {len(items) - most} more"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _describe(problem: Problem, conflicts: list[list[_Culprit]], per_cluster: int | None) -> list[str]:
    """Reasons, in words: a summary line, one line per conflict, one line per task involved."""
    out = [
        "require_all: the batch cannot be placed in full; "
        + (f"{len(conflicts)} independent conflicts" if len(conflicts) > 1 else "1 conflict")
        + " found"
    ]
    lines: dict[int, list[str]] = {}
    for n, core in enumerate(conflicts, start=1):
        summary, per_task = _describe_one(problem, core, per_cluster)
        out.append(f"conflict {n}: {summary}")
        for i, words in per_task.items():
            lines.setdefault(i, []).extend(words)
    for i in sorted(lines, key=lambda i: problem.tasks[i].workload.key):
        out.append("; ".join(lines[i]))
    return out


def _describe_one(
    problem: Problem, core: list[_Culprit], per_cluster: int | None
) -> tuple[str, dict[int, list[str]]]:
    names = problem.index.names
    resources = problem.index.resources
    tasks = sorted({c.a for c in core if c.kind == "task"}, key=lambda i: problem.tasks[i].workload.key)
    capacity: dict[int, list[str]] = {}
    for c in core:
        if c.kind == "capacity":
            capacity.setdefault(c.a, []).append(resources[c.b])
    spreads = {(c.a, c.b) for c in core if c.kind == "spread"}
    picks = {c.a for c in core if c.kind == "pick"}
    anti = sorted({c.a for c in core if c.kind == "anti"})
    bounded = any(c.kind == "bound" for c in core)
    keys = [problem.tasks[i].workload.key for i in tasks]

    def where(clusters: list[int]) -> str:
        ordered = sorted(clusters, key=names.__getitem__)
        return _names([f"{names[c]} ({', '.join(sorted(capacity[c]))})" for c in ordered])

    parts = [_names(keys)]
    if all(problem.cand_ptr[i] == problem.cand_ptr[i + 1] for i in tasks):
        parts[0] += ": no cluster passes the policy's filters"
    if capacity:
        parts.append("capacity of " + where(list(capacity)))
    if spreads:
        parts.append(_plural(len(spreads), "spread constraint"))
    if picks:
        parts.append(_plural(len(picks), "numberOfClusters limit"))
    if anti:
        parts.append(f"anti-affinity {_plural(len(anti), 'group')} {', '.join(str(g) for g in anti)}")
    if bounded:
        parts.append(f"max_replicas_per_cluster={per_cluster}")
    per_task: dict[int, list[str]] = {}
    for i in tasks:
        task = problem.tasks[i]
        cand = set(problem.candidates(i)[0].tolist())
        reps = int(problem.replicas[i])
        each = " on every cluster it uses" if problem.duplicated[i] else ""
        words = [
            f"{task.workload.key}: needs {_plural(reps, 'replica')}{each} ({_requests(problem, i)} each)"
        ]
        if not cand:
            words.append("no cluster passes its policy's filters")
        full = [c for c in capacity if c in cand]
        if full:
            others = [
                problem.tasks[k].workload.key
                for k in tasks
                if k != i and any(c in full for c in problem.candidates(k)[0].tolist())
            ]
            if others:
                words.append(f"together with {_names(others, 5)} it exceeds the capacity of {where(full)}")
            else:
                words.append(f"it exceeds the capacity of {where(full)}")
        for k, j in sorted(spreads):
            if k == i:
                sc = task.policy.spread_constraints[j]
                most = f", maxGroups {sc.max_groups}" if sc.max_groups else ""
                words.append(
                    f"spreadConstraints[{j}] ({sc.key}: minGroups {sc.effective_min}{most}) cannot be met"
                )
        if i in picks:
            words.append(f"numberOfClusters is {int(problem.pick_n[i])}")
        for g in anti:
            if i in problem.anti_affinity[g]:
                mates = [
                    problem.tasks[k].workload.key for k in problem.anti_affinity[g] if k != i and k in tasks
                ]
                words.append(f"must not share a cluster with {_names(mates, 5)} (anti-affinity group {g})")
        if bounded:
            words.append(f"at most {per_cluster} replicas per cluster")
        per_task[i] = words
    return "; ".join(parts), per_task
