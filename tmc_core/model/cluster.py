"""Member clusters: identity, topology, taints, capacity and health, as frozen values."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from tmc_core.model.base import Value, field_error
from tmc_core.model.resources import ResourceList

__all__ = [
    "Cluster",
    "Condition",
    "Fleet",
    "Taint",
    "TaintEffect",
    "Toleration",
]

TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]

_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def check_dns_subdomain(name: str) -> str:
    """Kubernetes object names: lower-case DNS-1123 subdomain, at most 253 characters."""
    if not name or len(name) > 253 or not _DNS1123_SUBDOMAIN.match(name):
        raise ValueError(
            f"invalid name {name!r}: must be a lower-case DNS-1123 subdomain "
            "(a-z, 0-9, '-', '.', starting and ending with an alphanumeric)"
        )
    return name


class Taint(Value):
    """A cluster taint: workloads that do not tolerate it are kept away (or just prefer to be)."""

    key: str = Field(min_length=1)
    value: str = ""
    effect: TaintEffect

    def __str__(self) -> str:
        return f"{self.key}={self.value}:{self.effect}" if self.value else f"{self.key}:{self.effect}"


class Toleration(Value):
    """A toleration in Kubernetes' semantics (operators Equal and Exists; empty effect = any)."""

    key: str = ""
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: Literal["", "NoSchedule", "PreferNoSchedule", "NoExecute"] = ""
    toleration_seconds: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Toleration:
        if self.operator == "Exists" and self.value:
            raise field_error("value", "must be empty when operator is Exists")
        if not self.key and self.operator != "Exists":
            raise field_error("operator", "must be Exists when key is empty (tolerate everything)")
        return self

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ToleratesTaint: effect matches (or empty), key matches (or empty), value rule."""
        if self.effect and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


class Condition(Value):
    """A status condition (Ready, Unreachable, ...)."""

    type: str = Field(min_length=1)
    status: Literal["True", "False", "Unknown"]
    reason: str = ""
    message: str = ""
    last_transition_time: datetime | None = None
    last_heartbeat_time: datetime | None = None
    observed_generation: int | None = None


class Cluster(Value):
    """A member cluster as placement sees it.

    ``allocated`` already includes the replicas running there; free capacity is
    ``allocatable - allocated`` per resource, never below zero.
    """

    name: str
    labels: dict[str, str] = Field(default_factory=dict)
    provider: str = ""
    region: str = ""
    zone: str = ""
    taints: tuple[Taint, ...] = ()
    properties: dict[str, float] = Field(default_factory=dict)
    api_resources: tuple[str, ...] | None = None
    allocatable: ResourceList = Field(default_factory=ResourceList.empty)
    allocated: ResourceList = Field(default_factory=ResourceList.empty)
    conditions: tuple[Condition, ...] = ()

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        return check_dns_subdomain(v)

    @field_validator("properties", mode="before")
    @classmethod
    def _numeric_properties(cls, v: object) -> object:
        if not isinstance(v, Mapping):
            return v
        out: dict[str, float] = {}
        for key, raw in v.items():
            if isinstance(raw, bool):
                raise field_error(str(key), f"expected a number, got {raw!r}")
            try:
                num = float(raw)
            except (TypeError, ValueError):
                raise field_error(str(key), f"expected a number, got {raw!r}") from None
            if not math.isfinite(num):
                raise field_error(str(key), f"expected a finite number, got {raw!r}")
            out[str(key)] = num
        return out

    @field_validator("api_resources")
    @classmethod
    def _gvk(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for item in v or ():
            if item.count("/") not in (1, 2) or not item.split("/")[-1]:
                raise ValueError(
                    f"invalid API resource {item!r}: expected group/version/Kind or version/Kind"
                )
        return v

    @property
    def ready(self) -> bool:
        """Ready unless a Ready condition says otherwise (no Ready condition counts as Ready)."""
        for c in self.conditions:
            if c.type == "Ready":
                return c.status == "True"
        return True

    @property
    def free(self) -> ResourceList:
        """Free capacity per resource: allocatable minus allocated, clamped at zero."""
        return (self.allocatable - self.allocated).clamp_min_zero()

    @property
    def fields(self) -> dict[str, str]:
        """The values Karmada's fieldSelector and spreadByField read."""
        return {"provider": self.provider, "region": self.region, "zone": self.zone}

    def serves(self, api_version: str, kind: str) -> bool:
        """Whether the cluster serves a kind; ``apiResources`` absent means it serves everything."""
        if self.api_resources is None:
            return True
        return f"{api_version}/{kind}" in self.api_resources


class Fleet(Value):
    """An ordered set of clusters with unique names; the unit placement works on."""

    clusters: tuple[Cluster, ...] = ()

    @model_validator(mode="after")
    def _unique(self) -> Fleet:
        seen: set[str] = set()
        for i, c in enumerate(self.clusters):
            if c.name in seen:
                raise field_error(f"clusters[{i}].name", f"duplicate cluster name {c.name!r}")
            seen.add(c.name)
        return self

    def __iter__(self) -> Iterator[Cluster]:  # type: ignore[override]
        return iter(self.clusters)

    def __len__(self) -> int:
        return len(self.clusters)

    def __getitem__(self, name: str) -> Cluster:
        for c in self.clusters:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def names(self) -> tuple[str, ...]:
        """Cluster names in fleet order."""
        return tuple(c.name for c in self.clusters)
