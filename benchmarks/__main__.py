"""``python -m benchmarks [--quick] [--only NAME ...] [--json PATH]``: run every benchmark.

Benchmarks are the modules ``benchmarks/bench_*.py``, each with ``run(quick) -> list[Figure]``;
they run in name order and each prints its figures as it finishes, then a summary table
(markdown, for benchmarks/README.md) is printed. Exit code 0 even when a goal is missed (the
table says so); 2 for bad usage.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

from benchmarks.common import Figure, machine

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    """Names (without the ``bench_`` prefix) of the benchmark modules, sorted."""
    return sorted(
        m.name.removeprefix("bench_")
        for m in pkgutil.iter_modules([str(HERE)])
        if m.name.startswith("bench_")
    )


def table(figures: list[Figure]) -> str:
    lines = [
        "| figure | measured (wall-clock) | goal | met? | in CPU time | met in CPU time? |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        cpu_met = "-" if f.cpu_met is None else "yes" if f.cpu_met else "no"
        lines.append(
            f"| {f.name} | {f.measured} | {f.goal}{f.unit} | {'yes' if f.met else 'NO'} "
            f"| {f.cpu_measured} | {cpu_met} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    names = discover()
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--only", nargs="+", choices=names, metavar="NAME", help=", ".join(names))
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    args = parser.parse_args(argv)

    info = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in info.items()), flush=True)
    figures: list[Figure] = []
    started = time.perf_counter()
    for name in args.only or names:
        module = importlib.import_module(f"benchmarks.bench_{name}")
        print(f"\n== {name} ({'quick' if args.quick else 'full'})", flush=True)
        t0 = time.perf_counter()
        for fig in module.run(args.quick):
            print(fig.show(), flush=True)
            figures.append(fig)
        print(f"   ({time.perf_counter() - t0:.0f} s)", flush=True)
    print(f"\nall benchmarks: {time.perf_counter() - started:.0f} s", flush=True)
    print("\n" + table(figures))
    if args.json:
        from mlcicd.files import atomic_write_json

        payload = {
            "machine": machine(),
            "quick": args.quick,
            "figures": [f.to_dict() for f in figures],
        }
        atomic_write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    sys.exit(main())
