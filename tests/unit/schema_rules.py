"""Test helpers: apiextensions' structural-schema rules, and what a server keeps of an object.

``structural_problems`` states the rules of Kubernetes' "structural schema" (every node typed unless
int-or-string or preserve-unknown-fields; no type, default, description, additionalProperties or
nullable under anyOf/allOf/oneOf/not except the int-or-string pattern; root metadata restricted, root
not nullable and (with a status subresource) limited keywords; no properties and additionalProperties
together; map lists keyed by required or defaulted, non-nullable fields, their items not nullable).
``object_problems`` says which fields of an object the server would reject or silently prune.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

JUNCTORS = ("anyOf", "allOf", "oneOf", "not")
_FORBIDDEN_IN_JUNCTOR = ("type", "default", "description", "additionalProperties", "nullable")
_ROOT_KEYS = {
    "description",
    "type",
    "format",
    "title",
    "required",
    "items",
    "properties",
    "x-kubernetes-preserve-unknown-fields",
}


def structural_problems(schema: Mapping[str, Any], path: str = "", *, root: bool = True) -> list[str]:
    """Every violation of the structural-schema rules, as ``path: problem`` lines."""
    problems: list[str] = []
    where = path or "<root>"
    free = schema.get("x-kubernetes-int-or-string") or schema.get("x-kubernetes-preserve-unknown-fields")
    if not schema.get("type") and not free:
        problems.append(f"{where}: no type")
    if "$ref" in schema:
        problems.append(f"{where}: $ref is not allowed")
    if "properties" in schema and "additionalProperties" in schema:
        problems.append(f"{where}: properties and additionalProperties together")
    if schema.get("additionalProperties") is False:
        problems.append(f"{where}: additionalProperties false")
    for junctor in JUNCTORS:
        branches = schema.get(junctor)
        if branches is None:
            continue
        branches = [branches] if isinstance(branches, Mapping) else branches
        int_or_string = schema.get("x-kubernetes-int-or-string") and junctor == "anyOf"
        for branch in branches:
            for key in _FORBIDDEN_IN_JUNCTOR:
                if key in branch and not (int_or_string and key == "type"):
                    problems.append(f"{where}: {key} inside {junctor}")
    if root and schema.get("nullable"):
        problems.append(f"{where}: nullable at the root")
    if root and set(schema) - _ROOT_KEYS:
        problems.append(f"{where}: only {sorted(_ROOT_KEYS)} at the root (status subresource)")
    if schema.get("x-kubernetes-list-type") == "map":
        item = schema.get("items", {})
        if item.get("nullable"):
            problems.append(f"{where}[]: map-list items cannot be nullable")
        for key in schema.get("x-kubernetes-list-map-keys", []):
            prop = item.get("properties", {}).get(key, {})
            if key not in item.get("required", []) and "default" not in prop:
                problems.append(f"{where}: list-map key {key} is neither required nor defaulted")
            if prop.get("nullable"):
                problems.append(f"{where}: list-map key {key} cannot be nullable")
    if schema.get("uniqueItems"):
        problems.append(f"{where}: uniqueItems true")
    props = schema.get("properties", {})
    if root and "metadata" in props:
        meta = props["metadata"]
        extra = set(meta) - {"type", "properties"}
        if extra or set(meta.get("properties", {})) - {"name", "generateName"}:
            problems.append(f"{where}.metadata: only name and generateName may be restricted")
    for key, sub in props.items():
        problems += structural_problems(sub, f"{path}.{key}", root=False)
    if isinstance(schema.get("additionalProperties"), Mapping):
        problems += structural_problems(schema["additionalProperties"], f"{path}[*]", root=False)
    if isinstance(schema.get("items"), Mapping):
        problems += structural_problems(schema["items"], f"{path}[]", root=False)
    return problems


def _type_ok(kind: str, value: Any) -> bool:
    if kind == "object":
        return isinstance(value, Mapping)
    if kind == "array":
        return isinstance(value, list)
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return False


def object_problems(schema: Mapping[str, Any], value: Any, path: str = "") -> list[str]:
    """Where ``value`` breaks ``schema`` (type, enum, required, minimums) or carries a field the
    schema does not declare (the server would prune it, so the object would not round-trip)."""
    where = path or "<root>"
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    if schema.get("x-kubernetes-int-or-string"):
        ok = isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))
        return [] if ok else [f"{where}: expected integer or string, got {value!r}"]
    kind = schema.get("type")
    if kind and not _type_ok(kind, value):
        return [f"{where}: expected {kind}, got {type(value).__name__}"]
    problems: list[str] = []
    if "enum" in schema and value not in schema["enum"]:
        problems.append(f"{where}: {value!r} not in {schema['enum']}")
    if isinstance(value, str) and len(value) < schema.get("minLength", 0):
        problems.append(f"{where}: shorter than {schema['minLength']}")
    if isinstance(value, list) and len(value) < schema.get("minItems", 0):
        problems.append(f"{where}: fewer than {schema['minItems']} items")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            problems.append(f"{where}: below {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            problems.append(f"{where}: above {schema['maximum']}")
    if isinstance(value, Mapping):
        for key in schema.get("required", []):
            if key not in value:
                problems.append(f"{where}: missing required {key}")
        props = schema.get("properties")
        extra = schema.get("additionalProperties")
        for key, sub in value.items():
            if props is not None and key in props:
                problems += object_problems(props[key], sub, f"{path}.{key}")
            elif isinstance(extra, Mapping):
                problems += object_problems(extra, sub, f"{path}.{key}")
            elif not schema.get("x-kubernetes-preserve-unknown-fields"):
                problems.append(f"{path}.{key}: not in the schema (would be pruned)")
    if isinstance(value, list) and isinstance(schema.get("items"), Mapping):
        for i, item in enumerate(value):
            problems += object_problems(schema["items"], item, f"{path}[{i}]")
    return problems
