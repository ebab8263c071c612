"""Multi-document YAML or JSON text -> Kubernetes objects (dicts), each knowing where it came from.

A JSON array, a YAML list or a ``kind: List`` document is flattened into its items. Documents are
numbered from 1 in the order they appear in the text (empty documents count but yield nothing), so
"document 3" is the third ``---`` section; an item of a list keeps its document's number and gets a
path prefix (``items[2]``, ``[2]``) in front of every field path reported for it.
Duplicate keys are an error (YAML and JSON would silently keep the last), and timestamps stay strings
as in Kubernetes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from tmc_core.errors import InvalidInput

try:  # libyaml's parser is many times faster; the constructor (and our checks) stay in Python
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]

__all__ = ["Document", "dump_documents", "load_documents"]


@dataclass(frozen=True, slots=True)
class Document:
    """One Kubernetes object read from text: its 1-based document number, path prefix and content."""

    index: int
    data: Mapping[str, Any]
    prefix: str = ""

    @property
    def kind(self) -> str:
        """``kind`` if it is a string, else ``""`` (for messages about broken documents)."""
        kind = self.data.get("kind")
        return kind if isinstance(kind, str) else ""

    @property
    def api_version(self) -> str:
        """``apiVersion`` if it is a string, else ``""``."""
        value = self.data.get("apiVersion")
        return value if isinstance(value, str) else ""

    @property
    def namespace(self) -> str:
        """``metadata.namespace`` if readable, else ``""``."""
        return _meta_str(self.data, "namespace")

    @property
    def name(self) -> str:
        """``metadata.name`` if readable, else ``""``."""
        return _meta_str(self.data, "name")

    @property
    def label(self) -> str:
        """How messages name the object: ``document 3 (Deployment shop/web)``."""
        ident = "/".join(p for p in (self.namespace, self.name) if p)
        what = " ".join(p for p in (self.kind, ident) if p)
        return f"document {self.index} ({what})" if what else f"document {self.index}"


def _meta_str(data: Mapping[str, Any], key: str) -> str:
    meta = data.get("metadata")
    if not isinstance(meta, Mapping):
        return ""
    value = meta.get(key)
    return value if isinstance(value, str) else ""


class _Loader(_BaseLoader):
    """SafeLoader that rejects duplicate keys and keeps timestamps as strings."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                continue  # unhashable key: the base class reports it
            if duplicate:
                mark = key_node.start_mark
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _yaml_problem(err: yaml.YAMLError) -> str:
    """One line from a PyYAML error: the problem and where (line/column are 1-based)."""
    if isinstance(err, yaml.MarkedYAMLError):
        problem = err.problem or err.context or "invalid YAML"
        mark = err.problem_mark or err.context_mark
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        return f"invalid YAML: {problem}{where}"
    return f"invalid YAML: {' '.join(str(err).split())}"


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def _parse_json(text: str) -> list[Any]:
    try:
        return [json.loads(text, object_pairs_hook=_no_duplicates)]
    except json.JSONDecodeError as err:
        raise InvalidInput(
            f"invalid JSON: {err.msg} (line {err.lineno}, column {err.colno})", obj="document 1"
        ) from None
    except ValueError as err:
        raise InvalidInput(f"invalid JSON: {err}", obj="document 1") from None


def _parse_yaml(text: str) -> list[Any]:
    raw: list[Any] = []
    try:
        for doc in yaml.load_all(text, Loader=_Loader):
            raw.append(doc)
    except yaml.YAMLError as err:
        raise InvalidInput(_yaml_problem(err), obj=f"document {len(raw) + 1}") from None
    except RecursionError:
        raise InvalidInput("invalid YAML: nested too deeply", obj=f"document {len(raw) + 1}") from None
    return raw


def _flatten(index: int, value: Any, prefix: str, out: list[Document]) -> None:
    if value is None:
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _flatten(index, item, f"{prefix}[{i}]", out)
        return
    if not isinstance(value, Mapping):
        raise InvalidInput(
            f"expected a Kubernetes object (a mapping), got {type(value).__name__} {value!r}"[:160],
            obj=f"document {index}",
            path=prefix,
        )
    if value.get("kind") == "List" and "items" in value:
        items = value["items"]
        if items is not None and not isinstance(items, list):
            raise InvalidInput(
                "expected a list of objects", obj=f"document {index} (List)", path=f"{prefix}.items"
            )
        for i, item in enumerate(items or ()):
            _flatten(index, item, f"{prefix}.items[{i}]" if prefix else f"items[{i}]", out)
        return
    out.append(Document(index=index, data=value, prefix=prefix))


def load_documents(text: str) -> list[Document]:
    """Parse YAML or JSON text into objects; raises ``InvalidInput`` naming the bad document.

    JSON is tried first when the text looks like JSON, so its errors read as JSON errors; text that is
    not valid JSON but valid YAML (``{a: 1}``) is still accepted.
    """
    stripped = text.lstrip("\ufeff \t\r\n")
    if stripped[:1] in ("{", "["):
        try:
            raw = _parse_json(stripped)
        except InvalidInput as json_err:
            try:
                raw = _parse_yaml(text)
            except InvalidInput:
                raise json_err from None
    else:
        raw = _parse_yaml(text)
    out: list[Document] = []
    for i, value in enumerate(raw, start=1):
        _flatten(i, value, "", out)
    return out


class _Dumper(yaml.SafeDumper):
    """SafeDumper that double-quotes strings YAML would otherwise not read back unchanged."""


# NEL and the Unicode line/paragraph separators are line breaks to a YAML reader; in a plain or
# block scalar they would come back as newlines. Double quotes escape them (\N, \L, \P).
_RISKY = frozenset("\x85\u2028\u2029\r")


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if any(ch in _RISKY or not ch.isprintable() for ch in value if ch not in "\n\t"):
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def dump_documents(objects: list[dict[str, Any]]) -> str:
    """Objects as multi-document YAML (``---`` between documents), keys in the given order.

    Reading the text back (``load_documents``) gives equal objects, whatever the strings contain.
    """
    return yaml.dump_all(
        objects,
        Dumper=_Dumper,
        sort_keys=False,
        explicit_start=True,
        default_flow_style=False,
        allow_unicode=True,
    )
