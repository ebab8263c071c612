"""tmc_kube: the Kubernetes adapter of tmc -- connections, a client port (real and in-memory),
capacity discovery, server-side apply of rendered manifests, and a small controller runtime.

All decisions stay in ``tmc_core``; this package does the I/O. See docs/kube-adapter.md.
"""

from tmc_kube.apply import FIELD_MANAGER, ActionResult, Applier, member_status
from tmc_kube.backoff import Backoff, is_transient, retry
from tmc_kube.capacity import cluster_capacity, discover_cluster, node_counts, pod_counts
from tmc_kube.connection import SECRET_KEYS, ConnectedClient, Connection, connect
from tmc_kube.errors import (
    AlreadyExists,
    BadRequest,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    InvalidConfig,
    KubeError,
    NotFound,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unavailable,
)
from tmc_kube.fake import FakeKube
from tmc_kube.kube_client import KubeClient
from tmc_kube.port import KubePort, ObjectList, ObjectRef, PropagationPolicy, WatchEvent, WatchStream
from tmc_kube.runtime import (
    Controller,
    Informer,
    LeaderElector,
    Reflector,
    Result,
    Store,
    WorkQueue,
    object_key,
)

__all__ = [
    "FIELD_MANAGER",
    "SECRET_KEYS",
    "ActionResult",
    "AlreadyExists",
    "Applier",
    "Backoff",
    "BadRequest",
    "Conflict",
    "ConnectedClient",
    "Connection",
    "Controller",
    "FakeKube",
    "Forbidden",
    "Gone",
    "Informer",
    "Invalid",
    "InvalidConfig",
    "KubeClient",
    "KubeError",
    "KubePort",
    "LeaderElector",
    "NotFound",
    "ObjectList",
    "ObjectRef",
    "PropagationPolicy",
    "Reflector",
    "Result",
    "ServerError",
    "Store",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "WatchEvent",
    "WatchStream",
    "WorkQueue",
    "cluster_capacity",
    "connect",
    "discover_cluster",
    "is_transient",
    "member_status",
    "node_counts",
    "object_key",
    "pod_counts",
    "retry",
]
