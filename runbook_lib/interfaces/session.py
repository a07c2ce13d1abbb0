"""An interactive session: ``runbook lab`` and ``runbook app NAME`` on working copies.

Each session gets a private folder under ``runs/`` with clean copies of the notebooks
(outputs cleared, the session's parameters injected with papermill), the run record of each
notebook a person drives (``RUNBOOK_RECORD`` names ``{notebook}``), and, for
``--seed-prerequisites``, the headless runs of the runbooks before the app's one. The
committed ``notebooks/`` are never served, so a session leaves ``git status`` clean.
With ``--lang ko`` the working copies are the Korean notebooks (``notebooks/ko/``) with
``language: ko`` injected, and the server's kernels get ``$RUNBOOK_LANG=ko``.
"""

from __future__ import annotations

import argparse
import os
import shlex
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from runbook_lib.core import environ
from runbook_lib.core.errors import EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK, RunbookError
from runbook_lib.core.i18n import DEFAULT, _, set_language
from runbook_lib.interfaces import apps

#: the run record of each notebook a person drives: ``{notebook}`` is the notebook's stem
RECORD_NAME = "{notebook}.run.json"


def open_session(output_dir: Path, kind: str) -> Path:
    """A new private folder (0700) for one interactive session: ``OUTPUT/<stamp>-<kind>-<id>/``.

    It holds the working copies the server serves, their run records, and the records of
    the runbooks seeded headless before it.
    """
    from runbook_lib.run import artifacts

    return artifacts.open_run_dir(output_dir, kind, [])


def working_copy(book: Path, folder: Path, parameters: Mapping[str, object]) -> Path:
    """A clean copy of ``book`` in ``folder``: no outputs, ``parameters`` injected (papermill).

    Only the parameters the notebook declares are injected (never a secret: parameters are
    names, tags and the target); with none, the copy keeps its own defaults.

    Returns:
        The copy's path (``folder/<book's name>``), mode 0600.
    """
    import nbformat
    from papermill.parameterize import parameterize_notebook

    from runbook_lib.run import artifacts
    from runbook_lib.run.notebooks import notebook_parameters

    nb = nbformat.read(book, as_version=4)  # type: ignore[no-untyped-call]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("papermill", None)
    declared = notebook_parameters(book)
    given = {k: v for k, v in parameters.items() if k in declared}
    if given:
        nb.metadata["papermill"] = nbformat.from_dict({})  # type: ignore[no-untyped-call]
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
        nb = parameterize_notebook(nb, given)
        nb.metadata.pop("papermill", None)  # papermill's bookkeeping, not the runbook's
        for cell in nb.cells:
            cell.metadata.pop("papermill", None)
            if not cell.metadata.get("tags"):
                cell.metadata.pop("tags", None)
    target = artifacts.create_private(folder / book.name)
    nbformat.write(nb, target)  # type: ignore[no-untyped-call]
    return target


def working_copies(
    books: Sequence[Path], folder: Path, parameters: Mapping[str, object]
) -> list[Path]:
    """``working_copy`` of each of ``books`` into ``folder`` (see there)."""
    return [working_copy(book, folder, parameters) for book in books]


def prerequisites(book: Path, books: Sequence[Path]) -> list[Path]:
    """The runbooks that run before ``book`` in the run order (``runbook run --all``)."""
    from runbook_lib.run.notebooks import run_order

    order = run_order(books)
    stems = [b.stem for b in order]
    return order[: stems.index(book.stem)] if book.stem in stems else []


def _checked(args: argparse.Namespace) -> tuple[Path | None, list[Path], dict[str, Any]]:
    """The app's notebook (``None`` for Lab), the notebooks served and their parameters, all
    checked before anything starts.

    Raises:
        ValueError: options that exclude each other (a usage error).
        BadInput: an unknown notebook, a mistyped parameter or one against IAM's rules.
    """
    from runbook_lib.run import precheck
    from runbook_lib.run.notebooks import all_notebooks, find_notebook, run_parameters
    from runbook_lib.run.runner import prepare_parameters

    folder = notebook_folder(args)

    if args.endpoint_url and args.profile:
        raise ValueError("--endpoint-url and --profile exclude each other")
    if args.sandbox and (args.endpoint_url or args.profile):
        raise ValueError("--sandbox excludes --endpoint-url and --profile")
    book = find_notebook(args.name, folder) if args.command == "app" else None
    if args.seed_prerequisites and book is None:
        raise ValueError("--seed-prerequisites is for 'runbook app NAME' (Lab runs them in order)")
    books = [book] if book is not None else all_notebooks(folder)
    params = run_parameters(
        args.parameters_file,
        args.parameter,
        books,
        endpoint_url=args.endpoint_url or "",
        profile=args.profile or "",
    )
    if getattr(args, "lang", None):  # the notebooks' parameter, and this process's lines
        params["language"] = args.lang
        set_language(args.lang)
    for each in books:
        prepare_parameters(str(each), params)  # declared types
    # each notebook's own input checks, before a sandbox, a server or a kernel starts
    precheck.check_parameters(params, books, interactive=True)
    return book, books, params


def notebook_folder(args: argparse.Namespace) -> Path:
    """The notebooks a session serves: ``notebooks/ko/`` with ``--lang ko``, else the English
    ones (``notebooks/``)."""
    from runbook_lib.run.notebooks import notebooks_dir

    lang = getattr(args, "lang", None) or DEFAULT
    return notebooks_dir() if lang == DEFAULT else notebooks_dir() / lang


