"""A packing-heavy synthetic family: big single-cluster workloads on equal clusters, demand near capacity.

Each workload must run all its replicas on one cluster (PickN 1, Duplicated) and asks for a large,
uneven share of a cluster, so the order-bound greedy engine strands capacity (leftovers too small for
anything still waiting) where a batch optimiser packs. This is the family the solver benchmark and the
solvers notebook use to show what optimisation buys; ``stranded`` measures the waste.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tmc_core.errors import InvalidInput
from tmc_core.model.cluster import Cluster, Fleet
from tmc_core.model.policy import PlacementPolicy
from tmc_core.model.workload import Workload
from tmc_core.placement.task import PlacementTask

__all__ = ["packing_family", "stranded"]

CLUSTER_CPU = 16
_SIZES = np.array([3, 4, 5, 6, 7, 9, 10, 11], dtype=np.int64)  # cores per workload, uneven on purpose


def packing_family(n_clusters: int, *, seed: int, fill: float = 0.97) -> tuple[Fleet, list[PlacementTask]]:
    """``n_clusters`` equal clusters (16 cores, 64 GiB) and single-cluster workloads asking for
    ``fill`` x the fleet's CPU in total (3..11 cores each, one replica per core-block), from ``seed``.
    """
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 1:
        raise InvalidInput(f"must be a positive integer, got {n_clusters!r}", path="n_clusters")
    if not 0.0 < fill <= 2.0:
        raise InvalidInput(f"must be in (0, 2], got {fill!r}", path="fill")
    rng = np.random.default_rng(seed)
    clusters = [
        Cluster.model_validate(
            {
                "name": f"pack-{c:04d}",
                "region": f"region-{c % 4}",
                "allocatable": {"cpu": str(CLUSTER_CPU), "memory": "64Gi", "pods": "110"},
            }
        )
        for c in range(n_clusters)
    ]
    policy = PlacementPolicy.model_validate(
        {
            "placementType": "PickN",
            "numberOfClusters": 1,
            "replicaScheduling": {"replicaSchedulingType": "Duplicated"},
        }
    )
    budget = int(fill * CLUSTER_CPU * n_clusters)
    tasks: list[PlacementTask] = []
    while budget > 0:
        cores = int(rng.choice(_SIZES))
        replicas = int(rng.choice(np.array([1, cores], dtype=np.int64)))  # one big pod or 1-core pods
        cpu = f"{cores * 1000 // replicas}m"
        workload = Workload(
            name=f"pack-{len(tasks):05d}",
            namespace="packing",
            replicas=replicas,
            requests={"cpu": cpu, "memory": f"{2 * cores // replicas or 1}Gi"},
        )
        tasks.append(PlacementTask(workload, policy))
        budget -= cores
    return Fleet(clusters=clusters), tasks


def stranded(free_cpu_millicores: NDArray[np.int64], waiting_cpu_millicores: NDArray[np.int64]) -> int:
    """CPU (millicores) left free on clusters where none of the waiting workloads' blocks fits: the
    capacity that placement order wasted. Zero when nothing is waiting."""
    if waiting_cpu_millicores.size == 0:
        return 0
    smallest = int(waiting_cpu_millicores.min())
    return int(free_cpu_millicores[free_cpu_millicores < smallest].sum())
