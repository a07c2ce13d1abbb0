"""S1's notebook steps called in-process, in notebook order (shared by the S1 tests)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from runbook_lib import RunContext, admin_user, preflight
from runbook_lib.core.record import is_write

PASSWORD_HEADER = "User name,Password,Console sign-in URL"


def params(secrets_dir: Path, **overrides: Any) -> dict[str, Any]:
    """The notebook's defaults (Step 3's keyword arguments) with ``overrides``."""
    base: dict[str, Any] = {
        "user_name": "Administrator",
        "group_name": "Administrators",
        "path": "/",
        "policy_arn": "arn:aws:iam::aws:policy/AdministratorAccess",
        "password_reset_required": True,
        "tags": {},
        "console_access": True,
        "secrets_dir": str(secrets_dir),
        "users": [],
    }
    base.update(overrides)
    return base


def new_ctx(plan: bool = False) -> RunContext:
    """A fresh run context on the sandbox (a new run: its own record)."""
    return preflight("test_s1", target="sandbox", plan=plan)


def run_steps(ctx: RunContext, secrets_dir: Path, **overrides: Any) -> Any:
    """Steps 3-8 and Verify, as the notebook runs them; returns Step 7's outcome."""
    request = admin_user.check_request(ctx, **params(secrets_dir, **overrides))
    users = admin_user.find_users(ctx, request)
    groups = admin_user.find_groups(ctx, request)
    admin_user.review_tags(users)
    created = admin_user.review_and_create(ctx, users, groups)
    admin_user.deliver_sign_in(ctx, created)
    admin_user.verify(ctx, created)
    return created


class Crash(Exception):
    """The simulated death of a run."""


def crash_after_writes(ctx: RunContext, completed: int) -> Callable[..., None]:
    """Make the run die just before its write number ``completed + 1`` reaches AWS."""
    seen = {"writes": 0}

    def before_call(model: Any, **_: Any) -> None:
        if is_write(model.name):
            seen["writes"] += 1
            if seen["writes"] > completed:
                raise Crash(f"simulated crash before {model.name}")

    ctx.iam.meta.events.register("before-call", before_call)
    return before_call


def writes(ctx: RunContext) -> dict[str, int]:
    """The write operations this run called, with counts."""
    return {k.split(":", 1)[1]: n for k, n in ctx.record.calls.items() if is_write(k.split(":")[1])}
