"""Turns pydantic's validation errors into one-line ``InvalidInput`` errors with a field path."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from tmc_core.errors import InvalidInput

__all__ = ["format_loc", "parse_value"]

M = TypeVar("M", bound=BaseModel)


def format_loc(loc: tuple[int | str, ...]) -> str:
    """Render a pydantic location as a Kubernetes field path: ``spec.placement.spreadConstraints[0]``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif out:
            out += f".{part}"
        else:
            out = str(part)
    return out


def _problem(err: Mapping[str, Any]) -> tuple[str, str]:
    loc = tuple(err.get("loc", ()))
    # Drop pydantic's internal markers for unions / function validators.
    loc = tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p.startswith("function-"))))
    ctx = err.get("ctx") or {}
    if err.get("type") == "tmc_field" and ctx.get("field"):
        loc = (*loc, ctx["field"])
    msg = str(err.get("msg", "invalid"))
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        msg = "unknown field"
    elif kind == "missing":
        msg = "required field is missing"
    elif kind == "literal_error":
        msg = f"unsupported value {err.get('input')!r}: {msg.replace('Input should be ', 'expected ')}"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    elif msg.startswith("Input should be"):
        msg = (
            f"got {type(err.get('input')).__name__} {err.get('input')!r}, expected"
            + msg[len("Input should be") :]
        )
    return format_loc(loc), msg


def invalid_from(err: ValidationError, *, path: str = "", obj: str = "", source: str = "") -> InvalidInput:
    """The first problem of a pydantic ``ValidationError`` as an ``InvalidInput`` (one line)."""
    first = err.errors(include_url=False)[0]
    rel, msg = _problem(first)
    full = ".".join(p for p in (path, rel) if p).replace(".[", "[")
    more = err.error_count() - 1
    if more:
        msg += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InvalidInput(msg, path=full, obj=obj, source=source)


def parse_value(cls: type[M], data: Any, *, path: str = "", obj: str = "", source: str = "") -> M:
    """Validate ``data`` (manifest-shaped, camelCase) into ``cls``, raising ``InvalidInput`` on failure."""
    try:
        return cls.model_validate(data)
    except ValidationError as err:
        raise invalid_from(err, path=path, obj=obj, source=source) from None
