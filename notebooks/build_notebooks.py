"""Write the example notebooks (without outputs): ``python notebooks/build_notebooks.py``.

The notebooks are documentation that runs: CI executes them top to bottom with nbmake
(``python -m pytest --nbmake notebooks``), so each keeps small default sizes in its first code cell
(the parameters) and finishes well under a minute. Edit the cells here, not the .ipynb files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).parent


def setup(imports: str) -> str:
    """The first code cell after the parameters: imports, the Agg backend and a ``show`` helper."""
    return f"""import io

import matplotlib.pyplot as plt
from IPython.display import Image, display
{imports}

plt.switch_backend("Agg")  # the same pictures with or without a display (CI has none)
plt.rcParams["figure.dpi"] = 80


def show(fig):
    \"\"\"Render a figure to PNG with Agg and show it as the cell's output.\"\"\"
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    display(Image(data=buffer.getvalue()))"""


def show() -> str:
    return "show(fig)"


QUICKSTART = [
    new_markdown_cell(
        "# 01 - Quickstart: place the bundled example fleet\n\n"
        "tmc ships a twelve-cluster example fleet with twenty workloads and the WorkloadPlacements that "
        "place them (`tmcctl example` prints it). This notebook reads it, places every workload with the "
        "greedy engine, explains one decision, and plots where the replicas went."
    ),
    new_code_cell('# Parameters\nEXPLAIN = "batch/etl"  # the workload whose decision is explained below'),
    new_code_cell(
        setup(
            """from collections import defaultdict

from tmc_core.examples import example_inventory
from tmc_core.placement import place_inventory"""
        )
    ),
    new_markdown_cell(
        "## The fleet\n\nClusters, their topology and free capacity (allocatable - allocated)."
    ),
    new_code_cell(
        """inventory = example_inventory()
fleet, workloads = inventory.fleet, inventory.workloads
print(f"{len(fleet)} clusters, {len(workloads)} workloads, {len(inventory.placements)} placements")
for c in inventory.fleet:
    free = c.free
    taints = ", ".join(str(t) for t in c.taints) or "-"
    print(f"{c.name:16} {c.provider:6} {c.region:14} ready={c.ready!s:5} "
          f"free cpu={free.to_dict().get('cpu', '-'):>6}  taints: {taints}")"""
    ),
    new_markdown_cell(
        "## Place\n\nOne decision per selected workload, sorted by (namespace, name) as the output "
        "contract says."
    ),
    new_code_cell(
        """decisions = place_inventory(inventory, explain=True)
for d in decisions:
    where = ", ".join(f"{c.name}={c.replicas}" for c in d.clusters) or "-"
    status = "placed" if d.schedulable else "UNSCHEDULABLE"
    print(f"{d.workload.key:24} {status:13} {where}  {d.reason}")"""
    ),
    new_markdown_cell(
        "## Explain\n\nWhy clusters were filtered out, and how the rest scored (per score plugin)."
    ),
    new_code_cell(
        """decision = next(d for d in decisions if d.workload.key == EXPLAIN)
e = decision.explanation
print(e.summary())
for name, why in sorted(e.filtered.items()):
    print(f"  filtered {name}: {why}")
for s in e.scores:
    mark = "*" if s.cluster in e.selected else " "
    plugins = ", ".join(f"{k}={v:.0f}" for k, v in s.plugins.items())
    print(f" {mark}{s.cluster:16} total={s.total:6.1f}  {plugins}")
for note in e.notes:
    print("note:", note)"""
    ),
    new_markdown_cell("## Where the replicas went\n\nReplicas per cluster, stacked by workload."),
    new_code_cell(
        """per_cluster = defaultdict(dict)
for d in decisions:
    for c in d.clusters:
        per_cluster[c.name][d.workload.key] = c.replicas
clusters = list(inventory.fleet.names)
workloads = sorted({w for v in per_cluster.values() for w in v})
fig, ax = plt.subplots(figsize=(10, 4))
bottom = [0] * len(clusters)
colours = plt.cm.tab20.colors
for k, w in enumerate(workloads):
    heights = [per_cluster[c].get(w, 0) for c in clusters]
    ax.bar(clusters, heights, bottom=bottom, label=w, color=colours[k % len(colours)])
    bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
