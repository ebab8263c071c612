"""Typed accessors over manifest dicts that raise ``InvalidInput`` at a Kubernetes field path.

Manifests are untyped YAML/JSON; these helpers check one field at a time so every problem is reported
where it is (``spec.template.spec.containers[0].resources.requests.cpu``), not as a Python TypeError.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from tmc_core.errors import InvalidInput, QuantityError
from tmc_core.model.quantity import Quantity
from tmc_core.model.resources import ResourceList

__all__ = [
    "check_keys",
    "child",
    "key_path",
    "opt_int",
    "opt_list",
    "opt_mapping",
    "opt_str",
    "quantities",
    "relocate",
    "resource_list",
    "str_map",
    "type_name",
]

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def type_name(value: object) -> str:
    """A YAML-flavoured name of a value's type, for messages ("got string 'six'")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "mapping"
    if isinstance(value, list | tuple):
        return "list"
    return type(value).__name__


def _got(value: object) -> str:
    """``got string 'six'`` (collections are named by type only, to keep the line short)."""
    if isinstance(value, Mapping | list):
        return f"got a {type_name(value)}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"got {type_name(value)} {text}"


def child(path: str, key: str | int) -> str:
    """``path`` extended by a key or an index; keys that are not plain words go in brackets."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    if not _PLAIN_KEY.match(key):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def key_path(path: str, key: str) -> str:
    """Alias of :func:`child` for string keys (reads better at call sites naming map entries)."""
    return child(path, key)


def opt_mapping(data: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any]:
    """``data[key]`` as a mapping; absent or null gives ``{}``."""
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"expected a mapping, {_got(value)}", path=child(path, key))
    return value


def opt_list(data: Mapping[str, Any], key: str, path: str) -> list[Any]:
    """``data[key]`` as a list; absent or null gives ``[]``."""
    value = data.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidInput(f"expected a list, {_got(value)}", path=child(path, key))
    return value


def opt_str(data: Mapping[str, Any], key: str, path: str, *, required: bool = False) -> str:
    """``data[key]`` as a string; absent gives ``""`` unless ``required``."""
    value = data.get(key)
    if value is None:
        if required:
            raise InvalidInput("required field is missing", path=child(path, key))
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"expected a string, {_got(value)}", path=child(path, key))
    if required and not value:
        raise InvalidInput("must not be empty", path=child(path, key))
    return value


def opt_int(data: Mapping[str, Any], key: str, path: str, *, default: int, minimum: int | None = None) -> int:
    """``data[key]`` as an integer (not a bool, not a string); absent or null gives ``default``."""
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"expected an integer, {_got(value)}", path=child(path, key))
    if minimum is not None and value < minimum:
        raise InvalidInput(f"must be at least {minimum}, got {value}", path=child(path, key))
    return value


def str_map(data: Mapping[str, Any], key: str, path: str) -> dict[str, str]:
    """``data[key]`` as a string-to-string map (labels, annotations); values must be strings."""
    value = opt_mapping(data, key, path)
    here = child(path, key)
    out: dict[str, str] = {}
    for k, v in value.items():
        if not isinstance(k, str):
            raise InvalidInput(f"keys must be strings, got {type_name(k)} {k!r}", path=here)
        if not isinstance(v, str):
            raise InvalidInput(f"expected a string (quote it in YAML), {_got(v)}", path=child(here, k))
        out[k] = v
    return out


def quantities(data: Mapping[str, Any], key: str, path: str) -> dict[str, Quantity]:
    """``data[key]`` as resource name -> non-negative Quantity, each bad entry reported at its path."""
    value = opt_mapping(data, key, path)
    here = child(path, key)
    out: dict[str, Quantity] = {}
    for name, raw in value.items():
        if not isinstance(name, str) or not name:
            raise InvalidInput(
                f"resource names must be non-empty strings, got {type_name(name)} {name!r}",
                path=here,
            )
        try:
            q = Quantity.parse(raw)
        except QuantityError as err:
            raise InvalidInput(err.problem, path=child(here, name)) from None
        if q.sign() < 0:
            raise InvalidInput(f"must not be negative, got {raw!r}", path=child(here, name))
        out[name] = q
    return out


def resource_list(data: Mapping[str, Any], key: str, path: str) -> ResourceList | None:
    """``data[key]`` as a ResourceList, or ``None`` when absent (so model defaults apply)."""
    if data.get(key) is None:
        return None
    return ResourceList(quantities(data, key, path))


def check_keys(data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
    """Reject unknown keys (typos such as ``resourceSelector``) in the project's own kinds."""
    known = set(allowed)
    for k in data:
        if k not in known:
            raise InvalidInput(
                f"unknown field (expected one of: {', '.join(sorted(known))})",
                path=child(path, str(k)),
            )


def relocate(err: InvalidInput, where: Mapping[str, str]) -> InvalidInput:
    """Move a model field path (``taints[0].effect``) under the manifest section that holds its
    first field (``spec.taints[0].effect``), as ``where`` maps field names to sections."""
    head = err.path.split(".", 1)[0].split("[", 1)[0]
    section = where.get(head)
    if not section:
        return err
    return InvalidInput(err.problem, path=f"{section}.{err.path}", obj=err.obj, source=err.source)
