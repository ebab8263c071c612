"""aggregate: summed counters, observedGeneration only when observed everywhere, merged conditions."""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]
import pytest

from tmc_core.errors import InvalidInput
from tmc_core.model import Decision
from tmc_core.sync import MemberStatus, aggregate, render

K8S_VERSION = "1.30"


def upstream(generation: int = 3) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "generation": generation},
        "spec": {
            "replicas": 6,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": "nginx:1.27"}]},
            },
        },
    }


DECISION = Decision.from_record(
    {
        "workload": {"apiVersion": "apps/v1", "kind": "Deployment", "namespace": "shop", "name": "web"},
        "clusters": [{"name": "aws-use1-a", "replicas": 4}, {"name": "gcp-euw1-b", "replicas": 2}],
    }
)


def cond(
    ctype: str, status: str, reason: str, message: str = "", at: str = "2025-01-01T00:00:00Z"
) -> dict[str, Any]:
    out = {"type": ctype, "status": status, "reason": reason, "lastTransitionTime": at, "lastUpdateTime": at}
    if message:
        out["message"] = message
    return out


def member(
    cluster: str,
    *,
    ready: int,
    generation: int = 7,
    observed: int = 7,
    pushed: int = 3,
    conditions: list[dict[str, Any]] | None = None,
) -> MemberStatus:
    """A copy as its cluster stores it: our rendered manifest, the member's generation and status."""
    [_, dep] = render(upstream(pushed), DECISION, cluster)
    want = dep["spec"]["replicas"]
    dep["metadata"]["generation"] = generation
    dep["status"] = {
        "observedGeneration": observed,
        "replicas": want,
        "updatedReplicas": want,
        "readyReplicas": ready,
        "availableReplicas": ready,
        **({"unavailableReplicas": want - ready} if want > ready else {}),
        "conditions": conditions
        if conditions is not None
        else [
            cond("Available", "True", "MinimumReplicasAvailable"),
            cond("Progressing", "True", "NewReplicaSetAvailable"),
        ],
    }
    return MemberStatus(cluster=cluster, manifest=dep)


