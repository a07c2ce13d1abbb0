"""Finding the runbook notebooks and their declared parameters; loading parameter files."""

from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from runbook_lib.core import environ
from runbook_lib.core.errors import BadInput
from runbook_lib.core.i18n import _

NOTEBOOKS_VAR = environ.NOTEBOOKS


def notebooks_dir() -> Path:
    """The folder of runbook notebooks (``$RUNBOOK_NOTEBOOKS`` or the project's ``notebooks/``)."""
    env = os.environ.get(NOTEBOOKS_VAR)
    return Path(env) if env else Path(__file__).resolve().parents[2] / "notebooks"


@dataclass(frozen=True)
class Declared:
    """What a runbook notebook declares it is: its top-level ``runbook`` metadata.

    Host code reads these instead of a notebook's name or number.
    """

    section: str = ""
    #: ``audit`` (reads and reports findings: ``--compare`` compares its runs), ``change``, or
    #: ``fix`` (07: runs S0 and the runbooks that close its FAILs, each as a run of its own)
    kind: str = "change"
    #: it creates its ``user_name``: a run that includes it needs no user beforehand
    creates_user: bool = False
    #: it acts on an existing ``user_name`` (default ``Administrator``)
    needs_user: bool = False
    #: ``run --all`` runs it (false: a runbook a person picks on purpose, such as a cleanup)
    in_all: bool = True
    #: ``run --all`` runs it right before this section (``S1``), not in its number's place
    runs_before: str = ""
    #: over an Organization, it reports centralized root access (``--root-audit``...)
    org_root_access: bool = False
    #: destination parameter -> a fan-out account's Secrets Manager name, formatted with
    #: ``account``, ``user_name`` and ``device_name``
    secrets: Mapping[str, str] = field(default_factory=dict)


def declared(book: Path) -> Declared:
    """What ``book`` declares in its ``runbook`` metadata (nothing declared: a ``change``).

    A bare file name (``00_check_root_usage.ipynb``) that is not a file here is the project's
    notebook of that name.
    """
    path = book if book.is_file() else notebooks_dir() / book.name
    return _declared(str(path.resolve()), path.stat().st_mtime_ns)


@cache
def _declared(path: str, mtime_ns: int) -> Declared:
    meta = json.loads(Path(path).read_text("utf-8")).get("metadata", {}).get("runbook", {})
    return Declared(**meta)


def procedure_notebooks(folder: Path | None = None) -> list[Path]:
    """The runbooks ``run --all`` runs (those that do not declare ``in_all: false``)."""
    return [book for book in all_notebooks(folder) if declared(book).in_all]


def all_notebooks(folder: Path | None = None) -> list[Path]:
    """The runbooks by number (``00_…``, ``01_…``, …): the order of the course and of nbval."""
    folder = folder or notebooks_dir()
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def run_order(books: Sequence[Path]) -> list[Path]:
    """The order ``runbook run --all`` runs ``books`` in: by number, except a runbook that
    declares ``runs_before`` a section (04, the account password policy, before S1).

    S0 first (it reports the account as found), then the account password policy (04), then
    S1-S3: S1 generates its passwords to meet the policy in force, checks a typed one against
    it, and IAM enforces it when the password is set.
    """

    def key(book: Path) -> tuple[float, str]:
        before = declared(book).runs_before.removeprefix("S")
        number = float(before) - 0.5 if before else float(book.stem.split("_", 1)[0])
        return (number, book.stem)

    return sorted(books, key=key)


def find_notebook(name: str, folder: Path | None = None) -> Path:
    """Resolve a notebook by stem (``01_create_admin_user``), number (``01`` or ``1``) or path.

    Raises:
        BadInput: no such notebook.
    """
    books = all_notebooks(folder)
    given = Path(name)
    if given.suffix == ".ipynb" and given.is_file():
        return given
    key = name.removesuffix(".ipynb")
    for book in books:
        number = book.stem.split("_", 1)[0]
        if key in (book.stem, number) or (key.isdigit() and int(key) == int(number)):
            return book
    stems = [b.stem for b in books]
    near = difflib.get_close_matches(key, stems, n=1)
    hint = f"did you mean '{near[0]}'? " if near else ""
    raise BadInput(
        f"Unknown notebook '{name}': {hint}use one of {', '.join(stems) or '(none found)'} "
        "(see 'runbook list')."
    )


