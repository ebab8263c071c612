"""A columnar, numpy-backed view of a fleet, so one decision costs vector operations, not loops.

Every per-cluster fact placement reads (capacity, readiness, topology fields, labels, taints, served
kinds, numeric properties) becomes an array over clusters, built once per fleet and shared by every
decision. Capacities are exact integers: CPU in millicores, everything else in base units, as
Karmada's general estimator counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, TypeVar

import numpy as np
from numpy.typing import NDArray

from tmc_core.model.cluster import Cluster, Fleet, Taint
from tmc_core.model.quantity import Quantity
from tmc_core.model.resources import ResourceList

__all__ = ["UNLIMITED", "Column", "FleetIndex", "replicas_vector", "resource_vector", "to_units"]

UNLIMITED: Final = np.int64(1) << 52
"""Free amount used for a resource a cluster does not limit (pods when ``pods`` is not reported)."""

PODS: Final = "pods"

IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]
FloatArray = NDArray[np.float64]
_A = TypeVar("_A", bound=NDArray[Any])


def to_units(resource: str, quantity: Quantity) -> int:
    """A quantity as the integer placement counts in: millicores for CPU, base units (rounded up)
    otherwise, as Karmada's estimator does."""
    return quantity.milli_value() if resource == "cpu" else quantity.value()


@dataclass(frozen=True, slots=True)
class Column:
    """A categorical per-cluster column: ``codes[i]`` indexes ``values``; -1 means absent/empty."""

    values: tuple[str, ...]
    codes: NDArray[np.int32]

    @classmethod
    def of(cls, items: Sequence[str | None]) -> Column:
        """Encode strings (``None`` or ``""`` = absent) with a sorted vocabulary."""
        vocab = tuple(sorted({s for s in items if s}))
        pos = {v: i for i, v in enumerate(vocab)}
        codes = np.fromiter((pos[s] if s else -1 for s in items), dtype=np.int32, count=len(items))
        return cls(vocab, codes)

    def code(self, value: str) -> int:
        """The code of a value, or -2 (never present) when no cluster has it."""
        try:
            return self.values.index(value)
        except ValueError:
            return -2

    def isin(self, values: Iterable[str]) -> BoolArray:
        """Clusters whose value is one of ``values`` (absent never matches)."""
        wanted = [c for c in (self.code(v) for v in values) if c >= 0]
        if not wanted:
            return np.zeros(self.codes.shape, dtype=np.bool_)
        return np.isin(self.codes, np.asarray(wanted, dtype=np.int32))

    def present(self) -> BoolArray:
        """Clusters that have a (non-empty) value."""
        return self.codes >= 0

    def value_of(self, i: int) -> str | None:
        """The value of cluster ``i`` or ``None``."""
        c = int(self.codes[i])
        return self.values[c] if c >= 0 else None


def resource_vector(requests: ResourceList, resources: Sequence[str]) -> IntArray:
    """Per-replica requests as an integer vector over ``resources``; one pod is always requested."""
    out = np.zeros(len(resources), dtype=np.int64)
    for r, name in enumerate(resources):
        if name == PODS:
            out[r] = 1
        elif name in requests:
            out[r] = to_units(name, requests[name])
    return out


def replicas_vector(position: Mapping[str, int], size: int, replicas: Mapping[str, int]) -> IntArray:
    """Replicas per cluster (``name -> count``) as a vector over the fleet's ``size`` clusters, by
    ``position``; clusters not in the fleet and non-positive counts are left out."""
    out = np.zeros(size, dtype=np.int64)
    for name, n in replicas.items():
        pos = position.get(name)
        if pos is not None and n > 0:
            out[pos] = n
    return out


