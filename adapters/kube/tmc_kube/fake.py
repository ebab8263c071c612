"""FakeKube: an in-memory :class:`~tmc_kube.port.KubePort` for fast controller-logic tests.

It keeps the API server's concurrency rules, so controller bugs show up here first:

* one global resourceVersion counter; every write that changes an object bumps it, a write that
  changes nothing (a repeated apply) does not; ``metadata.generation`` counts spec changes;
* update/update_status/apply/delete with a stale ``resourceVersion`` (or ``uid``) raise
  ``Conflict``; create of a taken name raises ``AlreadyExists``; a namespaced object needs its
  Namespace (``NotFound`` with details kind ``namespaces``, as the server says);
* watches replay history after their resourceVersion, then stream live; after :meth:`compact`,
  a watch from an older resourceVersion raises ``Gone``; :meth:`bookmark` and :meth:`break_watches`
  exercise bookmarks and dropped connections; :meth:`fail_next` injects any error into any verb;
* server-side apply is a simplified model: per field manager it remembers the applied
  configuration, removes fields that manager applied before and omits now, merges the new one
  (maps recursively, lists whole) and raises ``Conflict`` when another manager applied a different
  value to the same field, unless ``force`` (which then moves the field to the new manager);
* objects with finalizers get a ``deletionTimestamp`` on delete and go when the list empties;
  Background/Foreground deletion removes dependents (ownerReferences by uid) and a Namespace's
  contents, Orphan leaves them.

Not modelled: admission, defaulting, validation schemas, managedFields, field ownership of
non-apply writes.
"""

from __future__ import annotations

import copy
import threading
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from tmc_kube.errors import AlreadyExists, Conflict, Gone, KubeError, NotFound
from tmc_kube.port import Manifest, ObjectList, ObjectRef, PropagationPolicy, WatchEvent
from tmc_kube.selectors import field_matcher, label_matcher

__all__ = ["FakeKube"]

Key = tuple[str, str, str, str]  # group, kind, namespace, name
_CONFLICT_MSG = "the object has been modified; please apply your changes to the latest version and try again"


def _key(ref: ObjectRef) -> Key:
    return (ref.group, ref.kind, ref.namespace, ref.name)


def _meta(obj: Manifest) -> dict[str, Any]:
    meta = obj.setdefault("metadata", {})
    assert isinstance(meta, dict)
    return meta


def _spec_part(obj: Mapping[str, Any]) -> dict[str, Any]:
    """Everything that counts for ``generation``: all but metadata and status."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def _content(obj: Mapping[str, Any]) -> dict[str, Any]:
    """The object without the server's bookkeeping, to tell whether a write changed anything."""
    out = copy.deepcopy(dict(obj))
    meta = out.get("metadata") or {}
    for k in ("resourceVersion", "generation", "managedFields"):
        meta.pop(k, None)
    return out


