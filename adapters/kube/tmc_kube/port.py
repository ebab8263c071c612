"""The client port: the few verbs tmc needs from an API server, over plain dict objects.

Controllers and helpers depend on :class:`KubePort`, never on the ``kubernetes`` package, so the
same code runs against a real server (:class:`tmc_kube.KubeClient`) and in memory
(:class:`tmc_kube.FakeKube`). Objects are addressed by (apiVersion, kind, namespace, name);
``namespace`` is empty for cluster-scoped kinds. Failures raise ``tmc_kube.errors`` types.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from tmc_kube.errors import InvalidConfig

__all__ = [
    "KubePort",
    "ObjectList",
    "ObjectRef",
    "PropagationPolicy",
    "WatchEvent",
    "WatchStream",
]

Manifest = dict[str, Any]
PropagationPolicy = Literal["Foreground", "Background", "Orphan"]
EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]


@dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of one object: ``ObjectRef("apps/v1", "Deployment", "shop", "web")``."""

    api_version: str
    kind: str
    namespace: str = ""
    name: str = ""

    @classmethod
    def of(cls, manifest: Mapping[str, Any]) -> ObjectRef:
        """The ref of a manifest; ``InvalidConfig`` naming the missing field when it has none."""
        meta = manifest.get("metadata")
        meta = meta if isinstance(meta, Mapping) else {}
        ref = cls(
            str(manifest.get("apiVersion") or ""),
            str(manifest.get("kind") or ""),
            str(meta.get("namespace") or ""),
            str(meta.get("name") or ""),
        )
        for field_name, value in (
            ("apiVersion", ref.api_version),
            ("kind", ref.kind),
            ("metadata.name", ref.name),
        ):
            if not value:
                raise InvalidConfig(
                    "required", obj=f"{ref.kind or 'object'} {ref.name or '?'}", path=field_name
                )
        return ref

    @property
    def group(self) -> str:
        """API group ("" for the core group)."""
        return self.api_version.rpartition("/")[0]

    def __str__(self) -> str:
        kind = f"{self.kind}.{self.group}" if self.group else self.kind
        return f"{kind} {self.namespace}/{self.name}" if self.namespace else f"{kind} {self.name}"


@dataclass(frozen=True)
class ObjectList:
    """A list response: the items and the collection's resourceVersion to watch from."""

    items: list[Manifest]
    resource_version: str


@dataclass(frozen=True)
class WatchEvent:
    """One watch event; ``BOOKMARK`` objects carry only ``metadata.resourceVersion``."""

    type: EventType
    object: Manifest = field(repr=False)

    @property
    def resource_version(self) -> str:
        meta = self.object.get("metadata") or {}
        return str(meta.get("resourceVersion") or "")


@runtime_checkable
class WatchStream(Protocol):
    """An open watch: iterate events (ends when the server closes it), ``close()`` from any thread.

    Iteration raises ``Gone`` when the start resourceVersion is too old, and ``Unavailable`` when
    the connection breaks; both leave the caller to decide (relist, reconnect).
    """

    def __iter__(self) -> Iterator[WatchEvent]: ...

    def close(self) -> None: ...


@runtime_checkable
class KubePort(Protocol):
    """What tmc asks of an API server. Every method is synchronous and thread-safe."""

    def get(self, ref: ObjectRef) -> Manifest:
        """The object, or ``NotFound``."""
        ...

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> ObjectList:
        """All objects of a kind (in ``namespace``, or in every namespace when empty)."""
        ...

    def watch(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        resource_version: str = "",
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int | None = None,
    ) -> WatchStream:
        """Changes after ``resource_version`` (bookmarks requested)."""
        ...

    def create(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        """Create; ``AlreadyExists`` when the name is taken."""
        ...

    def update(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        """Replace (PUT); ``Conflict`` when ``metadata.resourceVersion`` is stale."""
        ...

    def update_status(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        """Replace the status subresource (PUT .../status), same concurrency rule as update."""
        ...

    def apply(
        self,
        manifest: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Manifest:
        """Server-side apply (create or merge the fields ``field_manager`` owns); ``subresource``
        "status" applies the status. ``Conflict`` on field conflicts unless ``force``."""
        ...

    def delete(
        self,
        ref: ObjectRef,
        *,
        propagation_policy: PropagationPolicy = "Background",
        resource_version: str = "",
        uid: str = "",
        dry_run: bool = False,
    ) -> None:
        """Delete, with optional resourceVersion/uid preconditions (``Conflict`` when stale)."""
        ...
