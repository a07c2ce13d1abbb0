"""One summary for a fan-out run: ``summary.json``, ``summary.csv``, ``summary.html``, the
terminal table, and the run's exit code.

Every row comes from an account's run record (status, exit code, writes, findings counts,
pending manual steps). The HTML page is offline (inline CSS, no script) and shows accounts x
findings for a report (S0) or accounts x changes and manual steps for the others.

Exit code of a fan-out run: the worst account's, in the order ``EXIT_SEVERITY``
(0 done < 3 manual step pending < 4 findings failed < 1 failed < 2 bad input). An account that
was never started (``--max-errors``) counts as failed (1): its work was not done.
"""

from __future__ import annotations

import csv
import html
import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from runbook_lib.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_FINDINGS,
    EXIT_MANUAL_PENDING,
    EXIT_OK,
)
from runbook_lib.core.i18n import _
from runbook_lib.core.wording import csv_cell, pad, safe_text
from runbook_lib.org.posture import root_posture
from runbook_lib.org.request import FanoutRequest
from runbook_lib.org.target import FanoutTarget
from runbook_lib.root_usage.result import COUNT_ORDER, shown_status
from runbook_lib.run.artifacts import create_private
from runbook_lib.run.notebooks import declared, find_notebook

if TYPE_CHECKING:
    from runbook_lib.org.fanout import AccountResult, FanoutResult


def _slug(status: str) -> str:
    return status.replace(" ", "_").lower()


#: exit codes from best to worst: the one place this order is defined
EXIT_SEVERITY = (EXIT_OK, EXIT_MANUAL_PENDING, EXIT_FINDINGS, EXIT_FAILED, EXIT_BAD_INPUT)
COLUMNS = (
    "account_id",
    "status",
    "exit_code",
    "writes",
    "reads",
    *(f"findings_{_slug(s)}" for s in COUNT_ORDER),
    "pending_manual_steps",
    "seconds",
    "run_dir",
    "message",
)


def worst_exit(codes: Iterable[int | None]) -> int:
    """The worst of ``codes`` by ``EXIT_SEVERITY`` (``None``, never started, counts as 1)."""
    ranked = [EXIT_FAILED if c is None else c for c in codes]
    rank = {code: i for i, code in enumerate(EXIT_SEVERITY)}
    return max(ranked, key=lambda c: rank.get(c, rank[EXIT_FAILED]), default=EXIT_OK)


def row(result: AccountResult, base: Path) -> dict[str, Any]:
    """One account's summary row (no secret: the record has none)."""
    rec = result.record
    findings = list(rec.get("findings") or [])
    pending = [m for m in rec.get("manual_steps") or [] if m.get("status") == "pending"]
    out: dict[str, Any] = {
        "account_id": result.account_id,
        "status": result.status,
        "exit_code": result.exit_code,
        "writes": rec.get("writes", 0),
        "reads": rec.get("reads", 0),
    }
    for status in COUNT_ORDER:
        out[f"findings_{_slug(status)}"] = sum(shown_status(f) == status for f in findings)
    out["pending_manual_steps"] = " ".join(str(m.get("step")) for m in pending)
    out["seconds"] = round(result.seconds, 2)
    out["run_dir"] = str(result.run_dir.relative_to(base)) if result.run_dir else ""
    out["message"] = result.message
    return out


def _columns(results: Sequence[AccountResult]) -> tuple[str, list[str]]:
    """The HTML table's detail columns: findings (S0) or changes + manual steps."""
    checks: list[str] = []
    steps: list[str] = []
    for res in results:
        for f in res.record.get("findings") or []:
            if _control(f) not in checks:
                checks.append(_control(f))
        for c in res.record.get("changes") or []:
            if f"{c.get('action')}" not in steps:
                steps.append(str(c.get("action")))
        for m in res.record.get("manual_steps") or []:
            if f"manual {m.get('step')}" not in steps:
                steps.append(f"manual {m.get('step')}")
    return ("findings", checks) if checks else ("steps", steps)


