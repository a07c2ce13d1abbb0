"""S2 Steps 1-3: check every input, read the user, their keys and the marker; no change.

``check_request`` decides what the run does before its first write: nothing (an active key
exists), finish an unfinished run (adopt a key whose secret is at the destination, delete an
orphan nobody holds), or create a key; and it stops when another run is working on the same
user right now (its marker is younger than the lease).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from runbook_lib.access_key.destination import (
    check_destination,
    read_back,
    resolve_destination,
    unusable_file,
)
from runbook_lib.access_key.marker import (
    MARKER_TAG,
    check_tag_room,
    could_have_made,
    delivered_here,
    marker_destination,
    marker_keys,
    marker_place,
    read_marker,
)
from runbook_lib.access_key.rotation import (
    ROTATE_IF_OLDER,
    rotation_due,
    unfinished_rotation,
    validate_days,
)
from runbook_lib.access_key.state import KeyInfo, KeyPlan, read_keys
from runbook_lib.core import aws, marker_key, markers
from runbook_lib.core.context import S0_ADVICE, RunContext, missing_user_advice
from runbook_lib.core.errors import BadInput, TargetRefused
from runbook_lib.core.i18n import _
from runbook_lib.core.markers import (
    DEFAULT_LEASE,
    PENDING,
    check_lease,
    lease_of,
    stamp,
    utc_now,
)
from runbook_lib.core.validation import validate_choice, validate_user_name

#: every mode of the notebook (the cleanup of unused credentials is runbook 05's)
MODES = ("create", "rotate", ROTATE_IF_OLDER)
#: the runbook that deactivates and removes unused credentials (once this notebook's mode)
CLEANUP_RUNBOOK = "05_clean_up_unused_credentials"
#: modes that replace a key (the safe rotation: new key, delivered, proven, old one retired)
ROTATING = ("rotate", ROTATE_IF_OLDER)
DEFAULT_MAX_AGE_DAYS = 90
#: what a repair may do with a key an unfinished run may have made: ``proven`` (default) acts
#: only on verified evidence and stops otherwise; ``deactivate`` switches such a key off
REPAIRS = ("proven", "deactivate")
_ROOT_NAMES = frozenset({"root", "<root_account>", "root_account", "root user"})


def _refuse_root(user_name: str) -> None:
    if user_name.strip().lower() in _ROOT_NAMES or user_name.endswith(":root"):
        raise TargetRefused(
            _("user_name {name} names the root user: no access keys for root.").format(
                name=repr(user_name)
            )
            + " "
            + _(S0_ADVICE)
        )


def _read_user(ctx: RunContext, user_name: str) -> tuple[str, bool]:
    """The user's ARN and whether the user has a console password (a login profile)."""
    iam = ctx.iam
    user = aws.call(
        iam.get_user,
        what=_("Reading user '{user}'").format(user=user_name),
        fix=_("The caller needs iam:GetUser."),
        errors={
            "NoSuchEntity": BadInput(
                _(
                    "User '{user}' does not exist in account {account} (IAM "
                    "NoSuchEntity): create it with 01_create_admin_user or fix user_name."
                ).format(user=user_name, account=ctx.account_id)
                + missing_user_advice()
            )
        },
        UserName=user_name,
    )
    profile = aws.call(
        iam.get_login_profile,
        what=_("Reading the login profile of '{user}'").format(user=user_name),
        fix=_("The caller needs iam:GetLoginProfile."),
        missing=("NoSuchEntity",),
        UserName=user_name,
    )
    return str(user["User"]["Arn"]), profile is not None


