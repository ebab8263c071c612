"""Manifests in, decisions out: the stable file contract of tmc (see docs and DESIGN.md).

Pure: functions take and return text or values and never open files; the CLI does the I/O.
"""

from tmc_core.manifests.clusters import cluster_from_manifest, cluster_manifest
from tmc_core.manifests.documents import Document, dump_documents, load_documents
from tmc_core.manifests.inventory import Inventory, read_inventory, try_read_inventory
from tmc_core.manifests.placements import placement_from_manifest, placement_manifest
from tmc_core.manifests.records import (
    decision_records,
    placement_with_status,
    placements_yaml,
    records_json,
)
from tmc_core.manifests.workloads import is_workload, pod_requests, workload_from_manifest

__all__ = [
    "Document",
    "Inventory",
    "cluster_from_manifest",
    "cluster_manifest",
    "decision_records",
    "dump_documents",
    "is_workload",
    "load_documents",
    "placement_from_manifest",
    "placement_manifest",
    "placement_with_status",
    "placements_yaml",
    "pod_requests",
    "read_inventory",
    "records_json",
    "try_read_inventory",
    "workload_from_manifest",
]