ax.set_ylabel("replicas")
ax.set_title("Replicas per cluster")
ax.tick_params(axis="x", rotation=60)
ax.legend(fontsize=6, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
fig.tight_layout()
"""
        + show()
    ),
    new_markdown_cell(
        "Next: `02-policy-comparison` runs policies on a fleet that moves; `tmcctl place --explain` prints "
        "the same explanation at a terminal."
    ),
]

COMPARISON = [
    new_markdown_cell(
        "# 02 - Policy comparison on a living fleet\n\n"
        "Three placement policies run on the same seeded scenario: the simulator draws the fleet, the "
        "workloads and every event from the scenario's seed, so the runs differ only in where each policy "
        "puts replicas.\n\n"
        "* **spread**: at least two regions, least-allocated clusters first (Divided by free room);\n"
        "* **bin-packing**: the fewest, fullest clusters that fit (Aggregated, MostAllocated);\n"
        "* **cost-aware**: the cheapest clusters that fit (Aggregated, ClusterProperty cost)."
    ),
    new_code_cell(
        "# Parameters (raise CLUSTERS / WORKLOADS for a bigger fleet; the scenario's own sizes when None)\n"
        'SCENARIO = "scale-burst"  # steady, region-failure, scale-burst, drain\n'
        'POLICIES = ["spread", "bin-packing", "cost-aware"]\n'
        "CLUSTERS = None\n"
        "WORKLOADS = None"
    ),
    new_code_cell(setup("""from tmc_core.simulate import builtin_scenario, compare_all""")),
    new_code_cell(
        """scenario = builtin_scenario(SCENARIO)
if CLUSTERS or WORKLOADS:
    scenario = scenario.scaled(clusters=CLUSTERS, workloads=WORKLOADS)
print(scenario.description)
for e in scenario.events:
    print(f"  t={e.at:>6.0f}s  {e.type}")
comparison = compare_all(POLICIES, scenario)"""
    ),
    new_markdown_cell(
        "## Whole-run figures\n\nOne column per policy (`Comparison.table()`; `pandas.DataFrame(...)` "
        "takes it as is)."
    ),
    new_code_cell(
        """rows = comparison.table()
names = comparison.names
print(f"{'metric':30}" + "".join(f"{n:>14}" for n in names))
for row in rows:
    cells = "".join(f"{row[n]:>14.3f}" if isinstance(row[n], float) else f"{row[n]:>14}" for n in names)
    print(f"{row['metric']:30}{cells}")"""
    ),
    new_markdown_cell(
        "## Over time\n\nCPU utilisation of the placeable clusters, imbalance across clusters (standard "
        "deviation of each cluster's dominant share), replicas moved (cumulative churn), replicas waiting, "
        "and the cost rate."
    ),
    new_code_cell(
        """fig, axes = plt.subplots(2, 3, figsize=(13, 6), sharex=True)
panels = [
    ("utilisation_cpu", "CPU utilisation"),
    ("imbalance_clusters", "imbalance across clusters"),
    ("imbalance_regions", "imbalance across regions"),
    ("moved_total", "replicas moved (cumulative)"),
    ("pending", "replicas pending"),
    ("cost_rate", "cost per hour"),
]
for name, result in zip(comparison.names, comparison.results, strict=True):
    series = result.metrics.series()
    minutes = series["time"] / 60
    for ax, (column, title) in zip(axes.flat, panels, strict=True):
        ax.plot(minutes, series[column], label=name)
        ax.set_title(title)
for ax in axes[1]:
    ax.set_xlabel("simulated minutes")
for e in scenario.events:
    for ax in axes.flat:
        ax.axvline(e.at / 60, color="grey", lw=0.5, ls=":")
axes[0, 0].legend()
fig.tight_layout()
"""
        + show()
    ),
    new_markdown_cell(
        "## Where each policy put the load\n\nDominant share of every placeable cluster at the end of the "
        "run (clusters sorted by region): spread keeps the bars level, bin-packing and cost-aware fill a few."
    ),
    new_code_cell(
        """fig, axes = plt.subplots(1, len(comparison.results), figsize=(13, 3), sharey=True)
for ax, name, result in zip(axes, comparison.names, comparison.results, strict=True):
    m = result.metrics
    info = result.trace.clusters
    order = sorted(range(len(m.clusters)), key=lambda j: (info[m.clusters[j]].region, m.clusters[j]))
    ax.bar(range(len(order)), m.cluster_utilisation[-1, order])
    ax.set_title(name)
    ax.set_xlabel("cluster (by region)")
axes[0].set_ylabel("dominant share")
fig.tight_layout()
"""
        + show()
    ),
    new_markdown_cell(
        "The same comparison at a terminal:\n"
        "`tmcctl simulate -s scale-burst -p spread -p bin-packing -p cost-aware`."
    ),
]

DRILL = [
    new_markdown_cell(
        "# 03 - Failure drill: a region fails\n\n"
        "The largest region goes down at 10 minutes. Its clusters stop heartbeating; the control plane "
        "notices after the grace period, marks them NotReady and reschedules their replicas; the region "
        "comes back at 40 minutes. What moves, how fast, and what is lost?"
    ),
    new_code_cell(
        "# Parameters\n"
        'POLICY = "spread"  # or bin-packing, cost-aware, scenario (the workloads\' own policies)\n'
        "GRACE_PERIOD = 40.0  # seconds of missed heartbeats before NotReady\n"
        "CLUSTERS = None  # the scenario's own size when None\n"
        "WORKLOADS = None"
    ),
    new_code_cell(
        setup(
            """import numpy as np

from tmc_core.simulate import builtin_scenario, simulate"""
        )
    ),
    new_code_cell(
        """scenario = builtin_scenario("region-failure").scaled(clusters=CLUSTERS, workloads=WORKLOADS)
scenario = scenario.model_validate({**scenario.dump(), "gracePeriod": GRACE_PERIOD})
result = simulate(scenario, POLICY)
m, trace = result.metrics, result.trace
for e in trace.events:
    print(f"t={e.time:>6.0f}s  {e.event:10} {len(e.clusters)} clusters  affected={e.affected}")"""
    ),
    new_markdown_cell(
        "## What moves\n\nEvery workload the failure touched: where it ran before, where it runs after."
    ),
    new_code_cell(
        """failed = {c for e in trace.events if e.event == "fail" for c in e.clusters}
fail_at = min(e.time for e in trace.events if e.event == "fail")
noticed_at = min(e.time for e in trace.events if e.event == "not-ready")
moves = [d for d in trace.decisions if "not-ready" in d.cause]
print(f"failed clusters: {sorted(failed)}")
print(f"failed at {fail_at:.0f}s, noticed at {noticed_at:.0f}s; {len(moves)} workloads re-placed")
for d in moves[:15]:
    lost_here = sum(n for c, n in d.before.items() if c in failed)
    gained = [f"{c}={n}" for c, n in d.after.items() if d.before.get(c, 0) < n]
    print(f"  {d.workload:22} {lost_here:>5} replicas off the region -> {', '.join(gained) or 'nowhere'}")"""
    ),
    new_markdown_cell(
        "## How fast, and what is lost\n\n"
        "* *lost*: replicas the control plane still counts but whose cluster is down (until it notices);\n"
        "* *pending*: replicas that found no room after the failover;\n"
        "* recovery: the first sample after the failure with nothing lost and nothing pending."
    ),
    new_code_cell(
        """after = m.time >= fail_at
healthy = (m.lost == 0) & (m.pending == 0)
recovered = m.time[after & healthy & (m.time > fail_at)]
step = scenario.step
print(f"replicas in the region at the failure: {int(m.lost.max())}")
print(f"lost replica-seconds (sampled): {float((m.lost * step).sum()):,.0f}")
print(f"peak pending after failover: {int(m.pending[after].max())}, "
      f"pending replica-seconds: {m.pending_replica_seconds:,.0f}")
print(f"replicas moved: {int(m.moved.sum())}")
if recovered.size:
    print(f"recovered at {recovered[0]:.0f}s ({recovered[0] - fail_at:.0f}s after the failure)")
else:
    print("not recovered by the end of the run")
for w in m.waits[:10]:
    state = "placed" if w.resolved else "still waiting"
    print(f"  waited {w.seconds:>6.0f}s  {w.workload} ({w.replicas} replicas, {state})")"""
    ),
    new_code_cell(
        """fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 7), sharex=True,
                                  gridspec_kw={"height_ratios": [1, 1.4]})