def _unproven(ctx: RunContext, plan: KeyPlan, keys: list[KeyInfo]) -> BadInput:
    """The one line that stops a run whose repair would rest on unproven evidence."""
    marker = plan.marker
    assert marker is not None
    ids = ", ".join(k.key_id for k in keys)
    since = f"{marker.moment:%Y-%m-%d %H:%M} UTC" if marker.moment else _("an unknown time")
    if markers.verified(ctx, plan.user_name, MARKER_TAG, marker):
        why = _(
            "an unfinished run (run {run}, since {since}) was delivering it to {where}, not to "
            "this run's {here}: re-run with destination {kind} and that run's secrets_dir or "
            "secret_name so it can be finished"
        ).format(
            run=marker.run_id or "?",
            since=since,
            where=marker_place(marker),
            here=plan.destination.describe(),
            kind=marker_destination(marker) or "file",
        )
    else:
        why = _(
            "the user's {tag} tag says an unfinished run made it, but these runbooks cannot "
            "verify that tag (no valid MAC: written on another machine, by an older version, or "
            "by someone who can tag users), so it may be someone's key; if it is wanted, remove "
            "the tag (aws iam untag-user --user-name {user} --tag-keys {tag})"
        ).format(tag=MARKER_TAG, user=plan.user_name)
    return BadInput(
        _(
            "Access key {ids} of '{user}' was not deleted: {why}. To switch it off instead "
            "(reversible: aws iam update-access-key --status Active), re-run with -p repair "
            "deactivate. Nothing was changed."
        ).format(ids=ids, user=plan.user_name, why=why)
    )


def _triage(
    ctx: RunContext, plan: KeyPlan, repair: str
) -> tuple[tuple[KeyInfo, ...], tuple[KeyInfo, ...], KeyInfo | None, tuple[str, ...]]:
    """What an unfinished run left: orphan keys, keys to switch off, a key to adopt, keys left
    alone (read-only).

    A key is an orphan (deleted) only on verified evidence: the marker's MAC checks out and it
    names this run's destination, where the key's secret is not. A key whose secret is at this
    run's destination is adopted whatever the marker (someone holds it). Otherwise the run
    stops (``repair proven``) or switches the key off (``repair deactivate``).

    Raises:
        BadInput: the evidence is unproven and ``repair`` is ``proven``.
        AwsError: a destination could not be read back.
    """
    marker, dest, keys = plan.marker, plan.destination, plan.keys
    orphans: list[KeyInfo] = []
    adopted: KeyInfo | None = None
    kept: list[str] = []
    if marker is not None and marker.state == PENDING:
        for key in keys:
            if key.key_id in marker_keys(marker):
                continue
            held = read_back(ctx, dest, key.key_id)
            if held is not None:
                held.drop()
                adopted = key
            elif could_have_made(marker, key) and key.last_used is None:
                orphans.append(key)
            else:
                kept.append(f"{key.key_id} (created or used outside the unfinished run's window)")
        if orphans and not delivered_here(ctx, marker, dest):
            if repair != "deactivate":
                raise _unproven(ctx, plan, orphans)
            return (), tuple(orphans), adopted, tuple(kept)
    elif plan.mode == "rotate":
        resumable = unfinished_rotation(list(keys), marker, plan.delete_old)
        held = read_back(ctx, dest, resumable.key_id) if resumable is not None else None
        if held is not None:  # delivered, and proven before: only the retirement is missing
            held.drop()
            adopted = resumable
    return tuple(orphans), (), adopted, tuple(kept)


def check_inputs(
    user_name: str,
    *,
    mode: str = "create",
    delete_old: bool = False,
    destination: str = "file",
    secrets_dir: str = "",
    secret_name: str = "",
    lease_minutes: float = DEFAULT_LEASE.total_seconds() / 60,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    repair: str = "proven",
    interactive: bool = False,
) -> None:
    """The checks of ``check_request`` that need no AWS call and write nothing: the host runs
    them before a kernel starts (``run.precheck``), the kernel again in Step 1.

    Raises:
        TargetRefused: ``user_name`` names the root user.
        BadInput: an unknown mode or repair, a parameter the mode cannot use, a bad age, user
            name, destination or lease.
    """
    _check_mode(mode, delete_old, max_age_days)
    validate_choice(repair, REPAIRS, "repair")
    _refuse_root(str(user_name))
    validate_user_name(user_name)
    resolve_destination(  # the kind, a widget in a headless run, a bad secret name
        destination,
        user_name,
        mode="rotate" if mode in ROTATING else mode,
        secrets_dir=secrets_dir,
        secret_name=secret_name,
        interactive=interactive,
        stamp="",
        account_id="",  # not known before the first call; only the file's name uses it
    )
    lease_of(lease_minutes)


