"""The informer cache: a thread-safe store of objects by key, with secondary indexes.

Keys are ``namespace/name`` (``name`` for cluster-scoped objects), as client-go's
``MetaNamespaceKeyFunc``, unless the store is given another key function (kcp's workspace-aware
cache keys by logical cluster too). Indexers map an object to index values (``by_index("node", "n1")``
finds the Pods of node n1 without a scan). Objects handed out are the stored dicts: treat them as
read-only, copy before changing.
"""

from __future__ import annotations

import builtins
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["Delta", "IndexFunc", "KeyFunc", "Store", "namespace_index", "object_key"]

Manifest = dict[str, Any]
IndexFunc = Callable[[Mapping[str, Any]], Iterable[str]]
KeyFunc = Callable[[Mapping[str, Any]], str]
Delta = tuple[str, Manifest, Manifest | None]
"""(ADDED | MODIFIED | DELETED, object, previous object or None)."""


def object_key(obj: Mapping[str, Any]) -> str:
    """``namespace/name``, or ``name`` when there is no namespace."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace") or "", meta.get("name") or ""
    return f"{ns}/{name}" if ns else str(name)


def namespace_index(obj: Mapping[str, Any]) -> list[str]:
    """Index function: the object's namespace."""
    return [str((obj.get("metadata") or {}).get("namespace") or "")]


def _rv(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


class Store:
    """Thread-safe map of key -> object with indexes (see module docstring)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None, *, key: KeyFunc = object_key) -> None:
        self.key = key
        self._items: dict[str, Manifest] = {}
        self._indexers = dict(indexers or {})
        self._indexes: dict[str, dict[str, set[str]]] = {name: {} for name in self._indexers}
        self._lock = threading.RLock()

    def _unindex(self, key: str, obj: Mapping[str, Any]) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                keys = self._indexes[name].get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del self._indexes[name][value]

    def _index(self, key: str, obj: Mapping[str, Any]) -> None:
        for name, fn in self._indexers.items():
            for value in fn(obj):
                self._indexes[name].setdefault(value, set()).add(key)

    def upsert(self, obj: Manifest) -> Manifest | None:
        """Store ``obj``; return the object it replaced (None when new)."""
        key = self.key(obj)
        with self._lock:
            old = self._items.get(key)
            if old is not None:
                self._unindex(key, old)
            self._items[key] = obj
            self._index(key, obj)
            return old

    def delete(self, obj: Mapping[str, Any]) -> Manifest | None:
        """Remove the object with ``obj``'s key; return what was stored (None when absent)."""
        key = self.key(obj)
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._unindex(key, old)
            return old

    def replace(self, objs: Iterable[Manifest]) -> list[Delta]:
        """Make the store hold exactly ``objs`` (a relist); return the differences as deltas:
        new keys ADDED, changed resourceVersions MODIFIED, vanished keys DELETED."""
        fresh = {self.key(o): o for o in objs}
        deltas: list[Delta] = []
        with self._lock:
            for key in sorted(set(self._items) - set(fresh)):
                old = self._items[key]
                self.delete(old)
                deltas.append(("DELETED", old, None))
            for key, obj in fresh.items():
                prev = self._items.get(key)
                if prev is None:
                    self.upsert(obj)
                    deltas.append(("ADDED", obj, None))
                elif _rv(prev) != _rv(obj):
                    self.upsert(obj)
                    deltas.append(("MODIFIED", obj, prev))
        return deltas

    def get(self, key: str) -> Manifest | None:
        """The object stored under ``key`` (``namespace/name`` by default), or None."""
        with self._lock:
            return self._items.get(key)

    def keys(self) -> builtins.list[str]:
        """All keys, sorted."""
        with self._lock:
            return sorted(self._items)

    def list(self) -> builtins.list[Manifest]:
        """All objects, in key order."""
        with self._lock:
            return [self._items[k] for k in sorted(self._items)]

    def by_index(self, index: str, value: str) -> builtins.list[Manifest]:
        """Objects whose ``index`` function yields ``value``, in key order; KeyError for an unknown index."""
        with self._lock:
            keys = self._indexes[index].get(value, set())
            return [self._items[k] for k in sorted(keys)]

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
