"""Label and field selector strings ("app=web,tier!=db", "status.phase!=Failed") as predicates.

Used by the in-memory fake; the real server evaluates selectors itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tmc_kube.errors import InvalidConfig

__all__ = ["field_matcher", "label_matcher"]

Predicate = Callable[[Mapping[str, Any]], bool]
_SET = re.compile(r"^\s*([^\s!=(]+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
_KEY = re.compile(r"[A-Za-z0-9_./-]+")


@dataclass(frozen=True)
class _Requirement:
    """One term: ``op`` is one of =, !=, in, notin, exists, !exists."""

    key: str
    op: str
    values: frozenset[str] = frozenset()

    def holds(self, found: Mapping[str, str]) -> bool:
        present = self.key in found
        value = found.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!exists":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        return not present or value not in self.values  # != and notin


def _split(selector: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for ch in selector:
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    parts.append(cur)
    return [p.strip() for p in parts if p.strip()]


def _parse(selector: str, what: str, *, sets: bool) -> list[_Requirement]:
    reqs = []
    for term in _split(selector):
        m = _SET.match(term) if sets else None
        if m:
            values = frozenset(v.strip() for v in m.group(3).split(",") if v.strip())
            reqs.append(_Requirement(m.group(1), m.group(2), values))
        elif "!=" in term:
            key, value = (s.strip() for s in term.split("!=", 1))
            reqs.append(_Requirement(key, "!=", frozenset({value})))
        elif "=" in term:
            key, value = (s.strip() for s in term.replace("==", "=").split("=", 1))
            reqs.append(_Requirement(key, "=", frozenset({value})))
        elif sets and term.startswith("!") and _KEY.fullmatch(term[1:].strip()):
            reqs.append(_Requirement(term[1:].strip(), "!exists"))
        elif sets and _KEY.fullmatch(term):
            reqs.append(_Requirement(term, "exists"))
        else:
            raise InvalidConfig(f"cannot parse term {term!r}", path=what)
    return reqs


def label_matcher(selector: str) -> Predicate:
    """A predicate for a label selector: ``k=v``, ``k==v``, ``k!=v``, ``k``, ``!k``, ``k in (a,b)``,
    ``k notin (a,b)``, comma-separated (all must hold). Empty matches everything."""
    reqs = _parse(selector, "labelSelector", sets=True)

    def matches(obj: Mapping[str, Any]) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        return all(r.holds(labels) for r in reqs)

    return matches


def _field(obj: Mapping[str, Any], path: str) -> str:
    cur: Any = obj
    for part in path.split("."):
        if not isinstance(cur, Mapping):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


def field_matcher(selector: str) -> Predicate:
    """A predicate for a field selector: ``path=v``, ``path==v``, ``path!=v`` over dotted paths
    (``metadata.name``, ``spec.nodeName``, ``status.phase``); a missing field reads as ""."""
    reqs = _parse(selector, "fieldSelector", sets=False)

    def matches(obj: Mapping[str, Any]) -> bool:
        return all(r.holds({r.key: _field(obj, r.key)}) for r in reqs)

    return matches
