"""Score plugins: each rates every cluster 0..100 for one reason; the policy weights combine them.

Scores are computed for all clusters at once; only clusters that passed the filters (``feasible``)
matter, and relative scores (min-max over a property) are normalised over those. ``static`` scores
depend on the policy term alone and are computed once per batch.
"""

from __future__ import annotations

from typing import ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import TmcError
from tmc_core.model.policy import Prioritizer
from tmc_core.placement.cycle import Cycle
from tmc_core.placement.filters import affinity_mask, untolerated_preferences

__all__ = [
    "Balance",
    "BalancedAllocation",
    "ClusterProperty",
    "LeastAllocated",
    "MostAllocated",
    "PreferredAffinity",
    "ResourceAllocatable",
    "Score",
    "ScoreRangeError",
    "Steady",
    "TaintPreference",
    "TopologySpread",
    "check_range",
]

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
MAX_SCORE = 100.0


class ScoreRangeError(TmcError):
    """A score plugin returned a value outside 0..100 (a bug in that plugin, never user input)."""


class Score(Protocol):
    """A score plugin: a name, whether it is static per policy term, and 0..100 per cluster."""

    name: ClassVar[str]
    static: ClassVar[bool]

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        """0..100 for every cluster (only feasible ones are read)."""
        ...


def check_range(name: str, scores: FloatArray, feasible: BoolArray) -> FloatArray:
    """Reject scores outside 0..100 (or NaN) on feasible clusters, naming the plugin."""
    vals = scores[feasible]
    # min and max, not two boolean arrays: half the time; a NaN fails both comparisons
    if vals.size and not (vals.min() >= 0.0 and vals.max() <= MAX_SCORE):
        bad = vals[~((vals >= 0.0) & (vals <= MAX_SCORE))]
        raise ScoreRangeError(f"score plugin {name} returned {bad[0]!r}, outside 0..100")
    return scores


def _scored_resources(cycle: Cycle) -> NDArray[np.intp]:
    """Resources a utilisation score looks at: those the workload requests (not pods), else cpu and
    memory, as kube-scheduler's defaults."""
    res = cycle.index.resources
    asked = [r for r in range(len(res)) if res[r] != "pods" and cycle.request[r] > 0]
    if not asked:
        asked = [r for r in range(len(res)) if res[r] in ("cpu", "memory")]
    return np.asarray(asked, dtype=np.intp)


def _used_fraction(cycle: Cycle) -> FloatArray:
    """Per cluster and scored resource, the fraction allocated after adding one replica (0..1).

    Computed once per attempt and shared by the utilisation scores. A resource a cluster does not
    limit (zero or unlimited allocatable) counts as fully used, so it never attracts load.
    """
    cached = cycle.memo.get("used_fraction")
    if cached is not None:
        frac: FloatArray = cached
        return frac
    cols = _scored_resources(cycle)
    if cols.size == 0:
        frac = np.zeros((cycle.index.size, 0))
    else:
        used = cycle.index.allocatable_f[:, cols] - cycle.free[:, cols] + cycle.request[cols]
        frac = np.ones_like(used)
        np.multiply(
            used, cycle.index.inverse_allocatable[:, cols], out=frac, where=cycle.index.limited[:, cols]
        )
        np.clip(frac, 0.0, 1.0, out=frac)
    cycle.memo["used_fraction"] = frac
    return frac


def _mean(cycle: Cycle) -> FloatArray:
    """Row means of the used fractions, summed column by column left to right (the compiled
    kernel's exact order), memoised for the attempt."""
    cached = cycle.memo.get("mean")
    if cached is not None:
        done: FloatArray = cached
        return done
    frac = _used_fraction(cycle)
    s = frac[:, 0].copy()
    for j in range(1, frac.shape[1]):
        s += frac[:, j]
    out: FloatArray = s / frac.shape[1]
    cycle.memo["mean"] = out
    return out


def _spread(cycle: Cycle) -> FloatArray:
    """Row population standard deviations of the used fractions, in the same order as ``_mean``."""
    frac = _used_fraction(cycle)
    mean = _mean(cycle)
    d = frac[:, 0] - mean
    ss = d * d
    for j in range(1, frac.shape[1]):
        d = frac[:, j] - mean
        ss += d * d
    out: FloatArray = np.sqrt(ss / frac.shape[1])
    return out


class LeastAllocated:
    """Prefer emptier clusters: 100 x mean free fraction after one more replica (spreads load)."""

    name: ClassVar[str] = "LeastAllocated"
    static: ClassVar[bool] = False

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        frac = _used_fraction(cycle)
        if frac.shape[1] == 0:
            return np.full(cycle.index.size, MAX_SCORE)
        out: FloatArray = (1.0 - _mean(cycle)) * MAX_SCORE
        return out


class MostAllocated:
    """Prefer fuller clusters (bin packing): 100 x mean used fraction after one more replica."""

    name: ClassVar[str] = "MostAllocated"
    static: ClassVar[bool] = False

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        frac = _used_fraction(cycle)
        if frac.shape[1] == 0:
            return np.zeros(cycle.index.size)
        out: FloatArray = _mean(cycle) * MAX_SCORE
        return out


