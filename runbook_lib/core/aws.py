"""The one edge where botocore meets the project: call, paginate, translate errors.

Every AWS call of the library goes through ``call`` (one request) or ``items`` / ``pages``
(a paginated listing). A botocore error never leaves this module: it becomes a project error
(``AwsError`` exit 1, ``BadInput`` exit 2, or the error the caller asked for) whose message
says what failed, keeps AWS's code and says the next action in operator words::

    arn = aws.call(iam.get_user, UserName=name, what=f"Reading user {name!r}",
                   fix="The caller needs iam:GetUser.",
                   errors={"NoSuchEntity": BadInput(f"User {name!r} does not exist: ...")})

Two pseudo-codes cover botocore's own failures: ``INVALID`` (botocore refused the parameters
before sending anything; its report may quote parameter values, so it is never repeated) and
``NO_ANSWER`` (the target answered with something that is not an AWS response: moto does
this for calls it does not implement).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    ParamValidationError,
)
from botocore.parsers import ResponseParserError

from runbook_lib.core.errors import (
    AwsError,
    BadInput,
    RunbookError,
    TargetRefused,
    TargetUnreachable,
)
from runbook_lib.core.i18n import _

#: pseudo-code: botocore refused the parameters before sending the request
INVALID = "ParamValidation"
#: pseudo-code: the target's answer could not be parsed (moto: operation not implemented)
NO_ANSWER = "NoAnswer"
#: a client's name (aws-cli's) -> the service as an error names it, where botocore's service ID
#: is not the name an operator knows (``SSO Admin``, ``identitystore``)
_SERVICE_WORDS = {"sso-admin": "IAM Identity Center", "identitystore": "Identity Store"}


def service_of(client_or_method: Any) -> str:
    """The AWS service of a client or a bound client method, as an error names it
    (``IAM``, ``IAM Identity Center``, ``Identity Store``, ``Organizations``, ``STS``, ...);
    ``"AWS"`` for anything that is not a botocore client."""
    client = getattr(client_or_method, "__self__", client_or_method)
    model = getattr(getattr(client, "meta", None), "service_model", None)
    if model is None:
        return "AWS"
    return _SERVICE_WORDS.get(str(model.service_name)) or str(model.service_id)


def error_code(err: BaseException) -> str:
    """AWS's error code of a botocore error (``""`` for anything else)."""
    if isinstance(err, ClientError):
        code: Any = err.response.get("Error", {}).get("Code")
        return str(code) if code else ""
    if isinstance(err, ParamValidationError):
        return INVALID
    if isinstance(err, ResponseParserError):
        return NO_ANSWER
    return ""


def translate(
    err: BaseException, what: str, fix: str, *, bad_input: bool = False, service: str = "IAM"
) -> RunbookError:
    """A project error for a botocore error.

    Args:
        err: the botocore error.
        what: what failed, e.g. ``"Creating access key for 'Administrator'"``.
        fix: the next action for the operator.
        bad_input: the failure means the input was wrong and nothing changed (exit 2).
        service: the service that answered (``service_of``), named before AWS's code.

    Returns:
        A ``BadInput`` or ``AwsError`` whose message keeps AWS's code and message.
    """
    code = error_code(err)
    if code == INVALID:  # its text may quote parameter values: never repeat it
        return BadInput(
            f"{what} failed: the parameters were refused before anything was sent. {fix}",
            aws_code=code,
        )
    if code == NO_ANSWER:
        return AwsError(
            f"{what} failed: the target gave no valid answer (the sandbox does not implement "
            f"every call). {fix}",
            aws_code=code,
        )
    aws_message = ""
    if isinstance(err, ClientError):
        aws_message = str(err.response.get("Error", {}).get("Message", "")).strip()
    detail = f" ({aws_message})" if aws_message else ""
    cls: type[RunbookError] = BadInput if bad_input else AwsError
    return cls(
        f"{what} failed: {service} {code or 'Unknown'}{detail}. {fix}", aws_code=code or "Unknown"
    )


