"""Workspace-aware access to the hub: kcp logical clusters and virtual workspaces, or a plain cluster.

kcp serves every workspace under ``/clusters/<logical cluster>``; an APIExport's virtual workspace
(VW) serves every bound workspace at once under ``<vw url>/clusters/*``, one URL per shard, read from
the APIExportEndpointSlice. Reads (list/watch) go to the wildcard of each URL, with one reflector and so
one resourceVersion per URL (shards have unrelated resourceVersions); writes go back to the object's own
logical cluster, named by its ``kcp.io/cluster`` annotation. A plain Kubernetes hub is the special case
of one URL and one workspace, ``""``. The path helpers are pure; :class:`Hub` is the thin shell that
makes ``tmc_kube`` ports for those URLs.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_kube import KubePort, Reflector, Store
from tmc_kube.runtime.cache import IndexFunc, object_key
from tmc_kube.runtime.reflector import Handler

__all__ = [
    "CLUSTER_ANNOTATION",
    "Hub",
    "WorkspaceInformer",
    "WorkspaceStore",
    "cluster_url",
    "endpoint_urls",
    "export_cluster",
    "workspace_key",
    "workspace_of",
]

CLUSTER_ANNOTATION = "kcp.io/cluster"
"""kcp's annotation naming the logical cluster an object lives in."""

