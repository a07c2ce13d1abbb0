"""Targets: which AWS a runbook talks to, and the boto3 session for it.

Three kinds: the embedded ``sandbox`` (default), a named ``profile`` through boto3's standard
credential chain (profiles, SSO, environment), and any AWS-compatible ``endpoint`` (a moto or
LocalStack server someone already runs) with credentials from the standard chain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError, ProfileNotFound

from runbook_lib.core.boto import new_session
from runbook_lib.core.errors import BadInput, TargetRefused
from runbook_lib.core.i18n import _
from runbook_lib.core.sandbox import embedded_sandbox, sandbox_session

TARGET_KINDS = ("sandbox", "profile", "endpoint")
RETRY_MODES = ("standard", "adaptive")
USER_AGENT = "iam-runbooks/0.1"
#: seconds to wait for a TCP connection; a refused or timed-out connection is retried once
CONNECT_TIMEOUT = 2
CONNECT_ATTEMPTS = 2


def _retry_connection_once(
    attempts: int, caught_exception: Exception | None = None, **_: Any
) -> None:
    """botocore ``needs-retry`` hook: stop after one retry of an unreachable endpoint (the
    retry mode's own handler keeps its attempts for throttling and 5xx)."""
    unreachable = isinstance(caught_exception, (EndpointConnectionError, ConnectTimeoutError))
    if unreachable and attempts >= CONNECT_ATTEMPTS:
        raise caught_exception  # type: ignore[misc]


@dataclass(frozen=True)
class TargetSpec:
    """What the parameters say about the target; validated by ``validate()``."""

    target: str = "sandbox"
    profile: str = ""
    endpoint_url: str = ""
    region: str = "us-east-1"
    expected_account_id: str = ""
    retry_mode: str = "standard"

    def validate(self) -> TargetSpec:
        """Check the combination of parameters before anything is called.

        Raises:
            BadInput: an unknown target kind, a missing or superfluous profile/endpoint.
        """
        if self.target not in TARGET_KINDS:
            raise BadInput(
                _("target '{target}' is not known: use one of {kinds}.").format(
                    target=self.target, kinds=", ".join(TARGET_KINDS)
                )
            )
        if self.target == "endpoint" and not self.endpoint_url.startswith(("http://", "https://")):
            raise BadInput(
                _(
                    "target 'endpoint' needs endpoint_url (http:// or https://): set endpoint_url "
                    "or use --endpoint-url URL."
                )
            )
        if self.target == "profile" and self.endpoint_url:
            raise BadInput(
                _(
                    "endpoint_url is set but target is 'profile' (real AWS): use target 'endpoint' "
                    "(profile then supplies its credentials), or drop endpoint_url."
                )
            )
        if self.target == "sandbox" and (self.profile or self.endpoint_url):
            raise BadInput(
                _(
                    "profile/endpoint_url are set but target is 'sandbox': set target to 'profile' "
                    "or 'endpoint', or drop them."
                )
            )
        if self.retry_mode not in RETRY_MODES:
            raise BadInput(
                _("retry_mode '{mode}' is not known: use standard or adaptive.").format(
                    mode=self.retry_mode
                )
            )
        acct = self.expected_account_id
        if acct and not (len(acct) == 12 and acct.isdigit()):
            raise BadInput(
                _(
                    "expected_account_id '{account}' is not a 12-digit AWS account ID: fix it or "
                    "leave it empty."
                ).format(account=acct)
            )
        return self

    def describe(self) -> str:
        """A short line for output, in the run's language: no port numbers or other volatile
        values."""
        if self.target == "sandbox":
            return _("sandbox (embedded moto server on 127.0.0.1)")
        if self.target == "profile" and not self.profile:
            return _("profile: boto3's default credential chain")
        if self.target == "profile":
            return _("profile '{profile}'").format(profile=self.profile)
        return _("endpoint {url}").format(url=self.endpoint_url)


@dataclass
class Connection:
    """A boto3 session plus the endpoint and client config every client of a run shares."""

    session: boto3.Session
    endpoint_url: str | None
    config: Config

    def client(self, service: str) -> Any:
        """A client for ``service`` on this target, with retries for throttling."""
        client: Any = self.session.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint_url,
            config=self.config,
        )
        event = f"needs-retry.{client.meta.service_model.service_id.hyphenize()}"
        client.meta.events.register_first(event, _retry_connection_once)
        return client


def connect(spec: TargetSpec) -> Connection:
    """Build the session for a target; makes no AWS call.

    Raises:
        BadInput: invalid target parameters.
        TargetRefused: the profile does not exist.
    """
    spec.validate()
    attempts = 3 if spec.target == "sandbox" else 10
    mode: Literal["standard", "adaptive"] = (
        "adaptive" if spec.retry_mode == "adaptive" else "standard"
    )
    config = Config(
        retries={"mode": mode, "max_attempts": attempts},
        user_agent_extra=USER_AGENT,
        connect_timeout=CONNECT_TIMEOUT,
        read_timeout=60,
    )
    if spec.target == "sandbox":
        url = embedded_sandbox()
        return Connection(sandbox_session(), url, config)
    try:
        session = new_session(profile_name=spec.profile or None, region_name=spec.region or None)
    except ProfileNotFound as err:
        raise TargetRefused(
            _(
                "AWS profile '{profile}' was not found in the AWS config files: create it "
                "with 'aws configure' or 'aws configure sso', or fix profile."
            ).format(profile=spec.profile)
        ) from err
    return Connection(session, spec.endpoint_url or None, config)
