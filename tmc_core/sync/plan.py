"""plan: desired manifests vs observed objects, per cluster -> ordered create/update/delete actions.

Rules:

* a desired object that is missing is created; one that is ours but was written from another
  manifest (``tmc_core.sync.compare``) is updated; one that is ours and in sync needs nothing;
* an observed object that is ours but no longer desired is deleted; ``observed`` defines the scope,
  so pass the objects the reconciliation is about (typically selected by the ``tmc.kcp.io/owner``
  labels of the upstream objects at hand, plus their namespaces when those go too);
* an object that is not ours is never touched: when we want its name, the plan reports it in
  ``skipped`` instead; an object being deleted is left to finish (also reported when wanted);
* order, per cluster: creates and updates in dependency order (Namespaces, CRDs, policies,
  ServiceAccounts, Secrets and ConfigMaps, storage, RBAC, Services, workloads, then everything
  else, custom resources included), then deletes in the reverse order.

Actions carry the whole desired manifest; apply them with server-side apply (one field manager,
``force``) so fields the member cluster set stay its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from tmc_core.errors import InvalidInput
from tmc_core.model.base import Value
from tmc_core.sync.compare import in_sync, stamp
from tmc_core.sync.manifests import Manifest, ObjectKey, describe, json_copy, key_of, metadata
from tmc_core.sync.ownership import is_owned

__all__ = ["Action", "Plan", "Skip", "Verb", "dependency_rank", "plan"]

Verb = Literal["create", "update", "delete"]

_RBAC = "rbac.authorization.k8s.io"
_ORDER: tuple[tuple[str, str], ...] = (
    ("", "Namespace"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("", "ResourceQuota"),
    ("", "LimitRange"),
    ("scheduling.k8s.io", "PriorityClass"),
    ("storage.k8s.io", "StorageClass"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("policy", "PodDisruptionBudget"),
    ("", "ServiceAccount"),
    ("", "Secret"),
    ("", "ConfigMap"),
    ("", "PersistentVolume"),
    ("", "PersistentVolumeClaim"),
    (_RBAC, "ClusterRole"),
    (_RBAC, "ClusterRoleBinding"),
    (_RBAC, "Role"),
    (_RBAC, "RoleBinding"),
    ("", "Service"),
    ("apps", "DaemonSet"),
    ("", "Pod"),
    ("", "ReplicationController"),
    ("apps", "ReplicaSet"),
    ("apps", "Deployment"),
    ("apps", "StatefulSet"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("autoscaling", "HorizontalPodAutoscaler"),
    ("networking.k8s.io", "IngressClass"),
    ("networking.k8s.io", "Ingress"),
)
_RANK = {gk: i for i, gk in enumerate(_ORDER)}
_WEBHOOKS = frozenset(
    {
        ("apiregistration.k8s.io", "APIService"),
        ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
        ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    }
)


def dependency_rank(key: ObjectKey) -> int:
    """Position in the create order; unknown kinds (custom resources) after the known ones, and
    webhooks and APIServices last, so they never block the objects they would intercept."""
    gk = (key.group, key.kind)
    if gk in _WEBHOOKS:
        return len(_ORDER) + 1
    return _RANK.get(gk, len(_ORDER))


class Action(Value):
    """One write to one cluster.

    ``manifest`` is the desired object for create/update and the observed one for delete;
    ``resource_version`` and ``uid`` come from the observed object (preconditions for the write).
    """

    verb: Verb
    cluster: str
    key: ObjectKey
    manifest: dict[str, Any]
    resource_version: str = ""
    uid: str = ""

    def __str__(self) -> str:
        return f"{self.cluster}: {self.verb} {self.key}"


class Skip(Value):
    """A desired object the plan leaves alone this time, and why (not ours, or being deleted)."""

    cluster: str
    key: ObjectKey
    reason: str


class Plan(Value):
    """Ordered actions (cluster by cluster, by name) and the desired objects skipped."""

    actions: tuple[Action, ...] = ()
    skipped: tuple[Skip, ...] = ()

    @property
    def empty(self) -> bool:
        """True when nothing needs writing (skipped objects do not count)."""
        return not self.actions

    def for_cluster(self, cluster: str) -> tuple[Action, ...]:
        """The actions for one cluster, in order."""
        return tuple(a for a in self.actions if a.cluster == cluster)


def _index(items: Iterable[Mapping[str, Any]], cluster: str, what: str) -> dict[ObjectKey, Manifest]:
    out: dict[ObjectKey, Manifest] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise InvalidInput(
                f"expected a manifest (a map), got {type(item).__name__}", path=f"{what}[{cluster}]"
            )
        key = key_of(item)
        doc: Manifest = json_copy(item, obj=describe(item))
        if what == "desired":
            if not is_owned(doc):
                raise InvalidInput(
                    "desired manifest lacks tmc ownership marks (render it first)",
                    obj=describe(item),
                    path=f"desired[{cluster}]",
                )
            doc = stamp(doc)
        if key in out and out[key] != doc:
            raise InvalidInput(
                f"two different {what} manifests for {key} on cluster {cluster!r}",
                obj=describe(item),
                path=f"{what}[{cluster}]",
            )
        out[key] = doc
    return out


def _terminating(doc: Mapping[str, Any]) -> bool:
    return bool(metadata(doc).get("deletionTimestamp"))


def _str(doc: Mapping[str, Any], field: str) -> str:
    value = metadata(doc).get(field)
    return value if isinstance(value, str) else ""


def _plan_cluster(
    cluster: str, desired: dict[ObjectKey, Manifest], observed: dict[ObjectKey, Manifest]
) -> tuple[list[Action], list[Skip]]:
    writes: list[Action] = []
    deletes: list[Action] = []
    skipped: list[Skip] = []
    for key, want in desired.items():
        have = observed.get(key)
        if have is None:
            writes.append(Action(verb="create", cluster=cluster, key=key, manifest=want))
        elif not is_owned(have):
            skipped.append(Skip(cluster=cluster, key=key, reason="exists and is not managed by tmc"))
        elif _terminating(have):
            skipped.append(Skip(cluster=cluster, key=key, reason="being deleted; re-created once gone"))
        elif not in_sync(want, have):
            writes.append(
                Action(
                    verb="update",
                    cluster=cluster,
                    key=key,
                    manifest=want,
                    resource_version=_str(have, "resourceVersion"),
                    uid=_str(have, "uid"),
                )
            )
    for key, have in observed.items():
        if key not in desired and is_owned(have) and not _terminating(have):
            deletes.append(
                Action(
                    verb="delete",
                    cluster=cluster,
                    key=key,
                    manifest=have,
                    resource_version=_str(have, "resourceVersion"),
                    uid=_str(have, "uid"),
                )
            )
    writes.sort(key=lambda a: (dependency_rank(a.key), str(a.key)))
    deletes.sort(key=lambda a: (-dependency_rank(a.key), str(a.key)))
    skipped.sort(key=lambda s: (dependency_rank(s.key), str(s.key)))
    return writes + deletes, skipped


def plan(
    desired: Mapping[str, Iterable[Mapping[str, Any]]],
    observed: Mapping[str, Iterable[Mapping[str, Any]]],
) -> Plan:
    """The actions that turn ``observed`` into ``desired``; both map cluster name -> manifests.

    ``desired`` holds rendered manifests (the same Namespace may appear once per object in it; equal
    copies merge, different ones are an ``InvalidInput``). A cluster only in ``observed`` (evicted,
    or the upstream object is gone) has all our objects there deleted. Inputs are not modified.
    """
    actions: list[Action] = []
    skipped: list[Skip] = []
    for cluster in sorted(set(desired) | set(observed)):
        want = _index(desired.get(cluster, ()), cluster, "desired")
        have = _index(observed.get(cluster, ()), cluster, "observed")
        a, s = _plan_cluster(cluster, want, have)
        actions.extend(a)
        skipped.extend(s)
    return Plan(actions=tuple(actions), skipped=tuple(skipped))