_LOGICAL_CLUSTER = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_PATH = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(:[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$")


def workspace_of(obj: Mapping[str, Any]) -> str:
    """The logical cluster of an object (its ``kcp.io/cluster`` annotation); ``""`` on a plain hub."""
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    value = annotations.get(CLUSTER_ANNOTATION, "")
    return value if isinstance(value, str) else ""


def workspace_key(obj: Mapping[str, Any]) -> str:
    """``<workspace>|<namespace>/<name>``, or plain ``namespace/name`` outside kcp: object names are
    only unique within one logical cluster."""
    ws = workspace_of(obj)
    return f"{ws}|{object_key(obj)}" if ws else object_key(obj)


def cluster_url(base: str, cluster: str, *, virtual: bool = False) -> str:
    """``<base>/clusters/<cluster>``: ``*`` for every workspace, a logical-cluster name, or (directly
    on kcp, not through a VW) a workspace path such as ``root:org:ws``. A VW accepts only ``*`` or a
    logical-cluster name; a path there is rejected here with one line rather than by kcp."""
    base = base.rstrip("/")
    if "/clusters/" in base:
        raise InvalidInput(f"base URL already names a cluster: {base!r}", path="url")
    if cluster != "*":
        pattern = _LOGICAL_CLUSTER if virtual else _PATH
        if not pattern.match(cluster):
            what = "a logical-cluster name (not a path)" if virtual else "a workspace path or name"
            raise InvalidInput(f"expected * or {what}, got {cluster!r}", path="cluster")
    return f"{base}/clusters/{cluster}"


def endpoint_urls(endpoint_slice: Mapping[str, Any]) -> tuple[str, ...]:
    """The virtual-workspace URLs of an APIExportEndpointSlice (one per shard), sorted and unique;
    empty until some workspace binds the export."""
    status = endpoint_slice.get("status") or {}
    urls = {str(e.get("url", "")).rstrip("/") for e in status.get("endpoints") or () if e.get("url")}
    return tuple(sorted(urls))


_EXPORT_URL = re.compile(r"/services/apiexport/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)/[^/]+$")


def export_cluster(virtual_workspace_url: str) -> str:
    """The logical cluster of the APIExport an APIExport virtual-workspace URL serves
    (``<shard>/services/apiexport/<logical cluster>/<export>``), or ``""`` for another shape."""
    found = _EXPORT_URL.search(virtual_workspace_url.rstrip("/"))
    return found.group(1) if found else ""


class WorkspaceStore(Store):
    """The informer cache keyed by :func:`workspace_key`, so equal names in two workspaces of one
    shard stay apart (tmc_kube's ``Store`` keys by ``namespace/name`` by default)."""

    def __init__(self, indexers: Mapping[str, IndexFunc] | None = None) -> None:
        super().__init__(indexers, key=workspace_key)


class WorkspaceInformer:
    """List+watch of one kind over several hub URLs (one per kcp shard), each with its own reflector
    and resourceVersion, into one :class:`WorkspaceStore` per URL; :meth:`list` merges them."""

    def __init__(
        self,
        ports: Mapping[str, KubePort],
        api_version: str,
        kind: str,
        *,
        indexers: Mapping[str, IndexFunc] | None = None,
        watch_timeout: int = 300,
    ) -> None:
        self.kind = kind
        self.reflectors = {
            url: Reflector(port, api_version, kind, WorkspaceStore(indexers), watch_timeout=watch_timeout)
            for url, port in ports.items()
        }
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def add_handler(self, handler: Handler) -> None:
        for reflector in self.reflectors.values():
            reflector.add_handler(handler)

    def start(self) -> None:
        for url, reflector in self.reflectors.items():
            t = threading.Thread(
                target=reflector.run, args=(self._stop,), name=f"informer-{self.kind}-{url}", daemon=True
            )
            t.start()
            self._threads.append(t)

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        return all(r.synced.wait(timeout) for r in self.reflectors.values())

    @property
    def has_synced(self) -> bool:
        return all(r.synced.is_set() for r in self.reflectors.values())

    def resource_versions(self) -> dict[str, str]:
        """URL -> the resourceVersion that URL's watch continues from."""
        return {url: r.resource_version for url, r in self.reflectors.items()}

    def list(self) -> list[dict[str, Any]]:
        """Every cached object, over all URLs, sorted by workspace key."""
        items = [o for r in self.reflectors.values() for o in r.store.list()]
        return sorted(items, key=workspace_key)

    def get(self, key: str) -> dict[str, Any] | None:
        """The object under :func:`workspace_key` ``key`` (first URL that has it)."""
        for reflector in self.reflectors.values():
            found = reflector.store.get(key)
            if found is not None:
                return found
        return None

    def stop(self, timeout: float | None = 10.0) -> None:
        self._stop.set()
        for reflector in self.reflectors.values():
            reflector.interrupt()
        for t in self._threads:
            t.join(timeout)


class Hub:
    """Where upstream objects are read and written: ``read_ports`` (URL -> port listing every
    workspace) and ``write_port(workspace)`` (the port of one logical cluster).

    ``port_for_url`` makes a ``KubePort`` for a full base URL (a KubeClient over the hub credentials
    rebased on that URL); on a plain hub it is asked only for ``base``.
    """

    def __init__(
        self,
        port_for_url: Callable[[str], KubePort],
        base: str,
        *,
        virtual_workspace_urls: Iterable[str] = (),
    ) -> None:
        self._port_for_url = port_for_url
        self.base = base.rstrip("/")
        self.virtual_urls = tuple(u.rstrip("/") for u in virtual_workspace_urls)
        self._writers: dict[str, KubePort] = {}
        self._shard_of: dict[str, str] = {}
        self._lock = threading.Lock()
        if self.on_kcp:
            self.read_ports = {u: port_for_url(cluster_url(u, "*", virtual=True)) for u in self.virtual_urls}
        else:
            self.read_ports = {self.base: port_for_url(self.base)}

    @property
    def on_kcp(self) -> bool:
        """Whether objects are read through kcp virtual workspaces."""
        return bool(self.virtual_urls)

    def write_port(self, workspace: str) -> KubePort:
        """The port that writes objects of ``workspace`` (``""``: the plain hub)."""
        if not self.on_kcp:
            if workspace:
                raise InvalidInput(f"workspace {workspace!r} given, but the hub is not kcp", path="workspace")
            return self.read_ports[self.base]
        if not workspace:
            raise InvalidInput("object has no kcp.io/cluster annotation", path="metadata.annotations")
        with self._lock:
            port = self._writers.get(workspace)
            if port is None:
                # The VW of the shard whose wildcard listed the workspace (the first URL until seen).
                shard = self._shard_of.get(workspace, self.virtual_urls[0])
                port = self._writers[workspace] = self._port_for_url(
                    cluster_url(shard, workspace, virtual=True)
                )
            return port

    def _seen(self, url: str, obj: Mapping[str, Any]) -> None:
        workspace = workspace_of(obj)
        if workspace and self._shard_of.get(workspace) != url:
            with self._lock:
                self._shard_of[workspace] = url
                self._writers.pop(workspace, None)

    def informer(
        self, api_version: str, kind: str, *, indexers: Mapping[str, IndexFunc] | None = None
    ) -> WorkspaceInformer:
        """An informer of ``kind`` over every read URL (which also teaches the hub which shard's URL
        serves each workspace it lists)."""
        informer = WorkspaceInformer(self.read_ports, api_version, kind, indexers=indexers)
        for url, reflector in informer.reflectors.items():
            reflector.add_handler(lambda _kind, obj, _prev, url=url: self._seen(url, obj))  # type: ignore[misc]
        return informer