#: papermill's ``PythonTranslator.PARAMETER_PATTERN``: ``name: type = value  # help``
_PARAMETER = re.compile(
    r"^(?P<target>\w[\w_]*)\s*(:\s*[\"']?(?P<annotation>\w[\w_\[\],\s]*)[\"']?\s*)?=\s*"
    r"(?P<value>.*?)(\s*#\s*(type:\s*(?P<type_comment>[^\s]*)\s*)?(?P<help>.*))?$"
)


def notebook_parameters(path: Path) -> dict[str, dict[str, Any]]:
    """The parameters a notebook declares in its ``parameters`` cell, as papermill's
    ``inspect_notebook`` reads them (``name``, ``inferred_type_name``, ``default``, ``help``).

    Read here, with papermill's own pattern, so that the parameter checks before any kernel
    starts do not import papermill (and nbclient, jupyter_client, nbformat's validator): the
    ``runbook`` command's start stays cheap (tests/run/test_notebook_parameters.py compares
    the two).
    """
    try:
        book = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise BadInput(
            _(
                "Cannot read the notebook {path} ({problem}): restore it (git checkout) and run "
                "again."
            ).format(path=path, problem=type(err).__name__)
        ) from err
    cell = next(
        (
            c
            for c in book.get("cells", [])
            if "parameters" in (c.get("metadata", {}).get("tags") or [])
        ),
        None,
    )
    if cell is None:
        return {}
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    params: dict[str, dict[str, Any]] = {}
    for definition in _definitions(source):
        match = _PARAMETER.match(definition)
        if match is None or match["target"] is None:
            continue
        name = match["target"].strip()
        params[name] = {
            "name": name,
            "inferred_type_name": str(match["annotation"] or match["type_comment"] or None).strip(),
            "default": str(match["value"]).strip(),
            "help": str(match["help"] or "").strip(),
        }
    return params


def _definitions(source: str) -> list[str]:
    """The cell's assignments, one string each (papermill's grouping: a definition over
    several lines keeps only its last line's comment, the help)."""

    def flat(lines: list[str]) -> str:
        text = "".join(
            (line[: line.index("#")] if "#" in line else line).strip() for line in lines[:-1]
        )
        return text + (lines[-1].strip() if lines else "")

    groups: list[str] = []
    lines: list[str] = []
    for line in source.splitlines():
        if not line.strip() or line.strip().startswith("#"):
            continue
        equals = line.count("=")
        if equals:
            groups.append(flat(lines))
            lines = []
            if equals > 1:  # papermill skips the line too (and logs it)
                continue
        lines.append(line)
    groups.append(flat(lines))
    return [g for g in groups if g]


class _NotPlain(yaml.YAMLError):
    """A YAML node whose tag makes something other than plain data."""

    def __init__(self, tag: str, line: int) -> None:
        super().__init__(tag)
        self.tag, self.line = tag, line


class PlainLoader(yaml.SafeLoader):
    """YAML's safe loader, limited to plain data: text, numbers, true/false, null, lists and
    mappings. A tag that builds anything else (``!!binary``, ``!!set``, ``!!python/...``, a
    custom ``!tag``) is refused; a date written bare (``2024-01-01``) stays text."""


def _refuse_tag(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    tag = str(node.tag).replace("tag:yaml.org,2002:", "!!")
    raise _NotPlain(tag, node.start_mark.line + 1)


for _tag in ("binary", "set", "omap", "pairs"):
    PlainLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _refuse_tag)
