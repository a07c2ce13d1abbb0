"""How a secret's row is laid out at a destination: a console CSV, ``key=value`` lines, JSON.

A row is a mapping of field names to text, its secret fields held as ``Secret`` values; the
rendered text is itself a ``Secret`` so that no frame that can raise holds it in plain text.
Parsing gives rows back as plain text fields, for ``core.sinks.read_back``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from runbook_lib.core.secrets import Secret

Row = Mapping[str, "str | Secret"]


def csv_text(header: Iterable[str], row: Iterable[str]) -> str:
    """One header line and one row, as the IAM console writes them (CRLF, quoted if needed)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(list(header))
    writer.writerow(list(row))
    return buf.getvalue()


@dataclass(frozen=True)
class Layout:
    """How one secret's row is laid out at a destination.

    Attributes:
        kind: the secret's kind (``console-password``, ``secret-access-key``, ``mfa-seed``).
        fields: the row's fields in order (CSV header, ``key=value`` names).
        secret: the field that holds the secret a read-back returns.
        style: ``csv`` (console format) or ``lines`` (``key=value`` lines after a comment).
        comment: ``lines`` only: the comment lines, formatted with the row's plain fields.
        json_names: field -> JSON key in Secrets Manager (default: the field's name).
        file_fields: ``lines`` only: the fields written as lines (default: all).
    """

    kind: str
    fields: tuple[str, ...]
    secret: str
    style: str = "csv"
    comment: str = ""
    json_names: Mapping[str, str] = field(default_factory=dict)
    file_fields: tuple[str, ...] = ()

    def _value(self, row: Row, name: str) -> str:
        value = row.get(name, "")
        return value.text() if isinstance(value, Secret) else value

    def file_text(self, row: Row) -> Secret:
        """The file's text, held as a ``Secret``."""
        if self.style == "csv":
            return Secret(
                "secret-file", csv_text(self.fields, (self._value(row, f) for f in self.fields))
            )
        plain = {k: v for k, v in row.items() if isinstance(v, str)}
        names = self.file_fields or self.fields
        lines = "".join(f"{name}={self._value(row, name)}\n" for name in names)
        return Secret("secret-file", self.comment.format(**plain) + lines)

    def json_text(self, row: Row) -> Secret:
        """The Secrets Manager secret's JSON, held as a ``Secret``."""
        body = {self.json_names.get(f, f): self._value(row, f) for f in self.fields}
        return Secret("secret-file", json.dumps(body))

    def parse_file(self, text: str) -> list[dict[str, str]]:
        """The rows of a file's text (field names as in ``fields``)."""
        if self.style == "csv":
            by_lower = {f.lower(): f for f in self.fields}
            return [
                {
                    by_lower.get(k.strip().lower(), k.strip()): (v or "").strip()
                    for k, v in r.items()
                    if k
                }
                for r in csv.DictReader(io.StringIO(text))
            ]
        found: dict[str, str] = {}
        for line in text.splitlines():
            key, sep, value = line.partition("=")
            if sep and not key.startswith("#"):
                found[key.strip()] = value.strip()
        return [found] if found else []

    def parse_json(self, text: str) -> list[dict[str, str]]:
        """The row of a Secrets Manager secret's JSON (none when it is not this layout's)."""
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return []
        if not isinstance(data, dict):
            return []
        return [{f: str(data.get(self.json_names.get(f, f), "")) for f in self.fields}]
