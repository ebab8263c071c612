"""A rate-limited work queue of keys, with client-go's guarantees.

* **dedup**: a key waiting in the queue is queued once, however often it is added;
* **no double processing**: a key handed out by :meth:`WorkQueue.get` is not handed out again until
  :meth:`WorkQueue.done`; if it was added meanwhile it is queued again at ``done``;
* **per-item exponential backoff**: :meth:`WorkQueue.add_rate_limited` delays a key by the shared
  :class:`~tmc_kube.backoff.Backoff` policy, growing with its failures until :meth:`WorkQueue.forget`;
* **shutdown**: :meth:`WorkQueue.shutdown` wakes every waiting worker; ``get`` then returns ``None``.

The clock is injected (``clock``), so delays are testable without sleeping.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from tmc_kube.backoff import Backoff

__all__ = ["WorkQueue"]

K = TypeVar("K", bound=Hashable)


class WorkQueue(Generic[K]):
    """Thread-safe queue of keys (see the module docstring)."""

    def __init__(
        self, *, backoff: Backoff | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.backoff = backoff or Backoff()
        self._clock = clock
        self._queue: deque[K] = deque()
        self._dirty: set[K] = set()
        self._processing: set[K] = set()
        self._waiting: list[tuple[float, int, K]] = []  # (due, seq, key) heap
        self._due: dict[K, float] = {}
        self._failures: dict[K, int] = {}
        self._seq = itertools.count()
        self._shutting_down = False
        self._cond = threading.Condition()

    # -- adding -----------------------------------------------------------------------------------

    def add(self, key: K) -> None:
        """Queue ``key`` now (no-op when already queued, or after shutdown)."""
        with self._cond:
            self._add_locked(key)

    def _add_locked(self, key: K) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return
        self._queue.append(key)
        self._cond.notify()

    def add_after(self, key: K, delay: float) -> None:
        """Queue ``key`` once ``delay`` seconds have passed; an earlier pending delay wins."""
        with self._cond:
            if self._shutting_down:
                return
            if delay <= 0:
                self._add_locked(key)
                return
            due = self._clock() + delay
            if key in self._due and self._due[key] <= due:
                return
            self._due[key] = due
            heapq.heappush(self._waiting, (due, next(self._seq), key))
            self._cond.notify()

    def add_rate_limited(self, key: K) -> float:
        """Queue ``key`` after its backoff delay (which grows with each call); returns the delay."""
        with self._cond:
            n = self._failures.get(key, 0)
            self._failures[key] = n + 1
        delay = self.backoff.delay(n)
        self.add_after(key, delay)
        return delay

    def forget(self, key: K) -> None:
        """Reset ``key``'s failure count (call after it was processed successfully)."""
        with self._cond:
            self._failures.pop(key, None)

    def num_requeues(self, key: K) -> int:
        """How many times ``key`` was rate-limited since it was last forgotten."""
        with self._cond:
            return self._failures.get(key, 0)

    # -- taking -----------------------------------------------------------------------------------

    def _promote_locked(self) -> float | None:
        """Move due keys into the queue; return seconds until the next one is due (None: none)."""
        now = self._clock()
        while self._waiting:
            due, _, key = self._waiting[0]
            if self._due.get(key) != due:
                heapq.heappop(self._waiting)  # superseded by an earlier delay
                continue
            if due > now:
                return due - now
            heapq.heappop(self._waiting)
            del self._due[key]
            self._add_locked(key)
        return None

    def get(self, timeout: float | None = None) -> K | None:
        """The next key, marked as processing; ``None`` after shutdown or when ``timeout`` passes.

        ``timeout=0`` polls without waiting.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                next_due = self._promote_locked()
                if self._queue:
                    key = self._queue.popleft()
                    self._processing.add(key)
                    self._dirty.discard(key)
                    return key
                if self._shutting_down:
                    return None
                wait = next_due
                if deadline is not None:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        return None
                    wait = left if wait is None else min(wait, left)
                self._cond.wait(wait)

    def done(self, key: K) -> None:
        """Finish processing ``key``; if it was added meanwhile, it is queued again now."""
        with self._cond:
            self._processing.discard(key)
            if key in self._dirty and not self._shutting_down:
                self._queue.append(key)
                self._cond.notify()
            elif key in self._dirty:
                self._dirty.discard(key)
            self._cond.notify_all()

    # -- lifecycle --------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Stop accepting keys, drop queued and delayed ones, wake all waiting ``get`` calls."""
        with self._cond:
            self._shutting_down = True
            self._queue.clear()
            self._dirty.clear()
            self._waiting.clear()
            self._due.clear()
            self._cond.notify_all()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no key is being processed (graceful shutdown); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._processing, timeout)

    @property
    def shutting_down(self) -> bool:
        with self._cond:
            return self._shutting_down

    def __len__(self) -> int:
        """Keys ready to be handed out now (delayed ones not counted)."""
        with self._cond:
            self._promote_locked()
            return len(self._queue)

    @property
    def processing(self) -> frozenset[K]:
        """Keys handed out and not yet done."""
        with self._cond:
            return frozenset(self._processing)

    @property
    def delayed(self) -> int:
        """Keys waiting for their delay to pass."""
        with self._cond:
            return len(self._due)
