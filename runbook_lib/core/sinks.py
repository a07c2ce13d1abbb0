"""Where secrets go: one registry of destinations, one handler per scheme (papermill's ``iorw``).

A secret leaves the process only for a destination the user chose:

- ``file``: a new file, mode 0600, written atomically and never overwritten (S1's sign-in CSV,
  S2's key CSV, S3's seed file; ``core.secret_files``);
- ``secretsmanager``: an AWS Secrets Manager secret holding JSON (S2's key, S3's seed);
- ``widget``: shown once to the person at a live notebook (the widget itself lives in
  ``runbook_lib.widgets``; this handler checks that a person is there, and cannot read back).

Each handler has ``check`` (before any AWS write: an existing file, an unwritable folder, a bad
secret name, a headless widget are bad input; with the run context, a Secrets Manager secret
that holds another kind of secret), ``write`` and ``read_rows``. ``read_back`` finds
the row of one secret (user, key ID or serial) with a non-empty secret, which is how a re-run
tells a delivered secret from an unusable destination. What a row holds and how it is laid out
(a console CSV, ``key=value`` lines, JSON) is a ``Layout`` of the section.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from runbook_lib.core import aws
from runbook_lib.core.context import RunContext
from runbook_lib.core.errors import BadInput, RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.core.layouts import Layout, Row
from runbook_lib.core.secret_files import check_file_destination, read_text, write_secret_text
from runbook_lib.core.secrets import Secret, hidden_frames

_SM_NAME_RE = re.compile(r"[A-Za-z0-9/_+=.@-]{1,512}")
#: the tag each Secrets Manager secret the runbooks create carries: the layout's kind
#: (``secret-access-key``, ``mfa-seed``): one secret holds one kind of secret
KIND_TAG = "iam-runbooks:kind"


@dataclass(frozen=True)
class Destination:
    """A resolved destination: scheme, location (path or secret name) and the row's layout.

    Attributes:
        scheme: ``file``, ``secretsmanager`` or ``widget``.
        location: the file path or the secret name (``""`` for a widget).
        layout: how the row is laid out.
        search: ``file`` only: a glob in the same folder whose files a read-back also searches
            (S2's rotation files carry a date).
        description: Secrets Manager only: the secret's description.
    """

    scheme: str
    location: str
    layout: Layout
    search: str = ""
    description: str = ""

    @property
    def path(self) -> Path:
        """The file (``file`` only)."""
        return Path(self.location)


class Handler(Protocol):
    """One scheme: check before any write, write, read the rows back."""

    def check(self, ctx: RunContext | None, dest: Destination, *, interactive: bool) -> None: ...

    def write(self, ctx: RunContext | None, dest: Destination, row: Row) -> str: ...

    def read_rows(self, ctx: RunContext | None, dest: Destination) -> list[dict[str, str]]: ...


class FileHandler:
    """``file``: a new 0600 file, atomic, never overwritten."""

    def check(self, ctx: RunContext | None, dest: Destination, *, interactive: bool) -> None:
        """Raises BadInput: the file exists or its folder is not writable."""
        check_file_destination(dest.path)

    def write(self, ctx: RunContext | None, dest: Destination, row: Row) -> str:
        """Write the file; returns its path."""
        return str(write_secret_text(dest.path, dest.layout.file_text(row)))

    def read_rows(self, ctx: RunContext | None, dest: Destination) -> list[dict[str, str]]:
        """The rows of the file and of every file ``search`` matches."""
        paths = [dest.path]
        if dest.search:
            paths += [p for p in sorted(dest.path.parent.glob(dest.search)) if p != dest.path]
        rows: list[dict[str, str]] = []
        for path in paths:
            rows += _file_rows(dest.layout, path)
        return rows


def _file_rows(layout: Layout, path: Path) -> list[dict[str, str]]:
    """The rows of one secret file; none when it is missing, empty or cut short (every file
    this library writes ends with a line end: its last row cannot be trusted without one)."""
    text = read_text(path) if path.is_file() else None
    return layout.parse_file(text) if text and text.endswith("\n") else []


def unusable_file(dest: Destination) -> bool:
    """Whether ``dest`` is a file that exists but holds no usable row (empty, cut short):
    the section moves it aside (``secret_files.set_aside``) and makes the secret again."""
    if dest.scheme != "file" or not (dest.path.exists() or dest.path.is_symlink()):
        return False
    return not any(row.get(dest.layout.secret) for row in _file_rows(dest.layout, dest.path))


def store_in_secrets_manager(
    sm: Any, name: str, body: Secret | dict[str, str], description: str, kind: str = ""
) -> str:
    """Store JSON in AWS Secrets Manager under ``name``; returns the secret's ARN.

    A new secret is created (tagged ``KIND_TAG``: ``kind`` when given); an existing one gets a
    new current version, unless it holds another kind of secret (``kind_conflict``: another
    run created it since the check).

    Raises:
        BadInput: botocore refused the name before sending anything (empty, too long).
        RunbookError: the existing secret holds another kind of secret (nothing stored).
        AwsError: Secrets Manager refused.
    """
    text = body if isinstance(body, Secret) else Secret("secret-file", json.dumps(body))
    invalid = BadInput(
        f"Secrets Manager cannot take a secret named '{name}': use 1–512 characters of "
        "letters, digits and /_+=.@- (nothing was stored)."
    )
    what = f"Storing the secret in Secrets Manager as '{name}'"
    fix = "Check the caller may call secretsmanager:CreateSecret/PutSecretValue on it."
    extra: dict[str, Any] = {"Tags": [{"Key": KIND_TAG, "Value": kind}]} if kind else {}
    # failures are cut at ``hidden_frames``: no frame holding the JSON text reaches a traceback
    with hidden_frames():
        resp = aws.call(
            sm.create_secret,
            what=what,
            fix=fix,
            missing=("ResourceExistsException",),
            errors={aws.INVALID: invalid},
            Name=name,
            SecretString=text.text(),
            Description=description,
            **extra,
        )
    if resp is None:
        conflict = kind_conflict(sm, name, kind) if kind else ""
        if conflict:
            raise RunbookError(
                _(
                    "The secret was not stored: {conflict} (another run created it meanwhile). "
                    "Re-run with another secret_name."
                ).format(conflict=conflict)
            )
        with hidden_frames():
            resp = aws.call(
                sm.put_secret_value,
                what=what,
                fix=fix,
                errors={aws.INVALID: invalid},
                SecretId=name,
                SecretString=text.text(),
            )
    return str(resp["ARN"])


def kind_conflict(sm: Any, name: str, kind: str, layout: Layout | None = None) -> str:
    """Why the Secrets Manager secret ``name`` must not take a secret of ``kind`` (``""``: it
    may, or it does not exist).

    A secret tagged ``KIND_TAG`` with another kind is another kind's; an untagged one (made by
    hand, or by an older version of the runbooks) may take it only if it holds a row of
    ``layout`` already (read, then dropped at once); without ``layout`` it is not judged.

    Raises:
        AwsError: Secrets Manager refused the read.
    """
    found = aws.call(
        sm.describe_secret,
        what=f"Reading Secrets Manager secret '{name}'",
        fix="The caller needs secretsmanager:DescribeSecret on it.",
        missing=("ResourceNotFoundException",),
        SecretId=name,
    )
    if found is None:
        return ""
    tags = {t.get("Key"): t.get("Value", "") for t in found.get("Tags") or []}
    if KIND_TAG in tags:
        held = tags[KIND_TAG]
        if held == kind:
            return ""
        return _("Secrets Manager secret '{name}' holds a {held}, not a {kind}").format(
            name=name, held=held, kind=kind
        )
    if layout is None:
        return ""
    dest = Destination("secretsmanager", name, layout)
    rows = SecretsManagerHandler().read_rows(None, dest, sm=sm)
    if any(row.get(layout.secret) for row in rows):
        return ""
    return _(
        "Secrets Manager secret '{name}' exists without the tag {tag} and holds something "
        "other than a {kind}"
    ).format(name=name, tag=KIND_TAG, kind=kind)


def _need(ctx: RunContext | None) -> RunContext:
    if ctx is None:
        raise TypeError("a Secrets Manager destination needs the run context")
    return ctx


class SecretsManagerHandler:
    """``secretsmanager``: a secret holding the row as JSON, tagged with its kind."""

    def check(self, ctx: RunContext | None, dest: Destination, *, interactive: bool) -> None:
        """Raises BadInput: not a valid Secrets Manager name; with ``ctx``, an existing secret
        that holds another kind of secret (``kind_conflict``)."""
        if not _SM_NAME_RE.fullmatch(dest.location):
            raise BadInput(
                f"secret_name {dest.location!r} is not a valid Secrets Manager name: use 1-512 "
                "letters, digits and / _ + = . @ -."
            )
        if ctx is None:
            return
        conflict = kind_conflict(
            ctx.client("secretsmanager"), dest.location, dest.layout.kind, dest.layout
        )
        if conflict:
            raise BadInput(
                _("{conflict}: one secret holds one kind; choose another secret_name.").format(
                    conflict=conflict
                )
            )

    def write(self, ctx: RunContext | None, dest: Destination, row: Row) -> str:
        """Create the secret (or a new version); returns its ARN."""
        return store_in_secrets_manager(
            _need(ctx).client("secretsmanager"),
            dest.location,
            dest.layout.json_text(row),
            dest.description,
            kind=dest.layout.kind,
        )

    def read_rows(
        self, ctx: RunContext | None, dest: Destination, *, sm: Any = None
    ) -> list[dict[str, str]]:
        """The secret's row (none when the secret does not exist)."""
        body = aws.call(
            (sm or _need(ctx).client("secretsmanager")).get_secret_value,
            what=f"Reading Secrets Manager secret '{dest.location}'",
            fix="The caller needs secretsmanager:GetSecretValue on it.",
            missing=("ResourceNotFoundException",),
            SecretId=dest.location,
        )
        return dest.layout.parse_json(str(body.get("SecretString") or "")) if body else []