def check_request(
    ctx: RunContext,
    user_name: str,
    *,
    mode: str = "create",
    delete_old: bool = False,
    destination: str = "file",
    secrets_dir: str = "",
    secret_name: str = "",
    lease_minutes: float = DEFAULT_LEASE.total_seconds() / 60,
    max_age_days: int = DEFAULT_MAX_AGE_DAYS,
    repair: str = "proven",
    now: datetime | None = None,
) -> KeyPlan:
    """Steps 1–3: check every input and read the user's keys; makes no change.

    Args:
        ctx: the run context.
        user_name: the IAM user who gets the key (never root).
        mode: ``create`` (one key, once), ``rotate`` (new key, prove it, retire the old) or
            ``rotate-if-older-than`` (rotate only when the active key is ``max_age_days`` old);
            the cleanup of unused credentials is runbook 05's.
        delete_old: rotating modes only: delete the old key instead of leaving it Inactive.
        destination: ``file``, ``secretsmanager`` or ``widget`` (interactive only).
        secrets_dir: folder for the CSV (empty: the default secrets folder).
        secret_name: Secrets Manager name (empty: ``iam-runbooks/<user>/access-key``).
        lease_minutes: another run's pending marker younger than this stops this run (that
            run may still be working); an older one, or one whose process is gone, is
            repaired. ``0``: never wait for another run.
        max_age_days: ``rotate-if-older-than``: the age (whole days) at which a key is due.
        repair: a key an unfinished run may have made, when nothing proves that nobody holds
            its secret (the marker is not verified, or names another destination):
            ``proven`` (default) stops before any write, naming the choice; ``deactivate``
            switches it off (never deletes it). A key proven an orphan is deleted either way.
        now: the run's time (default: now, UTC); key ages count from it (tests pass a fixed one).

    Returns:
        The plan.

    Raises:
        TargetRefused: ``user_name`` names the root user.
        BadInput: a bad parameter (mode ``cleanup``: runbook 05), an unknown user, an unusable
            destination, two keys already.
        RunInProgress: another run of S2 on this user is working now (nothing was changed).
    """
    check_inputs(
        user_name,
        mode=mode,
        delete_old=delete_old,
        destination=destination,
        secrets_dir=secrets_dir,
        secret_name=secret_name,
        lease_minutes=lease_minutes,
        max_age_days=max_age_days,
        repair=repair,
        interactive=ctx.interactive,
    )
    marker_key.marker_key()  # refuse an unsafe marker key before any AWS call
    aged, rotating = mode == ROTATE_IF_OLDER, mode in ROTATING
    now = now or utc_now()
    dest = resolve_destination(
        destination,
        user_name,
        account_id=ctx.account_id,
        mode="rotate" if rotating else mode,
        secrets_dir=secrets_dir,
        secret_name=secret_name,
        interactive=ctx.interactive,
        stamp=stamp(now)[:8],
    )
    lease = lease_of(lease_minutes)
    user_arn, console = _read_user(ctx, user_name)
    keys = read_keys(ctx, user_name)
    marker, tag_count = read_marker(ctx, user_name)
    check_lease(ctx, marker, what=f"S2 on '{user_name}'", lease=lease, now=now)
    kind = "rotate" if rotating else mode  # what the later steps do (Step 7 knows these two)
    plan = KeyPlan(
        user_name, user_arn, kind, delete_old, dest, tuple(keys), console, "create", marker, now=now
    )
    orphans, off, adopted, kept = _triage(ctx, plan, repair)
    plan = replace(plan, orphans=orphans, deactivate=off, adopted=adopted, kept=kept)
    remaining = list(plan.remaining)
    if mode == "create" and any(k.status == "Active" for k in remaining):
        return replace(plan, action="none")
    if rotating and adopted is not None:
        return replace(plan, action="resume")
    if aged:
        plan = _when_due(ctx, plan, max_age_days)
        if plan.action == "none":  # no write (but the repairs above): the key is not due yet
            return plan
    if len(remaining) >= 2:
        raise BadInput(two_keys_message(user_name, remaining, now, mode))
    if marker is not None and marker.state == PENDING and unusable_file(dest):
        # an unfinished run left an empty or cut-short CSV: moved aside in Step 4, never
        # overwritten; its key (nobody holds the secret) is an orphan above
        plan = replace(plan, set_aside=str(dest.path))
    else:
        check_destination(dest, ctx)
    check_tag_room(user_name, marker, tag_count)
    return plan


