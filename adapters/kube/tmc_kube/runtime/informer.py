"""An informer: a reflector on its own thread, with a cache to read from and handlers to react.

informer = Informer(port, "apps/v1", "Deployment", indexers={"ns": namespace_index})
informer.add_handler(lambda kind, obj, prev: queue.add(object_key(obj)))
informer.start(); informer.wait_for_sync(10)
...
informer.stop()
"""

from __future__ import annotations

import threading
from collections.abc import Mapping

from tmc_kube.backoff import Backoff
from tmc_kube.port import KubePort
from tmc_kube.runtime.cache import IndexFunc, Store
from tmc_kube.runtime.reflector import Handler, Reflector

__all__ = ["Informer"]


class Informer:
    """List+watch of one kind into :attr:`store`, on a daemon thread."""

    def __init__(
        self,
        port: KubePort,
        api_version: str,
        kind: str,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        indexers: Mapping[str, IndexFunc] | None = None,
        backoff: Backoff | None = None,
        watch_timeout: int = 300,
    ) -> None:
        self.store = Store(indexers)
        self.reflector = Reflector(
            port,
            api_version,
            kind,
            self.store,
            namespace=namespace,
            label_selector=label_selector,
            field_selector=field_selector,
            backoff=backoff,
            watch_timeout=watch_timeout,
        )
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def add_handler(self, handler: Handler) -> None:
        """See :meth:`Reflector.add_handler`."""
        self.reflector.add_handler(handler)

    def start(self) -> None:
        """Start listing and watching in the background."""
        if self._thread is not None:
            raise RuntimeError("informer already started")
        self._thread = threading.Thread(
            target=self.reflector.run, args=(self._stop,), name=f"informer-{self.reflector.kind}", daemon=True
        )
        self._thread.start()

    def wait_for_sync(self, timeout: float | None = None) -> bool:
        """Block until the first list has landed in the store; False on timeout."""
        return self.reflector.synced.wait(timeout)

    @property
    def has_synced(self) -> bool:
        return self.reflector.synced.is_set()

    def stop(self, timeout: float | None = 10.0) -> None:
        """Stop the watch and wait for the thread to end."""
        self._stop.set()
        self.reflector.interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
