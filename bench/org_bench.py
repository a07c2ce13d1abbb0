"""Benchmark: S0 over a sandbox Organization, the fan-out against an aws-cli loop.

On the benchmark's one moto server, reset before every run and made an Organization of
``members`` member accounts again (seeded: the same IDs every time):
- ``runbook run 00 --org --max-concurrency 2`` (warm kernels, ``run.pool``) vs
  ``bench/s0_org_awscli.sh`` (the same calls per account, 2 accounts at a time), at 10 and 50
  members, paired and interleaved (the order swaps every round);
- the marginal cost per added account, ``(t50 - t10) / 40`` of the runbook's medians;
- in this process, ``run_fanout`` at 10 members on warm kernels vs a kernel per account
  (``warm=False``), paired, for contrast.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: the calls bench/s0_org_awscli.sh makes in each account (after AssumeRole), as run.json names
#: them; checked against the runbook's own record after each run
AWSCLI_CALLS = {
    "sts:GetCallerIdentity": 1,
    "iam:GenerateCredentialReport": 2,
    "iam:GetCredentialReport": 1,
    "iam:GetAccountSummary": 1,
    "iam:GetAccountAuthorizationDetails": 1,
    "iam:GetAccountPasswordPolicy": 1,
    "iam:ListVirtualMFADevices": 1,
    "organizations:DescribeOrganization": 1,
    "sso-admin:ListInstances": 1,
    "sso-admin:ListPermissionSets": 1,
}
SIZES = (10, 50)


def _fresh(box: Any, members: int) -> None:
    """The sandbox, reset and made an Organization of ``members`` members again."""
    box.member_accounts = members
    box.reset()
    time.sleep(1.2)  # as bench.py: let moto settle after rebuilding its backends


def _calls(folder: Path) -> dict[str, int]:
    """The calls of one member account's run in a fan-out folder (the last one written)."""
    records = sorted(folder.glob("*-00_check_root_usage-org*/*/*/run.json"), key=os.path.getmtime)
    calls: dict[str, int] = json.loads(records[-1].read_text()).get("calls", {}) if records else {}
    return calls


