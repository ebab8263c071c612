"""Filter plugins: each answers one question about every cluster at once, and says why not.

A filter returns a boolean mask over clusters. ``reason`` is asked only for rejected clusters and only
when an explanation is wanted, so the hot path never builds strings. ``static`` filters depend on the
policy term and the workload's kind alone; the pipeline computes them once per batch and reuses them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.cluster import Taint
from tmc_core.model.policy import ClusterAffinity
from tmc_core.model.selectors import match_requirement
from tmc_core.placement.cycle import Cycle
from tmc_core.placement.index import Column, FleetIndex

__all__ = [
    "NOT_READY_TAINT",
    "APIEnablement",
    "ClusterAffinityFilter",
    "ClusterReady",
    "Filter",
    "PickFixedFilter",
    "ResourceFit",
    "SpreadFields",
    "TaintToleration",
    "TopologyKeys",
    "affinity_mask",
    "affinity_reason",
]

BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]

NOT_READY_TAINT = Taint(key="tmc.kcp.io/not-ready", effect="NoSchedule")
"""The taint a NotReady cluster behaves as if it had; tolerate it to keep placing there."""
_KARMADA_NOT_READY = Taint(key="cluster.karmada.io/not-ready", effect="NoSchedule")


class Filter(Protocol):
    """A filter plugin: a name, whether its answer is static per policy term, a mask and a reason."""

    name: ClassVar[str]
    static: ClassVar[bool]
    keeps_current: ClassVar[bool]
    """Clusters that already run the workload pass regardless (Karmada's rule for this filter)."""
    binds_pick_fixed: ClassVar[bool]
    """Whether it also applies to PickFixed, which (as in Fleet) skips the policy's rules and keeps
    only what a cluster physically needs: the named cluster, the served kind and room."""

    def mask(self, cycle: Cycle) -> BoolArray:
        """Clusters that pass."""
        ...

    def reason(self, cycle: Cycle, i: int) -> str:
        """Why cluster ``i`` did not pass (only asked for rejected clusters). A filter whose words
        depend on the workload's demand may also define ``reasons(cycle, clusters) -> list[str]``
        for many clusters at once; it is used when present."""
        ...


def _names_in(index: FleetIndex, names: Sequence[str]) -> BoolArray:
    out = np.zeros(index.size, dtype=np.bool_)
    hits = [index.position[n] for n in names if n in index.position]
    out[hits] = True
    return out


def _label_requirement(col: Column, operator: str, values: tuple[str, ...]) -> BoolArray:
    """One label requirement over every cluster, decided once per distinct label value."""
    table = np.array(
        [match_requirement(v, operator, values) for v in col.values]
        + [match_requirement(None, operator, values)],
        dtype=np.bool_,
    )
    # codes -1 (absent) index the last entry.
    return table[np.where(col.codes >= 0, col.codes, len(col.values))]


def _requirement(
    index: FleetIndex,
    kind: str,
    key: str,
    operator: str,
    values: tuple[str, ...],
    memo: dict[Any, Any] | None,
) -> BoolArray:
    """``_label_requirement`` on the label (``kind`` "label") or field column ``key``, once per
    batch call when the call's ``memo`` is given (the masks it keeps are read-only)."""
    if memo is None:
        col = index.label(key) if kind == "label" else index.fields[key]
        return _label_requirement(col, operator, values)
    memo_key = (kind, key, operator, values)
    hit: BoolArray | None = memo.get(memo_key)
    if hit is None:
        hit = memo[memo_key] = _requirement(index, kind, key, operator, values, None)
        hit.flags.writeable = False
    return hit


def affinity_mask(
    index: FleetIndex, affinity: ClusterAffinity, memo: dict[Any, Any] | None = None
) -> BoolArray:
    """Karmada's ClusterAffinity over the whole fleet: exclude wins; all present parts ANDed.
    ``memo``: a batch call's store of label-requirement masks (``PolicyCache.requirements``)."""
    mask = np.ones(index.size, dtype=np.bool_)
    if affinity.exclude:
        mask &= ~_names_in(index, affinity.exclude)
    if affinity.cluster_names:
        mask &= _names_in(index, affinity.cluster_names)
    sel = affinity.label_selector
    if sel is not None:
        for key, value in sel.match_labels.items():
            mask &= _requirement(index, "label", key, "In", (value,), memo)
        for req in sel.match_expressions:
            mask &= _requirement(index, "label", req.key, req.operator, req.values, memo)
    if affinity.field_selector is not None:
        for freq in affinity.field_selector.match_expressions:
            mask &= _requirement(index, "field", freq.key, freq.operator, freq.values, memo)
    return mask


def affinity_reason(index: FleetIndex, affinity: ClusterAffinity, i: int) -> str:
    """The first part of an affinity that cluster ``i`` fails, in words."""
    name = index.names[i]
    if name in affinity.exclude:
        return "excluded by clusterAffinity.exclude"
    if affinity.cluster_names and name not in affinity.cluster_names:
        return "not in clusterAffinity.clusterNames"
    sel = affinity.label_selector
    if sel is not None:
        labels = index.fleet.clusters[i].labels
        for key, value in sel.match_labels.items():
            if labels.get(key) != value:
                return f"label {key} is not {value}"
        for req in sel.match_expressions:
            if not req.matches(labels):
                vals = ",".join(req.values)
                return {
                    "In": f"label {req.key} not in ({vals})",
                    "NotIn": f"label {req.key} in ({vals})",
                    "Exists": f"no label {req.key}",
                    "DoesNotExist": f"has label {req.key}",
                    "Gt": f"label {req.key} not greater than {vals}",
                    "Lt": f"label {req.key} not less than {vals}",
                }[req.operator]
    if affinity.field_selector is not None:
        fields = index.fleet.clusters[i].fields
        for freq in affinity.field_selector.match_expressions:
            have = fields.get(freq.key) or None
            if not match_requirement(have, freq.operator, freq.values):
                vals = ",".join(freq.values)
                if freq.operator == "In":
                    return f"not in {freq.key} {vals}"
                return f"in excluded {freq.key} {have}"
    return "did not match the cluster affinity"


class ClusterAffinityFilter:
    """The term's clusterAffinity (Karmada's ClusterAffinity filter)."""

    name: ClassVar[str] = "ClusterAffinity"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = False
    binds_pick_fixed: ClassVar[bool] = False

    def mask(self, cycle: Cycle) -> BoolArray:
        return affinity_mask(cycle.index, cycle.term, cycle.requirements)

    def reason(self, cycle: Cycle, i: int) -> str:
        return affinity_reason(cycle.index, cycle.term, i)


class PickFixedFilter:
    """Azure Fleet's PickFixed: only the named clusters are candidates."""

    name: ClassVar[str] = "PickFixed"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = False
    binds_pick_fixed: ClassVar[bool] = True

    def mask(self, cycle: Cycle) -> BoolArray:
        if cycle.policy.placement_type != "PickFixed":
            return np.ones(cycle.index.size, dtype=np.bool_)
        return _names_in(cycle.index, cycle.policy.cluster_names)

    def reason(self, cycle: Cycle, i: int) -> str:
        return "not in clusterNames (PickFixed)"


class APIEnablement:
    """The cluster serves the workload's kind; clusters already running it pass (as in Karmada)."""

    name: ClassVar[str] = "APIEnablement"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = True
    binds_pick_fixed: ClassVar[bool] = True

    def mask(self, cycle: Cycle) -> BoolArray:
        return cycle.index.serves(cycle.gvk)

    def reason(self, cycle: Cycle, i: int) -> str:
        return f"does not serve {cycle.gvk}"


def _untolerated(cycle: Cycle, effects: tuple[str, ...]) -> list[int]:
    tolerations = cycle.policy.cluster_tolerations
    return [
        j
        for j, t in enumerate(cycle.index.taints)
        if t.effect in effects and not any(tol.tolerates(t) for tol in tolerations)
    ]


class TaintToleration:
    """Untolerated NoSchedule/NoExecute taints keep a workload off a cluster.

    Clusters that already run the workload pass, as in Karmada (eviction is a separate decision).
    """

    name: ClassVar[str] = "TaintToleration"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = True
    binds_pick_fixed: ClassVar[bool] = False

    def mask(self, cycle: Cycle) -> BoolArray:
        cols = _untolerated(cycle, ("NoSchedule", "NoExecute"))
        if not cols:
            return np.ones(cycle.index.size, dtype=np.bool_)
        clear: BoolArray = np.logical_not(np.any(cycle.index.taint_matrix[:, cols], axis=1))
        return clear

    def reason(self, cycle: Cycle, i: int) -> str:
        for j in _untolerated(cycle, ("NoSchedule", "NoExecute")):
            if cycle.index.taint_matrix[i, j]:
                return f"untolerated taint {cycle.index.taints[j]}"
        return "untolerated taint"


def untolerated_preferences(cycle: Cycle) -> NDArray[np.int64]:
    """Per cluster, how many PreferNoSchedule taints the policy does not tolerate."""
    cols = _untolerated(cycle, ("PreferNoSchedule",))
    if not cols:
        return np.zeros(cycle.index.size, dtype=np.int64)
    counts: NDArray[np.int64] = cycle.index.taint_matrix[:, cols].sum(axis=1).astype(np.int64)
    return counts


class ClusterReady:
    """NotReady clusters get no new replicas unless the policy tolerates ``tmc.kcp.io/not-ready``.

    This is how Karmada behaves through its automatic ``cluster.karmada.io/not-ready`` taint, whose
    toleration is honoured too; clusters already running the workload keep it.
    """

    name: ClassVar[str] = "ClusterReady"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = True
    binds_pick_fixed: ClassVar[bool] = False

    def mask(self, cycle: Cycle) -> BoolArray:
        tolerations = cycle.policy.cluster_tolerations
        if any(t.tolerates(NOT_READY_TAINT) or t.tolerates(_KARMADA_NOT_READY) for t in tolerations):
            return np.ones(cycle.index.size, dtype=np.bool_)
        return cycle.index.ready.copy()

    def reason(self, cycle: Cycle, i: int) -> str:
        return "not ready"


class SpreadFields:
    """Spreading by provider, region, zone or a label needs clusters that have that value."""

    name: ClassVar[str] = "SpreadConstraint"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = False
    binds_pick_fixed: ClassVar[bool] = False

    def mask(self, cycle: Cycle) -> BoolArray:
        mask = np.ones(cycle.index.size, dtype=np.bool_)
        for sc in cycle.policy.spread_constraints:
            if sc.spread_by_label:
                mask &= cycle.index.label(sc.spread_by_label).present()
            elif sc.spread_by_field and sc.spread_by_field != "cluster":
                mask &= cycle.index.fields[sc.spread_by_field].present()
        return mask

    def reason(self, cycle: Cycle, i: int) -> str:
        cluster = cycle.index.fleet.clusters[i]
        for sc in cycle.policy.spread_constraints:
            if sc.spread_by_label and sc.spread_by_label not in cluster.labels:
                return f"no label {sc.spread_by_label} to spread by"
            field = sc.spread_by_field
            if field and field != "cluster" and not cluster.fields[field]:
                return f"no {field} to spread by"
        return "cannot be grouped for spreading"


class TopologyKeys:
    """A DoNotSchedule topology spread constraint needs clusters carrying its topology label."""

    name: ClassVar[str] = "TopologySpread"
    static: ClassVar[bool] = True
    keeps_current: ClassVar[bool] = False
    binds_pick_fixed: ClassVar[bool] = False

    def mask(self, cycle: Cycle) -> BoolArray:
        mask = np.ones(cycle.index.size, dtype=np.bool_)
        for tc in cycle.policy.topology_spread_constraints:
            if tc.when_unsatisfiable == "DoNotSchedule":
                mask &= cycle.index.label(tc.topology_key).present()
        return mask

    def reason(self, cycle: Cycle, i: int) -> str:
        labels = cycle.index.fleet.clusters[i].labels
        for tc in cycle.policy.topology_spread_constraints:
            if tc.when_unsatisfiable == "DoNotSchedule" and tc.topology_key not in labels:
                return f"no label {tc.topology_key} for topology spread"
        return "no topology label"


class ResourceFit:
    """Room for at least one replica (Duplicated: for all of them), counting what it runs there now."""

    name: ClassVar[str] = "ResourceFit"
    static: ClassVar[bool] = False
    keeps_current: ClassVar[bool] = False
    binds_pick_fixed: ClassVar[bool] = True

    @staticmethod
    def need(cycle: Cycle) -> int:
        """Replicas a cluster must have room for."""
        if cycle.policy.replica_strategy == "Duplicated":
            return cycle.workload.replicas
        return min(1, cycle.workload.replicas)

    def mask(self, cycle: Cycle) -> BoolArray:
        return cycle.room >= self.need(cycle)

    def reason(self, cycle: Cycle, i: int) -> str:
        return self.reasons(cycle, np.array([i], dtype=np.int64))[0]

    def reasons(self, cycle: Cycle, clusters: IntArray) -> list[str]:
        """``reason`` for many clusters at once (an unschedulable workload asks for every rejected
        cluster of the fleet): each distinct set of short resources is worded once."""
        need = self.need(cycle) - cycle.previous[clusters]
        request = cycle.request
        short = (request[None, :] > 0) & (cycle.free[clusters] < need[:, None] * request[None, :])
        patterns, which = np.unique(short, axis=0, return_inverse=True)
        texts = []
        for row in patterns:
            names = [cycle.index.resources[r] for r in np.flatnonzero(row).tolist()]
            if not names:
                texts.append("insufficient resources")
            else:
                words = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
                texts.append(f"insufficient {words}")
        return [texts[k] for k in np.asarray(which).ravel().tolist()]