@dataclass(frozen=True, slots=True, eq=False)
class FleetIndex:
    """The fleet as arrays over clusters (index ``i`` = ``fleet.clusters[i]``).

    ``free`` is the starting capacity snapshot (allocatable - allocated, clamped at zero); resources
    a cluster does not report count as zero free, except ``pods``, which counts as unlimited when a
    cluster reports other capacity but no pod limit. A cluster that reports no capacity at all has
    nothing free (Karmada: no resource summary, no replicas).
    """

    fleet: Fleet
    names: tuple[str, ...]
    position: Mapping[str, int]
    name_rank: IntArray
    resources: tuple[str, ...]
    allocatable: IntArray
    free: IntArray
    ready: BoolArray
    fields: Mapping[str, Column]
    labels: Mapping[str, Column]
    properties: Mapping[str, FloatArray]
    taints: tuple[Taint, ...]
    taint_matrix: BoolArray
    api_all: BoolArray
    api_kinds: tuple[str, ...]
    api_matrix: BoolArray
    allocatable_f: FloatArray = field(repr=False)
    inverse_allocatable: FloatArray = field(repr=False)
    """1 / allocatable where a cluster limits the resource, else 0 (utilisation scores multiply)."""
    limited: BoolArray = field(repr=False)
    """Per cluster and resource: a finite, positive allocatable (utilisation scores read it)."""

    @property
    def size(self) -> int:
        """Number of clusters."""
        return len(self.names)

    def resource_position(self, name: str) -> int:
        """Column of a resource in the capacity arrays (``ValueError`` if unknown)."""
        return self.resources.index(name)

    def label(self, key: str) -> Column:
        """The column of a label key (all absent when no cluster has it)."""
        col = self.labels.get(key)
        if col is None:
            return Column((), np.full(self.size, -1, dtype=np.int32))
        return col

    def serves(self, gvk: str) -> BoolArray:
        """Clusters that serve ``group/version/Kind`` (clusters without a list serve everything)."""
        if gvk in self.api_kinds:
            return self.api_all | self.api_matrix[:, self.api_kinds.index(gvk)]
        return self.api_all.copy()

    @classmethod
    def from_fleet(cls, fleet: Fleet | Sequence[Cluster], extra_resources: Iterable[str] = ()) -> FleetIndex:
        """Build the index; ``extra_resources`` adds capacity columns for resources workloads request."""
        if not isinstance(fleet, Fleet):
            fleet = Fleet(clusters=tuple(fleet))
        clusters = fleet.clusters
        n = len(clusters)
        names = tuple(c.name for c in clusters)
        order = sorted(range(n), key=lambda i: names[i])
        name_rank = np.empty(n, dtype=np.int64)
        name_rank[order] = np.arange(n, dtype=np.int64)

        resource_set = {PODS, *extra_resources}
        for c in clusters:
            resource_set.update(c.allocatable)
        resources = tuple(sorted(resource_set, key=_resource_order))
        r_count = len(resources)
        allocatable = np.zeros((n, r_count), dtype=np.int64)
        free = np.zeros((n, r_count), dtype=np.int64)
        pods_col = resources.index(PODS)
        for i, c in enumerate(clusters):
            reported = len(c.allocatable) > 0
            for r, res in enumerate(resources):
                if res in c.allocatable:
                    alloc = to_units(res, c.allocatable[res])
                    used = to_units(res, c.allocated[res]) if res in c.allocated else 0
                    allocatable[i, r] = alloc
                    free[i, r] = max(0, alloc - used)
                elif r == pods_col and reported:
                    allocatable[i, r] = UNLIMITED
                    free[i, r] = UNLIMITED

        labels: dict[str, Column] = {}
        for key in sorted({k for c in clusters for k in c.labels}):
            labels[key] = Column.of([c.labels.get(key) for c in clusters])
        fields = {
            "provider": Column.of([c.provider for c in clusters]),
            "region": Column.of([c.region for c in clusters]),
            "zone": Column.of([c.zone for c in clusters]),
        }
        properties: dict[str, FloatArray] = {}
        for key in sorted({k for c in clusters for k in c.properties}):
            properties[key] = np.array([c.properties.get(key, np.nan) for c in clusters], dtype=np.float64)

        taints = tuple(sorted({t for c in clusters for t in c.taints}, key=str))
        taint_pos = {t: j for j, t in enumerate(taints)}
        taint_matrix = np.zeros((n, len(taints)), dtype=np.bool_)
        for i, c in enumerate(clusters):
            for t in c.taints:
                taint_matrix[i, taint_pos[t]] = True

        api_all = np.array([c.api_resources is None for c in clusters], dtype=np.bool_)
        kinds = tuple(sorted({k for c in clusters for k in (c.api_resources or ())}))
        kind_pos = {k: j for j, k in enumerate(kinds)}
        api_matrix = np.zeros((n, len(kinds)), dtype=np.bool_)
        for i, c in enumerate(clusters):
            for k in c.api_resources or ():
                api_matrix[i, kind_pos[k]] = True

        for arr in (name_rank, allocatable, free, taint_matrix, api_all, api_matrix):
            arr.setflags(write=False)
        limited = (allocatable > 0) & (allocatable < UNLIMITED)
        ready = np.array([c.ready for c in clusters], dtype=np.bool_)
        ready.setflags(write=False)
        return cls(
            fleet=fleet,
            names=names,
            position={name: i for i, name in enumerate(names)},
            name_rank=name_rank,
            resources=resources,
            allocatable=allocatable,
            free=free,
            ready=ready,
            fields=fields,
            labels=labels,
            properties=properties,
            taints=taints,
            taint_matrix=taint_matrix,
            api_all=api_all,
            api_kinds=kinds,
            api_matrix=api_matrix,
            allocatable_f=_frozen(allocatable.astype(np.float64)),
            limited=_frozen(limited),
            inverse_allocatable=_frozen(
                np.divide(1.0, allocatable.astype(np.float64), out=np.zeros(allocatable.shape), where=limited)
            ),
        )


def _frozen(a: _A) -> _A:
    a.setflags(write=False)
    return a


def _resource_order(name: str) -> tuple[int, str]:
    """cpu, memory, pods first (the order reasons mention them in), then the rest alphabetically."""
    first = {"cpu": 0, "memory": 1, PODS: 2, "ephemeral-storage": 3}
    return (first.get(name, 4), name)
