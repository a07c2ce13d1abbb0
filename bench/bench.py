"""Benchmark: the runbooks against the aws-cli scripts a user would write instead.

Paired and interleaved on one sandbox (reset before every run), median of N runs:
- ``runbook run 0N`` vs ``bench/sN_awscli.sh`` making the same writes (N = 1, 2, 3);
- the papermill floor (an empty notebook through the same runner) and ``runbook run --all``;
- AWS API calls per runbook, first run and re-run, against the minimum writes of the section;
- warm kernels (``run.pool``), in this process: the five runbooks of ``--all`` on a kernel each
  vs on one warm kernel, and N runs of 00 on a kernel each vs on one pool (the marginal cost
  per run that a fan-out over accounts pays);
- S0 over a sandbox Organization of 10 and 50 members, ``runbook run 00 --org`` vs an aws-cli
  loop, and the marginal cost per added account (bench/org_bench.py).

Writes BENCHMARKS.md. Run with ``make bench`` (not part of ``make test``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import org_bench  # noqa: E402  (bench/, this script's own folder)

from runbook_lib.core.sandbox import Sandbox, apply_sandbox_environ  # noqa: E402

BIN = Path(sys.executable).parent
#: the fewest writes each section needs on a fresh account (and 0 on a re-run): the bare
#: procedure, then what the crash-safe design adds on AWS, then what moto's gaps add on top
MINIMUM_WRITES = {
    "00": (0, 0, 0, "read-only"),
    "01": (
        5,
        6,
        7,
        "CreateGroup, AttachGroupPolicy, CreateUser (tags and the pending marker in the call), "
        "AddUserToGroup, CreateLoginProfile; + UntagUser once the CSV is delivered; + on moto "
        "UpdateLoginProfile (moto drops PasswordResetRequired on create)",
    ),
    "02": (
        1,
        3,
        3,
        "CreateAccessKey; + TagUser pending before and TagUser delivered after (tells a "
        "crashed run's orphan key from a key made elsewhere)",
    ),
    "03": (
        2,
        4,
        4,
        "CreateVirtualMFADevice, EnableMFADevice; + TagUser (the `iam-runbooks:S3` marker) before "
        "the first device write and UntagUser after EnableMFADevice (keeps two runs at once from "
        "replacing each other's device)",
    ),
}
#: notebooks whose S1 prerequisites the sandbox must hold first
NEEDS_ADMIN = {"02", "03"}

EMPTY_NOTEBOOK = {
    "cells": [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "p",
            "metadata": {"tags": ["parameters"]},
            "outputs": [],
            "source": 'target: str = "sandbox"  # target',
        },
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "x",
            "metadata": {},
            "outputs": [],
            "source": "1 + 1",
        },
    ],
    "metadata": {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}
    },
    "nbformat": 4,
    "nbformat_minor": 5,
}


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    seconds, _, proc = timed_cpu(cmd, env)
    return seconds, proc


def timed_cpu(
    cmd: list[str], env: dict[str, str]
) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds and the process: the CPU is user + sys of the command's whole
    process tree (the command, its kernel, every child it waited for: ``RUSAGE_CHILDREN``
    before and after). The sandbox serves from this process: its work is not counted, for the
    runbook and the aws-cli script alike."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    return seconds, cpu, proc


def runbook(*args: str) -> list[str]:
    return [str(BIN / "runbook"), "run", *args, "-f", str(ROOT / "parameters" / "sandbox.yaml")]


def last_record(out: Path, stem_prefix: str) -> dict[str, object]:
    runs = sorted(out.glob(f"*-{stem_prefix}*/run.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(runs[-1].read_text()) if runs else {}


def warm_vs_cold(box: Sandbox, scratch: Path, repeats: int) -> dict[str, list[float]]:
    """Paired, in this process: the ``--all`` notebooks and ``repeats`` runs of 00, each on a
    new kernel and on one ``KernelPool`` (pool start included). Seconds per variant."""
    from runbook_lib.run.engine import warm_kernels
    from runbook_lib.run.notebooks import all_notebooks, run_order, run_parameters
    from runbook_lib.run.pool import KernelPool
    from runbook_lib.run.runner import run_notebook

    books = run_order(all_notebooks())
    params = run_parameters([ROOT / "parameters" / "sandbox.yaml"], [], books)
    out = scratch / "runs-pool"
    times: dict[str, list[float]] = {}

    def sequence(key: str, names: list[str], warm: bool) -> None:
        box.reset()
        time.sleep(1.2)
        os.environ["RUNBOOK_SECRETS_DIR"] = tempfile.mkdtemp(dir=scratch)  # never a file twice
        start = time.perf_counter()
        with KernelPool(1, prestart=warm) as pool, warm_kernels(pool if warm else None):
            for index, name in enumerate(names):
                run_start = time.perf_counter()
                result = run_notebook(name, params, output_dir=out)
                if result.exit_code not in (0, 3, 4):
                    sys.exit(f"{key} {name} failed: {result.message}")
                which = "later" if index else "first"
                times.setdefault(f"{key} {which}", []).append(time.perf_counter() - run_start)
        times.setdefault(key, []).append(time.perf_counter() - start)

    for i in range(2):
        for warm in (True, False) if i % 2 == 0 else (False, True):
            tag = "warm" if warm else "cold"
            sequence(f"all {tag}", [str(b) for b in books], warm)
            sequence(f"00 x{repeats} {tag}", ["00"] * repeats, warm)
    return times


def pool_lines(pooled: dict[str, list[float]], repeats: int) -> list[str]:
    """The warm-kernel section of BENCHMARKS.md."""
    med = {k: statistics.median(v) for k, v in pooled.items()}
    n = f"00 x{repeats}"
    raw = "; ".join(
        f"{k}: " + ", ".join(f"{v:.2f}" for v in vals)
        for k, vals in sorted(pooled.items())
        if not k.endswith(("first", "later"))
    )
    return [
        "## Warm kernels (`run.pool`)",
        "",
        "In the benchmark's own process, through `run_notebook` (the runner: leak guard, HTML "
        "export and run record included; process start and `import papermill` excluded), paired "
        "and interleaved, 2 rounds each, on a reset sandbox. *Cold*: a new kernel per run, as "
        "before; *warm*: one `KernelPool(1)` (its start included), the kernel reset between "
        "runs (`core.reset.reset_kernel_state`) and checked for surviving secrets.",
        "",
        "| job | a kernel per run (s) | one warm kernel (s) | warm / cold |",
        "|---|---|---|---|",
        f"| the `--all` runbooks (00, 04, 01, 02, 03) | {med['all cold']:.2f} | "
        f"{med['all warm']:.2f} | {med['all warm'] / med['all cold']:.2f}× |",
        f"| {repeats} runs of 00 | {med[n + ' cold']:.2f} | {med[n + ' warm']:.2f} | "
        f"{med[n + ' warm'] / med[n + ' cold']:.2f}× |",
        "",
        f"- one run of 00, median: cold {med[n + ' cold later']:.2f} s; warm, first run of a "
        f"pool {med[n + ' warm first']:.2f} s, every later run {med[n + ' warm later']:.2f} s "
        "(the marginal cost per run a fan-out over accounts pays per kernel)",
        f"- raw (s): {raw}",
        "",
    ]


#: sections other scripts write into BENCHMARKS.md (``make bench-org``, bench/airflow_org.py):
#: kept as they are when this script rewrites the file
KEPT = (
    ("<!-- org-scale: begin", "<!-- org-scale: end -->"),
    ("<!-- airflow-org: begin", "<!-- airflow-org: end -->"),
)


def kept_sections(path: Path) -> str:
    """The ``KEPT`` sections of ``path`` (each with its markers), ``""`` if none."""
    text = path.read_text("utf-8") if path.exists() else ""
    out = []
    for begin, end in KEPT:
        if begin in text and end in text:
            out.append("\n" + text[text.index(begin) : text.index(end) + len(end)] + "\n")
    return "".join(out)


def single_lines(
    args: argparse.Namespace,
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    calls: dict[str, dict[str, object]],
    phases: dict[str, list[tuple[float, dict[str, float]]]],
    load_before: float,
) -> list[str]:
    """BENCHMARKS.md of ``--single-only``: the single runs, without the fan-out sections."""
    head, tail = single_parts(args, times, cpu, calls, phases, load_before, os.getloadavg()[1])
    return [*head, *tail]


def single_parts(
    args: argparse.Namespace,
    times: dict[str, list[float]],
    cpu: dict[str, list[float]],
    calls: dict[str, dict[str, object]],
    phases: dict[str, list[tuple[float, dict[str, float]]]],
    load_before: float,
    load_org: float,
) -> tuple[list[str], list[str]]:
    """The single-run sections of BENCHMARKS.md: before and after the fan-out's."""
    med = {k: statistics.median(v) for k, v in times.items()}
    for key, values in sorted(times.items()):
        print(f"{key}: " + " ".join(f"{v:.2f}" for v in values), file=sys.stderr)
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by `make bench` "
        f"(bench/bench.py, {args.runs} paired, interleaved runs; medians) on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}.",
        "Every run starts on a reset sandbox (moto on 127.0.0.1); times are wall-clock seconds of "
        "the whole command, process start included. Load average (5 min, `os.getloadavg`) at the "
        f"start / before the Organization runs / at the end: {load_before:.1f} / {load_org:.1f} "
        f"/ {os.getloadavg()[1]:.1f}"
        + (
            ": above the core count, other work shared the machine (absolute seconds inflated; "
            "the paired ratios are what to compare)."
            if max(load_before, load_org) > (os.cpu_count() or 1)
            else "."
        ),
        "",
        "Raw times (s), in run order: "
        + "; ".join(
            f"{k}: " + ", ".join(f"{v:.2f}" for v in vals) for k, vals in sorted(times.items())
        ),
        "",
        "Raw CPU (s, user + sys of each command's process tree: the command, its kernel, its "
        "aws CLI processes; the sandbox's own work is not in it): "
        + "; ".join(
            f"{k}: " + ", ".join(f"{v:.2f}" for v in vals) for k, vals in sorted(cpu.items())
        ),
        "",
        "| job | runbook (s) | aws-cli script (s) | ratio | target | met? | runbook CPU (s) "
        "| aws-cli CPU (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    cpu_med = {k: statistics.median(v) for k, v in cpu.items()}
    for n in ("01", "02", "03"):
        ratio = med[f"run {n}"] / med[f"awscli {n}"]
        lines.append(
            f"| S{n[1]} | {med[f'run {n}']:.2f} | {med[f'awscli {n}']:.2f} | "
            f"{ratio:.2f}× | ≤ 1.0× | {'yes' if ratio <= 1.0 else 'no'} | "
            f"{cpu_med[f'run {n}']:.2f} | {cpu_med[f'awscli {n}']:.2f} |"
        )
    lines.append(
        f"| command start (`runbook run 02 -p user_name 'bad name!'`: imports and parameter "
        f"checks, refused before any kernel, exit 2) | {med['start']:.2f} | — | — | ≤ 0.3 s | "
        f"{'yes' if med['start'] <= 0.3 else 'no'} | {cpu_med['start']:.2f} | — |"
    )
    lines += [
        "",
        f"- papermill floor (an empty notebook through `runbook run`): {med['floor']:.2f} s",
        f"- `runbook run --all` (00, 04, 01, 02, 03 on one warm kernel): {med['all']:.2f} s = "
        f"{med['all'] / (5 * med['floor']):.2f}× five floors (target ≤ 1.5×)",
        "",
    ]
    if args.single_only:  # the fan-out sections of the last full run stay below, as they were
        lines[2] += " `--single-only`: the single runs only (no Organization runs: the middle load "
        lines[2] += "figure is the start's)."
    tail = [
        "## AWS API calls per runbook",
        "",
        "| runbook | first run reads | first run writes | procedure minimum | crash-safe minimum "
        "(AWS / moto) | re-run reads | re-run writes | which writes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for n in ("01", "02", "03"):
        first, rerun = calls[n]["first"], calls[n]["rerun"]
        bare, safe_aws, safe_moto, why = MINIMUM_WRITES[n]
        tail.append(
            f"| {n} | {first.get('reads')} | {first.get('writes')} | {bare} | "
            f"{safe_aws} / {safe_moto} | {rerun.get('reads')} | {rerun.get('writes')} | {why} |"
        )
    tail += [
        "",
        "## Where the time goes (medians, from each run.json's `timings`)",
        "",
        "| runbook | whole command | process start, imports, parameter checks | kernel start "
        "+ cells | HTML export (none by default since issue 24) |",
        "|---|---|---|---|---|",
    ]
    for n, rows in sorted(phases.items()):
        whole = statistics.median(r[0] for r in rows)
        execute = statistics.median(r[1].get("execute", 0.0) for r in rows)
        export = statistics.median(r[1].get("html_export", 0.0) for r in rows)
        tail.append(
            f"| {n} | {whole:.2f} | {whole - execute - export:.2f} | {execute:.2f} | {export:.2f} |"
        )
    tail += [
        "",
        "Goal ≤ 1.0× for each single-account job: what is compared is the whole "
        "command, process start included, against a script making the same writes and nothing "
        "else (S1: 5 CLI calls, S2: 1, S3: 2 plus oathtool). "
        "The aws-cli scripts start one CLI process per call (≈ 0.5–1.5 s each here); the "
        "runbook pays "
        "once for a Python process that imports papermill, a kernel start, the kernel's imports "
        "of boto3 and the library (the HTML export only with `--html each` since issue 24). That "
        "fixed cost is the papermill floor, "
        "so few-write jobs (S2, S3) stay above the script, while S1's five writes (plus the reads "
        "that make it idempotent and the Verify step) come out level. A single `runbook run "
        "NAME` still starts its own kernel: warm kernels pay off from the second run on, in "
        "`--all` and in a fan-out over accounts (the marginal cost per run above). What would "
        "close the gap for a single S2/S3 run: a long-lived runner process that keeps a warm "
        "pool between commands (each command then costs its cells and the reset).",
        "",
    ]
    return lines, tail


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    parser.add_argument("--repeats", type=int, default=10, help="runs of 00 per pool (warm)")
    parser.add_argument("--org-runs", type=int, default=2, help="paired fan-out runs per size")
    parser.add_argument(
        "--org-sizes", default="10,50", help="Organization sizes (members), smallest first"
    )
    parser.add_argument(
        "--single-only",
        action="store_true",
        help="only the single runs (S1-S3 vs aws-cli, the floor, --all, the command's start)",
    )
    args = parser.parse_args()
    org_bench.SIZES = tuple(int(n) for n in args.org_sizes.split(","))

    load_before = os.getloadavg()[1]
    box = Sandbox().start()
    apply_sandbox_environ(box.url)
    env = dict(os.environ, AWS_CLI=str(BIN / "aws"), PATH=f"{BIN}:{os.environ['PATH']}")
    scratch = Path(tempfile.mkdtemp(prefix="runbook-bench-"))
    env["RUNBOOK_SECRETS_DIR"] = str(scratch / "secrets")
    out = scratch / "runs"
    empty = scratch / "99_empty.ipynb"
    empty.write_text(json.dumps(EMPTY_NOTEBOOK))
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    calls: dict[str, dict[str, object]] = {}
    phases: dict[str, list[tuple[float, dict[str, float]]]] = {}

    def record(key: str, seconds: float, proc: subprocess.CompletedProcess[str]) -> None:
        if proc.returncode not in (0, 3):
            sys.exit(f"{key} failed ({proc.returncode}): {proc.stderr.strip()[-400:]}")
        times.setdefault(key, []).append(seconds)

    def fresh(prepare_admin: bool) -> None:
        box.reset()
        time.sleep(1.2)  # let the warm-up build moto's IAM backend, as in a long-lived sandbox
        if prepare_admin:
            prep = dict(env, RUNBOOK_SECRETS_DIR=tempfile.mkdtemp(dir=scratch))
            subprocess.run(
                runbook("01", "--output-dir", str(out)),
                env=prep,
                check=True,
                capture_output=True,
                cwd=ROOT,
            )

    for i in range(args.runs):
        for n in ("01", "02", "03"):
            for variant in ("runbook", "awscli") if i % 2 == 0 else ("awscli", "runbook"):
                fresh(n in NEEDS_ADMIN)
                secrets = scratch / f"secrets-{i}-{n}-{variant}"
                secrets.mkdir()
                env["RUNBOOK_SECRETS_DIR"] = env["OUT_DIR"] = str(secrets)
                if variant == "runbook":
                    seconds, used, proc = timed_cpu(runbook(n, "--output-dir", str(out)), env)
                    record(f"run {n}", seconds, proc)
                    cpu.setdefault(f"run {n}", []).append(used)
                    calls.setdefault(n, {})["first"] = last_record(out, n)
                    phases.setdefault(n, []).append(
                        (seconds, calls[n]["first"].get("timings", {}))  # type: ignore[arg-type]
                    )
                    _, proc = timed(runbook(n, "--output-dir", str(out)), env)
                    calls[n]["rerun"] = last_record(out, n)
                else:
                    script = ["bash", str(ROOT / "bench" / f"s{n[1]}_awscli.sh")]
                    seconds, used, proc = timed_cpu(script, env)
                    record(f"awscli {n}", seconds, proc)
                    cpu.setdefault(f"awscli {n}", []).append(used)
        # the command's own start: imports and parameter checks, refused before any kernel
        seconds, used, proc = timed_cpu(
            [str(BIN / "runbook"), "run", "02", "-p", "user_name", "bad name!"], env
        )
        if proc.returncode != 2:
            sys.exit(f"the precheck refusal exited {proc.returncode}: {proc.stderr[-400:]}")
        times.setdefault("start", []).append(seconds)
        cpu.setdefault("start", []).append(used)
        seconds, proc = timed(
            [str(BIN / "runbook"), "run", str(empty), "--output-dir", str(out)], env
        )
        record("floor", seconds, proc)
        fresh(False)
        env["RUNBOOK_SECRETS_DIR"] = str(scratch / f"secrets-all-{i}")
        seconds, proc = timed([*runbook("--all"), "--output-dir", str(out)], env)
        record("all", seconds, proc)
        print(f"round {i + 1}/{args.runs} done", file=sys.stderr)
    if args.single_only:
        box.stop()
        args.output.write_text(
            "\n".join(single_lines(args, times, cpu, calls, phases, load_before))
            + "\n"
            + kept_sections(args.output)
        )
        print(args.output.read_text("utf-8"))
        return 0
    pooled = warm_vs_cold(box, scratch, args.repeats)
    load_org = os.getloadavg()[1]
    org_times, org_calls = org_bench.org_rounds(box, env, scratch, args.org_runs, timed)
    org_pooled = org_bench.warm_vs_cold_org(box, scratch)
    box.stop()

    head, tail = single_parts(args, times, cpu, calls, phases, load_before, load_org)
    lines = [
        *head,
        *org_bench.org_lines(org_times, org_calls, org_pooled, args.org_runs),
        *pool_lines(pooled, args.repeats),
        *tail,
    ]
    args.output.write_text("\n".join(lines) + "\n" + kept_sections(args.output))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
