"""The one retry and backoff policy of tmc_kube: the work queue, the reflector, leader election and
the apply helpers all take their delays from here, so tuning happens in one place.

Delays grow exponentially from ``base`` by ``factor`` up to ``cap``; optional jitter spreads
retries of many clients apart (seeded, so tests are reproducible). Time is injected: ``sleep``
is an argument, never ``time.sleep`` called behind the caller's back.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from tmc_kube.errors import Gone, ServerError, TooManyRequests, Unavailable

__all__ = ["Backoff", "is_transient", "retry"]

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff: attempt ``n`` (0-based) waits ``min(cap, base * factor**n)``, then
    jitter scales it by a uniform factor in ``[1 - jitter, 1]`` (never above ``cap``)."""

    base: float = 0.005
    cap: float = 30.0
    factor: float = 2.0
    jitter: float = 0.0
    seed: int | None = None
    _rng: random.Random = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.base < 0 or self.cap < 0 or self.factor < 1 or not 0 <= self.jitter <= 1:
            raise ValueError(
                f"Backoff: need base >= 0, cap >= 0, factor >= 1 and 0 <= jitter <= 1, got {self!r}"
            )
        object.__setattr__(self, "_rng", random.Random(self.seed))

    def delay(self, attempt: int) -> float:
        """Seconds to wait before retry number ``attempt`` + 1 (``attempt`` counts failures so far - 1)."""
        if attempt < 0:
            attempt = 0
        # Stop multiplying once past the cap, so huge attempt counts cannot overflow a float.
        d = self.base
        for _ in range(attempt):
            d *= self.factor
            if d >= self.cap:
                break
        d = min(d, self.cap)
        if self.jitter:
            d *= 1.0 - self.jitter * self._rng.random()
        return d


def is_transient(err: BaseException) -> bool:
    """Errors worth retrying as they are: unreachable server, 5xx, throttling.

    Conflicts are *not* transient for a blind retry (the write must be recomputed from a fresh
    read); callers that do recompute pass ``retry_on=(Conflict,)`` explicitly.
    """
    return isinstance(err, Unavailable | ServerError | TooManyRequests)


def retry(
    call: Callable[[], T],
    *,
    policy: Backoff | None = None,
    attempts: int = 5,
    retry_on: tuple[type[BaseException], ...] = (),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call ``call`` until it succeeds, at most ``attempts`` times, sleeping the policy's delay
    between tries; retries transient errors and the types in ``retry_on``, re-raises the last one.

    ``Gone`` is never retried here: it needs a relist, which only the caller can do.
    """
    policy = policy or Backoff()
    for attempt in range(attempts):
        try:
            return call()
        except Gone:
            raise
        except Exception as err:
            if attempt + 1 >= attempts or not (is_transient(err) or isinstance(err, retry_on)):
                raise
            wait = policy.delay(attempt)
            if isinstance(err, TooManyRequests) and err.retry_after:
                wait = max(wait, err.retry_after)
            sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover
