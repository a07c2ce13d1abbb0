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
from dataclasses import dataclass, field, replace
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
        admin: one step, for the administrator the run names (S1, S6).
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
    #: one step for the administrator (``-p user_name``, default ``Administrator``)
    admin: bool = False


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
    # S1 (or S6: ``administrator_remedy`` reads S0's ``central_identity`` finding)
    "iam_administrator": Remedy("S1", then=("S3", "user_mfa"), admin=True),
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
ORDER = ("S4", "S1", "S6", "S3", "S2", "S5")
#: what S6 needs that fix does not make up: a person (``-p`` values; ``user_name`` too)
PERSON = ("email", "given_name", "family_name")
#: the S6 remedy of ``iam_administrator`` (people get an administrator in Identity Center;
#: they register their own MFA in the access portal: no S3 step follows)
_IDENTITY_CENTER_ADMIN = Remedy("S6", admin=True)


def _uses_identity_center(finding: Mapping[str, Any]) -> bool:
    """S0's ``central_identity`` finding says IAM Identity Center reaches this account: a
    permission set provisioned or assigned here (PASS), or an instance this account sees but
    that assigns nothing here yet (FAIL on the instance's ARN)."""
    resource = str(finding.get("resource", ""))
    in_idc = ":instance/" in resource or "/aws-reserved/sso.amazonaws.com/" in resource
    return finding.get("status") in ("PASS", FAIL) and in_idc


def administrator_remedy(findings: Iterable[Mapping[str, Any]]) -> tuple[Remedy, str]:
    """The runbook that gives the account an administrator, and why (the plan line says it).

    06 (IAM Identity Center) when S0's ``central_identity`` finding shows that Identity Center
    reaches this account; 01 (an IAM user) otherwise: no Organization, Identity Center not
    enabled, a member account (06 runs from the management account), or not known.
    """
    found = next((f for f in findings if f.get("check") == "central_identity"), None)
    if found is None:
        why = N_(
            "01: the audit has no IAM Identity Center finding (in an Organization with Identity "
            "Center, 06 is the alternative); S3 then gives the new console user MFA"
        )
        return REMEDIES["iam_administrator"], why
    if _uses_identity_center(found):
        why = N_(
            "06, not 01: S0 ({control}) found IAM Identity Center for this account, so people "
            "get their administrator there (S1's IAM user stays for break-glass); 06 needs "
            "-p user_name, email, given_name and family_name"
        )
        return _IDENTITY_CENTER_ADMIN, why
    status = found.get("status")
    if status == "NOT_APPLICABLE":
        why = N_(
            "01: S0 ({control}) found no AWS Organization, and IAM Identity Center gives "
            "account access only through one; S3 then gives the new console user MFA"
        )
    elif status == FAIL and ":user/" not in str(found.get("resource", "")):
        why = N_(
            "01: S0 ({control}) found no IAM Identity Center instance this account can use (06 "
            "runs from the Organization's management account once it is enabled); S3 then "
            "gives the new console user MFA"
        )
    else:
        why = N_(
            "01: S0 ({control}) could not tell whether IAM Identity Center reaches this account; "
            "S3 then gives the new console user MFA"
        )
    return REMEDIES["iam_administrator"], why


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
    #: the values of ``note``'s fields (``{control}``)
    note_args: Mapping[str, str] = field(default_factory=dict)

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
            "note": self.note_text(),
            "how": _(self.how) if self.how else "",
        }

    def note_text(self) -> str:
        """The step's note in the current language (why this runbook, the alternative)."""
        return _(self.note).format(**self.note_args) if self.note else ""


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
    findings = list(findings)
    admin = str(params.get("user_name") or DEFAULT_ADMIN)
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    manual: list[Step] = []
    note_args = {
        "control": next(
            (str(f.get("control")) for f in findings if f.get("check") == "central_identity"),
            "central_identity",
        )
    }

    def add(section: str, user: str, remedy: Remedy, check: str, control: str) -> None:
        step = runs.setdefault(
            (section, user),
            {"checks": [], "controls": [], "params": {}, "destructive": False, "note": ""},
        )
        if section == "S6":  # a person: only what was given (fix does not make one up)
            step["params"].update({k: params[k] for k in PERSON if k in params})
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
        if check == "iam_administrator":
            chosen, why = administrator_remedy(findings)
            remedy = replace(chosen, note=why)
        if not remedy.section:
            manual.append(Step((check,), (control,), how=remedy.how))
            continue
        if remedy.per_user:
            users = users_of(str(finding.get("resource", "")))
        else:
            users = [admin] if remedy.admin else [""]
        for user in users:
            add(remedy.section, user, remedy, check, control)
            if remedy.then:
                section, kept = remedy.then
                version = str(finding.get("cis_version") or cis.DEFAULT_VERSION)
                add(section, user, Remedy(section), kept, cis.control(version, kept) or kept)

    # 06 assigns the permission set in this account: it closes central_identity too
    if ("S6", admin) in runs:
        for step in [m for m in manual if m.checks == ("central_identity",)]:
            manual.remove(step)
            runs[("S6", admin)]["checks"] += list(step.checks)
            runs[("S6", admin)]["controls"] += list(step.controls)

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
            note_args=note_args if info["note"] else {},
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
