"""Markdown tables of a results file, for the README's Benchmarks section and docs/workers.md:
`python -m bench.report [bench/results/full-....json]` (default: latest.json)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from bench.results import RESULTS


def _num(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def figures_table(document: dict[str, Any]) -> str:
    rows = [
        "| figure | value | baseline | ratio | target | met |",
        "|---|---|---|---|---|---|",
    ]
    for name, f in document["figures"].items():
        baseline = (
            f"{_num(f['baseline'])} ({f['baseline_name']})" if f["baseline"] is not None else "-"
        )
        met = {True: "yes", False: "**no**", None: "-"}[f["met"]]
        rows.append(
            f"| `{name}` | {_num(f['value'])} {f['unit']} | {baseline} | "
            f"{_num(f['ratio'], 2)} | {f['target'] or 'reported'} | {met} |"
        )
    return "\n".join(rows)


def layouts_table(document: dict[str, Any]) -> str:
    rows = [
        "| workers | charges/s | bound | ratio | 429s | worker cores | machine busy | "
        "RSS MB | DB connections (peak) | queued (peak) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in document.get("series", {}).get("charge_throughput_300ms", []):
        cores = row.get("cores_busy", {})
        worker_cores = sum(v for k, v in cores.items() if k.startswith("worker"))
        rows.append(
            f"| {row['layout']} | {_num(row['charges_per_s'])} | {_num(row['bound'])} | "
            f"{_num(row['ratio'], 2)} | {row['stripe_429s']} | {worker_cores:.2f} | "
            f"{_num(row.get('machine_busy'), 2)} | "
            f"{', '.join(_num(x) for x in row['worker_rss_mb'])} | "
            f"{row['db_connections_peak']} | {row['queue_peak']} |"
        )
    return "\n".join(rows)


def main(argv: list[str]) -> None:
    path = Path(argv[0]) if argv else RESULTS / "latest.json"
    document = json.loads(path.read_text())
    machine = document["machine"]
    print(
        f"{document['mode']} run of {document['started_at']}, {machine['cores']} cores "
        f"({machine['cpu']}), load average {machine['loadavg_before'][0]} at the start, "
        f"{machine['loadavg_after'][0]} at the end\n"
    )
    print(figures_table(document))
    print()
    print(layouts_table(document))


if __name__ == "__main__":
    main(sys.argv[1:])
