"""`python -m chaos` (what `make chaos` runs): the full run, or `--short` for CI's size.

Prints the figures, writes them to `chaos/results/latest.json`, and exits 1 when an invariant
is past its bound or a fault was not injected.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chaos.config import FULL, SHORT
from chaos.run import passed, render, run_chaos, write_results

RESULTS = Path(__file__).parent / "results" / "latest.json"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--short", action="store_true", help="CI's size (about a minute)")
    parser.add_argument("--publishes", type=int, help="new campaigns to publish")
    parser.add_argument("--rate", type=float, help="publish calls per second")
    parser.add_argument("--seed", type=int)
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the figures go")
    parser.add_argument(
        "--keep", action="store_true", help="keep the database and the logs after the run"
    )
    args = parser.parse_args(argv)
    config = SHORT if args.short else FULL
    overrides = {
        name: value
        for name, value in (
            ("publishes", args.publishes),
            ("publish_rate", args.rate),
            ("seed", args.seed),
            ("drop_database_after", False if args.keep else None),
        )
        if value is not None
    }
    config = config.with_overrides(**overrides)
    figures = run_chaos(config)
    write_results(figures, args.out)
    print(render(figures))
    print(f"figures written to {args.out}")
    return 0 if passed(figures) else 1


if __name__ == "__main__":
    sys.exit(main())
