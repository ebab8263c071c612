"""Simulation: seeded generators of fleets and workloads, and a discrete-event fleet simulator that
re-places through the engine with the policy under test and judges it by metrics over time.

Everything is pure: the seed and the scenario are arguments, time is simulated seconds. Example::

    from tmc_core.simulate import compare, simulate

    result = simulate("region-failure", "spread")
    result.metrics.summary()["pending_peak"]
    compare("spread", "bin-packing", "scale-burst").table()
"""

from tmc_core.simulate.compare import Comparison, compare, compare_all
from tmc_core.simulate.engine import Result, simulate
from tmc_core.simulate.events import (
    CapacityChange,
    ClustersDrain,
    ClustersFail,
    ClustersJoin,
    ClustersRecover,
    Event,
    HeartbeatsStop,
    Target,
    WorkloadsArrive,
    WorkloadsLeave,
    WorkloadsScale,
)
from tmc_core.simulate.generate import (
    SHAPES,
    Shape,
    Topology,
    synthetic_fleet,
    synthetic_policies,
    synthetic_workloads,
    topology,
)
from tmc_core.simulate.metrics import Metrics, Wait, compute_metrics
from tmc_core.simulate.policies import POLICY_NAMES, PolicyUnderTest, load_policy, named_policy
from tmc_core.simulate.scenario import (
    SCENARIO_NAMES,
    FleetSpec,
    Scenario,
    Traffic,
    WorkloadSpec,
    builtin_scenario,
    load_scenario,
)
from tmc_core.simulate.trace import Trace

__all__ = [
    "POLICY_NAMES",
    "SCENARIO_NAMES",
    "SHAPES",
    "CapacityChange",
    "ClustersDrain",
    "ClustersFail",
    "ClustersJoin",
    "ClustersRecover",
    "Comparison",
    "Event",
    "FleetSpec",
    "HeartbeatsStop",
    "Metrics",
    "PolicyUnderTest",
    "Result",
    "Scenario",
    "Shape",
    "Target",
    "Topology",
    "Trace",
    "Traffic",
    "Wait",
    "WorkloadSpec",
    "WorkloadsArrive",
    "WorkloadsLeave",
    "WorkloadsScale",
    "builtin_scenario",
    "compare",
    "compare_all",
    "compute_metrics",
    "load_policy",
    "load_scenario",
    "named_policy",
    "simulate",
    "synthetic_fleet",
    "synthetic_policies",
    "synthetic_workloads",
    "topology",
]