def _control(finding: Mapping[str, Any]) -> str:
    """A finding's column: its control ID (one column per CIS control)."""
    return str(finding.get("control", ""))


def _cell(res: AccountResult, kind: str, column: str) -> str:
    rec = res.record
    if kind == "findings":
        found = [f for f in rec.get("findings") or [] if _control(f) == column]
        return shown_status(found[0]) if found else ""
    if column.startswith("manual "):
        ms = [m for m in rec.get("manual_steps") or [] if f"manual {m.get('step')}" == column]
        return str(ms[0].get("status")) if ms else ""
    n = sum(c.get("action") == column for c in rec.get("changes") or [])
    return str(n) if n else ("-" if rec else "")


def _titles(results: Sequence[AccountResult]) -> dict[str, str]:
    """Each control's title (the first account's record that names it)."""
    titles: dict[str, str] = {}
    for res in results:
        for f in res.record.get("findings") or []:
            titles.setdefault(_control(f), str(f.get("title", "")))
    return titles


def _run_link(res: AccountResult, base: Path, stem: str) -> str:
    """A relative link to the account's run: its HTML export, else its executed notebook
    (``--html none``), else its ``run.json``; ``""`` for an account that never ran."""
    if res.run_dir is None:
        return ""
    for name in (f"{stem}.html", f"{stem}.ipynb", "run.json"):
        if (res.run_dir / name).is_file():
            return (res.run_dir / name).relative_to(base).as_posix()
    return ""


#: the page fits a 1280 px window: the table scrolls inside its own box, the account column
#: stays in view, control columns are narrow (their titles in the legend and on hover)
_CSS = (
    "body{font-family:sans-serif;margin:1em;max-width:100%}"
    ".wrap{overflow:auto;max-width:100%;max-height:80vh;border:1px solid #999}"
    "table{border-collapse:collapse;font-size:90%}"
    "td,th{border:1px solid #999;padding:2px 6px;white-space:nowrap}"
    "th{position:sticky;top:0;background:#eee}"
    "td:first-child,th:first-child{position:sticky;left:0;background:#fff}"
    "th:first-child{background:#eee;z-index:1}"
    ".FAIL,.failed{background:#fcc}.PASS{background:#cfc}.WARN,.pending{background:#ffc}"
    "dl{columns:2 30em}dt{font-weight:bold}dd{margin:0 0 .3em 1em}"
)


def to_html(fanout: FanoutResult, code: int, extra: Sequence[str] = ()) -> str:
    """The offline HTML page: a row per account (linked to its run), a column per finding or
    step, and the controls' titles."""
    kind, columns = _columns(fanout.results)
    titles = _titles(fanout.results) if kind == "findings" else {}
    esc = html.escape
    head = [(h, "") for h in ("account", "status", "exit", "writes")]
    head += [(c, titles.get(c, "")) for c in columns]
    lines = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{esc(fanout.notebook)}: {len(fanout.results)} accounts</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{esc(fanout.notebook)} over {len(fanout.results)} accounts: exit {code}</h1>",
        *(f"<p>{esc(line)}</p>" for line in extra),
        "<div class='wrap'><table><tr>"
        + "".join(f"<th title='{esc(t)}'>{esc(h)}</th>" if t else f"<th>{esc(h)}</th>"
                  for h, t in head)
        + "</tr>",
    ]  # fmt: skip
    for res in fanout.results:
        link = _run_link(res, fanout.output_dir, fanout.notebook)
        account = esc(res.account_id)
        if link:
            account = f"<a href='{esc(link)}'>{account}</a>"
        cells = [res.status, "" if res.exit_code is None else str(res.exit_code)]
        cells.append(str(res.record.get("writes", "")))
        details = [_cell(res, kind, c) for c in columns]
        tds = f"<td>{account}</td>" + "".join(f"<td>{esc(c)}</td>" for c in cells)
        tds += "".join(
            f"<td class='{esc(d)}' title='{esc(titles.get(c, c))}'>{esc(d)}</td>"
            for c, d in zip(columns, details, strict=True)
        )
        lines.append(f"<tr>{tds}</tr>")
    lines.append("</table></div>")
    if titles:
        lines.append("<h2>" + esc(_("Controls")) + "</h2><dl>")
        lines += [f"<dt>{esc(c)}</dt><dd>{esc(titles[c])}</dd>" for c in columns if titles[c]]
        lines.append("</dl>")
    lines.append("</body></html>")
    return "\n".join(lines) + "\n"