def call(
    method: Callable[..., Any],
    /,
    *,
    what: str,
    fix: str,
    missing: Collection[str] = (),
    bad_input: Collection[str] = (),
    errors: Mapping[str, RunbookError] | None = None,
    fixes: Mapping[str, str] | None = None,
    **params: Any,
) -> Any:
    """Make one AWS call; translate any botocore error into a project error.

    Args:
        method: a bound client method, e.g. ``ctx.iam.get_user``.
        what: what the call does, in operator words (the error starts with it).
        fix: the next action when the call fails.
        missing: error codes that mean "not there": the call returns ``None`` instead.
        bad_input: error codes that mean the input was wrong (``BadInput``, exit 2).
        errors: error code -> the project error to raise instead of the generic one.
        fixes: error code -> a more precise next action than ``fix``.
        **params: the call's parameters (AWS's CamelCase names).

    Returns:
        The response, or ``None`` for a ``missing`` code.

    Raises:
        RunbookError: ``AwsError``, ``BadInput`` or the one ``errors`` names.
    """
    try:
        return method(**params)
    except (ClientError, ParamValidationError, ResponseParserError) as err:
        code = error_code(err)
        if code in missing:
            return None
        if errors and code in errors:
            raise errors[code] from (None if code == INVALID else err)
        text = (fixes or {}).get(code, fix)
        raised = translate(err, what, text, bad_input=code in bad_input, service=service_of(method))
        raise raised from (None if code == INVALID else err)


def pages(
    client: Any, operation: str, /, *, what: str = "", fix: str = "", **params: Any
) -> list[dict[str, Any]]:
    """Every page of a paginated listing (``client.get_paginator(operation)``).

    Raises:
        AwsError: the listing was refused (default message: the permission it needs).
    """
    service = service_of(client)
    model = getattr(getattr(client, "meta", None), "service_model", None)
    prefix = str(getattr(model, "signing_name", "") or "iam")  # the IAM action prefix (sso:)
    words = what or f"Reading {service} ({operation})"
    needs = fix or f"The caller needs {prefix}:{operation}; re-run."
    try:
        return list(client.get_paginator(operation).paginate(**params))
    except (ClientError, ParamValidationError, ResponseParserError) as err:
        raised = translate(err, words, needs, service=service)
        raise raised from (None if error_code(err) == INVALID else err)


def items(
    client: Any, operation: str, key: str, /, *, what: str = "", fix: str = "", **params: Any
) -> list[dict[str, Any]]:
    """The items under ``key`` on every page of a listing, in order.

    Raises:
        AwsError: the listing was refused.
    """
    return [
        item
        for page in pages(client, operation, what=what, fix=fix, **params)
        for item in page.get(key, [])
    ]


def caller_identity(sts: Any, target: str, profile: str) -> dict[str, Any]:
    """STS GetCallerIdentity for preflight: who the credentials of ``target`` are.

    Args:
        sts: the STS client of the run.
        target: the target in words (for the messages).
        profile: the profile name, if any (named in the sign-in advice).

    Raises:
        TargetRefused: no credentials, or refused credentials.
        TargetUnreachable: the target did not answer (exit 1).
    """
    try:
        ident: dict[str, Any] = sts.get_caller_identity()
    except NoCredentialsError as err:
        raise TargetRefused(
            _(
                "No AWS credentials found for {target}: sign in (aws sso login --profile "
                "{profile}) or configure the profile, then re-run."
            ).format(target=target, profile=profile or "NAME")
        ) from err
    except ClientError as err:
        raise TargetRefused(
            _(
                "AWS refused the credentials of {target} (STS {code}): renew them (aws sso "
                "login, or new keys) and re-run."
            ).format(target=target, code=error_code(err))
        ) from err
    except BotoCoreError as err:
        raise TargetUnreachable(
            _(
                "Cannot reach {target} ({error}): check endpoint_url and the network, or use "
                "target sandbox."
            ).format(target=target, error=type(err).__name__)
        ) from err
    return ident


def signed_call(method: Callable[..., Any], /, **params: Any) -> tuple[Any, str]:
    """A call whose failure is an answer, not an error (a proof that a key authenticates).

    Returns:
        ``(response, "")`` on success, ``(None, code)`` on an AWS error (its code) or on a
        failure to reach the target (botocore's error name).
    """
    try:
        return method(**params), ""
    except ClientError as err:
        return None, error_code(err) or "Unknown"
    except BotoCoreError as err:
        return None, type(err).__name__
