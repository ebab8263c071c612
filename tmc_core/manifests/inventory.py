"""Manifest texts -> ``Inventory``: the fleet, the workloads, the placements and every other object.

Reading is all-or-nothing: ``read_inventory`` returns a complete inventory or raises the first
``InvalidInput`` (naming file, document and field path); ``try_read_inventory`` reports every bad
document instead, for front ends that list all problems at once. Nothing is returned half-loaded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tmc_core.errors import InvalidInput
from tmc_core.manifests._fields import opt_mapping, opt_str
from tmc_core.manifests.clusters import cluster_from_manifest
from tmc_core.manifests.documents import Document, load_documents
from tmc_core.manifests.placements import placement_from_manifest
from tmc_core.manifests.workloads import WORKSPACE_ANNOTATION, is_workload, workload_from_manifest
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.policy import WorkloadPlacement
from tmc_core.model.workload import Workload

__all__ = ["TMC_GROUP", "Inventory", "read_inventory", "try_read_inventory"]

TMC_GROUP = "tmc.kcp.io"
TMC_VERSION = "v1alpha1"

# (workspace, apiVersion, kind, namespace, name): one workload, as placements see it.
_WorkloadKey = tuple[str, str, str, str, str]


def _workload_key(w: Workload) -> _WorkloadKey:
    return (w.workspace, w.api_version, w.kind, w.namespace, w.name)


@dataclass(frozen=True, slots=True)
class _Selection:
    """Which workloads each placement selects (indices), and which placement owns each workload."""

    by_placement: dict[str, tuple[int, ...]]
    index: dict[str, int]
    owner: dict[_WorkloadKey, int]
    conflicts: tuple[tuple[int, int, int], ...]  # (workload, first placement, second placement)


def _select(workloads: tuple[Workload, ...], placements: tuple[WorkloadPlacement, ...]) -> _Selection:
    """Evaluate every placement's resourceSelectors over the workloads (indexed by kind and name)."""
    by_kind: dict[tuple[str, str], list[int]] = {}
    by_name: dict[tuple[str, str, str], list[int]] = {}
    for i, w in enumerate(workloads):
        by_kind.setdefault((w.api_version, w.kind), []).append(i)
        by_name.setdefault((w.api_version, w.kind, w.name), []).append(i)
    by_placement: dict[str, tuple[int, ...]] = {}
    owner: dict[_WorkloadKey, int] = {}
    conflicts: list[tuple[int, int, int]] = []
    for p_index, p in enumerate(placements):
        chosen: set[int] = set()
        for sel in p.resource_selectors:
            if sel.name:
                candidates = by_name.get((sel.api_version, sel.kind, sel.name), [])
            else:
                candidates = by_kind.get((sel.api_version, sel.kind), [])
            chosen.update(i for i in candidates if sel.selects(workloads[i], p.namespace))
        ordered = tuple(sorted(chosen))
        by_placement[p.key] = ordered
        for i in ordered:
            key = _workload_key(workloads[i])
            if key in owner:
                conflicts.append((i, owner[key], p_index))
            else:
                owner[key] = p_index
    index = {p.key: i for i, p in enumerate(placements)}
    return _Selection(by_placement, index, owner, tuple(conflicts))


def _conflict_problem(w: Workload, first: WorkloadPlacement, second: WorkloadPlacement) -> str:
    return (
        f"{w.kind} {w.key} is selected by two placements, {first.key} and {second.key}; "
        "a workload may be selected by one placement only"
    )


@dataclass(frozen=True, slots=True)
class Inventory:
    """Everything read from manifests: the fleet, workloads, placements and all non-tmc objects.

    ``objects`` keeps every manifest outside the ``tmc.kcp.io`` group (workloads included) as read,
    for rendering and sync. A workload is selected by at most one placement.
    """

    fleet: Fleet = field(default_factory=Fleet)
    workloads: tuple[Workload, ...] = ()
    placements: tuple[WorkloadPlacement, ...] = ()
    objects: tuple[dict[str, Any], ...] = ()
    _selection: _Selection = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        selection = _select(self.workloads, self.placements)
        if selection.conflicts:
            w, a, b = selection.conflicts[0]
            raise InvalidInput(_conflict_problem(self.workloads[w], self.placements[a], self.placements[b]))
        object.__setattr__(self, "_selection", selection)

    def selected(self, placement: WorkloadPlacement) -> tuple[Workload, ...]:
        """The workloads a placement selects, in inventory order."""
        index = self._selection.index.get(placement.key)
        if index is not None and (self.placements[index] is placement or self.placements[index] == placement):
            known = self._selection.by_placement[placement.key]
        else:  # a placement that is not part of this inventory (or an edited copy)
            known = _select(self.workloads, (placement,)).by_placement[placement.key]
        return tuple(self.workloads[i] for i in known)

    def placement_of(self, workload: Workload) -> WorkloadPlacement | None:
        """The placement that selects a workload, or ``None`` if no placement does."""
        index = self._selection.owner.get(_workload_key(workload))
        return None if index is None else self.placements[index]

    def unselected(self) -> tuple[Workload, ...]:
        """Workloads that no placement selects (they are not placed)."""
        owner = self._selection.owner
        return tuple(w for w in self.workloads if _workload_key(w) not in owner)


@dataclass(slots=True)
class _Origin:
    """Where an object was read: for messages about duplicates and double selection."""

    source: str
    doc: Document

    def locate(self, err: InvalidInput) -> InvalidInput:
        return err.within(path=self.doc.prefix, obj=self.doc.label, source=self.source)

    def __str__(self) -> str:
        return f"{self.source}: {self.doc.label}"


def _group(api_version: str) -> str:
    return api_version.split("/", 1)[0] if "/" in api_version else ""