def _check_mode(mode: str, delete_old: bool, max_age_days: int) -> None:
    """Refuse a mode this function does not plan, or a parameter the mode cannot use.

    Raises:
        BadInput: an unknown mode, ``cleanup`` (runbook 05 now), ``delete_old`` without a
            rotation, a bad age.
    """
    if mode == "cleanup":
        raise BadInput(
            _(
                "mode cleanup is a runbook of its own now: run {runbook} (runbook run 05) "
                "with the same user_name; unused_days and cleanup_scope are its parameters."
            ).format(runbook=CLEANUP_RUNBOOK)
        )
    validate_choice(mode, MODES, "mode")
    validate_days(max_age_days, "max_age_days", DEFAULT_MAX_AGE_DAYS)
    if delete_old and mode not in ROTATING:
        raise BadInput(
            _(
                "delete_old applies to modes rotate and {other} only, not {mode}: set "
                "one of them or delete_old false."
            ).format(other=ROTATE_IF_OLDER, mode=mode)
        )


def _when_due(ctx: RunContext, plan: KeyPlan, max_age_days: int) -> KeyPlan:
    """``rotate-if-older-than``: the plan of a rotation if the key is due, else of no change.

    Raises:
        BadInput: the user has no active key (and no unfinished run's key to delete).
    """
    due = rotation_due(plan.remaining, max_age_days, plan.now)
    due.record(ctx, plan.user_arn, max_age_days)  # the schedule's log: age, due or not, when
    if due.key is None and not plan.orphans:
        raise BadInput(
            _(
                "User '{user}' has no active access key: mode {mode} replaces "
                "an existing key; create one with mode create. Nothing was changed."
            ).format(user=plan.user_name, mode=ROTATE_IF_OLDER)
        )
    if not due.due:
        return replace(plan, mode=ROTATE_IF_OLDER, action="none", reason=due.reason)
    return replace(plan, reason=due.reason)


def two_keys_message(user_name: str, keys: list[KeyInfo], now: datetime, mode: str) -> str:
    """The message for a user who already holds IAM's maximum of 2 keys: both keys, what next."""
    listed = "; ".join(k.describe(now) for k in keys)
    pick = sorted(keys, key=lambda k: (k.status == "Active", k.last_used is not None, k.created))[0]
    why = (
        _("inactive")
        if pick.status != "Active"
        else _("never used")
        if pick.last_used is None
        else _("used least recently")
    )
    return _(
        "User '{user}' already has 2 access keys, the most IAM allows (LimitExceeded): "
        "{listed}. Delete the one no longer needed, e.g. {key_id} ({why}), after checking "
        "nothing uses it: aws iam delete-access-key --user-name {user} --access-key-id "
        "{key_id}; then re-run with mode {mode}. Nothing was deleted."
    ).format(user=user_name, listed=listed, key_id=pick.key_id, why=why, mode=mode)
