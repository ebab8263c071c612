"""Apply rendered manifests and carry out ``tmc_core.sync.plan`` actions through the client port.

* Writes are server-side apply under one field manager, :data:`FIELD_MANAGER` (``tmc``), so the
  member's own fields (defaults, other controllers') stay theirs and a repeated apply of the same
  manifest changes nothing (the resourceVersion stays).
* ``force`` only where documented: plan actions are applied with ``force=True`` because the plan
  only writes objects that carry tmc's ownership marks (docs/sync.md) -- tmc owns every field it
  sets there; :meth:`Applier.apply` defaults to ``force=False``, so a field another manager owns
  is a ``Conflict`` instead of a silent takeover.
* Updates carry the observed resourceVersion from the plan as a precondition: if the object
  changed since it was read, the write fails with ``Conflict`` and the caller re-plans.
* A namespaced object whose Namespace is missing gets the Namespace created on demand (plain,
  no labels) and is applied again once.
* Deletes use a propagation policy (Background by default) and the plan's uid/resourceVersion
  preconditions; an object already gone counts as deleted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tmc_core.sync import Action, MemberStatus
from tmc_kube.errors import AlreadyExists, KubeError, NotFound
from tmc_kube.port import KubePort, Manifest, ObjectRef, PropagationPolicy

__all__ = ["FIELD_MANAGER", "ActionResult", "Applier", "member_status"]

FIELD_MANAGER = "tmc"
"""The one field manager tmc writes under."""


@dataclass(frozen=True)
class ActionResult:
    """What happened to one plan action: ``applied``, ``deleted``, ``gone`` (already deleted) or
    ``failed`` (with the error); ``object`` is what the server returned for an apply."""

    action: Action
    outcome: Literal["applied", "deleted", "gone", "failed"]
    object: Manifest | None = None
    error: KubeError | None = None


def _missing_namespace(err: NotFound, ref: ObjectRef) -> bool:
    return (
        bool(ref.namespace)
        and err.details.get("kind") == "namespaces"
        and err.details.get("name") == ref.namespace
    )


class Applier:
    """Writes to one cluster through ``port`` under ``field_manager``; ``dry_run`` for every write."""

    def __init__(
        self,
        port: KubePort,
        *,
        field_manager: str = FIELD_MANAGER,
        dry_run: bool = False,
        propagation_policy: PropagationPolicy = "Background",
    ) -> None:
        self.port = port
        self.field_manager = field_manager
        self.dry_run = dry_run
        self.propagation_policy: PropagationPolicy = propagation_policy

    def ensure_namespace(self, name: str) -> None:
        """Create the Namespace ``name`` unless it exists (no labels; render's Namespace, when
        applied, adds tmc's)."""
        namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        with contextlib.suppress(AlreadyExists):
            self.port.create(namespace, dry_run=self.dry_run)

    def apply(self, manifest: Mapping[str, Any], *, force: bool = False) -> Manifest:
        """Server-side apply ``manifest``; creates its Namespace when missing (see module doc)."""
        ref = ObjectRef.of(manifest)
        try:
            return self.port.apply(
                manifest, field_manager=self.field_manager, force=force, dry_run=self.dry_run
            )
        except NotFound as err:
            if not _missing_namespace(err, ref):
                raise
            self.ensure_namespace(ref.namespace)
            if self.dry_run:
                # The namespace was only pretended; the server cannot dry-run into it.
                return dict(manifest)
            return self.port.apply(
                manifest, field_manager=self.field_manager, force=force, dry_run=self.dry_run
            )

    def apply_all(self, manifests: Iterable[Mapping[str, Any]], *, force: bool = False) -> list[Manifest]:
        """Apply in order (render emits the Namespace first); stops at the first error."""
        return [self.apply(m, force=force) for m in manifests]

    def delete(
        self,
        ref: ObjectRef,
        *,
        resource_version: str = "",
        uid: str = "",
        propagation_policy: PropagationPolicy | None = None,
    ) -> bool:
        """Delete; False when it was already gone."""
        try:
            self.port.delete(
                ref,
                propagation_policy=propagation_policy or self.propagation_policy,
                resource_version=resource_version,
                uid=uid,
                dry_run=self.dry_run,
            )
        except NotFound:
            return False
        return True

    def execute(self, action: Action) -> ActionResult:
        """Carry out one plan action; typed API errors become a ``failed`` result, not an exception."""
        try:
            if action.verb == "delete":
                ref = ObjectRef.of(action.manifest)
                gone = not self.delete(ref, resource_version=action.resource_version, uid=action.uid)
                return ActionResult(action, "gone" if gone else "deleted")
            manifest = dict(action.manifest)
            if action.verb == "update" and action.resource_version:
                manifest["metadata"] = {
                    **manifest.get("metadata", {}),
                    "resourceVersion": action.resource_version,
                }
            return ActionResult(action, "applied", self.apply(manifest, force=True))
        except KubeError as err:
            return ActionResult(action, "failed", error=err)

    def execute_all(self, actions: Iterable[Action]) -> list[ActionResult]:
        """Every action in plan order; a failure does not stop the others of other objects."""
        return [self.execute(a) for a in actions]


def member_status(port: KubePort, cluster: str, ref: ObjectRef) -> MemberStatus:
    """Read back one copy for ``tmc_core.sync.aggregate``: the object, ``None`` when not there,
    unreachable when the read failed otherwise."""
    try:
        return MemberStatus(cluster=cluster, manifest=port.get(ref))
    except NotFound:
        return MemberStatus(cluster=cluster, manifest=None)
    except KubeError:
        return MemberStatus(cluster=cluster, manifest=None, reachable=False)
