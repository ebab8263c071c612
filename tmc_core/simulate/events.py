"""What can happen to a simulated fleet, as frozen values, and the queue that orders it in time.

Scenario files list these events (``type`` picks the kind); the simulator adds its own internal ones
(a grace period running out, a metrics sample). Time is simulated seconds from the start of a run;
there is no wall clock anywhere.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import Field, SerializerFunctionWrapHandler, model_serializer, model_validator

from tmc_core.model.base import Value, field_error

__all__ = [
    "CapacityChange",
    "ClustersDrain",
    "ClustersFail",
    "ClustersJoin",
    "ClustersRecover",
    "Event",
    "EventQueue",
    "HeartbeatsStop",
    "Target",
    "WorkloadsArrive",
    "WorkloadsLeave",
    "WorkloadsScale",
]

T = TypeVar("T")


class Target(Value):
    """Which clusters an event hits: every live cluster matching all the given parts.

    ``largest`` picks the provider, region or zone with the most live clusters (ties: by name) at the
    moment of the event, so a scenario can say "the biggest region fails" without knowing the names
    of a synthetic fleet. ``count`` keeps at most that many of the matching clusters, drawn with the
    scenario's seed (0 keeps all).
    """

    clusters: tuple[str, ...] = ()
    provider: str = ""
    region: str = ""
    zone: str = ""
    largest: Literal["", "provider", "region", "zone"] = ""
    count: int = Field(default=0, ge=0)


class _At(Value):
    at: float = Field(ge=0, allow_inf_nan=False)
    """Simulated seconds from the start of the run."""

    @model_serializer(mode="wrap")
    def _keep_type(self, handler: SerializerFunctionWrapHandler) -> Any:
        """Always write ``type`` (it is a default, which ``dump`` would leave out), so a dumped
        scenario reads back."""
        out = handler(self)
        if isinstance(out, dict):
            out = {"type": getattr(self, "type", ""), **out}
        return out


class WorkloadsArrive(_At):
    """``count`` new workloads drawn from the scenario's workload generator."""

    type: Literal["arrive"] = "arrive"
    count: int = Field(default=1, ge=1)


class WorkloadsScale(_At):
    """A share of the live workloads (drawn with the seed) change their replicas by ``factor``
    (rounded, at least one replica)."""

    type: Literal["scale"] = "scale"
    factor: float = Field(gt=0, allow_inf_nan=False)
    fraction: float = Field(default=1.0, gt=0, le=1)


class WorkloadsLeave(_At):
    """``count`` live workloads, or a ``fraction`` of them, drawn with the seed, are deleted."""

    type: Literal["leave"] = "leave"
    count: int = Field(default=0, ge=0)
    fraction: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _one(self) -> WorkloadsLeave:
        if bool(self.count) == bool(self.fraction):
            raise field_error("count", "give exactly one of count and fraction")
        return self


class ClustersJoin(_At):
    """``count`` new clusters drawn from the scenario's fleet generator join, Ready and empty."""

    type: Literal["join"] = "join"
    count: int = Field(default=1, ge=1)


class _Targeted(_At):
    target: Target


class ClustersFail(_Targeted):
    """The clusters go down with everything on them; the control plane notices only when their
    heartbeats have been missing for the grace period, then reschedules their replicas."""

    type: Literal["fail"] = "fail"


class HeartbeatsStop(_Targeted):
    """The clusters stop reporting but keep running their replicas; after the grace period they are
    NotReady and their replicas are rescheduled all the same."""

    type: Literal["heartbeat-stop"] = "heartbeat-stop"


class ClustersRecover(_Targeted):
    """Failed, silent or drained clusters are Ready and schedulable again."""

    type: Literal["recover"] = "recover"


class ClustersDrain(_Targeted):
    """The clusters are cordoned and every replica on them is moved elsewhere at once."""

    type: Literal["drain"] = "drain"


class CapacityChange(_Targeted):
    """The clusters' allocatable capacity is multiplied by ``factor`` (below 1: nodes lost; above:
    nodes added). Replicas that no longer fit are evicted, lowest priority first."""

    type: Literal["capacity"] = "capacity"
    factor: float = Field(gt=0, allow_inf_nan=False)


Event = Annotated[
    WorkloadsArrive
    | WorkloadsScale
    | WorkloadsLeave
    | ClustersJoin
    | ClustersFail
    | HeartbeatsStop
    | ClustersRecover
    | ClustersDrain
    | CapacityChange,
    Field(discriminator="type"),
]
"""Any scenario event; the ``type`` field says which."""


@dataclass(order=True, frozen=True, slots=True)
class _Entry(Generic[T]):
    time: float
    rank: int
    seq: int
    item: T = field(compare=False)


@dataclass(slots=True)
class EventQueue(Generic[T]):
    """A heap of timed items popped in (time, rank, insertion) order, so equal times are ordered
    by rank (scenario events before internal checks before samples) and then as they were pushed."""

    _heap: list[_Entry[T]] = field(default_factory=list)
    _pushed: int = 0

    def push(self, time: float, item: T, *, rank: int = 0) -> None:
        """Schedule ``item`` at ``time``."""
        heapq.heappush(self._heap, _Entry(time, rank, self._pushed, item))
        self._pushed += 1

    def __len__(self) -> int:
        return len(self._heap)

    def next_time(self) -> float | None:
        """The time of the earliest item, or ``None`` when empty."""
        return self._heap[0].time if self._heap else None

    def pop_at(self, time: float) -> list[T]:
        """Every item scheduled at exactly ``time``, in order (items pushed meanwhile included)."""
        out: list[T] = []
        while self._heap and self._heap[0].time == time:
            out.append(heapq.heappop(self._heap).item)
        return out
