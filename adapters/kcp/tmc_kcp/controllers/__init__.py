"""The controllers of tmc-controller, each a thin reconcile loop over tmc_core and tmc_kube:
cluster registration, workload placement, sync and status (see docs/workflows.md)."""

from tmc_kcp.controllers.context import Context
from tmc_kcp.controllers.placement import PLACEMENT_KEY, reconcile_placements
from tmc_kcp.controllers.registration import reconcile_registration
from tmc_kcp.controllers.status import reconcile_status
from tmc_kcp.controllers.sync import reconcile_sync

__all__ = [
    "PLACEMENT_KEY",
    "Context",
    "reconcile_placements",
    "reconcile_registration",
    "reconcile_status",
    "reconcile_sync",
]