PlainLoader.add_constructor(None, _refuse_tag)  # every tag no constructor knows


def _text(loader: yaml.SafeLoader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


PlainLoader.add_constructor("tag:yaml.org,2002:timestamp", _text)  # a bare date stays text


def load_yaml(text: str, where: str) -> Any:
    """``text`` read as plain YAML data (``PlainLoader``).

    Raises:
        BadInput: not YAML, or a tag that is not plain data; ``where`` names the source.
    """
    try:
        return yaml.load(text, Loader=PlainLoader)  # noqa: S506 - PlainLoader is a SafeLoader
    except _NotPlain as err:
        raise BadInput(
            _(
                "{where} line {line}: the tag {tag} is refused: parameters are plain data "
                "(text, numbers, true/false, lists and mappings); remove the tag."
            ).format(where=where, line=err.line, tag=err.tag)
        ) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise BadInput(
            f"{where} is not valid YAML{at}: fix the file (YAML mapping of name: value)."
        ) from None
    except (ValueError, RecursionError) as err:  # an int of 5000 digits; nesting too deep
        raise BadInput(
            _("{where} holds a value YAML cannot read ({error}): fix the file.").format(
                where=where, error=type(err).__name__
            )
        ) from None


def load_parameter_files(files: Sequence[Path]) -> dict[str, Any]:
    """Merge YAML parameter files, later files winning; every value plain data.

    Raises:
        BadInput: a file is missing, is not YAML, holds a value that is not plain data, or is
            not a mapping of names to values.
    """
    merged: dict[str, Any] = {}
    for file in files:
        try:
            text = Path(file).read_text(encoding="utf-8")
        except FileNotFoundError as err:
            raise BadInput(f"Parameters file {file} does not exist: fix the -f path.") from err
        except (OSError, UnicodeDecodeError) as err:
            raise BadInput(
                _("Parameters file {file} cannot be read ({error}): fix the -f path.").format(
                    file=file, error=getattr(err, "strerror", None) or type(err).__name__
                )
            ) from None
        data = load_yaml(text, f"Parameters file {file}")
        if data is None:
            continue
        if not isinstance(data, dict):
            raise BadInput(
                f"Parameters file {file} must be a mapping of name: value, not "
                f"{type(data).__name__}: fix the file."
            )
        for name, value in data.items():
            check_plain(str(name), value)
        merged.update(data)
    return merged


#: the most values (list items, mapping entries, nested) one parameter may hold
MAX_VALUES = 10_000


def check_plain(name: str, value: Any) -> None:
    """Refuse a parameter value that is not plain data: only text, whole and finite numbers,
    true/false, null, and lists and mappings (text keys) of them reach papermill, which writes
    each value into the notebook as code.

    Raises:
        BadInput: names the parameter and the part of it that is not plain.
    """
    budget = [MAX_VALUES]

    def walk(item: Any, where: str) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise BadInput(
                _("Parameter '{name}' holds more than {count} values: give a smaller one.").format(
                    name=name, count=MAX_VALUES
                )
            )
        if item is None or isinstance(item, str | bool | int):
            return
        if isinstance(item, float) and math.isfinite(item):
            return
        if isinstance(item, list):
            for i, inner in enumerate(item):
                walk(inner, f"{where}[{i}]")
            return
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    raise _not_plain(where, f"a mapping with a key of type {type(key).__name__}")
                walk(inner, f"{where}.{key}")
            return
        kind = (
            "a non-finite number" if isinstance(item, float) else f"of type {type(item).__name__}"
        )
        raise _not_plain(where, kind)

    walk(value, name)


def _not_plain(where: str, kind: str) -> BadInput:
    return BadInput(
        _(
            "Parameter '{where}' is {kind}, not plain data: use text, numbers, true/false, "
            "lists and mappings; fix it in the parameters file or -p."
        ).format(where=where, kind=kind)
    )


def parse_value(raw: str, type_name: str = "", where: str = "-p") -> Any:
    """Parse a ``-p name value`` value by the parameter's declared type.

    A ``str`` parameter keeps the text as written (``111122223333``, ``007``, ``true``), except
    that a YAML-quoted value (``'111122223333'``) loses its quotes, as in a parameters file; any
    other type is read the way YAML would (``true``, ``3``, ``{a: b}``), as plain data only.

    Raises:
        BadInput: a YAML tag that is not plain data (``!!binary``...).
    """
    if type_name.split("[")[0] == "str":
        if len(raw) < 2 or raw[0] != raw[-1] or raw[0] not in "'\"":
            return raw
        try:
            unquoted = yaml.load(raw, Loader=PlainLoader)  # noqa: S506 - a SafeLoader
        except (yaml.YAMLError, ValueError):
            return raw
        return unquoted if isinstance(unquoted, str) else raw
    try:
        return yaml.load(raw, Loader=PlainLoader)  # noqa: S506 - a SafeLoader
    except _NotPlain:
        return load_yaml(raw, where)  # the one-line refusal
    except (yaml.YAMLError, ValueError, RecursionError):
        return raw


def declared_types(books: Iterable[Path]) -> dict[str, str]:
    """Each parameter's declared type name (``str``, ``bool``…) over ``books`` (first wins)."""
    types: dict[str, str] = {}
    for book in books:
        for name, info in notebook_parameters(book).items():
            types.setdefault(name, str(info.get("inferred_type_name") or ""))
    return types


_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,),
    "bool": (bool,),
    "int": (int,),
    "float": (int, float),
    "dict": (dict,),
    "list": (list,),
}