class WidgetHandler:
    """``widget``: shown once to a person (``runbook_lib.widgets`` shows it); no read-back."""

    def check(self, ctx: RunContext | None, dest: Destination, *, interactive: bool) -> None:
        """Raises BadInput: nobody is at a live notebook to see it."""
        if not interactive:
            raise BadInput(
                "destination 'widget' needs a person at a live notebook, but this run is "
                "headless: use destination file or secretsmanager."
            )

    def write(self, ctx: RunContext | None, dest: Destination, row: Row) -> str:
        """Nothing to write here: the section's ``show_*`` step shows the widget."""
        return "the shown-once widget"

    def read_rows(self, ctx: RunContext | None, dest: Destination) -> list[dict[str, str]]:
        """A widget cannot be read back."""
        return []


_HANDLERS: dict[str, Handler] = {}


def register(scheme: str, handler: Handler) -> None:
    """Add (or replace) the handler of a scheme."""
    _HANDLERS[scheme] = handler


register("file", FileHandler())
register("secretsmanager", SecretsManagerHandler())
register("widget", WidgetHandler())


def handler(scheme: str) -> Handler:
    """The handler of a scheme.

    Raises:
        BadInput: no such scheme.
    """
    try:
        return _HANDLERS[scheme]
    except KeyError:
        raise BadInput(
            f"Unknown secret destination {scheme!r}: use one of {', '.join(sorted(_HANDLERS))}."
        ) from None