def serve(args: argparse.Namespace) -> int:
    """Run Lab or a Voilà app on working copies in a session folder until Ctrl+C.

    The target options are checked before anything starts; the notebooks served are clean
    copies with the parameters injected (never the committed ones); each kernel's run record
    goes into the session folder; the sandbox (when the target is one) is always stopped.
    """
    import secrets

    from runbook_lib.core.sandbox import running_sandbox_url
    from runbook_lib.run.notebooks import all_notebooks

    book, books, params = _checked(args)
    sandbox = str(params.get("target", "sandbox")) == "sandbox"
    if not sandbox:
        from runbook_lib.run import precheck

        precheck.check_target(params)  # unknown profile, unreachable endpoint: before a server
    apps.check_port_free(args.port)  # before any URL is printed
    session = open_session(args.output_dir, args.command if book is None else book.stem)
    copies = working_copies(books, session, params)
    token = secrets.token_urlsafe(24)
    # a sandbox this process was pointed at (RUNBOOK_SANDBOX_URL) is the one the seeding runs
    # use too (the runner prefers it): then the server's kernels use it as well
    running = running_sandbox_url() if sandbox else ""
    box = _start_sandbox(getattr(args, "member_accounts", 0)) if sandbox and not running else None
    sandbox_url = running or (box.url if box is not None else "")
    try:
        if book is not None and args.seed_prerequisites:
            earlier = prerequisites(book, all_notebooks(notebook_folder(args)))
            failed = _seed(earlier, params, session, box)
            if failed:
                return failed
        extra: dict[str, str] = {environ.LANG: args.lang} if getattr(args, "lang", None) else {}
        if book is not None:
            cmd = apps.voila_command(copies[0].resolve(), args.port, browser=not args.no_browser)
            templates = apps.write_voila_template(session / ".voila").resolve()
            paths = [str(templates), os.environ.get("JUPYTER_PATH", "")]
            extra["JUPYTER_PATH"] = os.pathsep.join(p for p in paths if p)
        else:
            settings = apps.write_lab_settings(session / ".lab-settings")
            cmd = apps.lab_command(
                session.resolve(), args.port, settings, browser=not args.no_browser
            )
        env = apps.server_environ(
            os.environ,
            sandbox_url=sandbox_url,
            token=token,
            record_path=(session / RECORD_NAME).resolve(),
        )
        env.update(extra)
        if book is not None and box is not None and not args.seed_prerequisites:
            # a sandbox private to this app starts empty: the way out is a restart, seeded
            restart = seeded_command(args)
            env[environ.RESTART_SEEDED] = restart
            hint = missing_prerequisite(book, params, notebook_folder(args), restart)
            if hint:
                print(hint, flush=True)
        if sandbox_url:
            print(f"sandbox: {sandbox_url} (every kernel of this server talks to it)")
        if box is not None and box.accounts:
            print(f"sandbox Organization members: {' '.join(box.accounts)}")
        print(f"session: {session}/ (working copies and run records)", flush=True)
        return apps.run_server(cmd, env, f"http://{apps.LOOPBACK}:{args.port}/?token={token}")
    finally:
        if box is not None:
            box.stop()


def seeded_command(args: argparse.Namespace) -> str:
    """The ``runbook app`` command that restarts this app with its prerequisites seeded."""
    parts = ["runbook", "app", str(args.name), "--seed-prerequisites"]
    if getattr(args, "lang", None):
        parts += ["--lang", args.lang]
    for file in args.parameters_file:
        parts += ["-f", str(file)]
    for name, value in args.parameter:
        parts += ["-p", name, value]
    return shlex.join(parts)


def missing_prerequisite(book: Path, params: Mapping[str, Any], folder: Path, restart: str) -> str:
    """The start-up line for an app whose runbook needs an IAM user that a new, private
    sandbox cannot have ("" when it needs none)."""
    from runbook_lib.run import precheck
    from runbook_lib.run.notebooks import all_notebooks

    user = precheck.user_needed([book], params)
    if not user:
        return ""
    earlier = ", ".join(b.stem for b in prerequisites(book, all_notebooks(folder)))
    return _(
        "{notebook} needs IAM user '{user}', and this app's sandbox starts empty: the page will "
        "stop at that step. To create the user first, stop this app (Ctrl+C) and run "
        "{command} ({earlier} run headless first)."
    ).format(notebook=book.stem, user=user, command=restart, earlier=earlier)


def _start_sandbox(member_accounts: int = 0) -> Any:
    from runbook_lib.core.sandbox import Sandbox

    return Sandbox(member_accounts=member_accounts).start()


def _seed(books: list[Path], params: dict[str, Any], session: Path, box: Any) -> int:
    """Run ``books`` headless on the session's target (records in ``session``).

    Returns:
        0, or the exit code of the first that failed (1) or was refused (2).
    """
    from runbook_lib.run.runner import run_notebook
    from runbook_lib.run.summary import report

    for book in books:
        print(f"▶ {book.stem} {_('(prerequisite)')} …", end="", flush=True)
        started = time.monotonic()
        try:
            result = run_notebook(str(book), params, output_dir=session, sandbox=box)
        except RunbookError:
            print(" refused", flush=True)
            raise
        report(result, time.monotonic() - started)
        if result.exit_code in (EXIT_FAILED, EXIT_BAD_INPUT):
            return result.exit_code
    return EXIT_OK
