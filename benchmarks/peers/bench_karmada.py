"""Peer benchmark: the same synthetic fleets and workloads through Karmada's scheduler and ours.

For each size (workloads x clusters) it generates the seeded fleet and workloads of the scaling
study (``tmc_core.simulate``), with policies reduced to Karmada's vocabulary (below), and in one run

- times Karmada v1.16's scheduler core in the peer program (benchmarks/peers/karmada): its own
  clock around the scheduling loop (JSON I/O excluded; every binding includes the cluster snapshot
  Karmada takes per Schedule call), plus the wall time of the whole peer process;
- times ours, ``assign_batch(index, tasks, mode="independent")`` over a prebuilt ``FleetIndex``:
  each workload decided alone against the same capacity, as Karmada decides each binding against
  the same snapshot (the like-for-like comparison), and, for reference, ``mode="sequential"``
  (capacity shared in order: different semantics, so different decisions);
- compares the decisions (clusters, replicas, schedulable) workload by workload.

Independent decisions do not depend on each other, so Karmada is time-boxed: a probe of the first
200 workloads measures its rate, and it then schedules the first N workloads that fit in
``--karmada-budget`` seconds (all of them when they fit); its decisions/s and the comparison are
over those N. Ours always places every workload.

Karmada vocabulary: prioritizers and preferred affinities are dropped (Karmada scores by
ClusterLocality only, tmc's default); PickN n becomes a cluster spread constraint with maxGroups n
(Karmada's way to ask for n clusters); Gt/Lt label requirements become In over the integer label
values present in the fleet (the same clusters match).

    python benchmarks/peers/bench_karmada.py                       # 1kx100, 10kx1k, 100kx5k
    python benchmarks/peers/bench_karmada.py --sizes 1kx100 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.bench_cases import FLEET_SEED, POLICIES, WORKLOAD_SEED, machine_facts, parse_size  # noqa: E402
from benchmarks.peers.karmada import convert, peer  # noqa: E402
from tmc_core.model import ClusterAffinity, Fleet, PlacementPolicy  # noqa: E402
from tmc_core.model.policy import SpreadConstraint  # noqa: E402
from tmc_core.model.selectors import LabelSelector, LabelSelectorRequirement  # noqa: E402
from tmc_core.placement import Assignment, FleetIndex, PlacementTask, assign_batch  # noqa: E402
from tmc_core.simulate import synthetic_fleet, synthetic_policies, synthetic_workloads  # noqa: E402

DEFAULT_SIZES = ("1kx100", "10kx1k", "100kx5k")
DEFAULT_KARMADA_BUDGET_S = 300.0
PROBE = 200


def _integer_values(fleet: Fleet, key: str) -> list[int]:
    out = set()
    for c in fleet.clusters:
        v = c.labels.get(key)
        if v is not None and v.lstrip("-").isdigit():
            out.add(int(v))
    return sorted(out)


def _without_gt_lt(affinity: ClusterAffinity | None, fleet: Fleet) -> ClusterAffinity | None:
    if affinity is None or affinity.label_selector is None:
        return affinity
    reqs = []
    for r in affinity.label_selector.match_expressions:
        if r.operator in ("Gt", "Lt"):
            bound = int(r.values[0])
            have = _integer_values(fleet, r.key)
            keep = [v for v in have if (v > bound if r.operator == "Gt" else v < bound)]
            values = tuple(str(v) for v in keep) or ("none",)  # nothing matches: In over an absent value
            r = LabelSelectorRequirement(key=r.key, operator="In", values=values)
        reqs.append(r)
    selector = LabelSelector(match_labels=affinity.label_selector.match_labels, match_expressions=tuple(reqs))
    return affinity.model_copy(update={"label_selector": selector})


def karmada_compatible(policy: PlacementPolicy, fleet: Fleet) -> PlacementPolicy:
    """The policy in Karmada's vocabulary (see the module docstring)."""
    update: dict[str, Any] = {
        "prioritizers": (),
        "preferred_cluster_affinities": (),
        "cluster_affinity": _without_gt_lt(policy.cluster_affinity, fleet),
        "cluster_affinities": tuple(
            t.model_copy(update=dict(_without_gt_lt(t, fleet) or t)) for t in policy.cluster_affinities
        ),
    }
    if policy.placement_type == "PickN":
        n = policy.number_of_clusters or 1
        update["placement_type"] = "PickAll"
        update["number_of_clusters"] = None
        update["spread_constraints"] = (
            SpreadConstraint(spread_by_field="cluster", min_groups=1, max_groups=n),
        )
    out = policy.model_copy(update=update)
    convert.placement_of(out, len(fleet))  # raises NotExpressible if anything was missed
    return out


def build(size: str) -> tuple[Fleet, list[PlacementTask]]:
    """The scaling study's fleet and mixed workloads, with Karmada-expressible policies."""
    n_workloads, n_clusters = parse_size(size)
    fleet = synthetic_fleet(n_clusters, seed=FLEET_SEED)
    policies = [
        karmada_compatible(p, fleet)
        for p in synthetic_policies(POLICIES, seed=WORKLOAD_SEED, shape="mixed", fleet=fleet)
    ]
    tasks = synthetic_workloads(n_workloads, seed=WORKLOAD_SEED, fleet=fleet, policies=policies)
    return fleet, tasks


def _ours(assignment: Assignment, i: int) -> dict[str, int] | None:
    return assignment.replicas_of(i) if assignment.schedulable[i] else None