def _leaves(value: Any, prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    """Paths to the non-map values (and empty maps) of a nested dict."""
    if isinstance(value, Mapping) and (value or not prefix):
        out: dict[tuple[str, ...], Any] = {}
        for k, v in value.items():
            out.update(_leaves(v, (*prefix, str(k))))
        return out
    return {prefix: value}


def _remove(obj: dict[str, Any], path: tuple[str, ...]) -> None:
    cur: Any = obj
    for part in path[:-1]:
        if not isinstance(cur, dict) or part not in cur:
            return
        cur = cur[part]
    if isinstance(cur, dict):
        cur.pop(path[-1], None)


def _merge(into: dict[str, Any], patch: Mapping[str, Any]) -> None:
    for k, v in patch.items():
        if isinstance(v, Mapping) and isinstance(into.get(k), dict):
            _merge(into[k], v)
        else:
            into[k] = copy.deepcopy(v)


def _applied_config(manifest: Mapping[str, Any]) -> dict[str, Any]:
    cfg = copy.deepcopy(dict(manifest))
    meta = cfg.get("metadata") or {}
    for k in ("resourceVersion", "uid", "generation", "managedFields", "creationTimestamp"):
        meta.pop(k, None)
    return cfg


@dataclass
class _Stream:
    fake: FakeKube
    matches: Callable[[Mapping[str, Any]], bool]
    timeout: float | None
    pending: deque[WatchEvent | KubeError] = field(default_factory=deque)
    closed: bool = False

    def __iter__(self) -> Iterator[WatchEvent]:
        cond = self.fake._cond
        while True:
            with cond:
                if not self.pending and not self.closed:
                    cond.wait_for(lambda: bool(self.pending) or self.closed, timeout=self.timeout)
                if not self.pending:
                    self.close_locked()
                    return
                item = self.pending.popleft()
            if isinstance(item, KubeError):
                self.close()
                raise item
            yield item

    def close_locked(self) -> None:
        self.closed = True
        if self in self.fake._streams:
            self.fake._streams.remove(self)
        self.fake._cond.notify_all()

    def close(self) -> None:
        with self.fake._cond:
            self.close_locked()


class FakeKube:
    """In-memory API server behind the client port (thread-safe). See the module docstring."""

    def __init__(self, *, require_namespaces: bool = True) -> None:
        self.require_namespaces = require_namespaces
        self.ready: tuple[bool, str] = (True, "ok")
        self._objects: dict[Key, Manifest] = {}
        self._applied: dict[Key, dict[str, dict[str, Any]]] = {}
        self._history: list[tuple[int, str, Manifest]] = []
        self._compacted = 0
        self._rv = 0
        self._uid = 0
        self._faults: dict[str, deque[KubeError]] = {}
        self._streams: list[_Stream] = []
        self._cond = threading.Condition(threading.RLock())

    # -- test controls ----------------------------------------------------------------------------

    @property
    def resource_version(self) -> str:
        """The latest resourceVersion handed out."""
        with self._cond:
            return str(self._rv)

    def fail_next(self, verb: str, error: KubeError, times: int = 1) -> None:
        """Make the next ``times`` calls of ``verb`` (get, list, watch, create, update,
        update_status, apply, delete) raise ``error`` instead of running."""
        with self._cond:
            self._faults.setdefault(verb, deque()).extend([error] * times)

    def compact(self) -> None:
        """Forget history up to now: watches from an older resourceVersion get ``Gone``."""
        with self._cond:
            self._compacted = self._rv
            self._history.clear()

    def bookmark(self) -> None:
        """Send a BOOKMARK with the current resourceVersion to every open watch."""
        with self._cond:
            for s in self._streams:
                s.pending.append(WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": str(self._rv)}}))
            self._cond.notify_all()

    def break_watches(self, error: KubeError | None = None) -> None:
        """End every open watch: with ``error`` raised from it, or quietly (server timeout)."""
        with self._cond:
            for s in list(self._streams):
                if error is not None:
                    s.pending.append(error)
                else:
                    s.close_locked()
            self._cond.notify_all()

    @property
    def open_watches(self) -> int:
        """How many watches are open (to wait until a watcher has reconnected)."""
        with self._cond:
            return len(self._streams)

    def readyz(self) -> tuple[bool, str]:
        """Whatever ``self.ready`` says."""
        return self.ready

    # -- internals --------------------------------------------------------------------------------

    def _fault(self, verb: str) -> None:
        q = self._faults.get(verb)
        if q:
            raise q.popleft()

    def _next_rv(self) -> str:
        self._rv += 1
        return str(self._rv)

    def _emit(self, kind: str, obj: Manifest) -> None:
        snapshot = copy.deepcopy(obj)
        self._history.append((self._rv, kind, snapshot))
        for s in self._streams:
            if s.matches(snapshot):
                s.pending.append(WatchEvent(kind, copy.deepcopy(snapshot)))  # type: ignore[arg-type]
        self._cond.notify_all()

    def _check_namespace(self, ref: ObjectRef) -> None:
        if (
            self.require_namespaces
            and ref.namespace
            and ("", "Namespace", "", ref.namespace) not in self._objects
        ):
            raise NotFound(
                f'namespaces "{ref.namespace}" not found',
                reason="NotFound",
                details={"name": ref.namespace, "kind": "namespaces"},
            )

    def _stored(self, ref: ObjectRef) -> Manifest:
        obj = self._objects.get(_key(ref))
        if obj is None:
            raise NotFound(
                f'{ref.kind} "{ref.name}" not found',
                reason="NotFound",
                details={"name": ref.name, "kind": ref.kind},
            )
        return obj

    @staticmethod
    def _preconditions(stored: Manifest, rv: str, uid: str) -> None:
        meta = stored["metadata"]
        if uid and uid != meta.get("uid"):
            raise Conflict(
                f"Precondition failed: UID in precondition: {uid}, UID in object meta: {meta.get('uid')}",
                reason="Conflict",
            )
        if rv and rv != meta.get("resourceVersion"):
            raise Conflict(
                f'Operation cannot be fulfilled on {stored["kind"]} "{meta.get("name")}": {_CONFLICT_MSG}',
                reason="Conflict",
            )

    def _insert(self, ref: ObjectRef, obj: Manifest, dry_run: bool) -> Manifest:
        self._check_namespace(ref)
        meta = _meta(obj)
        for k in ("resourceVersion", "deletionTimestamp"):
            meta.pop(k, None)
        meta["generation"] = 1
        if ref.namespace:
            meta["namespace"] = ref.namespace
        if dry_run:
            meta["uid"] = "fake-uid-dry-run"  # the real server also invents a uid it does not keep
            return obj
        self._uid += 1
        meta["uid"] = f"fake-uid-{self._uid:06d}"
        meta["resourceVersion"] = self._next_rv()
        self._objects[_key(ref)] = obj
        self._emit("ADDED", obj)
        return copy.deepcopy(obj)

    def _replace(self, ref: ObjectRef, old: Manifest, new: Manifest, dry_run: bool) -> Manifest:
        """Store ``new`` in place of ``old`` when it differs; bookkeeping as the server does it."""
        meta = _meta(new)
        meta["uid"] = old["metadata"]["uid"]
        meta["generation"] = old["metadata"].get("generation", 1) + (_spec_part(old) != _spec_part(new))
        if "deletionTimestamp" in old["metadata"]:
            meta["deletionTimestamp"] = old["metadata"]["deletionTimestamp"]
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _content(new) == _content(old) or dry_run:
            return copy.deepcopy(new)
        meta["resourceVersion"] = self._next_rv()
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            self._forget(ref)
            self._emit("DELETED", new)
            return copy.deepcopy(new)
        self._objects[_key(ref)] = new
        self._emit("MODIFIED", new)
        return copy.deepcopy(new)

    def _forget(self, ref: ObjectRef) -> None:
        self._objects.pop(_key(ref), None)
        self._applied.pop(_key(ref), None)

    # -- the port ---------------------------------------------------------------------------------

    def get(self, ref: ObjectRef) -> Manifest:
        with self._cond:
            self._fault("get")
            return copy.deepcopy(self._stored(ref))

    def list(
        self,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> ObjectList:
        matches = self._matcher(api_version, kind, namespace, label_selector, field_selector)
        with self._cond:
            self._fault("list")
            items = [copy.deepcopy(o) for k, o in sorted(self._objects.items()) if matches(o)]
            return ObjectList(items, str(self._rv))

    @staticmethod
    def _matcher(
        api_version: str, kind: str, namespace: str, label_selector: str, field_selector: str
    ) -> Callable[[Mapping[str, Any]], bool]:
        group = api_version.rpartition("/")[0]
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)

        def matches(obj: Mapping[str, Any]) -> bool:
            meta = obj.get("metadata") or {}
            return (
                str(obj.get("apiVersion", "")).rpartition("/")[0] == group
                and obj.get("kind") == kind
                and (not namespace or meta.get("namespace", "") == namespace)
                and labels(obj)
                and fields(obj)
            )

        return matches

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
    ) -> _Stream:
        matches = self._matcher(api_version, kind, namespace, label_selector, field_selector)
        with self._cond:
            self._fault("watch")
            stream = _Stream(self, matches, None if timeout_seconds is None else float(timeout_seconds))
            if resource_version in ("", "0"):
                for _k, obj in sorted(self._objects.items()):
                    if matches(obj):
                        stream.pending.append(WatchEvent("ADDED", copy.deepcopy(obj)))
            else:
                start = int(resource_version)
                if start < self._compacted:
                    stream.pending.append(
                        Gone(f"too old resource version: {start} ({self._compacted})", reason="Expired")
                    )
                else:
                    for rv, kind_, obj in self._history:
                        if rv > start and matches(obj):
                            stream.pending.append(WatchEvent(kind_, copy.deepcopy(obj)))  # type: ignore[arg-type]
            self._streams.append(stream)
            return stream

    def create(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        ref = ObjectRef.of(manifest)
        with self._cond:
            self._fault("create")
            if _key(ref) in self._objects:
                raise AlreadyExists(f'{ref.kind} "{ref.name}" already exists', reason="AlreadyExists")
            return self._insert(ref, copy.deepcopy(dict(manifest)), dry_run)

    def update(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        ref = ObjectRef.of(manifest)
        with self._cond:
            self._fault("update")
            old = self._stored(ref)
            meta = manifest.get("metadata") or {}
            self._preconditions(old, str(meta.get("resourceVersion") or ""), str(meta.get("uid") or ""))
            new = copy.deepcopy(dict(manifest))
            new.pop("status", None)
            if "status" in old:
                new["status"] = copy.deepcopy(old["status"])
            return self._replace(ref, old, new, dry_run)

    def update_status(self, manifest: Mapping[str, Any], *, dry_run: bool = False) -> Manifest:
        ref = ObjectRef.of(manifest)
        with self._cond:
            self._fault("update_status")
            old = self._stored(ref)
            meta = manifest.get("metadata") or {}
            self._preconditions(old, str(meta.get("resourceVersion") or ""), str(meta.get("uid") or ""))
            new = copy.deepcopy(old)
            new["status"] = copy.deepcopy(manifest.get("status") or {})
            return self._replace(ref, old, new, dry_run)

    def apply(
        self,
        manifest: Mapping[str, Any],
        *,
        field_manager: str,
        force: bool = False,
        dry_run: bool = False,
        subresource: str = "",
    ) -> Manifest:
        if not field_manager:
            raise ValueError("server-side apply needs a field manager")
        ref = ObjectRef.of(manifest)
        with self._cond:
            self._fault("apply")
            key = _key(ref)
            old = self._objects.get(key)
            meta = manifest.get("metadata") or {}
            if old is not None:
                self._preconditions(old, str(meta.get("resourceVersion") or ""), str(meta.get("uid") or ""))
            elif subresource:
                raise NotFound(f'{ref.kind} "{ref.name}" not found', reason="NotFound")
            cfg = _applied_config(manifest)
            if subresource == "status":
                cfg = {"status": cfg.get("status") or {}}
            else:
                cfg.pop("status", None)
            managers = {m: copy.deepcopy(c) for m, c in self._applied.get(key, {}).items()}
            new_leaves = _leaves(cfg)
            for other, other_cfg in managers.items():
                if other == field_manager:
                    continue
                theirs = _leaves(other_cfg)
                clash = [p for p, v in new_leaves.items() if p in theirs and theirs[p] != v]
                if clash and not force:
                    raise Conflict(
                        f'Apply failed with 1 conflict: conflict with "{other}": .{".".join(clash[0])}',
                        reason="Conflict",
                    )
                for p in clash:
                    _remove(other_cfg, p)
            previous = managers.get(field_manager, {})
            if old is None:
                obj = copy.deepcopy(cfg)
                obj["apiVersion"], obj["kind"] = ref.api_version, ref.kind
                _meta(obj)["name"] = ref.name
                result = self._insert(ref, obj, dry_run)
            else:
                obj = copy.deepcopy(old)
                for path in _leaves(previous):
                    if path not in new_leaves and path[:2] not in (
                        ("metadata", "name"),
                        ("metadata", "namespace"),
                    ):
                        _remove(obj, path)
                _merge(obj, cfg)
                obj["apiVersion"] = ref.api_version
                result = self._replace(ref, old, obj, dry_run)
            if not dry_run:
                managers[field_manager] = cfg
                self._applied[key] = managers
            return result

    def delete(
        self,
        ref: ObjectRef,
        *,
        propagation_policy: PropagationPolicy = "Background",
        resource_version: str = "",
        uid: str = "",
        dry_run: bool = False,
    ) -> None:
        with self._cond:
            self._fault("delete")
            old = self._stored(ref)
            self._preconditions(old, resource_version, uid)
            if dry_run:
                return
            self._delete(ref, old, propagation_policy)

    def _delete(self, ref: ObjectRef, old: Manifest, policy: PropagationPolicy) -> None:
        if old["metadata"].get("finalizers"):
            if "deletionTimestamp" not in old["metadata"]:
                new = copy.deepcopy(old)
                new["metadata"]["deletionTimestamp"] = f"rv-{self._rv + 1}"
                self._replace(ref, old, new, False)
            return
        self._forget(ref)
        old = copy.deepcopy(old)
        old["metadata"]["resourceVersion"] = self._next_rv()
        self._emit("DELETED", old)
        if policy == "Orphan":
            return
        uid = old["metadata"]["uid"]
        for key, obj in list(self._objects.items()):
            owners = obj["metadata"].get("ownerReferences") or []
            contained = ref.kind == "Namespace" and ref.group == "" and key[2] == ref.name
            if (contained or any(o.get("uid") == uid for o in owners)) and key in self._objects:
                self._delete(ObjectRef(obj["apiVersion"], key[1], key[2], key[3]), obj, policy)