def write_summary(
    fanout: FanoutResult, extra: Sequence[str] = (), root: Mapping[str, Any] | None = None
) -> int:
    """Write the three summary files (0600) into the fan-out folder; return the run's exit code.

    Args:
        extra: lines shown above the table (the Organization's root-access posture).
        root: the posture as data (``summary.json``'s ``root_access``).
    """
    code = worst_exit(r.exit_code for r in fanout.results)
    rows = [row(r, fanout.output_dir) for r in fanout.results]
    folder = fanout.output_dir
    data = {
        "notebook": fanout.notebook,
        "accounts": len(rows),
        "exit_code": code,
        "stopped_early": fanout.stopped_early,
        "notes": list(extra),
        "root_access": dict(root or {}),
        "rows": rows,
    }
    create_private(folder / "summary.json").write_text(
        json.dumps(data, indent=2) + "\n", encoding="utf-8"
    )
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(COLUMNS))
    writer.writeheader()
    writer.writerows({k: csv_cell(v) for k, v in r.items()} for r in rows)
    create_private(folder / "summary.csv").write_text(buf.getvalue(), encoding="utf-8")
    create_private(folder / "summary.html").write_text(
        to_html(fanout, code, extra), encoding="utf-8"
    )
    return code


def summarize(
    request: FanoutRequest,
    fanout: FanoutResult,
    target: Callable[[], FanoutTarget],
    notes: Sequence[str] = (),
) -> tuple[int, list[str]]:
    """The summary of a fan-out run, the same for every front end: ``notes``, then (for a
    runbook that declares ``org_root_access``) the Organization's root-access posture.

    Args:
        target: the management session (``posture.root_posture`` asks only when it needs it).

    Returns:
        The run's exit code (the worst account's) and the lines above the table.
    """
    lines = list(notes)
    root: dict[str, Any] = {}
    if declared(find_notebook(request.notebook)).org_root_access:
        account_ids = [r.account_id for r in fanout.results]
        more, root = root_posture(request, target, account_ids)
        lines += more
    return write_summary(fanout, lines, root), lines


def progress_line(result: AccountResult, done: int, total: int) -> str:
    """The line printed as each account finishes (``safe_text``: the message may quote AWS)."""
    rec = result.record
    code = "-" if result.exit_code is None else str(result.exit_code)
    line = f"[{done}/{total}] {result.account_id} {result.status} " + _(
        "(exit {code}, {writes} writes) in {seconds} s"
    ).format(code=code, writes=rec.get("writes", 0), seconds=f"{result.seconds:.1f}")
    return safe_text(f"{line}: {result.message}" if result.exit_code in (1, 2) else line)


def table(fanout: FanoutResult) -> list[str]:
    """The terminal table at the end of a fan-out run."""
    head = ((_("account"), 14), (_("status"), 22), (_("exit"), 6), (_("writes"), 8))
    lines = ["".join(pad(text, width) for text, width in head) + _("findings / pending")]
    for res in fanout.results:
        r = row(res, fanout.output_dir)
        counts = ", ".join(
            f"{r['findings_' + _slug(s)]} {s}" for s in COUNT_ORDER if r["findings_" + _slug(s)]
        )
        tail = "; ".join(x for x in (counts, r["pending_manual_steps"]) if x)
        code = "-" if res.exit_code is None else str(res.exit_code)
        line = f"{res.account_id:<14}{res.status:<22}{code:<6}{r['writes']:<8}{tail}"
        lines.append(safe_text(line))
    return lines