minutes = m.time / 60
top.plot(minutes, m.placed - m.lost, label="running")
top.plot(minutes, m.lost, label="lost (cluster down, not noticed)")
top.plot(minutes, m.pending, label="pending")
top.plot(minutes, np.cumsum(m.moved), label="moved (cumulative)", ls="--")
for e in trace.events:
    if e.event in ("fail", "recover"):
        top.axvline(e.time / 60, color="grey", lw=0.8, ls=":")
top.axvline(noticed_at / 60, color="red", lw=0.8, ls=":")
top.set_ylabel("replicas")
top.legend(fontsize=8)
info = trace.clusters
order = sorted(range(len(m.clusters)), key=lambda j: (info[m.clusters[j]].region, m.clusters[j]))
image = bottom.imshow(m.cluster_utilisation[:, order].T, aspect="auto", interpolation="nearest",
                      extent=(minutes[0], minutes[-1], len(order), 0), vmin=0, vmax=1)
bottom.set_yticks(np.arange(len(order)) + 0.5)
bottom.set_yticklabels([f"{info[m.clusters[j]].region}  {m.clusters[j]}" for j in order], fontsize=6)
bottom.set_xlabel("simulated minutes")
bottom.set_title("dominant share per cluster (blank: NotReady)")
fig.colorbar(image, ax=bottom)
fig.tight_layout()
"""
        + show()
    ),
    new_markdown_cell(
        "When the region comes back, the steady policies keep the replicas where they are (no churn back); "
        'a re-balancing run would move them. Try `POLICY = "bin-packing"` and a longer `GRACE_PERIOD`.'
    ),
]

SOLVERS = [
    new_markdown_cell(
        "# 04 - Solvers: greedy vs optimal vs flow\n\n"
        "One batch of workloads over shared capacity, placed by each solver behind the same contract "
        "(`tmc_core.solvers`). The same objective judges them all: replicas placed first, then placement "
        "score, minus churn. Optimal (CP-SAT) reports a proven bound and gap; flow is the large-scale "
        "relaxation; greedy is the engine the controller runs."
    ),
    new_code_cell(
        "# Parameters (bigger batches: raise WORKLOADS / CLUSTERS and TIME_LIMIT)\n"
        "CLUSTERS = 16\n"
        "WORKLOADS = 60\n"
        "LOAD = 1.1  # expected CPU demand / free CPU: above 1, not everything fits\n"
        "SEED = 3\n"
        "TIME_LIMIT = 5.0  # seconds CP-SAT may search"
    ),
    new_code_cell(
        setup(
            """import time

