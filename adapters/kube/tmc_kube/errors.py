"""Typed errors of the Kubernetes adapter, mapped from HTTP status codes and API Status bodies.

Callers branch on the type (``except Conflict``), never on status codes or message text. Every
error is a ``tmc_core.errors.TmcError``; bad configuration is also an ``InvalidInput`` so the CLI
prints it as one line.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tmc_core.errors import InvalidInput, TmcError

__all__ = [
    "AlreadyExists",
    "BadRequest",
    "Conflict",
    "Forbidden",
    "Gone",
    "Invalid",
    "InvalidConfig",
    "KubeError",
    "NotFound",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "error_from_response",
]


class KubeError(TmcError):
    """An API request failed; ``status`` is the HTTP code (0 when no response arrived), ``reason``
    the API Status reason (``NotFound``, ``Conflict``...), ``details`` the Status details."""

    status_code: int = 0

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = self.status_code if status is None else status
        self.reason = reason
        self.details: dict[str, Any] = dict(details or {})


class BadRequest(KubeError):
    """400: the request is malformed (for example a watch with a bad resourceVersion)."""

    status_code = 400


class Unauthorized(KubeError):
    """401: the credentials were not accepted."""

    status_code = 401


class Forbidden(KubeError):
    """403: authenticated, but RBAC does not allow the verb."""

    status_code = 403


class NotFound(KubeError):
    """404: the object (or its namespace, or its kind) does not exist."""

    status_code = 404


class Conflict(KubeError):
    """409: a stale resourceVersion/uid precondition, or a server-side apply field conflict.

    The reconcile loop requeues on it with backoff: read again, decide again, write again.
    """

    status_code = 409


class AlreadyExists(Conflict):
    """409 with reason AlreadyExists: a create found the name taken."""


class Gone(KubeError):
    """410: the requested resourceVersion was compacted away; a watcher must list again."""

    status_code = 410


class Invalid(KubeError):
    """422: the object failed validation; retrying the same write cannot help."""

    status_code = 422


class TooManyRequests(KubeError):
    """429: throttled; ``retry_after`` (seconds) is the server's hint, if it gave one."""

    status_code = 429

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(KubeError):
    """5xx other than 503: the server failed to answer; usually transient."""

    status_code = 500


class Unavailable(KubeError):
    """The server could not be reached or said 503/504 (connection refused, timeout, restart)."""

    status_code = 503


class InvalidConfig(InvalidInput):
    """A kubeconfig or credentials Secret that cannot be used; names the object and the field."""


_BY_STATUS: dict[int, type[KubeError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
    503: Unavailable,
    504: Unavailable,
}


def _parse_body(body: bytes | str | Mapping[str, Any] | None) -> dict[str, Any]:
    if isinstance(body, Mapping):
        return dict(body)
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def error_from_response(
    status: int,
    body: bytes | str | Mapping[str, Any] | None = None,
    *,
    reason: str = "",
    retry_after: str | None = None,
) -> KubeError:
    """The typed error for an HTTP status and its API ``Status`` body (JSON text or a dict).

    Also used for watch ``ERROR`` events, whose object is a Status with a ``code``.
    """
    data = _parse_body(body)
    code = int(data.get("code") or status)
    api_reason = str(data.get("reason") or "")
    message = str(data.get("message") or reason or f"HTTP {code}")
    details = data.get("details") if isinstance(data.get("details"), dict) else {}
    if code == 409 and api_reason == "AlreadyExists":
        return AlreadyExists(message, status=code, reason=api_reason, details=details)
    if code == 410 or api_reason in ("Expired", "Gone"):
        return Gone(message, status=410, reason=api_reason, details=details)
    if code == 429:
        after = None
        if retry_after:
            try:
                after = float(retry_after)
            except ValueError:
                after = None
        if after is None and isinstance(details, dict) and details.get("retryAfterSeconds"):
            after = float(details["retryAfterSeconds"])
        return TooManyRequests(message, retry_after=after, status=code, reason=api_reason, details=details)
    cls = _BY_STATUS.get(code)
    if cls is None:
        cls = ServerError if code >= 500 else KubeError
    return cls(message, status=code, reason=api_reason, details=details)
