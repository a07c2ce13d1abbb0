"""Benchmark: S0 over large sandbox Organizations (issue 24), ``make bench-org``.

``runbook run 00 --org --member-accounts N`` as a user types it (its own sandbox: the start of
an N-member Organization is in the time and the memory), at N = 100 and 1000 by default:
- wall seconds of the whole command, peak RSS of its whole process tree (runner with its
  sandbox, kernels; sampled every 0.25 s with psutil), CPU seconds of the tree;
- that the summary has N + 1 rows, each account once, and every account's record is complete
  (``account.json`` finished, ``run.json`` with the account and an exit code);
- the marginal cost per added account, (t(large) − t(small)) / (large − small);
- optionally (``--baseline DIR``: a checkout of the code before issue 24), the same command on
  that code at the small size, paired and interleaved with this code's (the order swaps).

Writes (or replaces) the "S0 over large Organizations" section of BENCHMARKS.md; the load
average is stated with the figures: this machine's 2 cores are shared.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
BEGIN = "<!-- org-scale: begin (bench/org_scale.py) -->"
END = "<!-- org-scale: end -->"


def run_org(code: Path, members: int, out: Path, *extra: str) -> dict[str, Any]:
    """One ``runbook run 00 --org --member-accounts N`` on the library in ``code``: wall, peak
    RSS and CPU of the process tree, exit code, the fan-out folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RUNBOOK_"))}
    env["PYTHONPATH"] = str(code)
    env["RUNBOOK_SECRETS_DIR"] = tempfile.mkdtemp(prefix="runbook-bench-secrets-")
    cmd = [sys.executable, "-m", "runbook_lib.interfaces.cli", "run", "00", "--org"]
    cmd += ["--member-accounts", str(members), "--output-dir", str(out), *extra]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd, env=env, cwd=code, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    root = psutil.Process(proc.pid)
    peak, cpu = 0, 0.0
    seen: dict[int, float] = {}
    while proc.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            break
        rss = 0
        for p in tree:
            try:
                rss += p.memory_info().rss
                t = p.cpu_times()
                seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        peak = max(peak, rss)
        time.sleep(0.25)
    stdout, stderr = proc.communicate()
    wall = time.perf_counter() - start
    cpu = sum(seen.values())
    folders = sorted(p for p in out.iterdir() if p.is_dir())
    return {
        "members": members,
        "wall": wall,
        "peak_mib": peak / 2**20,
        "cpu": cpu,
        "code": proc.returncode,
        "folder": folders[-1] if folders else None,
        "load": load,
        "tail": (stdout + stderr)[-800:],
    }


def check_complete(res: dict[str, Any]) -> str:
    """``""`` when the summary has every account once and each record is complete."""
    folder: Path | None = res["folder"]
    if folder is None or not (folder / "summary.json").is_file():
        return "no summary"
    rows = json.loads((folder / "summary.json").read_text("utf-8"))["rows"]
    ids = [r["account_id"] for r in rows]
    if len(ids) != res["members"] + 1 or len(set(ids)) != len(ids):
        return f"{len(ids)} rows ({len(set(ids))} accounts) for {res['members'] + 1}"
    for row in rows:
        marker = folder / row["account_id"] / "account.json"
        finished = marker.is_file() and json.loads(marker.read_text("utf-8")).get("finished")
        if finished is not True:
            return f"{row['account_id']}: no finished record"
        record = json.loads((folder / row["run_dir"] / "run.json").read_text("utf-8"))
        if record.get("account_id") != row["account_id"] or record.get("exit_code") is None:
            return f"{row['account_id']}: run.json incomplete"
    return ""