def check(dest: Destination, *, interactive: bool = False, ctx: RunContext | None = None) -> None:
    """Check, before any AWS write, that the secret can be delivered to ``dest``.

    Args:
        dest: where the secret would go.
        interactive: a person is at a live notebook.
        ctx: the run context: the destination is read too (a Secrets Manager secret of
            another kind is refused); without it only what needs no AWS call is checked.

    Raises:
        BadInput: the destination cannot take it.
    """
    handler(dest.scheme).check(ctx, dest, interactive=interactive)


def write(ctx: RunContext | None, dest: Destination, row: Row) -> str:
    """Deliver one row (its secret fields as ``Secret`` values); returns where it went.

    Raises:
        BadInput: a file exists or cannot be written.
        AwsError: Secrets Manager refused.
    """
    return handler(dest.scheme).write(ctx, dest, row)


def read_back(
    ctx: RunContext | None, dest: Destination, match: Mapping[str, str], *, label: str = ""
) -> Secret | None:
    """The secret of the row whose fields equal ``match`` and whose secret is not empty.

    Returns:
        The secret (kind ``dest.layout.kind``), or ``None`` when no usable row is there.

    Raises:
        AwsError: Secrets Manager refused the read (other than "no such secret").
    """
    secret_field = dest.layout.secret
    for row in handler(dest.scheme).read_rows(ctx, dest):
        if all(row.get(k) == v for k, v in match.items()) and row.get(secret_field):
            return Secret(dest.layout.kind, row[secret_field], label)
    return None


def has_usable_row(ctx: RunContext | None, dest: Destination, match: Mapping[str, str]) -> bool:
    """Whether ``read_back`` would find the secret (the value is dropped at once)."""
    found = read_back(ctx, dest, match)
    if found is None:
        return False
    found.drop()
    return True