import numpy as np

from tmc_core.simulate import synthetic_fleet, synthetic_workloads
from tmc_core.solvers import Problem, certify
from tmc_core.solvers.catalog import SOLVER_NAMES, make_solver"""
        )
    ),
    new_code_cell(
        """fleet = synthetic_fleet(CLUSTERS, seed=SEED, utilisation=(0.3, 0.6), not_ready_fraction=0.0)
tasks = synthetic_workloads(WORKLOADS, seed=SEED, fleet=fleet, shape="divided", policies=6, load=LOAD)
problem = Problem.build(fleet, tasks)
print(f"{problem.size} workloads, {int(problem.replicas.sum())} replicas, {len(fleet)} clusters")"""
    ),
    new_markdown_cell(
        "## Solve\n\nEach solution is certified against the LP relaxation's bound (`certify`), so the "
        "greedy engine gets a gap too. *Stranded capacity*: CPU left free on clusters that cannot take even "
        "the smallest replica of the batch any more (another resource ran out first)."
    ),
    new_code_cell(
        """def used_by(solution):
    a = solution.assignment
    used = np.zeros_like(problem.capacity)
    for i in range(problem.size):
        lo, hi = int(a.offsets[i]), int(a.offsets[i + 1])
        np.add.at(used, a.clusters[lo:hi], a.replicas[lo:hi, None] * problem.requests[i][None, :])
    return used