def _identity(doc: Document, workspace: str) -> tuple[str, ...] | None:
    """(workspace, group, kind, namespace, name) of an object; ``None`` if it has no name yet."""
    if not doc.name:
        return None
    return (workspace, _group(doc.api_version), doc.kind, doc.namespace, doc.name)


@dataclass(slots=True)
class _Reader:
    """Accumulates what the documents hold, and every problem found."""

    clusters: list[Cluster] = field(default_factory=list)
    workloads: list[Workload] = field(default_factory=list)
    placements: list[WorkloadPlacement] = field(default_factory=list)
    placement_origins: list[_Origin] = field(default_factory=list)
    objects: list[dict[str, Any]] = field(default_factory=list)
    seen: dict[tuple[str, ...], _Origin] = field(default_factory=dict)
    problems: list[InvalidInput] = field(default_factory=list)

    def read_source(self, source: str, text: str) -> None:
        try:
            docs = load_documents(text)
        except InvalidInput as err:
            self.problems.append(err.within(source=source))
            return
        for doc in docs:
            origin = _Origin(source, doc)
            try:
                self.read_document(origin)
            except InvalidInput as err:
                self.problems.append(origin.locate(err))

    def read_document(self, origin: _Origin) -> None:
        data = origin.doc.data
        api_version = opt_str(data, "apiVersion", "", required=True)
        kind = opt_str(data, "kind", "", required=True)
        meta = opt_mapping(data, "metadata", "")
        if _group(api_version) == TMC_GROUP or api_version == TMC_GROUP:
            self._read_tmc(origin, api_version, kind)
            return
        name = opt_str(meta, "name", "metadata")
        if not name and not opt_str(meta, "generateName", "metadata"):
            raise InvalidInput("required field is missing", path="metadata.name")
        annotations = meta.get("annotations")
        workspace = ""
        if isinstance(annotations, Mapping):
            ws = annotations.get(WORKSPACE_ANNOTATION)
            workspace = ws if isinstance(ws, str) else ""
        workload = workload_from_manifest(data) if is_workload(data) else None
        self._unique(origin, _identity(origin.doc, workspace))
        if workload is not None:
            self.workloads.append(workload)
        self.objects.append(dict(data))

    def _read_tmc(self, origin: _Origin, api_version: str, kind: str) -> None:
        if api_version != f"{TMC_GROUP}/{TMC_VERSION}":
            raise InvalidInput(
                f"unsupported apiVersion {api_version!r} (expected {TMC_GROUP}/{TMC_VERSION})",
                path="apiVersion",
            )
        data = origin.doc.data
        if kind == "ClusterRegistration":
            cluster = cluster_from_manifest(data)
            self._unique(origin, ("", TMC_GROUP, kind, "", cluster.name), what="cluster")
            self.clusters.append(cluster)
        elif kind == "WorkloadPlacement":
            placement = placement_from_manifest(data)
            self._unique(origin, ("", TMC_GROUP, kind, placement.namespace, placement.name))
            self.placements.append(placement)
            self.placement_origins.append(origin)
        else:
            raise InvalidInput(
                f"unknown kind {kind!r} in {TMC_GROUP} (expected ClusterRegistration or WorkloadPlacement)",
                path="kind",
            )

    def _unique(self, origin: _Origin, identity: tuple[str, ...] | None, what: str = "") -> None:
        if identity is None:
            return
        first = self.seen.get(identity)
        if first is not None:
            noun = what or origin.doc.kind
            name = "/".join(p for p in identity[3:] if p)
            raise InvalidInput(f"duplicate {noun} {name!r}, first defined at {first}", path="metadata.name")
        self.seen[identity] = origin

    def finish(self) -> Inventory | None:
        """The inventory if nothing was wrong (checking double selection last), else ``None``."""
        if self.problems:
            return None
        workloads = tuple(self.workloads)
        placements = tuple(self.placements)
        selection = _select(workloads, placements)
        # One problem per pair of placements (the later one reported: it made the selection ambiguous).
        pairs: dict[tuple[int, int], list[int]] = {}
        for w, a, b in selection.conflicts:
            pairs.setdefault((a, b), []).append(w)
        for (a, b), clashing in pairs.items():
            problem = _conflict_problem(workloads[clashing[0]], placements[a], placements[b])
            if len(clashing) > 1:
                problem += f" ({len(clashing) - 1} more workloads are selected by both)"
            self.problems.append(
                self.placement_origins[b].locate(InvalidInput(problem, path="spec.resourceSelectors"))
            )
        if self.problems:
            return None
        return Inventory(
            fleet=Fleet(clusters=tuple(self.clusters)),
            workloads=workloads,
            placements=placements,
            objects=tuple(self.objects),
        )


def try_read_inventory(
    sources: Iterable[tuple[str, str]],
) -> tuple[Inventory | None, tuple[InvalidInput, ...]]:
    """Read every source, collecting one problem per bad document (or per unparsable file).

    Returns ``(inventory, ())`` when all is well and ``(None, problems)`` otherwise; cross-object
    checks (a workload selected by two placements) run once every document has read cleanly.
    """
    reader = _Reader()
    for source, text in sources:
        reader.read_source(source, text)
    inventory = reader.finish()
    return inventory, tuple(reader.problems)


def read_inventory(sources: Iterable[tuple[str, str]]) -> Inventory:
    """Read (name, text) sources into an Inventory, or raise the first ``InvalidInput``.

    The name is only used in messages (a file name, ``<stdin>``); texts are YAML or JSON, several
    documents each.
    """
    inventory, problems = try_read_inventory(sources)
    if problems:
        raise problems[0]
    assert inventory is not None
    return inventory
