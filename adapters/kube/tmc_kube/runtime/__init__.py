"""A small controller runtime: reflector and informer cache, work queue, reconcile loop, leader election.

Threads, not asyncio (the kubernetes client is synchronous); clocks and sleeps are injectable;
every delay comes from :mod:`tmc_kube.backoff`.
"""

from tmc_kube.runtime.cache import Store, namespace_index, object_key
from tmc_kube.runtime.controller import Controller, Result
from tmc_kube.runtime.informer import Informer
from tmc_kube.runtime.leader import LeaderElector
from tmc_kube.runtime.queue import WorkQueue
from tmc_kube.runtime.reflector import Handler, Reflector

__all__ = [
    "Controller",
    "Handler",
    "Informer",
    "LeaderElector",
    "Reflector",
    "Result",
    "Store",
    "WorkQueue",
    "namespace_index",
    "object_key",
]
