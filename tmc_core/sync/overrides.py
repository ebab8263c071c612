"""Per-cluster overrides: what may differ between the copies of one object on different clusters.

An :class:`Override` applies to the clusters its ``target`` selects (``clusterNames`` and
``labelSelector``, ANDed as in Karmada's clusterAffinity; an empty target selects every cluster).
Within one override the parts apply in a fixed order, the order of Karmada's overriders:
``imageRegistry``, ``env``, ``args``, ``labels``, ``annotations``, then ``jsonPatches`` (RFC 6902,
applied by the ``jsonpatch`` library). Several overrides apply in the order given.

Keys under ``tmc.kcp.io/`` cannot be set or removed by an override: ownership is render's job.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import jsonpatch
import jsonpointer
from pydantic import Field, field_validator, model_validator

from tmc_core.errors import InvalidInput
from tmc_core.model.base import Value, field_error
from tmc_core.model.cluster import Cluster
from tmc_core.model.selectors import LabelSelector
from tmc_core.model.validation import parse_value
from tmc_core.sync.manifests import Manifest, json_copy
from tmc_core.sync.ownership import is_tmc_key

__all__ = [
    "ArgsOverride",
    "EnvOverride",
    "JsonPatchOp",
    "Override",
    "OverrideTarget",
    "apply_overrides",
    "parse_overrides",
    "pod_specs",
    "rewrite_registry",
]

_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_REGISTRY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$")


def _check_key(key: str, *, label: bool) -> str | None:
    """Why a label/annotation key is invalid (Kubernetes' qualified-name rule), or None."""
    if is_tmc_key(key):
        return f"key {key!r}: keys under tmc.kcp.io/ are reserved for tmc"
    prefix, _, name = key.rpartition("/")
    if prefix and (len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix)):
        return f"key {key!r}: prefix must be a DNS subdomain"
    if not _QUALIFIED_NAME.match(name):
        kind = "label" if label else "annotation"
        return (
            f"{kind} key {key!r}: name must be 1-63 characters of [A-Za-z0-9_.-], alphanumeric at both ends"
        )
    return None


class OverrideTarget(Value):
    """Which clusters an override applies to: all given parts must match; empty selects all."""

    cluster_names: tuple[str, ...] = ()
    label_selector: LabelSelector | None = None

    def matches(self, cluster: Cluster | str) -> bool:
        """Whether ``cluster`` is selected (a bare name has no labels)."""
        name = cluster if isinstance(cluster, str) else cluster.name
        labels = {} if isinstance(cluster, str) else cluster.labels
        if self.cluster_names and name not in self.cluster_names:
            return False
        return self.label_selector is None or self.label_selector.matches(labels)


