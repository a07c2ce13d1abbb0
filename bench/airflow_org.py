"""Benchmark: the Airflow DAG against the CLI over the same sandbox Organization (issue 24).

One sandbox of N members (default 50) in this process; a throw-away Airflow (SQLite, as
tests/airflow) whose ``airflow db migrate`` is not timed. Paired and interleaved (the order
swaps every round): ``airflow dags test iam_runbooks_s0`` (one task per chunk of
``chunk_size`` accounts, each on one warm pool of 2 kernels, HTML per account) vs ``runbook run 00
--org --max-concurrency 2 --html each`` (the same kernels and exports). Prints a Markdown
section; ``--output`` appends or replaces it in BENCHMARKS.md. Needs ``make airflow-setup``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from runbook_lib.core.sandbox import Sandbox  # noqa: E402

AIRFLOW = ROOT / ".venv-airflow" / "bin" / "airflow"
BEGIN = "<!-- airflow-org: begin (bench/airflow_org.py) -->"
END = "<!-- airflow-org: end -->"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--chunk-size", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--output", type=Path)
    parser.add_argument("--airflow", type=Path, default=AIRFLOW, help="the airflow command")
    args = parser.parse_args()
    box = Sandbox(member_accounts=args.members).start()
    home = Path(tempfile.mkdtemp(prefix="runbook-bench-airflow-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUNBOOK_"))}
    env.update(box.environ())
    env.update(
        PYTHONPATH=str(ROOT),
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(ROOT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        IAM_RUNBOOKS_RETRIES="0",
        AIRFLOW_VAR_IAM_RUNBOOKS=json.dumps({"output_dir": str(home / "runs")}),
        RUNBOOK_SECRETS_DIR=str(home / "secrets"),
    )
    subprocess.run([str(args.airflow), "db", "migrate"], env=env, check=True, capture_output=True)
    conf = json.dumps({"chunk_size": args.chunk_size})
    cli = [sys.executable, "-m", "runbook_lib.interfaces.cli", "run", "00", "--org"]
    cli += ["--max-concurrency", "2", "--html", "each", "--output-dir", str(home / "cli")]
    times: dict[str, list[float]] = {"airflow": [], "cli": []}
    loads = []
    for i in range(args.rounds):
        order = ["airflow", "cli"] if i % 2 == 0 else ["cli", "airflow"]
        for what in order:
            loads.append(os.getloadavg()[0])
            day = f"2026-11-{i + 1:02d}"
            cmd = [str(args.airflow), "dags", "test", "iam_runbooks_s0", day, "--conf", conf]
            start = time.perf_counter()
            proc = subprocess.run(
                cmd if what == "airflow" else cli, env=env, capture_output=True, text=True
            )
            seconds = time.perf_counter() - start
            if proc.returncode not in (0, 4):
                sys.exit(
                    f"{what} failed ({proc.returncode}): {(proc.stdout + proc.stderr)[-1500:]}"
                )
            times[what].append(seconds)
            print(f"{what}: {seconds:.1f} s", file=sys.stderr)
    box.stop()
    a, c = statistics.median(times["airflow"]), statistics.median(times["cli"])
    n = args.members + 1
    text = "\n".join(
        [
            BEGIN,
            "## The Airflow DAG against the CLI (`bench/airflow_org.py`)",
            "",
            f"S0 over a {args.members}-member sandbox Organization ({n} accounts), "
            f"{args.rounds} paired round(s), interleaved; load average (1 min) at the starts: "
            + ", ".join(f"{x:.1f}" for x in loads)
            + f". `airflow dags test iam_runbooks_s0` with `chunk_size` {args.chunk_size} "
            f"({-(-n // args.chunk_size)} mapped task(s), each one warm pool of 2 kernels) vs "
            "`runbook run 00 --org --max-concurrency 2 --html each` on the same sandbox; the "
            "Airflow figure includes the `airflow` command's own start (≈ 10-20 s here), not "
            "`db migrate`.",
            "",
            "| front end | wall (s) | per account (s) |",
            "|---|---|---|",
            f"| Airflow (`dags test`) | {a:.1f} | {a / n:.2f} |",
            f"| CLI (`runbook run 00 --org`) | {c:.1f} | {c / n:.2f} |",
            "",
            f"- Airflow / CLI: {a / c:.2f}×; raw (s): airflow "
            + ", ".join(f"{x:.1f}" for x in times["airflow"])
            + "; cli "
            + ", ".join(f"{x:.1f}" for x in times["cli"]),
            "",
            END,
        ]
    )
    print(text)
    if args.output:
        old = args.output.read_text("utf-8") if args.output.exists() else "# Benchmarks\n"
        if BEGIN in old and END in old:
            old = old[: old.index(BEGIN)] + text + old[old.index(END) + len(END) :]
        else:
            old = old.rstrip("\n") + "\n\n" + text + "\n"
        args.output.write_text(old, "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