def _theirs(decision: dict[str, Any]) -> dict[str, int] | None:
    return None if decision.get("error") else {k: int(v) for k, v in decision["clusters"].items()}


def _karmada_count(fleet: Fleet, tasks: list[PlacementTask], budget_s: float) -> int:
    """How many workloads Karmada schedules within ``budget_s``, from a probe of the first ones."""
    probe = tasks[:PROBE]
    answer = peer.run_peer(convert.karmada_input(fleet, probe))
    per_decision = answer["totalNs"] / 1e9 / max(1, len(probe))
    return min(len(tasks), max(len(probe), int(budget_s / max(per_decision, 1e-9))))


def measure(size: str, budget_s: float, repeat: int) -> dict[str, Any]:
    """One size: Karmada (within the time box) and ours (on all workloads), and agreement."""
    row: dict[str, Any] = {"size": size}
    fleet, tasks = build(size)
    row["workloads"], row["clusters"] = len(tasks), len(fleet)
    row["strategies"] = dict(Counter(t.policy.replica_strategy for t in tasks))

    start = time.perf_counter()
    index = FleetIndex.from_fleet(fleet)
    row["tmc_index_s"] = time.perf_counter() - start
    best: dict[str, float] = {}
    results: dict[str, Assignment] = {}
    for mode in ("independent", "sequential"):
        for _ in range(repeat):
            start = time.perf_counter()
            results[mode] = assign_batch(index, tasks, mode=mode)  # type: ignore[arg-type]
            best[mode] = min(best.get(mode, float("inf")), time.perf_counter() - start)
    row["tmc_independent_s"], row["tmc_sequential_s"] = best["independent"], best["sequential"]

    sample = tasks[: _karmada_count(fleet, tasks, budget_s)]
    document = convert.karmada_input(fleet, sample)
    start = time.perf_counter()
    answer = peer.run_peer(document)
    row["karmada_wall_s"] = time.perf_counter() - start
    row["karmada_workloads"] = len(sample)
    row["karmada_s"] = answer["totalNs"] / 1e9
    row["karmada_snapshot_ms"] = answer["snapshotNs"] / 1e6
    row["karmada_version"] = answer["karmada"]
    row["go"] = answer["go"]

    independent = results["independent"]
    same = 0
    differing: Counter[str] = Counter()
    examples: list[dict[str, Any]] = []
    for i, d in enumerate(answer["decisions"]):
        if _ours(independent, i) == _theirs(d):
            same += 1
        else:
            strategy = sample[i].policy.replica_strategy
            differing[strategy] += 1
            if len(examples) < 5:
                examples.append(
                    {
                        "workload": sample[i].workload.key,
                        "strategy": strategy,
                        "tmc": _ours(independent, i),
                        "karmada": _theirs(d),
                        "karmada_error": d.get("error", ""),
                        "tmc_reason": independent.reasons[i],
                    }
                )
    row["identical"] = same
    row["differing_by_strategy"] = dict(differing)
    row["differing_examples"] = examples
    row["karmada_per_s"] = len(sample) / row["karmada_s"]
    row["karmada_wall_per_s"] = len(sample) / row["karmada_wall_s"]
    row["tmc_independent_per_s"] = len(tasks) / row["tmc_independent_s"]
    row["tmc_sequential_per_s"] = len(tasks) / row["tmc_sequential_s"]
    row["ratio"] = row["tmc_independent_per_s"] / row["karmada_per_s"]
    return row


def markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The published table."""
    head = (
        "| size (workloads x clusters) | Karmada decisions/s (scheduler clock) "
        "| Karmada decisions/s (process wall) | tmc independent decisions/s | ratio tmc / Karmada "
        "| identical decisions | tmc sequential decisions/s |"
    )
    lines = [head, "|" + "---|" * 7]
    for r in rows:
        sampled = "" if r["karmada_workloads"] == r["workloads"] else f" (first {r['karmada_workloads']:,})"
        lines.append(
            f"| {r['workloads']:,} x {r['clusters']:,} | {r['karmada_per_s']:,.0f}{sampled} "
            f"| {r['karmada_wall_per_s']:,.0f} | {r['tmc_independent_per_s']:,.0f} | {r['ratio']:.1f}x "
            f"| {r['identical']:,} / {r['karmada_workloads']:,} | {r['tmc_sequential_per_s']:,.0f} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(DEFAULT_SIZES), help="comma-separated WORKLOADSxCLUSTERS")
    parser.add_argument(
        "--karmada-budget",
        type=float,
        default=DEFAULT_KARMADA_BUDGET_S,
        help="time box in seconds for Karmada's scheduling per size (default %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="runs of ours per mode; the best is kept")
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    why_not = peer.unavailable()
    if why_not is not None:
        print(why_not)
        return 0
    peer.ensure_binary()
    rows = []
    for size in args.sizes.split(","):
        print(f"[{size}] measuring ...", file=sys.stderr, flush=True)
        row = measure(size.strip(), args.karmada_budget, args.repeat)
        print(f"[{size}] {json.dumps(row)}", file=sys.stderr, flush=True)
        rows.append(row)
    facts = machine_facts()
    print("\n".join(f"- {k}: {v}" for k, v in facts.items()))
    print()
    print(markdown(rows))
    if args.json:
        args.json.write_text(json.dumps({"machine": facts, "rows": rows}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
