"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's rules.

* **acquire**: create the Lease, or take it over when its holder is empty (released) or when it
  has not been renewed for ``lease_duration`` *as observed by this candidate's own clock* (the
  time since it last saw the Lease change), so clock skew between machines cannot cut a term short;
* **renew** every ``retry_period``; if no renewal succeeded for ``renew_deadline``, leadership is
  lost: the leading work is told to stop;
* **release** on graceful shutdown: the holder is cleared, so a standby takes over at once instead
  of waiting out the lease;
* every write carries the Lease's resourceVersion: two candidates racing get one winner and one
  ``Conflict``.

Clocks and sleep are injected: ``clock`` (monotonic seconds) for expiry, ``now`` (wall time) for
the Lease's timestamps.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tmc_kube.backoff import Backoff
from tmc_kube.errors import AlreadyExists, Conflict, KubeError, NotFound
from tmc_kube.port import KubePort, ObjectRef

__all__ = ["LeaderElector"]

log = logging.getLogger(__name__)

Manifest = dict[str, Any]


def _micro_time(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _record(lease: Manifest) -> tuple[Any, ...]:
    spec = lease.get("spec") or {}
    return (
        spec.get("holderIdentity") or "",
        spec.get("leaseDurationSeconds"),
        spec.get("acquireTime"),
        spec.get("renewTime"),
        spec.get("leaseTransitions"),
    )


class LeaderElector:
    """One candidate for the Lease ``namespace/name`` (see the module docstring)."""

    def __init__(
        self,
        port: KubePort,
        *,
        name: str,
        namespace: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not lease_duration > renew_deadline > retry_period > 0:
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        if not identity:
            raise ValueError("identity must not be empty")
        self.port = port
        self.ref = ObjectRef("coordination.k8s.io/v1", "Lease", namespace, name)
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.period = Backoff(base=retry_period, cap=retry_period * 1.2, factor=1.0, jitter=0.0)
        self._clock = clock
        self._now = now
        self._observed: tuple[Any, ...] | None = None
        self._observed_at = 0.0
        self._leading = threading.Event()

    @property
    def is_leader(self) -> bool:
        """Whether this candidate holds the Lease (as of its last successful write)."""
        return self._leading.is_set()

    def _seconds(self) -> int:
        return max(1, round(self.lease_duration))

    def try_acquire_or_renew(self) -> bool:
        """One attempt: create, renew or take over the Lease; True when we hold it afterwards."""
        now = self._now()
        stamp = _micro_time(now)
        try:
            lease = self.port.get(self.ref)
        except NotFound:
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": self.ref.name, "namespace": self.ref.namespace},
                "spec": {
                    "holderIdentity": self.identity,
                    "leaseDurationSeconds": self._seconds(),
                    "acquireTime": stamp,
                    "renewTime": stamp,
                    "leaseTransitions": 0,
                },
            }
            try:
                created = self.port.create(body)
            except (AlreadyExists, Conflict):
                return False
            self._observe(created)
            self._leading.set()
            return True
        record = _record(lease)
        if record != self._observed:
            self._observed, self._observed_at = record, self._clock()
        spec = dict(lease.get("spec") or {})
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or self._seconds())
        if holder and holder != self.identity and self._observed_at + duration > self._clock():
            self._leading.clear()
            return False
        if holder != self.identity:
            spec["acquireTime"] = stamp
            spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        spec.update(holderIdentity=self.identity, leaseDurationSeconds=self._seconds(), renewTime=stamp)
        try:
            updated = self.port.update({**lease, "spec": spec})
        except Conflict:
            self._leading.clear()
            return False
        self._observe(updated)
        self._leading.set()
        return True

    def _observe(self, lease: Manifest) -> None:
        self._observed, self._observed_at = _record(lease), self._clock()

    def release(self) -> bool:
        """Clear the holder if it is us (graceful shutdown), so others take over at once."""
        self._leading.clear()
        try:
            lease = self.port.get(self.ref)
            spec = dict(lease.get("spec") or {})
            if spec.get("holderIdentity") != self.identity:
                return False
            stamp = _micro_time(self._now())
            spec.update(holderIdentity="", leaseDurationSeconds=1, renewTime=stamp, acquireTime=stamp)
            self.port.update({**lease, "spec": spec})
        except KubeError as err:
            log.warning("could not release lease %s: %s", self.ref, err)
            return False
        return True

    def run(
        self,
        stop: threading.Event,
        on_started_leading: Callable[[threading.Event], None],
        on_stopped_leading: Callable[[], None] | None = None,
        *,
        sleep: Callable[[float], None] | None = None,
        release_on_stop: bool = True,
    ) -> None:
        """Campaign until leading, run ``on_started_leading(leading_stop)`` on a thread, renew;
        when ``stop`` is set or the lease is lost, set ``leading_stop``, wait for the work to end,
        release (graceful stop only) and call ``on_stopped_leading``."""
        wait = sleep or stop.wait
        attempt = 0
        while not stop.is_set():
            try:
                if self.try_acquire_or_renew():
                    break
            except KubeError as err:
                log.warning("lease %s: %s", self.ref, err)
            wait(self.period.delay(attempt))
            attempt += 1
        if stop.is_set():
            return
        log.info("%s is now the leader of %s", self.identity, self.ref)
        leading_stop = threading.Event()
        worker = threading.Thread(
            target=on_started_leading, args=(leading_stop,), name="leader-work", daemon=True
        )
        worker.start()
        last_renew = self._clock()
        while not stop.is_set():
            wait(self.retry_period)
            if stop.is_set():
                break
            try:
                renewed = self.try_acquire_or_renew()
            except KubeError as err:
                log.warning("renewing lease %s: %s", self.ref, err)
                renewed = False
            if renewed:
                last_renew = self._clock()
            elif self._clock() - last_renew >= self.renew_deadline or not self._holder_is_us():
                log.warning("%s lost the lease %s", self.identity, self.ref)
                break
        leading_stop.set()
        worker.join()
        self._leading.clear()
        if stop.is_set() and release_on_stop:
            self.release()
        if on_stopped_leading is not None:
            on_stopped_leading()

    def _holder_is_us(self) -> bool:
        return self._observed is not None and self._observed[0] == self.identity
