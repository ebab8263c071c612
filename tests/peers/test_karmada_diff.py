"""Differential tests: tmc's placement must give Karmada's own scheduler's answer.

Karmada v1.16's scheduler core runs in the peer program (benchmarks/peers/karmada); every case is
converted to Karmada's objects, scheduled there, and placed by ``tmc_core.placement`` in
``mode="independent"``: each workload alone against the same fleet, as Karmada schedules every
binding against the same snapshot. The clusters and replicas must be equal, and a workload must be
unschedulable in tmc exactly when Karmada returns an error. Each Hypothesis example draws a
batch of cases, answered by one peer process. Deliberate differences are in
docs/karmada-comparison.md and are kept out of the generated worlds (see karmada_worlds.py).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.peers.karmada import convert, peer
from tests.peers.karmada_worlds import REGIMES, Case, Regime, cases
from tmc_core.examples import example_inventory
from tmc_core.model import PlacementPolicy
from tmc_core.placement import PlacementTask, inventory_tasks, place_batch

pytestmark = pytest.mark.peers

_WHY_NOT = peer.unavailable()
if _WHY_NOT is not None:
    pytest.skip(_WHY_NOT, allow_module_level=True)

BATCH = 25
"""Cases per Hypothesis example: one peer process answers all of them."""


def tmc_views(fleet: Sequence[Any], tasks: Sequence[PlacementTask]) -> list[dict[str, int] | None]:
    """tmc's answers, every task placed alone against ``fleet`` (``mode="independent"``):
    cluster -> replicas, None when unschedulable."""
    decisions = place_batch(fleet, tasks, mode="independent")
    return [d.replicas if d.schedulable else None for d in decisions]


def karmada_view(answer: dict[str, Any]) -> dict[str, int] | None:
    """The peer's answer for one workload in the same shape."""
    return None if answer.get("error") else {k: int(v) for k, v in answer["clusters"].items()}


def describe(case: Case, j: int, document: dict[str, Any], ours: Any, theirs: dict[str, Any]) -> str:
    task = case.tasks[j]
    return "\n".join(
        [
            f"workload {task.workload.name} ({case.regime}): tmc {ours} vs Karmada {karmada_view(theirs)}",
            f"Karmada error: {theirs.get('error', '')}",
            f"policy: {json.dumps(task.policy.dump())}",
            f"current: {dict(task.current)}",
            f"Karmada input: {json.dumps(document)}",
        ]
    )


def check_batch(batch: Sequence[Case]) -> int:
    """Place every case both ways and assert agreement; the number of workloads compared."""
    documents = [convert.karmada_input(c.fleet, c.tasks) for c in batch]
    answers = peer.run_peer_all(documents)
    compared = 0
    for case, document, answer in zip(batch, documents, answers, strict=True):
        for j, ours in enumerate(tmc_views(case.fleet, case.tasks)):
            theirs = answer["decisions"][j]
            assert ours == karmada_view(theirs), describe(case, j, document, ours, theirs)
            compared += 1
    return compared


_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.parametrize("regime", REGIMES)
@_SETTINGS
@given(data=st.data())
def test_tmc_places_as_karmada_schedules(regime: Regime, data: st.DataObject) -> None:
    batch = data.draw(st.lists(cases(regime), min_size=BATCH, max_size=BATCH), label="cases")
    assert check_batch(batch) >= BATCH


def karmada_part(policy: PlacementPolicy) -> PlacementPolicy:
    """The policy without tmc's soft extras (prioritizers, preferred affinities): what is left is
    Karmada's vocabulary when the pick mode and spread keys are Karmada's too."""
    return policy.model_copy(update={"prioritizers": (), "preferred_cluster_affinities": ()})


@pytest.mark.parametrize("reduce", [False, True], ids=["as-written", "karmada-part"])
def test_bundled_example_places_as_karmada_schedules(reduce: bool) -> None:
    """The bundled example's placements that Karmada can express (as written, or reduced to their
    Karmada part) get Karmada's answer, each placed alone against the example fleet."""
    inventory = example_inventory()
    fleet = list(inventory.fleet)
    expressible: list[PlacementTask] = []
    for task in inventory_tasks(inventory):
        policy = karmada_part(task.policy) if reduce else task.policy
        try:
            convert.placement_of(policy, len(fleet))
        except convert.NotExpressible:
            continue
        expressible.append(dataclasses.replace(task, policy=policy))
    assert len(expressible) >= 5, "the example should have placements in Karmada's vocabulary"
    answer = peer.run_peer(convert.karmada_input(fleet, expressible))
    names = [t.workload.key for t in expressible]
    ours = dict(zip(names, tmc_views(fleet, expressible), strict=True))
    theirs = {name: karmada_view(d) for name, d in zip(names, answer["decisions"], strict=True)}
    assert ours == theirs
