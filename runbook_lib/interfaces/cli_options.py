"""The options ``runbook run``, ``lab`` and ``app`` share: the target and what a server needs."""

from __future__ import annotations

import argparse
from pathlib import Path

from runbook_lib.core.i18n import LANGUAGES
from runbook_lib.interfaces.fanout_cli import member_option


def target_options(cmd: argparse.ArgumentParser) -> None:
    """``-f``, ``-p``, ``--endpoint-url``, ``--profile``: the same for run, lab and app."""
    cmd.add_argument(
        "-f",
        "--parameters-file",
        action="append",
        type=Path,
        default=[],
        metavar="FILE",
        help="YAML parameters file (repeatable; later files win)",
    )
    cmd.add_argument(
        "-p",
        "--parameter",
        action="append",
        nargs=2,
        default=[],
        metavar=("NAME", "VALUE"),
        help="one parameter, typed as the notebook declares it (str: the text as written)",
    )
    cmd.add_argument("--endpoint-url", help="an AWS-compatible endpoint (moto, LocalStack)")
    cmd.add_argument("--profile", help="an AWS profile (SSO, keys, roles: boto3's chain)")


def lang_option(cmd: argparse.ArgumentParser, help_text: str) -> None:
    """``--lang en|ko``: the same choices for run, lab, app and docs."""
    cmd.add_argument("--lang", choices=LANGUAGES, help=help_text)


def serve_options(cmd: argparse.ArgumentParser, default_port: int) -> None:
    """The target options plus what ``lab`` and ``app`` serve: sandbox, seeding, port, language."""
    target_options(cmd)
    lang_option(
        cmd,
        "ko: serve the Korean notebooks (notebooks/ko/) with language ko; default: the English "
        "ones (their language parameter, else $RUNBOOK_LANG)",
    )
    cmd.add_argument(
        "--sandbox",
        action="store_true",
        help="start a fresh sandbox and point every kernel at it (the default without "
        "--endpoint-url or --profile)",
    )
    cmd.add_argument(
        "--seed-prerequisites",
        action="store_true",
        help="first run the earlier runbooks headless on the same target (app 03 on a fresh "
        "sandbox needs 01 and 02)",
    )
    cmd.add_argument(
        "--output-dir",
        type=Path,
        default=Path("runs"),
        help="the session folder goes here (working copies, run records); default: runs/",
    )
    cmd.add_argument("--port", type=int, default=default_port, help=f"default: {default_port}")
    cmd.add_argument("--no-browser", action="store_true", help="do not open a browser tab")
    member_option(cmd)
