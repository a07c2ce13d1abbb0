"""From S0's findings to a plan: the runbook (and its parameters) that closes each FAIL, or the
console step a person takes where no API can.

The mapping is data (``REMEDIES``: stable check ID -> remedy), never a chain of ifs; a check the
table does not know becomes a manual step with the audit's own advice. Steps name the runbook by
its declared section (``S4``), so host code never depends on a notebook's file name.

Order (``ORDER``): the password policy (S4) before S1 sets a console password under it, S1
before S3 gives the same user MFA, then rotation (S2) and the cleanup of unused credentials (S5):
a key that is both old and unused is rotated before the cleanup looks at it (the cleanup of a
user with no active key left would otherwise leave rotation nothing to rotate).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core.i18n import N_, _
from runbook_lib.root_usage import cis
from runbook_lib.run.notebooks import all_notebooks, declared, notebook_parameters

FAIL = "FAIL"
#: the user S1 creates unless ``-p user_name`` names another
DEFAULT_ADMIN = "Administrator"


@dataclass(frozen=True)
class Remedy:
    """How a FAIL of one check is closed.

    Attributes:
        section: the runbook that closes it (its declared section); ``""``: a manual step.
        per_user: one step per IAM user the finding names (its ``resource`` ARNs).
        params: the step's own parameters.
        from_audit: step parameter <- the audit parameter it must match (S0's threshold).
        destructive: it removes or replaces credentials: runs only with ``--yes``.
        then: a further step for the same user, right after: (section, the check it keeps
            passing) (S1's new console user -> S3, for ``user_mfa``).
        note: a sentence shown with the step (why this runbook, the alternative).
        how: a manual step's console instruction.
    """

    section: str = ""
    per_user: bool = False
    params: Mapping[str, Any] = field(default_factory=dict)
    from_audit: Mapping[str, str] = field(default_factory=dict)
    destructive: bool = False
    then: tuple[str, str] | None = None
    note: str = ""
    how: str = ""


def _manual(how: str) -> Remedy:
    return Remedy(how=how)


_POLICY = Remedy(
    "S4",
    from_audit={
        "minimum_password_length": "min_password_length",
        "password_reuse_prevention": "password_reuse",
    },
)

#: stable check ID (``runbook_lib.root_usage.cis``) -> what closes its FAIL
REMEDIES: dict[str, Remedy] = {
    "password_min_length": _POLICY,
    "password_reuse": _POLICY,
    "user_mfa": Remedy("S3", per_user=True),
    "iam_administrator": Remedy(
        "S1",
        then=("S3", "user_mfa"),
        note=N_(
            "01 by default: in an AWS Organization with IAM Identity Center, "
            "06_identity_center_admin gives people an administrator instead (run it and skip "
            "this step); S3 then gives the new console user MFA"
        ),
    ),
    "unused_credentials": Remedy(
        "S5",
        per_user=True,
        params={"cleanup_scope": "user"},
        from_audit={"unused_days": "unused_days"},
        destructive=True,
    ),
    "key_rotation": Remedy(
        "S2",
        per_user=True,
        params={"mode": "rotate-if-older-than"},
        from_audit={"max_age_days": "max_key_age_days"},
        destructive=True,
    ),
    "caller_not_root": _manual(
        N_(
            "Run the runbooks with an IAM administrator's or Identity Center credentials, not "
            "root's."
        )
    ),
    "root_access_keys": _manual(
        N_("Sign in as root: Security credentials > Access keys: delete every root access key.")
    ),
    "root_mfa": _manual(
        N_(
            "Sign in as root: Security credentials > Multi-factor authentication > Assign MFA "
            "device."
        )
    ),
    "root_hardware_mfa": _manual(
        N_(
            "Sign in as root: Security credentials > Assign MFA device > a passkey, security key "
            "or hardware TOTP token."
        )
    ),
    "root_not_used": _manual(
        N_(
            "Stop signing in as root for everyday work: use an IAM administrator (01) and keep "
            "root's password and MFA device locked away."
        )
    ),
    "no_keys_at_setup": _manual(
        N_(
            "IAM > Users > the user > Security credentials: delete the access keys that were "
            "never used."
        )
    ),
    "one_active_key": _manual(
        N_(
            "IAM > Users > the user > Security credentials: deactivate, then delete, the key no "
            "longer in use."
        )
    ),
    "permissions_via_groups": _manual(
        N_(
            "IAM > Users > the user > Permissions: remove the user's own policies and add the "
            "user to a group that has them."
        )
    ),
    "no_full_admin_policies": _manual(
        N_('IAM > Policies: narrow or detach the customer policies that allow "*" on "*".')
    ),
    "support_role": _manual(
        N_(
            "IAM > Roles > Create role: trusted entity your AWS account, permissions "
            "AWSSupportAccess (a role for AWS Support incidents)."
        )
    ),
    "no_cloudshell_full_access": _manual(
        N_("IAM > Policies > AWSCloudShellFullAccess > Entities attached: detach it from each.")
    ),
    "admin_group": _manual(
        N_("IAM > User groups: keep the group with AdministratorAccess to a few people.")
    ),
    "central_identity": _manual(
        N_(
            "Give people their access through IAM Identity Center: runbook run 06 with the "
            "person's user_name, email, given_name and family_name (fix does not make up a person)."
        )
    ),
    "centralized_root_access": _manual(
        N_(
            "In the management account: IAM > Root access management > Enable (centralized root "
            "access for member accounts)."
        )
    ),
}
#: the order steps run in, by section (manual steps are listed last; a person does them)
ORDER = ("S4", "S1", "S3", "S2", "S5")


@dataclass(frozen=True)
class Step:
    """One plan step: a runbook run (``notebook`` set) or a manual step (``how`` set)."""

    checks: tuple[str, ...]
    controls: tuple[str, ...]
    notebook: str = ""
    section: str = ""
    user: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    destructive: bool = False
    note: str = ""
    how: str = ""

    @property
    def manual(self) -> bool:
        """A person's step: no runbook closes it."""
        return not self.notebook

    def title(self) -> str:
        """``03_enable_virtual_mfa for bob`` or ``manual``."""
        if self.manual:
            return _("manual step")
        return self.notebook + (" " + _("for {user}").format(user=self.user) if self.user else "")

    def as_dict(self) -> dict[str, Any]:
        """The step as ``fix.json`` holds it (no secret: parameters come from the plan only)."""
        return {
            "checks": list(self.checks),
            "controls": list(self.controls),
            "notebook": self.notebook,
            "section": self.section,
            "user": self.user,
            "parameters": dict(self.params),
            "destructive": self.destructive,
            "manual": self.manual,
            "note": _(self.note) if self.note else "",
            "how": _(self.how) if self.how else "",
        }


@dataclass(frozen=True)
class Plan:
    """The steps that close an audit's FAILs: runbooks in dependency order, then manual steps."""

    steps: tuple[Step, ...]

    @property
    def runs(self) -> list[Step]:
        """The runbook steps, in the order they run."""
        return [s for s in self.steps if not s.manual]

    @property
    def manual(self) -> list[Step]:
        """The steps a person takes."""
        return [s for s in self.steps if s.manual]

    @property
    def destructive(self) -> list[Step]:
        """The steps that remove or replace credentials."""
        return [s for s in self.steps if s.destructive]


def users_of(resource: str) -> list[str]:
    """The IAM user names of a finding's ``resource`` (comma-separated ARNs; paths dropped)."""
    names = []
    for arn in resource.split(","):
        arn = arn.strip()
        if ":user/" in arn:
            names.append(arn.rsplit("/", 1)[-1])
    return list(dict.fromkeys(names))


def notebook_of(section: str, folder: Path | None = None) -> Path:
    """The runbook that declares ``section``.

    Raises:
        LookupError: no notebook declares it (a broken checkout).
    """
    for book in all_notebooks(folder):
        if declared(book).section == section:
            return book
    raise LookupError(f"no runbook declares section {section}")


def _failed(findings: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [f for f in findings if f.get("status") == FAIL and not f.get("accepted")]


def make_plan(findings: Iterable[Mapping[str, Any]], params: Mapping[str, Any]) -> Plan:
    """The steps that close every FAIL (not accepted) of ``findings`` (S0's ``run.json``).

    Args:
        findings: the audit's findings, each with ``check``, ``control``, ``status``,
            ``resource`` and ``advice``.
        params: the run's parameters: the audit thresholds a step must match, and
            ``user_name`` (the administrator S1 creates; default ``Administrator``).
    """
    admin = str(params.get("user_name") or DEFAULT_ADMIN)
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    manual: list[Step] = []

    def add(section: str, user: str, remedy: Remedy, check: str, control: str) -> None:
        step = runs.setdefault(
            (section, user),
            {"checks": [], "controls": [], "params": {}, "destructive": False, "note": ""},
        )
        step["checks"].append(check)
        step["controls"].append(control)
        step["params"].update(remedy.params)
        step["params"].update(
            {mine: params[theirs] for mine, theirs in remedy.from_audit.items() if theirs in params}
        )
        if user:
            step["params"]["user_name"] = user
        step["destructive"] |= remedy.destructive
        step["note"] = step["note"] or remedy.note

    for finding in _failed(findings):
        check, control = str(finding.get("check", "")), str(finding.get("control", ""))
        remedy = REMEDIES.get(check) or _manual(str(finding.get("advice") or ""))
        if not remedy.section:
            manual.append(Step((check,), (control,), how=remedy.how))
            continue
        if remedy.per_user:
            users = users_of(str(finding.get("resource", "")))
        else:
            users = [admin] if remedy.then else [""]
        for user in users:
            add(remedy.section, user, remedy, check, control)
            if remedy.then:
                section, kept = remedy.then
                version = str(finding.get("cis_version") or cis.DEFAULT_VERSION)
                add(section, user, Remedy(section), kept, cis.control(version, kept) or kept)

    def rank(key: tuple[str, str]) -> tuple[int, int]:
        # S3 for the user S1 creates right after S1; others in table order, users as found
        return (ORDER.index(key[0]) if key[0] in ORDER else len(ORDER), list(runs).index(key))

    steps = [
        Step(
            tuple(dict.fromkeys(info["checks"])),
            tuple(dict.fromkeys(info["controls"])),
            notebook=notebook_of(section).stem,
            section=section,
            user=user,
            params=info["params"],
            destructive=info["destructive"],
            note=info["note"],
        )
        for (section, user), info in sorted(runs.items(), key=lambda kv: rank(kv[0]))
    ]
    return Plan((*steps, *manual))


def command(step: Step, target_args: Sequence[str], given: Mapping[str, Any]) -> str:
    """The ``runbook run`` a person could type for ``step``: the target options fix was given,
    the ``-p`` values of fix that the notebook declares, then the step's own parameters."""
    declared_names = set(notebook_parameters(notebook_of(step.section)))
    pairs = {k: v for k, v in given.items() if k in declared_names}
    pairs.update(step.params)
    words = ["runbook", "run", step.notebook, *target_args]
    for name, value in pairs.items():
        words += ["-p", name, _text(value)]
    return shlex.join(words)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
