"""The reconcile loop: workers take keys from a :class:`WorkQueue` and call ``reconcile(key)``.

* success -> the key's backoff is forgotten; ``Result(requeue_after=s)`` queues it again later;
* ``Conflict`` (409: someone wrote first) -> requeued with backoff: the next run reads the fresh
  object and decides again (optimistic concurrency);
* any other exception -> logged and requeued with backoff (the same shared policy);
* ``workers`` keys are processed concurrently, never the same key twice at once (the queue's rule);
* :meth:`Controller.stop` is graceful: no new keys are handed out, in-flight reconciles finish.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tmc_kube.backoff import Backoff
from tmc_kube.errors import Conflict
from tmc_kube.runtime.queue import WorkQueue

__all__ = ["Controller", "Result"]

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Result:
    """What a reconcile asks for next: nothing (default), or to run again after ``requeue_after`` s."""

    requeue_after: float | None = None


class Controller(Generic[K]):
    """Runs ``reconcile`` over queued keys with ``workers`` threads (see module docstring)."""

    def __init__(
        self,
        reconcile: Callable[[K], Result | None],
        *,
        name: str = "controller",
        workers: int = 1,
        queue: WorkQueue[K] | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.reconcile = reconcile
        self.name = name
        self.workers = workers
        self.queue: WorkQueue[K] = queue or WorkQueue(
            backoff=backoff or Backoff(base=0.005, cap=60.0, jitter=0.1)
        )
        self._threads: list[threading.Thread] = []
        self.conflicts = 0
        """Reconciles that ended in a 409 Conflict and were requeued."""
        self.errors = 0
        """Reconciles that raised anything else and were requeued."""
        self._counts = threading.Lock()

    def enqueue(self, key: K) -> None:
        """Ask for ``key`` to be reconciled (deduplicated while it waits)."""
        self.queue.add(key)

    def process_one(self, timeout: float | None = None) -> bool:
        """Take one key and reconcile it; False when the queue is shut down (or ``timeout`` passed)."""
        key = self.queue.get(timeout)
        if key is None:
            return False
        try:
            result = self.reconcile(key)
        except Conflict as err:
            with self._counts:
                self.conflicts += 1
            delay = self.queue.add_rate_limited(key)
            log.debug("%s: conflict on %s (%s); requeued in %.3fs", self.name, key, err, delay)
        except Exception:
            with self._counts:
                self.errors += 1
            delay = self.queue.add_rate_limited(key)
            log.exception("%s: reconcile of %s failed; requeued in %.3fs", self.name, key, delay)
        else:
            self.queue.forget(key)
            if result is not None and result.requeue_after is not None:
                self.queue.add_after(key, result.requeue_after)
        finally:
            self.queue.done(key)
        return True

    def _work(self) -> None:
        while self.process_one():
            pass

    def start(self) -> None:
        """Start the worker threads."""
        if self._threads:
            raise RuntimeError(f"{self.name} already started")
        for i in range(self.workers):
            t = threading.Thread(target=self._work, name=f"{self.name}-{i}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float | None = 30.0) -> bool:
        """Graceful shutdown: hand out no more keys, wait for in-flight reconciles; False on timeout."""
        self.queue.shutdown()
        idle = self.queue.wait_idle(timeout)
        for t in self._threads:
            t.join(timeout)
        return idle and not any(t.is_alive() for t in self._threads)

    def run(self, stop: threading.Event) -> None:
        """Start, block until ``stop`` is set, then stop gracefully."""
        self.start()
        stop.wait()
        self.stop()
