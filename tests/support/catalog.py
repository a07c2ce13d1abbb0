"""Every notebook run of the unit suite that needs a real kernel, named once.

Each runbook gets one real run per exit path it has (0 done, 1 failed, 2 bad input, 3 manual
step pending); the test files assert over these cached runs (``scenarios.run(X)``) instead of
starting kernels of their own. Everything else (the fault matrix, the bad-input table, re-runs,
plan mode) runs the notebooks' cells in-process (``support.inprocess``).

Exit 0 of every runbook is one real ``runbook run --all`` process, with every third AWS request
throttled; exit 2 is the bad-input table's real-process rows (``support.bad_input``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from runbook_lib.testing.faults import FAULT_AT_WRITE_VAR, FAULT_THROTTLE_VAR
from support.aws import client
from support.scenarios import Scenario

BOOKS = ("00", "01", "02", "03")
#: writes of a first run of each runbook (S1: 6 on AWS, moto needs UpdateLoginProfile for the
#: reset flag; S2: TagUser pending, CreateAccessKey, TagUser delivered; S3: create + enable)
WRITES = {"00": 0, "01": 7, "02": 3, "03": 4}
#: what each runbook delivers, by kind (S3's QR code is drawn only for a person)
DELIVERS: dict[str, set[str]] = {
    "00": set(),
    "01": {"password"},
    "02": {"secret-access-key"},
    "03": {"mfa-seed", "otpauth-uri"},
}


def create_users(*names: str) -> Any:
    """A ``prepare`` step: create these IAM users."""

    def prepare(_work: Path) -> None:
        iam = client("iam")
        for name in names:
            iam.create_user(UserName=name)

    return prepare


# ---- exit 0: every runbook, in order, in a real `runbook` process --------------------------

ALL_USER = "ScenarioAdmin"
_ALL_PARAMS: tuple[tuple[str, Any], ...] = (
    ("user_name", ALL_USER),
    ("group_name", f"{ALL_USER}s"),
    ("secrets_dir", "{secrets}"),
    ("seed_destination", "file"),
)
RUN_ALL = Scenario(
    id="run-all-throttled",
    book="00-03",
    argv=(
        "run",
        "--all",
        "-f",
        "{sandbox_yaml}",
        *(text for name, value in _ALL_PARAMS for text in ("-p", name, value)),
        "--log-output",
        *("--html", "each"),  # the leak scans cover the HTML export too
    ),
    env=((FAULT_THROTTLE_VAR, "3"),),  # every 3rd request answered Throttling: retries absorb it
    delivers=tuple((book, ALL_USER) for book in ("01", "02", "03")),
    reruns=("01", "02", "03"),
    rerun_params=(
        *_ALL_PARAMS,
        ("billing_access_confirmed", True),
        ("sandbox_virtual_authenticator", True),
    ),
)

# ---- exit 1: the last write of each runbook fails (its secret exists by then) --------------


def _fault(book: str, user: str, *params: tuple[str, Any]) -> Scenario:
    return Scenario(
        id=f"fault-{book}-at-last-write",
        book=book,
        params=(("user_name", user), ("secrets_dir", "{secrets}"), *params),
        env=((FAULT_AT_WRITE_VAR, str(WRITES[book])),),
        prepare=None if book == "01" else create_users(user),
        delivers=((book, user),),
    )


FAULT_AT_LAST_WRITE = {
    "01": _fault("01", "Fault01", ("group_name", "Fault01s"), ("billing_access_confirmed", True)),
    "02": _fault("02", "Fault02"),
    "03": _fault("03", "Fault03", ("seed_destination", "file")),
}
#: the same fault through a real `runbook` process (what the terminal shows)
FAULT_02_PROCESS = Scenario(
    id="fault-02-process",
    book="02",
    argv=(
        "run",
        "02",
        "-p",
        "user_name",
        "FaultCli02",
        "-p",
        "secrets_dir",
        "{secrets}",
        "--log-output",
        *("--html", "each"),  # the leak scans cover the HTML export too
    ),
    env=((FAULT_AT_WRITE_VAR, str(WRITES["02"])),),
    prepare=create_users("FaultCli02"),
    delivers=(("02", "FaultCli02"),),
)

# ---- exit 3: a manual step is pending --------------------------------------------------------

PENDING = {
    # S1 Step 2 (billing access, root-only in the console) not confirmed; plan mode; through
    # a real `runbook` process (what the terminal says about a pending step)
    "01": Scenario(
        id="pending-01-billing",
        book="01",
        argv=(
            "run",
            "01",
            "-f",
            "{sandbox_yaml}",
            *("-p", "user_name", "Pending01", "-p", "group_name", "Pending01s"),
            *("-p", "billing_access_confirmed", "false", "-p", "secrets_dir", "{secrets}"),
            "--plan",
        ),
    ),
    # S3 headless on a target that is not the sandbox, without a seed destination: nobody can
    # scan the QR code, so the device is not even created
    "03": Scenario(
        id="pending-03-endpoint",
        book="03",
        params=(
            ("user_name", "Pending03"),
            ("target", "endpoint"),
            ("endpoint_url", "{sandbox_url}"),
        ),
        prepare=create_users("Pending03"),
    ),
}

# ---- the runner's leak guard: a fixture notebook that prints a secret ----------------------

LEAKY_NOTEBOOK = Scenario(id="fixture-93-leak", book="93_leak_secret.ipynb", log_output=True)
