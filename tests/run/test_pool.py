"""Warm kernels (``run.pool``): one account's run leaves nothing for the next on the same kernel.

One pool of one kernel serves, in order:
- run A: S1 on the sandbox's management account (a generated console password, a ``Secret``);
- run B: the fixture ``96_pool_probe`` on a member account of a sandbox Organization, with that
  member's assumed-role credentials (target ``endpoint``): it prints, as fingerprints, its
  names, its ``AWS_*``/``RUNBOOK_*`` variables, the credentials boto3 resolves and every
  ``Secret`` alive in the kernel (after undoing the pool's ``gc.freeze``);
- run C: the probe again, keeping a ``Secret`` in a module global: the pool must discard it;
- run D: ``91_raise_error``: a failed run discards its kernel.
Three kernel starts for the module (the first, and one replacement per discard).
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from support.aws import ACCOUNT, client, reset_sandbox, sandbox_url

from runbook_lib.run import engine
from runbook_lib.run.kernels import kernel_environ
from runbook_lib.run.pool import KernelPool, WarmKernel, neutral_environ
from runbook_lib.run.runner import run_notebook

ROOT = Path(__file__).resolve().parents[2]
S1 = ROOT / "notebooks" / "01_create_admin_user.ipynb"
FIXTURES = ROOT / "tests" / "fixtures" / "notebooks"
PROBE = FIXTURES / "96_pool_probe.ipynb"
RAISE = FIXTURES / "91_raise_error.ipynb"
MARK = "POOL-PROBE "
USER_A = "pool-alice"
PREFIXES = ("AWS_", "RUNBOOK_")


def fp(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:12]


def probe_view(notebook: Any) -> dict[str, Any]:
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", ""))
            if text.startswith(MARK):
                view: dict[str, Any] = json.loads(text[len(MARK) :])
                return view
    raise AssertionError("the probe printed nothing")


def assigned_names(notebook: Any) -> set[str]:
    """Every name a notebook's code cells bind (assignments, imports, defs)."""
    names: set[str] = set()
    for cell in notebook["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                names.add(node.name)
    return names


def member_credentials() -> tuple[str, dict[str, str]]:
    """A new member account of the sandbox Organization and its assumed-role credentials."""
    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    created = org.create_account(Email="pool-b@example.com", AccountName="pool-b")
    account = str(created["CreateAccountStatus"]["AccountId"])
    role = f"arn:aws:iam::{account}:role/OrganizationAccountAccessRole"
    creds = client("sts").assume_role(RoleArn=role, RoleSessionName="pool-b")["Credentials"]
    return account, {
        "AWS_ACCESS_KEY_ID": creds["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
        "AWS_SESSION_TOKEN": creds["SessionToken"],
        "AWS_DEFAULT_REGION": "us-east-1",
    }


def fingerprints(env: dict[str, str]) -> dict[str, str]:
    """A run's ``AWS_*``/``RUNBOOK_*`` variables by fingerprint (a failure shows no value)."""
    return {k: fp(v) for k, v in env.items() if k.startswith(PREFIXES)}


@dataclass
class Runs:
    env_a: dict[str, str] = field(default_factory=dict)  # fingerprints
    env_b: dict[str, str] = field(default_factory=dict)
    record_a: dict[str, Any] = field(default_factory=dict)
    record_b: dict[str, Any] = field(default_factory=dict)
    names_a: set[str] = field(default_factory=set)
    names_b: set[str] = field(default_factory=set)
    view_b: dict[str, Any] = field(default_factory=dict)
    account_b: str = ""
    stats_after_b: tuple[int, int, int] = (0, 0, 0)
    runner_run: tuple[int, bool, int] = (0, False, 0)
    stash_discarded: bool = False
    stash_kernel_alive: bool = True
    failed_discarded: bool = False
    failed_kernel_alive: bool = True
    failure: str = ""


def _only_kernel(pool: KernelPool) -> WarmKernel:
    (kernel,) = pool._idle
    return kernel


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    tmp = tmp_path_factory.mktemp("pool")
    reset_sandbox()
    url = sandbox_url()
    out = Runs()
    host = neutral_environ(os.environ)  # neither run inherits the host's AWS_* variables
    record_a, record_b = tmp / "a.json", tmp / "b.json"
    env_a = kernel_environ(
        base=host, sandbox_url=url, record_path=record_a, secrets_dir=tmp / "secrets-a"
    )
    out.account_b, credentials = member_credentials()
    env_b = {
        **kernel_environ(base=host, record_path=record_b, secrets_dir=tmp / "secrets-b"),
        **credentials,
    }
    out.env_a, out.env_b = fingerprints(env_a), fingerprints(env_b)
    with KernelPool(1) as pool:
        engine.execute(
            S1, tmp / "a.ipynb", env=env_a, parameters={"user_name": USER_A}, kernel=pool
        )
        out.record_a = json.loads(record_a.read_text("utf-8"))
        probe = {"target": "endpoint", "endpoint_url": url}
        executed = engine.execute(PROBE, tmp / "b.ipynb", env=env_b, parameters=probe, kernel=pool)
        out.record_b = json.loads(record_b.read_text("utf-8"))
        out.view_b = probe_view(executed)
        out.names_a = assigned_names(json.loads(S1.read_text("utf-8")))
        out.names_b = assigned_names(json.loads(PROBE.read_text("utf-8")))
        out.stats_after_b = (pool.stats.started, pool.stats.reused, pool.stats.discarded)
        # through the runner: the leak guard of this run hears of its secret on the warm kernel
        params = {"user_name": "pool-carol", "billing_access_confirmed": True}
        with engine.warm_kernels(pool):
            third = run_notebook("01", params, output_dir=tmp)
        out.runner_run = (third.exit_code, len(third.secret_values) > 0, pool.stats.reused)

        kernel = _only_kernel(pool)
        engine.execute(PROBE, None, env=env_b, parameters={**probe, "stash": True}, kernel=pool)
        out.stash_discarded = pool.stats.discarded == 1
        out.stash_kernel_alive = kernel.alive()

        kernel = _only_kernel(pool)  # the replacement, started when the other was discarded
        with pytest.raises(Exception) as failed:
            engine.execute(RAISE, None, env=env_a, kernel=pool)
        out.failure = str(getattr(failed.value, "ename", ""))
        out.failed_discarded = pool.stats.discarded == 2
        out.failed_kernel_alive = kernel.alive()
    yield out


def test_a_and_b_ran_on_one_kernel(runs: Runs) -> None:
    assert runs.stats_after_b == (1, 1, 0)
    assert runs.record_a["account_id"] == ACCOUNT
    assert runs.record_a["writes"] > 0
    assert runs.record_a["secrets"], "run A delivered a password"


def test_b_sees_none_of_a_names(runs: Runs) -> None:
    leftover = (runs.names_a - runs.names_b) & set(runs.view_b["names"])
    assert not leftover


def test_no_secret_survives_into_b(runs: Runs) -> None:
    fingerprints_a = {s["fingerprint"] for s in runs.record_a["secrets"]}
    assert fingerprints_a
    assert runs.view_b["secrets"] == []  # not A's, and B made none


def test_b_environment_is_b_only(runs: Runs) -> None:
    assert runs.view_b["environ"] == runs.env_b
    only_a = set(runs.env_a.values()) - set(runs.env_b.values())
    assert only_a, "A and B had different environments"
    assert not only_a & set(runs.view_b["environ"].values())
    assert runs.view_b["cwd"] == str(FIXTURES)


def test_boto3_resolves_b_credentials(runs: Runs) -> None:
    assert runs.view_b["default_session_before"] is False
    assert runs.view_b["access_key"] == runs.env_b["AWS_ACCESS_KEY_ID"]
    assert runs.view_b["account"] == runs.account_b != ACCOUNT


def test_b_record_holds_nothing_of_a(runs: Runs) -> None:
    text = json.dumps(runs.record_b)
    assert runs.record_b["account_id"] == runs.account_b
    for trace in (USER_A, ACCOUNT, runs.record_a["run_id"]):
        assert trace not in text
    for secret in runs.record_a["secrets"]:
        assert secret["fingerprint"] not in text
    assert runs.record_b["writes"] == 0 and not runs.record_b["secrets"]


def test_the_runners_leak_guard_hears_of_secrets_made_on_a_warm_kernel(runs: Runs) -> None:
    exit_code, guard_knows_secret, reused = runs.runner_run
    assert (exit_code, guard_knows_secret, reused) == (0, True, 2)


def test_a_secret_left_in_a_module_global_discards_the_kernel(runs: Runs) -> None:
    assert runs.stash_discarded
    assert not runs.stash_kernel_alive


def test_a_failed_run_discards_its_kernel(runs: Runs) -> None:
    assert runs.failure == "RuntimeError"
    assert runs.failed_discarded
    assert not runs.failed_kernel_alive
