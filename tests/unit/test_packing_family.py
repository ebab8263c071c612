"""The packing-heavy family: its demand is what it says, and `stranded` counts only unusable leftovers."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tmc_core.placement.index import FleetIndex
from tmc_core.simulate.packing import CLUSTER_CPU, packing_family, stranded


@given(st.integers(1, 30), st.integers(0, 2**16), st.floats(0.2, 1.2))
def test_demand_follows_fill_and_every_workload_fits_one_empty_cluster(
    n: int, seed: int, fill: float
) -> None:
    fleet, tasks = packing_family(n, seed=seed, fill=fill)
    cores = [t.workload.replicas * t.workload.requests["cpu"].nano_value() / 1e9 for t in tasks]
    budget = int(fill * CLUSTER_CPU * n)
    assert budget <= sum(cores) < budget + CLUSTER_CPU  # the last workload may overshoot by < 1 cluster
    assert max(cores) <= CLUSTER_CPU
    assert len(FleetIndex.from_fleet(fleet).names) == n
    again = packing_family(n, seed=seed, fill=fill)[1]
    assert [t.workload for t in again] == [t.workload for t in tasks]


@given(
    st.lists(st.integers(0, 16_000), min_size=1, max_size=20),
    st.lists(st.integers(1, 16_000), max_size=10),
)
def test_stranded_is_the_free_cpu_too_small_for_every_waiting_block(
    free: list[int], waiting: list[int]
) -> None:
    got = stranded(np.array(free, dtype=np.int64), np.array(waiting, dtype=np.int64))
    if not waiting:
        assert got == 0
    else:
        assert got == sum(f for f in free if all(f < w for w in waiting))
