"""Workloads as placement sees them: identity, replica count, per-replica requests, priority."""

from __future__ import annotations

from pydantic import Field

from tmc_core.model.base import Value
from tmc_core.model.resources import ResourceList

__all__ = ["Workload", "WorkloadRef"]


class WorkloadRef(Value):
    """Which upstream object a decision is about (the ``workload`` of a decision record)."""

    api_version: str
    kind: str
    namespace: str = ""
    name: str
    workspace: str = ""
    """The kcp logical cluster the object lives in ("" outside kcp)."""

    @property
    def key(self) -> str:
        """``namespace/name`` (or ``name`` for cluster-scoped objects)."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    def __str__(self) -> str:
        return f"{self.kind}/{self.key}"


class Workload(Value):
    """One upstream workload: ``requests`` are per replica (the pod template's effective requests)."""

    api_version: str = "apps/v1"
    kind: str = "Deployment"
    namespace: str = ""
    name: str
    workspace: str = ""
    uid: str = ""
    replicas: int = Field(default=1, ge=0)
    requests: ResourceList = Field(default_factory=ResourceList.empty)
    labels: dict[str, str] = Field(default_factory=dict)
    priority: int = 0

    @property
    def ref(self) -> WorkloadRef:
        """The reference written into decision records."""
        return WorkloadRef.model_construct(
            api_version=self.api_version,
            kind=self.kind,
            namespace=self.namespace,
            name=self.name,
            workspace=self.workspace,
        )

    @property
    def key(self) -> str:
        """``namespace/name``."""
        return self.ref.key
