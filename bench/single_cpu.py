"""CPU and wall time of single runs (``runbook run 02`` / ``03``), two code trees paired.

Each tree is a checkout of this project (``--tree before=/path --tree after=/path``): its
``runbook`` command runs with ``PYTHONPATH`` set to the tree, on one sandbox held by this
process (reset, then S1 run first, before every measured run). The CPU figure is user + sys of
the whole process tree of the command (the command, its kernel, every child it waited for:
``RUSAGE_CHILDREN`` around the run); the sandbox's own work is in this process and not counted,
for any variant. Rounds are interleaved (the order swaps every round); medians are printed.

Also: the command's start, measured as the precheck refusal path (``runbook run 02 -p
user_name 'bad name!'``: imports and parameter checks, exit 2 before any kernel).

Usage: python bench/single_cpu.py --tree before=/tmp/base --tree after=. --rounds 5
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runbook_lib.core.sandbox import Sandbox, apply_sandbox_environ  # noqa: E402

PYTHON = sys.executable


def measured(
    cmd: list[str], env: dict[str, str], cwd: Path
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (user + sys of the process tree) and the finished process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=cwd)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc


def command(tree: Path, *args: str) -> list[str]:
    """``runbook ARGS`` of ``tree`` (its own runbook_lib on PYTHONPATH)."""
    return [PYTHON, "-m", "runbook_lib.interfaces.cli", *args]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tree", action="append", required=True, help="NAME=PATH")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--notebooks", default="02,03")
    args = parser.parse_args()
    trees = {k: Path(v).resolve() for k, v in (t.split("=", 1) for t in args.tree)}
    box = Sandbox().start()
    apply_sandbox_environ(box.url)
    scratch = Path(tempfile.mkdtemp(prefix="runbook-cpu-"))
    params = str(ROOT / "parameters" / "sandbox.yaml")
    results: dict[str, list[tuple[float, float]]] = {}
    load = [os.getloadavg()[1]]
    names = list(trees)
    for i in range(args.rounds):
        order = names if i % 2 == 0 else names[::-1]
        for n in args.notebooks.split(","):
            for name in order:
                tree = trees[name]
                env = dict(os.environ, PYTHONPATH=str(tree))
                env["RUNBOOK_SECRETS_DIR"] = tempfile.mkdtemp(dir=scratch)
                out = str(scratch / "runs")
                box.reset()
                if n in ("02", "03"):
                    prep = command(tree, "run", "01", "-f", params, "--output-dir", out)
                    subprocess.run(prep, env=env, check=True, capture_output=True, cwd=tree)
                run = command(tree, "run", n, "-f", params, "--output-dir", out)
                wall, cpu, proc = measured(run, env, tree)
                if proc.returncode not in (0, 3):
                    sys.exit(f"{name} {n}: exit {proc.returncode}: {proc.stderr[-400:]}")
                results.setdefault(f"{name} run {n}", []).append((wall, cpu))
            for name in order:
                tree = trees[name]
                env = dict(os.environ, PYTHONPATH=str(tree))
                bad = command(tree, "run", n, "-p", "user_name", "bad name!")
                wall, cpu, proc = measured(bad, env, tree)
                if proc.returncode != 2:
                    sys.exit(f"{name} precheck {n}: exit {proc.returncode}: {proc.stderr[-400:]}")
                results.setdefault(f"{name} start {n}", []).append((wall, cpu))
        load.append(os.getloadavg()[1])
        print(f"round {i + 1}/{args.rounds} done", file=sys.stderr)
    box.stop()
    print(f"load average (5 min) per round: {' '.join(f'{x:.1f}' for x in load)}")
    print("| job | wall median (s) | CPU median (s) | raw wall | raw CPU |")
    print("|---|---|---|---|---|")
    for key, rows in sorted(results.items()):
        walls, cpus = [r[0] for r in rows], [r[1] for r in rows]
        print(
            f"| {key} | {statistics.median(walls):.2f} | {statistics.median(cpus):.2f} | "
            + ", ".join(f"{w:.2f}" for w in walls)
            + " | "
            + ", ".join(f"{c:.2f}" for c in cpus)
            + " |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