def test_two_healthy_copies_sum_up_and_report_the_upstream_generation() -> None:
    out = aggregate(upstream(), [member("aws-use1-a", ready=4), member("gcp-euw1-b", ready=2)])
    status = out.status
    assert {k: status[k] for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")} == {
        "replicas": 6,
        "updatedReplicas": 6,
        "readyReplicas": 6,
        "availableReplicas": 6,
    }
    assert status["observedGeneration"] == 3  # the upstream's, not the members' own 7
    assert out.verdict.health == "Healthy"
    assert out.verdict.clusters == ("aws-use1-a", "gcp-euw1-b")
    available = next(c for c in status["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"
    assert available["reason"] == "MinimumReplicasAvailable:aws-use1-a,gcp-euw1-b"


def test_aggregated_status_is_a_valid_deployment_status() -> None:
    out = aggregate(upstream(), [member("aws-use1-a", ready=4), member("gcp-euw1-b", ready=1)])
    full = {**upstream(), "status": out.status}
    kubernetes_validate.validate(full, K8S_VERSION, strict=True)


def test_observed_generation_needs_every_cluster_to_have_seen_the_push() -> None:
    lagging = member("gcp-euw1-b", ready=2, generation=8, observed=7)
    out = aggregate(upstream(), [member("aws-use1-a", ready=4), lagging])
    assert "observedGeneration" not in out.status
    assert out.verdict.health == "Progressing"
    assert out.verdict.clusters == ("gcp-euw1-b",)


def test_observed_generation_needs_the_current_upstream_generation_pushed() -> None:
    stale = member("gcp-euw1-b", ready=2, pushed=2)  # the copy was rendered from generation 2
    out = aggregate(upstream(3), [member("aws-use1-a", ready=4), stale])
    assert "observedGeneration" not in out.status
    assert out.per_cluster == {"aws-use1-a": "Healthy", "gcp-euw1-b": "Progressing"}


def test_unavailable_replicas_and_a_false_condition_name_the_cluster() -> None:
    sick = member(
        "gcp-euw1-b",
        ready=0,
        conditions=[
            cond(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                "2025-01-02T00:00:00Z",
            ),
            cond("Progressing", "True", "ReplicaSetUpdated"),
        ],
    )
    out = aggregate(upstream(), [member("aws-use1-a", ready=4), sick])
    assert out.status["unavailableReplicas"] == 2
    assert out.status["availableReplicas"] == 4
    available = next(c for c in out.status["conditions"] if c["type"] == "Available")
    assert available == {
        "type": "Available",
        "status": "False",
        "reason": "MinimumReplicasUnavailable:gcp-euw1-b",
        "message": "gcp-euw1-b: Deployment does not have minimum availability.",
        "lastTransitionTime": "2025-01-02T00:00:00Z",
        "lastUpdateTime": "2025-01-02T00:00:00Z",
    }
    progressing = next(c for c in out.status["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "Mixed:aws-use1-a,gcp-euw1-b"
    assert out.verdict.health == "Progressing"


def test_replica_failure_is_negative_and_degrades() -> None:
    failing = member(
        "aws-use1-a",
        ready=1,
        conditions=[
            cond("ReplicaFailure", "True", "FailedCreate", 'pods "web-1" is forbidden: exceeded quota')
        ],
    )
    fine = member("gcp-euw1-b", ready=2, conditions=[cond("ReplicaFailure", "False", "Created")])
    out = aggregate(upstream(), [fine, failing])
    [failure] = out.status["conditions"]
    assert (failure["status"], failure["reason"]) == ("True", "FailedCreate:aws-use1-a")
    assert out.verdict.health == "Degraded" and out.verdict.clusters == ("aws-use1-a",)


def test_progress_deadline_exceeded_degrades() -> None:
    stuck = member(
        "aws-use1-a", ready=2, conditions=[cond("Progressing", "False", "ProgressDeadlineExceeded")]
    )
    out = aggregate(upstream(), [stuck, member("gcp-euw1-b", ready=2)])
    assert out.verdict.health == "Degraded"


def test_an_unreachable_cluster_makes_the_verdict_unknown_and_hides_observed_generation() -> None:
    out = aggregate(
        upstream(), [member("aws-use1-a", ready=4), MemberStatus(cluster="gcp-euw1-b", reachable=False)]
    )
    assert out.verdict.health == "Unknown" and out.verdict.clusters == ("gcp-euw1-b",)
    assert out.status["replicas"] == 4
    assert "observedGeneration" not in out.status


def test_degraded_outranks_unknown_outranks_progressing() -> None:
    degraded = member("gcp-euw1-b", ready=0, conditions=[cond("ReplicaFailure", "True", "FailedCreate")])
    unknown = MemberStatus(cluster="aws-use1-a", reachable=False)
    missing = MemberStatus(cluster="azure-weu-c")  # not created yet
    assert aggregate(upstream(), [missing]).verdict.health == "Progressing"
    assert aggregate(upstream(), [missing, unknown]).verdict.health == "Unknown"
    assert aggregate(upstream(), [missing, unknown, degraded]).verdict.clusters == ("gcp-euw1-b",)
    assert aggregate(upstream(), []).verdict.health == "Unknown"


def test_member_order_does_not_matter_and_inputs_are_untouched() -> None:
    a, b = member("aws-use1-a", ready=3), member("gcp-euw1-b", ready=2)
    before = copy.deepcopy((a.manifest, b.manifest))
    assert aggregate(upstream(), [a, b]) == aggregate(upstream(), [b, a])
    assert (a.manifest, b.manifest) == before


def test_duplicate_clusters_are_rejected() -> None:
    with pytest.raises(InvalidInput, match="more than once"):
        aggregate(upstream(), [member("aws-use1-a", ready=1), member("aws-use1-a", ready=1)])


def statefulset_member(cluster: str, ready: int, want: int) -> MemberStatus:
    return MemberStatus(
        cluster=cluster,
        manifest={
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": "db",
                "namespace": "x",
                "generation": 2,
                "annotations": {"tmc.kcp.io/generation": "5"},
            },
            "spec": {"replicas": want},
            "status": {
                "observedGeneration": 2,
                "replicas": want,
                "readyReplicas": ready,
                "currentReplicas": want,
                "updatedReplicas": want,
                "availableReplicas": ready,
                "currentRevision": f"db-{cluster}-1",
                "updateRevision": f"db-{cluster}-1",
                "collisionCount": 0,
            },
        },
    )


def test_statefulset_counters_sum_and_cluster_local_fields_are_dropped() -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "db", "namespace": "x", "generation": 5},
    }
    out = aggregate(sts, [statefulset_member("a", 3, 3), statefulset_member("b", 1, 2)])
    assert out.status == {
        "replicas": 5,
        "readyReplicas": 4,
        "currentReplicas": 5,
        "updatedReplicas": 5,
        "availableReplicas": 4,
        "observedGeneration": 5,
    }
    assert out.per_cluster == {"a": "Healthy", "b": "Progressing"}
    kubernetes_validate.validate(
        {**sts, "spec": {"selector": {}, "template": {}, "serviceName": "db"}, "status": out.status},
        K8S_VERSION,
    )


def job_member(cluster: str, status: dict[str, Any]) -> MemberStatus:
    return MemberStatus(
        cluster=cluster,
        manifest={
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "m", "namespace": "x"},
            "status": status,
        },
    )


