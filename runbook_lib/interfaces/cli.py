"""``runbook``: list, run and serve the runbook notebooks, and render them as a course.

Exit codes: 0 done; 1 failed; 2 bad input (nothing changed); 3 done except a manual step;
4 done, but a finding of the report failed (``fail_on_findings``).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runbook_lib.core import gcdefer
from runbook_lib.core.errors import (
    EXIT_BAD_INPUT,
    EXIT_FAILED,
    EXIT_OK,
    RunbookError,
)
from runbook_lib.core.i18n import _
from runbook_lib.core.wording import safe_text
from runbook_lib.interfaces.clean import clean_command, clean_options
from runbook_lib.interfaces.cli_options import lang_option, serve_options, target_options
from runbook_lib.interfaces.fanout_cli import (
    fanout_options,
    member_option,
    run_org,
    use_organization_sandbox,
    wants_fanout,
)
from runbook_lib.interfaces.fix_cli import fix_command, fix_options

USAGE_EXIT = EXIT_BAD_INPUT


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # one line, exit 2, like every other bad input
        self.exit(USAGE_EXIT, f"runbook: {message} (see 'runbook {self.prog.split()[-1]} -h')\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="runbook", description=_plain(__doc__ or ""))
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sub.add_parser("list", help="the notebooks, their parameters and help")

    run = sub.add_parser("run", help="run notebooks headless and keep a run record")
    run.add_argument("name", nargs="?", help="notebook stem (01_create_admin_user) or number (01)")
    run.add_argument("--all", action="store_true", help="run every notebook: 00, 04, 01-03")
    target_options(run)
    run.add_argument("--output-dir", type=Path, default=Path("runs"), help="default: runs/")
    run.add_argument("--plan", action="store_true", help="report what would change; no writes")
    run.add_argument(
        "--compare",
        type=Path,
        metavar="RUN_DIR",
        help="after 00 runs, show each control's status in RUN_DIR (an earlier 00 run) -> now",
    )
    run.add_argument(
        "--cis-version",
        metavar="VERSION",
        help="00: the CIS AWS Foundations version of the audit's IDs: 4.0.1, 5.0.0, 6.0.0, 7.0.0 "
        "(default)",
    )
    lang_option(run, "language of the messages (the notebooks' parameter)")
    run.add_argument(
        "--log-output",
        action="store_true",
        help="stream cell output to the terminal and run.log (secrets redacted)",
    )
    fanout_options(run)

    fix = sub.add_parser(
        "fix", help="audit, then run the runbooks that close its FAILs; audit again"
    )
    fix_options(fix)

    box = sub.add_parser("sandbox", help="run the embedded sandbox in the foreground")
    box.add_argument("--port", type=int, default=0, help="default: a free port")
    box.add_argument("--seed", type=int, default=42)
    member_option(box)

    lab = sub.add_parser("lab", help="JupyterLab on the notebooks, pointed at the sandbox")
    serve_options(lab, default_port=8888)

    app = sub.add_parser("app", help="one notebook as a Voilà app: widgets only, no code")
    app.add_argument("name", help=f"notebook: {_stems()}; its number (03) or a path")
    serve_options(app, default_port=8866)

    docs = sub.add_parser("docs", help="render the notebooks to a static offline site")
    docs.add_argument("--output-dir", type=Path, default=Path("site"), help="default: site/")
    lang_option(docs, "both languages are always built; the index to open first (default: en)")

    clean = sub.add_parser(
        "clean",
        help="list old run folders, sandbox secrets and demo scratch; --yes deletes them",
    )
    clean_options(clean)

    refresh = sub.add_parser(
        "refresh", help="re-execute the committed notebooks on a fresh sandbox (training outputs)"
    )
    refresh.add_argument("names", nargs="*", help="notebooks (default: all, in order)")
    return parser


def _plain(text: str) -> str:
    """A docstring as a terminal shows it: no reST literal markup (````x````)."""
    return text.replace("``", "")


def _stems() -> str:
    from runbook_lib.run.notebooks import all_notebooks

    return ", ".join(book.stem for book in all_notebooks()) or "(no notebooks found)"


def _refresh(args: argparse.Namespace) -> int:
    from runbook_lib.authoring.refresh import refresh_notebooks
    from runbook_lib.run.notebooks import find_notebook

    books = [find_notebook(n) for n in args.names] if args.names else None  # None: en + ko
    for path in refresh_notebooks(books):
        print(_("refreshed {path}").format(path=path))
    return EXIT_OK


def _list() -> int:
    from runbook_lib.run.notebooks import all_notebooks, notebook_parameters

    for book in all_notebooks():
        print(book.stem)
        for name, info in notebook_parameters(book).items():
            default = info.get("default")
            print(f"  {name}: {info.get('inferred_type_name')} = {default}  # {info.get('help')}")
    return EXIT_OK


def _precheck(books: list[Path], params: dict[str, Any], plan: bool) -> None:
    """Everything that can be refused before a kernel starts.

    Raises:
        BadInput: a parameter of the wrong type or against IAM's rules; a missing user.
        TargetRefused: unknown profile, refused credentials, wrong account.
        TargetUnreachable: the endpoint did not answer (exit 1).
    """
    from runbook_lib.core.sandbox import running_sandbox_url
    from runbook_lib.run import precheck
    from runbook_lib.run.runner import prepare_parameters

    for book in books:
        prepare_parameters(str(book), params, plan=plan)  # declared types
    precheck.check_parameters(params, books)  # each notebook's own input checks
    user = precheck.user_needed(books, params)
    precheck.check_target(params, sandbox_url=running_sandbox_url(), user=user)


def _run(args: argparse.Namespace) -> int:
    from runbook_lib.run import notebooks, precheck
    from runbook_lib.run.compare import check_comparable
    from runbook_lib.run.engine import warm_kernels
    from runbook_lib.run.export import html_per_run
    from runbook_lib.run.notebooks import (
        find_notebook,
        procedure_notebooks,
        run_order,
        run_parameters,
    )
    from runbook_lib.run.pool import KernelPool
    from runbook_lib.run.runner import run_notebook
    from runbook_lib.run.summary import compare_lines, report

    if bool(args.all) == bool(args.name):
        raise _usage(_("give one notebook NAME or --all"))
    if args.endpoint_url and args.profile:
        raise _usage(_("--endpoint-url and --profile exclude each other"))
    books = run_order(procedure_notebooks()) if args.all else [find_notebook(args.name)]
    if args.cis_version:  # -p cis_version VERSION: checked (precheck) like every parameter
        args.parameter.append(["cis_version", args.cis_version])
    params = run_parameters(
        args.parameters_file,
        args.parameter,
        books,
        endpoint_url=args.endpoint_url or "",
        profile=args.profile or "",
    )
    if args.lang:  # the notebooks' ``language`` parameter, and this process's summary lines
        from runbook_lib.core.i18n import set_language

        params["language"] = args.lang
        set_language(args.lang)
    if wants_fanout(args):
        return run_org(args, params)
    if args.member_accounts:  # one run on a sandbox that is an Organization (runbook 06)
        use_organization_sandbox(args, params)
    _precheck(books, params, args.plan)
    before = precheck.load_compare(args.compare, books) if args.compare else None
    if before is not None:  # another account or sandbox: refused before anything runs
        check_comparable(before, params, args.compare)
    if args.log_output:  # the runner adds its secret-redacting filter to this handler
        logging.basicConfig(level=logging.WARNING, format="  | %(message)s")
    worst = EXIT_OK
    # --all: one warm kernel, reset between notebooks (run.pool); a run that fails, or leaves
    # a secret alive, gets its kernel discarded
    # --html none (the default): the executed notebook and run.json are the record; the HTML
    # export (nbconvert, ≈ a third of a single run's CPU) only with --html each
    with (
        KernelPool(1, prestart=False) as pool,
        warm_kernels(pool if len(books) > 1 else None),
        html_per_run(args.html == "each"),
    ):
        for book in books:
            print(f"▶ {book.stem} …", end="", flush=True)
            started = time.monotonic()
            try:
                result = run_notebook(
                    str(book),
                    params,
                    output_dir=args.output_dir,
                    plan=args.plan,
                    log_output=args.log_output,
                )
            except RunbookError:
                print(" " + _("refused"), flush=True)  # end the progress line; the reason follows
                raise
            report(result, time.monotonic() - started)
            if before is not None and notebooks.declared(book).kind == "audit":
                print("\n".join(compare_lines(before, result.record, str(args.compare))))
            if result.exit_code in (EXIT_FAILED, EXIT_BAD_INPUT):
                return result.exit_code
            worst = max(worst, result.exit_code)
    print(_("Run records: {folder}/").format(folder=args.output_dir))
    return worst


def _sandbox(args: argparse.Namespace) -> int:
    from runbook_lib.core.sandbox import Sandbox
    from runbook_lib.interfaces.apps import wait_until_answers

    box = Sandbox(seed=args.seed, port=args.port, member_accounts=args.member_accounts).start()
    if not wait_until_answers(f"{box.url}/moto-api/"):  # the URL works once it is printed
        box.stop()
        raise RunbookError(f"The sandbox did not answer on {box.url}: try again.")
    if box.accounts:
        print(f"# an Organization: the management account plus members {' '.join(box.accounts)}")
    print("# the sandbox is running; point a shell or JupyterLab at it with:")
    for key, value in box.environ().items():
        print(f"export {key}={value}")
    print("unset AWS_PROFILE AWS_SESSION_TOKEN  # never a real account", flush=True)
    try:
        signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        box.stop()
    return EXIT_OK


def _serve(args: argparse.Namespace) -> int:
    from runbook_lib.interfaces.session import serve

    try:
        return serve(args)
    except ValueError as err:  # a combination of options the session refuses
        raise _usage(str(err)) from err


def _docs(args: argparse.Namespace) -> int:
    from runbook_lib.authoring.docs import build_course

    for lang, pages in build_course(args.output_dir).items():  # English, then Korean in ko/
        folder = args.output_dir if lang == "en" else args.output_dir / lang
        print(_("{count} pages → {folder}/index.html").format(count=len(pages), folder=folder))
    first = args.output_dir if (args.lang or "en") == "en" else args.output_dir / args.lang
    print(f"open: {first}/index.html")
    return EXIT_OK


class _UsageError(Exception):
    pass


def _usage(message: str) -> _UsageError:
    return _UsageError(message)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``runbook`` command; returns the exit code."""
    # jsonschema imports rfc3987_syntax when it is installed (jupyter-events pulls it in), and
    # compiling its grammar costs ≈2 s of every run; nbformat's schemas never use IRI formats.
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    gcdefer.defer()  # back on once a run's imports are done (engine.execute)
    args = _parser().parse_args(argv)
    if args.command not in ("run", "fix"):
        gcdefer.resume()
    try:
        if args.command == "list":
            return _list()
        if args.command == "run":
            return _run(args)
        if args.command == "fix":
            return fix_command(args)
        if args.command == "sandbox":
            return _sandbox(args)
        if args.command in ("lab", "app"):
            return _serve(args)
        if args.command == "docs":
            return _docs(args)
        if args.command == "refresh":
            return _refresh(args)
        if args.command == "clean":
            return clean_command(args)
    except _UsageError as err:
        print(f"runbook: {err} (see 'runbook {args.command} -h')", file=sys.stderr)
        return USAGE_EXIT
    except RunbookError as err:
        nothing = " " + _("Nothing was changed.") if err.exit_code == EXIT_BAD_INPUT else ""
        print(f"runbook: {safe_text(err)}{nothing}", file=sys.stderr)  # may quote AWS
        return err.exit_code
    finally:
        gcdefer.resume()
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