class BalancedAllocation:
    """Prefer clusters whose resources stay evenly used: 100 x (1 - std of used fractions)."""

    name: ClassVar[str] = "BalancedAllocation"
    static: ClassVar[bool] = False

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        frac = _used_fraction(cycle)
        if frac.shape[1] < 2:
            return np.full(cycle.index.size, MAX_SCORE)
        out: FloatArray = np.clip((1.0 - _spread(cycle)) * MAX_SCORE, 0.0, MAX_SCORE)
        return out


class PreferredAffinity:
    """Soft affinity: sum of matching preferredClusterAffinities weights, mapped from -S..S to 0..100."""

    name: ClassVar[str] = "PreferredAffinity"
    static: ClassVar[bool] = True

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        terms = cycle.policy.preferred_cluster_affinities
        span = float(sum(abs(t.weight) for t in terms))
        if span == 0:
            return np.full(cycle.index.size, MAX_SCORE / 2)
        total = np.zeros(cycle.index.size)
        for t in terms:
            total += t.weight * affinity_mask(cycle.index, t.preference, cycle.requirements)
        return (total + span) / (2 * span) * MAX_SCORE


class Steady:
    """Stay where it runs now: 100 for clusters holding replicas (Karmada's ClusterLocality)."""

    name: ClassVar[str] = "Steady"
    static: ClassVar[bool] = False

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        return np.where(cycle.holding, MAX_SCORE, 0.0)


class TaintPreference:
    """Fewer untolerated PreferNoSchedule taints score higher (kube-scheduler's TaintToleration)."""

    name: ClassVar[str] = "TaintPreference"
    static: ClassVar[bool] = True

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        counts = untolerated_preferences(cycle).astype(np.float64)
        top = counts[feasible].max(initial=0.0)
        if top == 0:
            return np.full(cycle.index.size, MAX_SCORE)
        out: FloatArray = np.clip((1.0 - counts / top) * MAX_SCORE, 0.0, MAX_SCORE)
        return out


def _minmax(values: FloatArray, feasible: BoolArray, higher_is_better: bool) -> FloatArray:
    """Min-max normalise over feasible clusters that have a value; missing values score 0."""
    have = feasible & ~np.isnan(values)
    out = np.zeros(values.shape)
    scored = values[have]  # gathered once: min, max and scaling all read it
    if not scored.size:
        return out
    lo = float(scored.min())
    hi = float(scored.max())
    if hi == lo:
        out[have] = MAX_SCORE
        return out
    scaled = (scored - lo) / (hi - lo)
    out[have] = (scaled if higher_is_better else 1.0 - scaled) * MAX_SCORE
    return out


class ClusterProperty:
    """A numeric cluster property (cost, latencyMs, ...), lower or higher is better, min-max scaled."""

    name: ClassVar[str] = "ClusterProperty"
    static: ClassVar[bool] = True

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        values = cycle.index.properties.get(prioritizer.property or "")
        if values is None:
            return np.zeros(cycle.index.size)
        return _minmax(values, feasible, prioritizer.prefer == "Higher")


class ResourceAllocatable:
    """OCM's ResourceAllocatableCPU / ResourceAllocatableMemory: more allocatable scores higher."""

    name: ClassVar[str] = "ResourceAllocatable"
    static: ClassVar[bool] = True

    def __init__(self, resource: str, name: str) -> None:
        self.resource = resource
        self.plugin_name = name

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        if self.resource not in cycle.index.resources:
            return np.zeros(cycle.index.size)
        col = cycle.index.resource_position(self.resource)
        values = cycle.index.allocatable[:, col].astype(np.float64)
        return _minmax(values, feasible, higher_is_better=True)


class Balance:
    """OCM's Balance: clusters that received fewer workloads so far in the batch score higher."""

    name: ClassVar[str] = "Balance"
    static: ClassVar[bool] = False

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        placed = cycle.placed.astype(np.float64)
        top = placed[feasible].max(initial=0.0)
        if top == 0:
            return np.full(cycle.index.size, MAX_SCORE)
        out: FloatArray = (1.0 - placed / top) * MAX_SCORE
        return out


class TopologySpread:
    """Favour clusters in topology domains with fewer candidates, so picks spread across domains."""

    name: ClassVar[str] = "TopologySpread"
    static: ClassVar[bool] = True

    def score(self, cycle: Cycle, prioritizer: Prioritizer, feasible: BoolArray) -> FloatArray:
        constraints = cycle.policy.topology_spread_constraints
        if not constraints:
            return np.full(cycle.index.size, MAX_SCORE)
        total = np.zeros(cycle.index.size)
        for tc in constraints:
            col = cycle.index.label(tc.topology_key)
            codes = np.where(feasible, col.codes, -1)
            present = codes >= 0
            if not present.any():
                continue
            sizes = np.bincount(codes[present], minlength=len(col.values)).astype(np.float64)
            smallest = sizes[sizes > 0].min()
            share = np.zeros(cycle.index.size)
            share[present] = smallest / sizes[codes[present]]
            total += share * MAX_SCORE
        return total / len(constraints)
