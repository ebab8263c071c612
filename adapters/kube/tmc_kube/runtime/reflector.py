"""The reflector: list, then watch from the list's resourceVersion, keeping a Store current.

* a watch that ends (server timeout) is reopened from the last resourceVersion seen (bookmarks
  included), so nothing between two watches is missed;
* ``Gone`` (410, the resourceVersion was compacted) -> list again; the relist is diffed against
  the store, so handlers still see every object that appeared, changed or vanished meanwhile;
* any other failure (server down or restarting, 5xx, 429) -> wait by the shared backoff policy and
  watch again from the last resourceVersion (list again only if that is Gone).

Handlers get ``(event_type, object, previous)`` for ADDED/MODIFIED/DELETED, in order, on the
reflector's thread: keep them short (enqueue a key).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from tmc_kube.backoff import Backoff
from tmc_kube.errors import Gone
from tmc_kube.port import KubePort, WatchStream
from tmc_kube.runtime.cache import Store

__all__ = ["Handler", "Reflector"]

log = logging.getLogger(__name__)

Manifest = dict[str, Any]
Handler = Callable[[str, Manifest, Manifest | None], None]


class Reflector:
    """Keeps ``store`` in step with the objects of one kind (see module docstring)."""

    def __init__(
        self,
        port: KubePort,
        api_version: str,
        kind: str,
        store: Store | None = None,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        backoff: Backoff | None = None,
        watch_timeout: int = 300,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.port = port
        self.api_version, self.kind = api_version, kind
        self.store = store if store is not None else Store()
        self.namespace, self.label_selector, self.field_selector = namespace, label_selector, field_selector
        self.backoff = backoff or Backoff(base=0.2, cap=30.0, jitter=0.2)
        self.watch_timeout = watch_timeout
        self._sleep = sleep
        self._handlers: list[Handler] = []
        self.resource_version = ""
        self.lists = 0
        """How many times the reflector listed (1 + relists after Gone)."""
        self.synced = threading.Event()
        self._stream: WatchStream | None = None
        self._lock = threading.Lock()

    def add_handler(self, handler: Handler) -> None:
        """Call ``handler(event_type, obj, previous)`` for every change (add handlers before run)."""
        self._handlers.append(handler)

    def _notify(self, kind: str, obj: Manifest, prev: Manifest | None) -> None:
        for h in self._handlers:
            try:
                h(kind, obj, prev)
            except Exception:  # a handler bug must not stop the watch
                log.exception("%s handler failed on %s", self.kind, kind)

    def list_once(self) -> None:
        """List, replace the store's content, notify the differences, remember the resourceVersion."""
        result = self.port.list(
            self.api_version,
            self.kind,
            namespace=self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
        )
        self.lists += 1
        for kind, obj, prev in self.store.replace(result.items):
            self._notify(kind, obj, prev)
        self.resource_version = result.resource_version
        self.synced.set()

    def watch_once(self, stop: threading.Event | None = None) -> None:
        """Open one watch from the current resourceVersion and apply its events until it ends."""
        stream = self.port.watch(
            self.api_version,
            self.kind,
            namespace=self.namespace,
            resource_version=self.resource_version,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            timeout_seconds=self.watch_timeout,
        )
        with self._lock:
            self._stream = stream
        try:
            if stop is not None and stop.is_set():
                return
            for event in stream:
                rv = event.resource_version
                if event.type == "BOOKMARK":
                    pass
                elif event.type == "DELETED":
                    prev = self.store.delete(event.object)
                    self._notify("DELETED", event.object, prev)
                else:
                    prev = self.store.upsert(event.object)
                    self._notify("ADDED" if prev is None else "MODIFIED", event.object, prev)
                if rv:
                    self.resource_version = rv
                if stop is not None and stop.is_set():
                    return
        finally:
            with self._lock:
                self._stream = None
            stream.close()

    def run(self, stop: threading.Event) -> None:
        """List and watch until ``stop`` is set; never raises for API errors (logs and backs off).

        Starts with a list unless :meth:`list_once` already ran (then it watches from there)."""
        sleep = self._sleep or stop.wait
        failures = 0
        need_list = not self.resource_version
        while not stop.is_set():
            try:
                if need_list:
                    self.list_once()
                    need_list = False
                self.watch_once(stop)
                failures = 0
            except Gone:
                log.info("%s: resourceVersion %s is gone; listing again", self.kind, self.resource_version)
                need_list = True
            except Exception as err:
                delay = self.backoff.delay(failures)
                failures += 1
                log.warning("%s list/watch failed (%s); retrying in %.2fs", self.kind, err, delay)
                if not stop.is_set():
                    sleep(delay)

    def interrupt(self) -> None:
        """Close the open watch, if any (from another thread), so ``run`` notices ``stop``."""
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()