def section(results: list[dict[str, Any]], base: list[dict[str, Any]], sizes: list[int]) -> str:
    by = {n: [r for r in results if r["members"] == n] for n in sizes}
    med = {n: statistics.median(r["wall"] for r in by[n]) for n in sizes if by[n]}
    small, large = sizes[0], sizes[-1]
    lines = [
        BEGIN,
        "## S0 over large Organizations (`make bench-org`)",
        "",
        f"Measured {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by bench/org_scale.py on "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}. "
        "Each row is one `runbook run 00 --org --member-accounts N` as typed (its own sandbox: "
        "the start of the Organization is included; default concurrency and `--html none`); "
        "peak RSS and CPU are of the whole process tree (runner, kernels, and the sandbox: "
        "a child process of the runner since issue 24's second pass, a thread of it before). "
        "Load average (1 min) at each start is in the table; it includes the run of the row "
        "before, so a figure near or above the 2 cores means work shared the machine.",
        "",
        "| code | accounts | wall (s) | per account (s) | peak RSS, tree (MiB) | CPU, tree (s) "
        "| exit | load | summary complete |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in [*base, *results]:
        n = r["members"] + 1
        lines.append(
            f"| {r['label']} | {n} | {r['wall']:.1f} | {r['wall'] / n:.3f} | {r['peak_mib']:.0f} "
            f"| {r['cpu']:.1f} | {r['code']} | {r['load']:.1f} | {r['complete'] or 'yes'} |"
        )
    lines.append("")
    if small in med and large in med and large > small:
        marginal = (med[large] - med[small]) / (large - small)
        ok = "met" if marginal <= 0.25 else "not met"
        lines.append(
            f"- marginal cost per added account, (t({large}) − t({small})) / {large - small}: "
            f"{marginal:.3f} s (goal ≤ 0.25 s: {ok})"
        )
    if large in med:
        ok = "met" if med[large] <= 300 else "not met"
        peak = max(r["peak_mib"] for r in by[large])
        ok_mem = "met" if peak <= 2048 else "not met"
        lines.append(
            f"- {large + 1} accounts: {med[large]:.0f} s wall (goal ≤ 300 s: {ok}), peak "
            f"{peak:.0f} MiB (goal ≤ 2048 MiB: {ok_mem})"
        )
    if base:
        b = statistics.median(r["wall"] for r in base)
        a = statistics.median(r["wall"] for r in by[small])
        lines.append(
            f"- before issue 24 vs now at {small + 1} accounts, paired and interleaved: "
            f"{b:.1f} s vs {a:.1f} s ({a / b:.2f}×)"
        )
    lines += ["", END]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="100,1000", help="members, smallest first")
    parser.add_argument("--runs", type=int, default=1, help="runs per size")
    parser.add_argument("--baseline", type=Path, help="a checkout of the code before issue 24")
    parser.add_argument("--baseline-runs", type=int, default=2)
    parser.add_argument("--output", type=Path, default=ROOT / "BENCHMARKS.md")
    args = parser.parse_args()
    sizes = [int(n) for n in args.sizes.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="runbook-bench-org-"))
    results: list[dict[str, Any]] = []
    base: list[dict[str, Any]] = []

    def one(code: Path, members: int, label: str, into: list[dict[str, Any]]) -> None:
        out = scratch / f"{label}-{members}-{len(into)}"
        out.mkdir()
        res = run_org(code, members, out, *(["--html", "none"] if code == ROOT else []))
        res["label"] = label
        res["complete"] = check_complete(res) if code == ROOT else ""
        if code != ROOT and res["folder"] is not None:
            rows = json.loads((res["folder"] / "summary.json").read_text("utf-8"))["rows"]
            res["complete"] = "" if len(rows) == members + 1 else f"{len(rows)} rows"
        into.append(res)
        print(
            f"{label} {members}: {res['wall']:.1f} s, {res['peak_mib']:.0f} MiB, "
            f"cpu {res['cpu']:.1f} s, exit {res['code']}, load {res['load']:.1f}, "
            f"{res['complete'] or 'complete'}",
            file=sys.stderr,
        )

    if args.baseline:  # paired with this code at the small size, the order swapping
        for i in range(args.baseline_runs):
            pair = [(args.baseline, "before"), (ROOT, "now")]
            for code, label in pair if i % 2 == 0 else pair[::-1]:
                one(code, sizes[0], label, base if label == "before" else results)
    for n in sizes:
        for _ in range(args.runs if n != sizes[0] or not args.baseline else 0):
            one(ROOT, n, "now", results)
    text = args.output.read_text("utf-8") if args.output.exists() else "# Benchmarks\n"
    new = section(results, base, sizes)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + new + text[text.index(END) + len(END) + 1 :]
    else:
        text = text.rstrip("\n") + "\n\n" + new
    args.output.write_text(text, "utf-8")
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
