"""Decisions out: the contract's JSON records, and WorkloadPlacements with ``status.decisions``.

Records are sorted by workload (namespace, name) so output is stable across runs and solvers; a
WorkloadPlacement written here reads back (``read_inventory``) with equal decisions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from tmc_core.manifests.documents import dump_documents
from tmc_core.manifests.placements import placement_manifest, sort_decisions
from tmc_core.model.decision import Decision
from tmc_core.model.policy import WorkloadPlacement

__all__ = ["decision_records", "placement_with_status", "placements_yaml", "records_json"]


def decision_records(decisions: Iterable[Decision]) -> list[dict[str, Any]]:
    """One contract record per decision (``Decision.to_record``), sorted by (namespace, name)."""
    return [d.to_record() for d in sort_decisions(decisions)]


def records_json(decisions: Iterable[Decision]) -> str:
    """The output of ``tmcctl place -o json``: a JSON array, indent 2, with a trailing newline."""
    return json.dumps(decision_records(decisions), indent=2, ensure_ascii=False) + "\n"


def placement_with_status(placement: WorkloadPlacement, decisions: Iterable[Decision]) -> dict[str, Any]:
    """The placement's manifest with ``status.decisions`` set to the records of ``decisions``.

    Every given decision is written; pass only this placement's (``placements_yaml`` sorts them out).
    """
    return placement_manifest(placement, decisions)


def placements_yaml(placements: Iterable[WorkloadPlacement], decisions: Iterable[Decision]) -> str:
    """Multi-document YAML of the placements, each with the decisions whose ``placement`` is its key.

    A placement with no decision gets ``status.decisions: []``; decisions naming no given placement
    are not written (they have nowhere to go).
    """
    by_key: dict[str, list[Decision]] = {}
    for d in decisions:
        by_key.setdefault(d.placement, []).append(d)
    docs = [placement_with_status(p, by_key.get(p.key, ())) for p in placements]
    return dump_documents(docs)