JOB = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "m", "namespace": "x", "generation": 1}}


def test_job_completes_only_when_every_copy_completed() -> None:
    done = job_member(
        "a",
        {
            "succeeded": 2,
            "startTime": "2025-01-01T00:00:05Z",
            "completionTime": "2025-01-01T00:03:00Z",
            "conditions": [cond("Complete", "True", "CompletionsReached")],
        },
    )
    running = job_member("b", {"active": 1, "succeeded": 1, "startTime": "2025-01-01T00:00:01Z"})
    out = aggregate(JOB, [done, running])
    assert out.status == {"active": 1, "succeeded": 3, "startTime": "2025-01-01T00:00:01Z"}
    assert out.verdict.health == "Progressing" and out.verdict.clusters == ("b",)

    finished = job_member(
        "b",
        {
            "succeeded": 2,
            "startTime": "2025-01-01T00:00:01Z",
            "completionTime": "2025-01-01T00:04:00Z",
            "conditions": [cond("Complete", "True", "CompletionsReached")],
        },
    )
    out = aggregate(JOB, [done, finished])
    assert out.status["completionTime"] == "2025-01-01T00:04:00Z"
    assert [c["type"] for c in out.status["conditions"]] == ["Complete"]
    assert out.verdict.health == "Healthy"


def test_a_failed_job_copy_degrades() -> None:
    failed = job_member("a", {"failed": 6, "conditions": [cond("Failed", "True", "BackoffLimitExceeded")]})
    out = aggregate(JOB, [failed, job_member("b", {"active": 1})])
    assert out.verdict.health == "Degraded"
    assert out.status["conditions"][0]["reason"] == "BackoffLimitExceeded:a"


def test_other_kinds_get_the_per_cluster_list() -> None:
    widget = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w", "namespace": "x"}}
    ready = {**widget, "status": {"conditions": [{"type": "Ready", "status": "True"}], "url": "a.example"}}
    not_ready = {**widget, "status": {"conditions": [{"type": "Ready", "status": "False"}]}}
    out = aggregate(
        widget,
        [
            MemberStatus(cluster="b", manifest=not_ready),
            MemberStatus(cluster="a", manifest=ready),
            MemberStatus(cluster="c", manifest={**widget}),
        ],
    )
    assert out.status == {
        "clusters": [
            {"cluster": "a", "health": "Healthy", "status": ready["status"]},
            {"cluster": "b", "health": "Degraded", "status": not_ready["status"]},
            {"cluster": "c", "health": "Healthy", "status": {}},
        ]
    }
    assert out.verdict.health == "Degraded" and out.verdict.clusters == ("b",)
