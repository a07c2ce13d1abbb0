"""The management side of a fan-out and what each account's kernel gets (host side).

``resolve_target`` asks STS who the management caller is (before any account runs);
``account_run`` gives one account's parameters (``expected_account_id`` = that account, a
per-account secrets folder and secret name) and kernel variables (that account's credentials:
on the sandbox through ``member_environ``, elsewhere the standard ``AWS_*`` variables with
every profile variable removed, so no profile can win over them).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runbook_lib.core import aws, environ
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _
from runbook_lib.core.sandbox import member_environ, sandbox_session
from runbook_lib.core.secret_files import resolve_secrets_dir
from runbook_lib.core.target import TargetSpec, connect
from runbook_lib.org import accounts
from runbook_lib.run.kernels import sandbox_secrets_dir

#: a kernel on a profile/endpoint target finds an account's credentials here, not in a profile
_PROFILE_VARS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")
#: a fan-out's AWS calls back off on Throttling with the SDK's adaptive mode (a client-side
#: rate limit that adapts to the answers) instead of failing an account: the host's clients
#: and, unless the parameters choose ``retry_mode``, each account's kernel
FANOUT_RETRY_MODE = "adaptive"


@dataclass(frozen=True)
class FanoutTarget:
    """The management side of a fan-out: who calls, where, and how to reach each account."""

    kind: str
    params: Mapping[str, Any]
    caller_account: str
    sandbox_url: str = ""
    role_name: str = accounts.DEFAULT_ROLE
    external_id: str = field(default="", repr=False)
    start_dir: str = field(default_factory=os.getcwd)
    secrets_dir: str = ""
    #: one client per service, made once (a client costs ≈ 50 ms of CPU; a fan-out asks STS
    #: once per account); boto3 clients may be shared between threads, their making may not
    _clients: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, compare=False, repr=False)

    def client(self, service: str) -> Any:
        """A client of the management session (the sandbox's, or the profile's), adaptive
        retries on."""
        with self._lock:
            if service not in self._clients:
                if self.kind == "sandbox":
                    from botocore.config import Config

                    config = Config(retries={"mode": "adaptive", "max_attempts": 10})
                    made = sandbox_session().client(  # type: ignore[call-overload]
                        service, endpoint_url=self.sandbox_url, config=config
                    )
                else:
                    made = connect(_spec(self.params)).client(service)
                self._clients[service] = made
            return self._clients[service]

    def client_with(self, service: str, credentials: Mapping[str, str]) -> Any:
        """A client of ``service`` with other credentials (a root session's), same endpoint."""
        from runbook_lib.core.boto import new_session

        session = new_session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=str(self.params.get("region", "us-east-1")),
        )
        url = self.sandbox_url or str(self.params.get("endpoint_url", "")) or None
        return session.client(service, endpoint_url=url)  # type: ignore[call-overload]


def _spec(params: Mapping[str, Any]) -> TargetSpec:
    return TargetSpec(
        target=str(params.get("target", "sandbox")),
        profile=str(params.get("profile", "")),
        endpoint_url=str(params.get("endpoint_url", "")),
        region=str(params.get("region", "us-east-1")),
        retry_mode=str(params.get("retry_mode") or FANOUT_RETRY_MODE),
    )


def resolve_target(
    params: Mapping[str, Any],
    *,
    sandbox_url: str = "",
    role_name: str = accounts.DEFAULT_ROLE,
    external_id: str = "",
) -> FanoutTarget:
    """The management session of a fan-out run: its caller's account, asked from STS.

    Raises:
        BadInput: bad role name or external ID; ``expected_account_id`` given (each account's
            run sets its own).
        TargetRefused: no or refused credentials.
    """
    accounts.check_role(role_name, external_id)
    if params.get("expected_account_id"):
        raise BadInput(
            _(
                "expected_account_id is set per account by --org/--accounts: drop it from the "
                "parameters."
            )
        )
    kind = _spec(params).validate().target
    base = FanoutTarget(kind, dict(params), "", sandbox_url, role_name, external_id)
    ident = aws.caller_identity(
        base.client("sts"), _spec(params).describe(), base.params.get("profile", "")
    )
    folder = str(params.get("secrets_dir") or os.environ.get(environ.SECRETS_DIR, ""))
    if not folder:
        folder = str(sandbox_secrets_dir()) if kind == "sandbox" else ""
    secrets = str(resolve_secrets_dir(folder))
    return FanoutTarget(
        kind,
        dict(params),
        str(ident["Account"]),
        sandbox_url,
        role_name,
        external_id,
        secrets_dir=secrets,
    )


def _secret_name(secrets: Mapping[str, str], p: Mapping[str, Any], acct: str) -> str:
    """The Secrets Manager name of one account's secret: the account ID is always in it (the
    names the notebook declares, its own defaults with the account added)."""
    if p.get("secret_name"):
        return f"{p['secret_name']}/{acct}"
    user = str(p.get("user_name") or "Administrator")
    device = str(p.get("device_name") or user)
    for destination, name in secrets.items():
        if p.get(destination) == "secretsmanager":
            return name.format(account=acct, user_name=user, device_name=device)
    return ""


def account_run(
    target: FanoutTarget,
    access: accounts.Access,
    params: Mapping[str, Any],
    secrets: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], dict[str, str | None]]:
    """The parameters and kernel variables of one account's run (no AWS call).

    Args:
        secrets: the notebook's declared Secrets Manager names (``Declared.secrets``).
    """
    acct = access.account_id
    p = dict(params)
    p["expected_account_id"] = acct
    env: dict[str, str | None] = {
        environ.START_DIR: target.start_dir,
        environ.SECRETS_DIR: str(Path(target.secrets_dir) / acct),
    }
    p.setdefault("retry_mode", FANOUT_RETRY_MODE)
    if p.get("secrets_dir"):
        p["secrets_dir"] = env[environ.SECRETS_DIR]
    if name := _secret_name(secrets or {}, p, acct):
        p["secret_name"] = name
    if access.credentials and target.kind == "sandbox":
        env.update(member_environ(acct, access.credentials))
    elif access.credentials:  # the kernel's standard chain finds them; no profile may win
        p.pop("profile", None)
        p["target"] = "endpoint" if target.kind == "endpoint" else "profile"
        env.update({name: None for name in _PROFILE_VARS})
        env.update(
            AWS_ACCESS_KEY_ID=access.credentials["AccessKeyId"],
            AWS_SECRET_ACCESS_KEY=access.credentials["SecretAccessKey"],
            AWS_SESSION_TOKEN=access.credentials["SessionToken"],
        )
    return p, env
