"""The engine's fast placement order is ``placement_order``, for any names, namespaces and priorities."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tmc_core.model import PlacementPolicy, Workload
from tmc_core.placement import PlacementTask, placement_order
from tmc_core.placement.batch import _order

# Few letters (so names and namespaces collide and share prefixes), NUL included: the fast order
# joins namespace and name with a NUL and must fall back when that could mislead it.
TEXT = st.text(alphabet="ab\0-", max_size=3)


@st.composite
def workloads(draw: st.DrawFn) -> list[Workload]:
    return [
        Workload(
            name=draw(TEXT),
            namespace=draw(TEXT),
            kind=draw(st.sampled_from(["Deployment", "StatefulSet"])),
            workspace=draw(st.sampled_from(["", "root:a"])),
            priority=draw(st.integers(-2, 2)),
        )
        for _ in range(draw(st.integers(0, 30)))
    ]


@settings(max_examples=300, deadline=None)
@given(workloads())
def test_fast_order_is_placement_order(batch: list[Workload]) -> None:
    policy = PlacementPolicy()
    tasks = [PlacementTask(w, policy) for w in batch]
    assert _order(batch).tolist() == placement_order(tasks)