def org_rounds(
    box: Any, env: dict[str, str], scratch: Path, runs: int, timed: Callable[..., Any]
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """``runs`` paired rounds at each size; seconds per ``run N`` / ``awscli N`` key, and the
    calls a member account's runbook run made."""
    times: dict[str, list[float]] = {}
    calls: dict[str, int] = {}
    out = scratch / "runs-org"
    cmd = [str(BIN / "runbook"), "run", "00", "--org", "--max-concurrency", "2"]
    cmd += ["-f", str(ROOT / "parameters" / "sandbox.yaml"), "--output-dir", str(out)]
    for i in range(runs):
        for members in SIZES:
            order = ("runbook", "awscli") if (i + members // 50) % 2 == 0 else ("awscli", "runbook")
            for variant in order:
                _fresh(box, members)
                secrets = Path(tempfile.mkdtemp(dir=scratch))
                run_env = dict(env, RUNBOOK_SECRETS_DIR=str(secrets), OUT_DIR=str(secrets))
                if variant == "runbook":
                    seconds, proc = timed(cmd, run_env)
                    calls = _calls(out)
                else:
                    script = ["bash", str(ROOT / "bench" / "s0_org_awscli.sh")]
                    seconds, proc = timed(script, dict(run_env, MAX_CONCURRENCY="2"))
                if proc.returncode not in (0, 3, 4):
                    sys.exit(f"org {variant} {members} failed ({proc.returncode}): {proc.stderr}")
                times.setdefault(f"{variant} {members}", []).append(seconds)
                print(f"org {variant} {members}: {seconds:.1f} s", file=sys.stderr)
    return times, calls


def warm_vs_cold_org(box: Any, scratch: Path, rounds: int = 2) -> dict[str, list[float]]:
    """In this process: ``run_fanout`` of 00 over a 10-member Organization, 2 at a time, on
    warm kernels and on a kernel per account, paired; seconds per ``warm``/``cold``."""
    from runbook_lib.org.accounts import org_accounts
    from runbook_lib.org.fanout import run_fanout
    from runbook_lib.org.target import resolve_target
    from runbook_lib.run.notebooks import find_notebook, run_parameters

    params = run_parameters([ROOT / "parameters" / "sandbox.yaml"], [], [find_notebook("00")])
    times: dict[str, list[float]] = {}
    for i in range(rounds):
        for warm in (True, False) if i % 2 == 0 else (False, True):
            _fresh(box, SIZES[0])
            os.environ["RUNBOOK_SECRETS_DIR"] = tempfile.mkdtemp(dir=scratch)
            start = time.perf_counter()
            target = resolve_target(params, sandbox_url=box.url)
            accounts = org_accounts(target.client("organizations"))
            result = run_fanout(
                "00",
                accounts,
                params,
                target=target,
                output_dir=scratch / "runs-org-pool",
                warm=warm,
            )
            seconds = time.perf_counter() - start
            bad = [r for r in result.results if r.exit_code not in (0, 3, 4)]
            if bad:
                sys.exit(f"fan-out warm={warm} failed: {bad[0].account_id}: {bad[0].message}")
            times.setdefault("warm" if warm else "cold", []).append(seconds)
            print(f"org in-process warm={warm}: {seconds:.1f} s", file=sys.stderr)
    return times


def org_lines(
    times: dict[str, list[float]], calls: dict[str, int], pooled: dict[str, list[float]], runs: int
) -> list[str]:
    """The Organization section of BENCHMARKS.md."""
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = []
    for members in SIZES:
        ratio = med[f"runbook {members}"] / med[f"awscli {members}"]
        target = "≤ 0.5×" if members == SIZES[-1] else "—"
        met = ("yes" if ratio <= 0.5 else "no") if members == SIZES[-1] else "—"
        rows.append(
            f"| {members} members + management ({members + 1}) | {med[f'runbook {members}']:.2f} "
            f"| {med[f'awscli {members}']:.2f} | {ratio:.2f}× | {target} | {met} |"
        )
    small, large = SIZES
    marginal = (med[f"runbook {large}"] - med[f"runbook {small}"]) / (large - small)
    marginal_cli = (med[f"awscli {large}"] - med[f"awscli {small}"]) / (large - small)
    same = "the same" if calls == AWSCLI_CALLS else f"NOT the same (runbook: {calls})"
    n_calls = sum(AWSCLI_CALLS.values())
    pm = {k: statistics.median(v) for k, v in pooled.items()}
    raw = "; ".join(
        f"{k}: " + ", ".join(f"{v:.2f}" for v in vals) for k, vals in sorted(times.items())
    )
    raw_pool = "; ".join(
        f"{k}: " + ", ".join(f"{v:.2f}" for v in vals) for k, vals in sorted(pooled.items())
    )
    return [
        "## S0 over an Organization (fan-out)",
        "",
        f"`runbook run 00 --org --max-concurrency 2` (warm kernels) vs `bench/s0_org_awscli.sh` "
        f"(2 accounts at a time with `xargs -P 2`), {runs} paired runs per size, interleaved "
        "(the order swaps every round), medians; every run on the same moto server, reset and "
        "made an Organization of N seeded members again. The script makes, per account, "
        f"AssumeRole into OrganizationAccountAccessRole (the management account uses its own "
        f"credentials, as the fan-out does) and then the {n_calls} calls a runbook run records "
        f"in its run.json `calls` ({same}: "
        + ", ".join(f"{k} ×{v}" for k, v in AWSCLI_CALLS.items())
        + "), each answer to a file; plus GetCallerIdentity and ListAccounts once, as the "
        f"fan-out. {runs} runs, not more: one aws-cli loop over 51 accounts starts ≈ 460 CLI "
        "processes (minutes on 2 cores), and `make bench` should stay near 15 min.",
        "",
        "| accounts | runbook (s) | aws-cli loop (s) | ratio | target | met? |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        f"- marginal cost per added account (runbook, ({large} − {small}) members / "
        f"{large - small}): {marginal:.2f} s wall (target ≤ 0.5 s: "
        f"{'met' if marginal <= 0.5 else 'not met'}); the aws-cli loop's: {marginal_cli:.2f} s",
        f"- a kernel per account for contrast (in this process, `run_fanout(warm=False)`, "
        f"{small} members, 2 at a time, {len(pooled.get('cold', []))} paired runs): "
        f"cold {pm.get('cold', 0):.2f} s vs warm {pm.get('warm', 0):.2f} s "
        f"({pm.get('warm', 0) / max(pm.get('cold', 1), 1e-9):.2f}×)",
        f"- raw (s): {raw}; in-process: {raw_pool}",
        "",
    ]