smallest = problem.requests.min(axis=0)
cpu = problem.index.resources.index("cpu")
rows = []
for name in SOLVER_NAMES:
    solver = make_solver(name, time_limit=TIME_LIMIT)
    started = time.perf_counter()
    solution = solver.solve(problem)
    seconds = time.perf_counter() - started
    solution = certify(solution, solver.objective)  # every solver gets the LP bound, so every one has a gap
    left = problem.capacity - used_by(solution)
    stuck = ~np.all(left >= smallest[None, :], axis=1)
    rows.append({
        "solver": name,
        "status": solution.status,
        "placed": int(solution.assignment.replicas.sum()),
        "fully placed": int(solution.assignment.schedulable.sum()),
        "stranded cpu": float(left[stuck, cpu].clip(min=0).sum() / 1000),
        "objective": solution.objective,
        "gap": solution.gap,
        "seconds": seconds,
    })
for r in rows:
    gap = "n/a" if r["gap"] is None else f"{100 * r['gap']:.3f}%"
    print(
        f"{r['solver']:8} {r['status']:9} placed={r['placed']:>6}  fully placed={r['fully placed']:>3}  "
        f"stranded cpu={r['stranded cpu']:>6.1f}  objective={r['objective']:>12.1f}  gap={gap:>8}  "
        f"{r['seconds']:.2f}s"
    )"""
    ),
    new_code_cell(
        """fig, axes = plt.subplots(1, 4, figsize=(13, 3))
names = [r["solver"] for r in rows]
for ax, (key, title) in zip(axes, [("placed", "replicas placed"), ("stranded cpu", "stranded CPU (cores)"),
                                   ("gap", "gap to bound (%)"), ("seconds", "seconds")], strict=True):
    values = [(100 * r[key] if r[key] is not None else 0.0) if key == "gap" else r[key] for r in rows]
    ax.bar(names, values, color=["C0", "C1", "C2"][: len(names)])
    ax.set_title(title)
fig.tight_layout()
"""
        + show()
    ),
    new_markdown_cell(
        "At a terminal: `tmcctl place -f fleet.yaml --solver optimal --time-limit 5` prints the same "
        'status, objective, bound and gap. In a simulation, `PolicyUnderTest(name, policy, solver="flow")` '
        "re-places with a solver at every event."
    ),
]

NOTEBOOKS = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-policy-comparison.ipynb": COMPARISON,
    "03-failure-drill.ipynb": DRILL,
    "04-solvers.ipynb": SOLVERS,
}


def main() -> None:
    """Write every notebook next to this script, without outputs."""
    for name, cells in NOTEBOOKS.items():
        nb = new_notebook(cells=cells)
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nb.metadata["language_info"] = {"name": "python"}
        for i, cell in enumerate(nb.cells):
            cell["id"] = f"{name.split('-')[0]}-{i:02d}"
        nbformat.validate(nb)
        nbformat.write(nb, HERE / name)
    # Sort imports and format the cells as the rest of the code base (ruff reads notebooks too).
    books = [str(HERE / name) for name in NOTEBOOKS]
    subprocess.run([sys.executable, "-m", "ruff", "check", "--fix", "--quiet", *books], check=False)
    subprocess.run([sys.executable, "-m", "ruff", "format", "--quiet", *books], check=True)


if __name__ == "__main__":
    main()