def check_types(stem: str, declared: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    """Refuse a parameter that is not plain data (``check_plain``) or whose value does not
    have the notebook's declared type.

    Raises:
        BadInput: names the parameter, the type it needs and what it got.
    """
    for name, value in params.items():
        check_plain(name, value)
        type_name = str(declared[name].get("inferred_type_name") or "")
        expected = _KINDS.get(type_name.split("[")[0])
        if expected is None or value is None:
            continue
        if not isinstance(value, expected) or (bool not in expected and isinstance(value, bool)):
            raise BadInput(
                f"Parameter '{name}' of {stem} must be {type_name}, got "
                f"{type(value).__name__} {value!r}: fix it in the parameters file or -p."
            )


def check_known(params: Mapping[str, Any], books: Iterable[Path]) -> None:
    """Refuse parameters that none of the notebooks about to run declares.

    Raises:
        BadInput: an unknown (or mistyped) parameter, with the nearest known name.
    """
    known: set[str] = set()
    for book in books:
        known |= set(notebook_parameters(book))
    for name in params:
        if name not in known:
            near = difflib.get_close_matches(name, sorted(known), n=1)
            hint = f"did you mean '{near[0]}'? " if near else ""
            raise BadInput(
                f"Unknown parameter '{name}': {hint}see 'runbook list' for each notebook's "
                "parameters."
            )


def run_parameters(
    files: Sequence[Path],
    pairs: Sequence[Sequence[str]],
    books: Sequence[Path],
    *,
    endpoint_url: str = "",
    profile: str = "",
) -> dict[str, Any]:
    """A run's parameters: the files, then ``-p NAME VALUE`` pairs typed by ``books``'
    declared types, then ``--endpoint-url``/``--profile`` (which choose the target).

    Raises:
        BadInput: an unreadable parameters file, or a parameter no notebook declares.
    """
    from_files = load_parameter_files(files)
    types = declared_types(books)
    given = {name: parse_value(value, types.get(name, ""), f"-p {name}") for name, value in pairs}
    # a parameters file is shared by all the runbooks (sandbox.yaml); -p is for these ones
    check_known(from_files, all_notebooks())
    check_known(given, books)
    params = {**from_files, **given}
    if endpoint_url:
        params.update(target="endpoint", endpoint_url=endpoint_url)
    if profile:
        params.update(target="profile", profile=profile)
    return params
