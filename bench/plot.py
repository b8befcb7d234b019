"""Plots of the full runs kept in bench/results/ (`python -m bench.plot` redraws them): one PNG
per figure, its history across runs with its baseline and target on the left, and the latest
run's detail (per-second throughput, latency distribution, per-layout rows) on the right, so a
regression is seen at a glance. Needs matplotlib (a dev dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from bench.results import RESULTS, history

TARGETS = {
    "charge_throughput_300ms": ("value", 90.0),
    "pipeline_throughput_0ms": ("ratio", 0.25),
    "failure_latency_p99": ("value", 100.0),
    "webhook_ingest": ("ratio", 0.6),
    "worker_rss_mb": ("value", 250.0),
}


def _history_panel(ax: Axes, runs: list[dict[str, Any]], name: str) -> None:
    points = [
        (run["started_at"][:16].replace("T", " "), run["figures"][name])
        for run in runs
        if name in run["figures"]
    ]
    labels = [label for label, _ in points]
    xs = list(range(len(points)))
    first = points[-1][1] if points else {"unit": ""}
    kind, target = TARGETS.get(name, ("value", None))
    if kind == "ratio":
        ax.plot(xs, [f["ratio"] for _, f in points], "o-", label="ratio to baseline")
        ax.set_ylabel("ratio")
    else:
        ax.plot(xs, [f["value"] for _, f in points], "o-", label=f"{name} ({first['unit']})")
        if any(f.get("baseline") is not None for _, f in points):
            ax.plot(
                xs,
                [f.get("baseline") for _, f in points],
                "s--",
                label=f"baseline: {first.get('baseline_name')}",
            )
        ax.set_ylabel(first["unit"])
    if target is not None:
        ax.axhline(target, color="red", linestyle=":", label=f"target {target:g}")
    ax.set_xticks(xs, labels, rotation=30, ha="right", fontsize=7)
    ax.set_title(f"{name}: full runs")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)


def _detail_panel(ax: Axes, latest: dict[str, Any], name: str) -> None:
    series = latest.get("series", {})
    figure = latest["figures"].get(name, {})
    if name == "charge_throughput_300ms" and series.get(name):
        for row in series[name]:
            ax.plot(row["per_second"], label=f"{row['layout']}: {row['charges_per_s']}/s")
        ax.axhline(100, color="red", linestyle=":", label="Stripe limit 100/s")
        ax.set_xlabel("second of the measured window")
        ax.set_ylabel("charges executed by Stripe")
        ax.set_title("latest run: charges per second, by worker layout")
    elif name == "failure_latency_p99" and series.get("failure_latency_ms"):
        values = series["failure_latency_ms"]
        ax.plot([100 * (i + 1) / len(values) for i in range(len(values))], values)
        ax.axhline(100, color="red", linestyle=":", label="target p99 100 ms")
        ax.set_xlabel("percentile")
        ax.set_ylabel("ms, due to publish_failed on the stream")
        ax.set_title("latest run: latency distribution")
    elif name == "webhook_ingest" and series.get(name):
        ingest = series[name]
        names = ["bare", "service", "paced"]
        ax.bar(
            [f"{n}\n{ingest[n]['rate']:.0f}/s" for n in names],
            [ingest[n]["p99_ms"] for n in names],
            label="p99 ms",
        )
        ax.axhline(25, color="red", linestyle=":", label="target p99 25 ms (paced)")
        ax.set_ylabel("p99 latency, ms")
        ax.set_title("latest run: rate and p99 (full load; paced at half rate)")
    elif name == "cpu_ms_per_publish" and figure.get("details", {}).get("per_process_ms"):
        per = figure["details"]["per_process_ms"]
        ax.barh(list(per), list(per.values()))
        ax.set_xlabel("CPU ms per publish")
        ax.set_title("latest run: CPU per publish, by process")
    else:
        value, baseline = figure.get("value"), figure.get("baseline")
        bars = {name: value}
        if baseline is not None:
            bars[str(figure.get("baseline_name"))] = baseline
        ax.bar(list(bars), [v or 0 for v in bars.values()])
        ax.set_ylabel(figure.get("unit", ""))
        ax.set_title("latest run")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)


def draw() -> list[Path]:
    runs = history()
    if not runs:
        return []
    latest = runs[-1]
    paths = []
    for name in latest["figures"]:
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.2))
        _history_panel(left, runs, name)
        _detail_panel(right, latest, name)
        fig.tight_layout()
        path = RESULTS / f"{name}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for drawn in draw():
        print(drawn)
