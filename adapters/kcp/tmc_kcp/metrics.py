"""tmc-controller's Prometheus metrics: names (shared with the alert rules in deploy/) and the collectors.

Each ``Metrics`` owns its own ``CollectorRegistry``, so tests and several controllers in one process do
not collide in prometheus_client's global registry.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

__all__ = [
    "CLUSTER_READY",
    "DECISIONS_TOTAL",
    "PLACEMENT_SECONDS",
    "QUEUE_DEPTH",
    "SYNC_ERRORS_TOTAL",
    "Metrics",
]

PLACEMENT_SECONDS = "tmc_placement_duration_seconds"
DECISIONS_TOTAL = "tmc_placement_decisions_total"
QUEUE_DEPTH = "tmc_workqueue_depth"
SYNC_ERRORS_TOTAL = "tmc_sync_errors_total"
CLUSTER_READY = "tmc_cluster_ready"

_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass
class Metrics:
    """The controller's collectors, registered in ``registry``."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        # prometheus_client appends the _total suffix to counters itself.
        self.placement_seconds = Histogram(
            PLACEMENT_SECONDS,
            "Time to place one batch of workloads with the configured solver",
            ["solver"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.decisions = Counter(
            DECISIONS_TOTAL.removesuffix("_total"),
            "Placement decisions written, by solver and whether the workload was schedulable",
            ["solver", "schedulable"],
            registry=self.registry,
        )
        self.queue_depth = Gauge(
            QUEUE_DEPTH, "Keys waiting in a controller's work queue", ["controller"], registry=self.registry
        )
        self.sync_errors = Counter(
            SYNC_ERRORS_TOTAL.removesuffix("_total"),
            "Failed reconciles, by controller and member cluster ('' when none)",
            ["controller", "cluster"],
            registry=self.registry,
        )
        self.cluster_ready = Gauge(
            CLUSTER_READY,
            "1 when a member cluster is Ready, 0 otherwise",
            ["cluster"],
            registry=self.registry,
        )

    def forget_cluster(self, name: str) -> None:
        """Drop a deregistered cluster's readiness series."""
        with contextlib.suppress(KeyError):
            self.cluster_ready.remove(name)