class JsonPatchOp(Value):
    """One RFC 6902 operation: ``{op, path, value}`` or ``{op, path, from}``."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str = Field(default="", alias="from")

    @field_validator("path")
    @classmethod
    def _pointer(cls, v: str) -> str:
        if v and not v.startswith("/"):
            raise ValueError(f"{v!r} is not a JSON pointer (must be empty or start with '/')")
        return v

    @field_validator("value")
    @classmethod
    def _json(cls, v: Any) -> Any:
        return json_copy(v)

    @model_validator(mode="after")
    def _operands(self) -> JsonPatchOp:
        if self.op in ("add", "replace", "test") and "value" not in self.model_fields_set:
            raise field_error("value", f"operation {self.op!r} needs a value")
        if self.op in ("move", "copy"):
            if "from_" not in self.model_fields_set:
                raise field_error("from", f"operation {self.op!r} needs 'from'")
            if not self.from_.startswith("/") and self.from_:
                raise field_error("from", f"{self.from_!r} is not a JSON pointer")
        return self

    def to_operation(self) -> dict[str, Any]:
        """The RFC 6902 dict the jsonpatch library applies."""
        out: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op in ("add", "replace", "test"):
            out["value"] = json_copy(self.value)
        if self.op in ("move", "copy"):
            out["from"] = self.from_
        return out


class EnvOverride(Value):
    """Set or remove one environment variable in a container (empty ``containerName``: all)."""

    container_name: str = ""
    operator: Literal["set", "remove"] = "set"
    name: str = Field(min_length=1)
    value: str = ""

    @model_validator(mode="after")
    def _no_value_on_remove(self) -> EnvOverride:
        if self.operator == "remove" and self.value:
            raise field_error("value", "must be empty when operator is remove")
        return self


class ArgsOverride(Value):
    """Append (``add``) or remove every occurrence of (``remove``) arguments of a container."""

    container_name: str = ""
    operator: Literal["add", "remove"]
    value: tuple[str, ...] = Field(min_length=1)


class Override(Value):
    """What changes on the clusters ``target`` selects. ``None`` in labels/annotations removes a key."""

    name: str = ""
    target: OverrideTarget = Field(default_factory=OverrideTarget)
    image_registry: str | None = None
    env: tuple[EnvOverride, ...] = ()
    args: tuple[ArgsOverride, ...] = ()
    labels: dict[str, str | None] = Field(default_factory=dict)
    annotations: dict[str, str | None] = Field(default_factory=dict)
    json_patches: tuple[JsonPatchOp, ...] = ()

    @field_validator("image_registry")
    @classmethod
    def _registry(cls, v: str | None) -> str | None:
        if v is not None and not _REGISTRY.match(v):
            raise ValueError(
                f"invalid registry {v!r}: expected host[:port][/path] without scheme or trailing '/'"
            )
        return v

    @field_validator("labels")
    @classmethod
    def _labels(cls, v: dict[str, str | None]) -> dict[str, str | None]:
        for key, value in v.items():
            problem = _check_key(key, label=True)
            if problem:
                raise ValueError(problem)
            if value is not None and (len(value) > 63 or not _LABEL_VALUE.match(value)):
                raise ValueError(f"label {key!r}: invalid value {value!r}")
        return v

    @field_validator("annotations")
    @classmethod
    def _annotations(cls, v: dict[str, str | None]) -> dict[str, str | None]:
        for key in v:
            problem = _check_key(key, label=False)
            if problem:
                raise ValueError(problem)
        return v


def parse_overrides(data: Any, *, source: str = "") -> tuple[Override, ...]:
    """Read a list of camelCase override dicts; ``InvalidInput`` names ``[i].field.path``."""
    if not isinstance(data, Sequence) or isinstance(data, (str, bytes)):
        raise InvalidInput("expected a list of overrides", source=source)
    return tuple(parse_value(Override, item, path=f"[{i}]", source=source) for i, item in enumerate(data))


def pod_specs(manifest: Manifest) -> list[dict[str, Any]]:
    """The pod specs inside a manifest (Pod, CronJob, and anything with ``spec.template.spec``)."""
    spec = manifest.get("spec")
    if not isinstance(spec, dict):
        return []
    if manifest.get("kind") == "Pod":
        return [spec]
    if manifest.get("kind") == "CronJob":
        job = spec.get("jobTemplate")
        spec = job.get("spec") if isinstance(job, dict) else None
        if not isinstance(spec, dict):
            return []
    template = spec.get("template")
    pod = template.get("spec") if isinstance(template, dict) else None
    return [pod] if isinstance(pod, dict) else []


def _containers(manifest: Manifest, name: str, *, obj: str, path: str) -> list[dict[str, Any]]:
    """Containers an env/args override addresses: all regular ones, or the named one (init too)."""
    found: list[dict[str, Any]] = []
    specs = pod_specs(manifest)
    for pod in specs:
        lists = ("containers",) if not name else ("containers", "initContainers")
        for field in lists:
            for c in pod.get(field) or []:
                if isinstance(c, dict) and (not name or c.get("name") == name):
                    found.append(c)
    if name and specs and not found:
        raise InvalidInput(f"no container named {name!r}", obj=obj, path=path)
    return found


def rewrite_registry(image: str, registry: str) -> str:
    """Replace the registry part of an image reference, keeping repository, tag and digest.

    The first path component is a registry when it contains ``.`` or ``:`` or is ``localhost``
    (Docker's rule); otherwise the image has none and ``registry`` is prefixed:
    ``nginx:1.27`` -> ``mirror.example/nginx:1.27``.
    """
    first, slash, rest = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return f"{registry}/{rest}"
    return f"{registry}/{image}"


def _apply_env(container: dict[str, Any], env: EnvOverride) -> None:
    items = list(container.get("env") or [])
    same = [i for i, e in enumerate(items) if isinstance(e, dict) and e.get("name") == env.name]
    if env.operator == "set":
        entry = {"name": env.name, "value": env.value}
        if same:
            items[same[0]] = entry  # keep its position: later variables may refer to it
        else:
            items.append(entry)
    else:
        items = [e for i, e in enumerate(items) if i not in same]
    if items:
        container["env"] = items
    else:
        container.pop("env", None)


def _apply_args(container: dict[str, Any], args: ArgsOverride) -> None:
    current = [str(a) for a in container.get("args") or []]
    if args.operator == "add":
        current.extend(args.value)
    else:
        current = [a for a in current if a not in args.value]
    if current:
        container["args"] = current
    else:
        container.pop("args", None)


def _apply_map(meta: dict[str, Any], field: str, changes: Mapping[str, str | None]) -> None:
    if not changes:
        return
    current = dict(meta.get(field) or {})
    for key, value in changes.items():
        if value is None:
            current.pop(key, None)
        else:
            current[key] = value
    if current:
        meta[field] = current
    else:
        meta.pop(field, None)


def _apply_one(manifest: Manifest, override: Override, *, obj: str, path: str) -> Manifest:
    if override.image_registry is not None:
        for pod in pod_specs(manifest):
            for field in ("containers", "initContainers", "ephemeralContainers"):
                for c in pod.get(field) or []:
                    if isinstance(c, dict) and isinstance(c.get("image"), str):
                        c["image"] = rewrite_registry(c["image"], override.image_registry)
    for j, env in enumerate(override.env):
        for c in _containers(manifest, env.container_name, obj=obj, path=f"{path}.env[{j}].containerName"):
            _apply_env(c, env)
    for j, args in enumerate(override.args):
        for c in _containers(manifest, args.container_name, obj=obj, path=f"{path}.args[{j}].containerName"):
            _apply_args(c, args)
    meta = manifest.setdefault("metadata", {})
    _apply_map(meta, "labels", override.labels)
    _apply_map(meta, "annotations", override.annotations)
    doc: Any = manifest
    for j, op in enumerate(override.json_patches):
        try:
            doc = jsonpatch.apply_patch(doc, [op.to_operation()], in_place=True)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise InvalidInput(
                f"cannot apply {op.op} {op.path!r}: {exc}", obj=obj, path=f"{path}.jsonPatches[{j}]"
            ) from None
        if not isinstance(doc, dict):
            raise InvalidInput(
                "the patch replaced the whole object with a non-object",
                obj=obj,
                path=f"{path}.jsonPatches[{j}]",
            )
    return doc  # type: ignore[no-any-return]


def apply_overrides(
    manifest: Manifest, overrides: Iterable[Override], cluster: Cluster | str, *, obj: str = ""
) -> Manifest:
    """A copy of ``manifest`` with every override that selects ``cluster`` applied, in order.

    Errors name the override by its position: ``overrides[1].jsonPatches[0]``.
    """
    out: Manifest = json_copy(manifest, obj=obj)
    for i, override in enumerate(overrides):
        if override.target.matches(cluster):
            out = _apply_one(out, override, obj=obj, path=f"overrides[{i}]")
    return out
