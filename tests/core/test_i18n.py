"""Messages in the run's language (runbook_lib/core/i18n.py) and the catalogs behind them.

The committed Korean catalog covers every message the code marks (Babel extraction, as ``make
messages`` does), keeps each placeholder, and its compiled ``.mo`` is what ``make messages``
builds from the ``.po``. English is the fallback; the language comes from ``set_language``,
then the notebook's ``language`` parameter, then ``$RUNBOOK_LANG``. A translated error keeps its
class and exit code.
"""

from __future__ import annotations

import io
import string
import sys
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from runbook_lib.core import environ, i18n
from runbook_lib.core.errors import EXIT_BAD_INPUT, BadInput
from runbook_lib.core.validation import validate_user_name
from runbook_lib.core.wording import width
from runbook_lib.password_policy.plan import SETTINGS, PolicyPlan
from runbook_lib.password_policy.state import PasswordPolicy
from runbook_lib.run.summary import summary_lines

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "runbook_lib" / "locale"
PO = LOCALE / "ko" / "LC_MESSAGES" / "runbook.po"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2)}


@pytest.fixture(autouse=True)
def _reset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(environ.LANG, raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


def _first(text: str | tuple[str, ...]) -> str:
    """A message's text (a plural message: its first form)."""
    return str(text if isinstance(text, str) else text[0])


def _catalog() -> dict[str, str]:
    with PO.open("rb") as handle:
        return {_first(m.id): _first(m.string) for m in read_po(handle, locale="ko") if m.id}


def _extracted() -> set[str]:
    found = extract_from_dir(str(ROOT / "runbook_lib"), [("**.py", "python")], keywords=KEYWORDS)
    return {msg if isinstance(msg, str) else msg[0] for _, _, msg, _, _ in found}


def test_every_marked_message_has_a_korean_translation() -> None:
    catalog = _catalog()
    missing = sorted(m for m in _extracted() if not catalog.get(m))
    assert not missing, f"run 'make messages' and translate in {PO.name}: {missing[:5]}"


def _fields(template: str) -> set[tuple[str, str | None, str | None]]:
    """The replacement fields of a ``str.format`` template (name, conversion, spec)."""
    return {(f, c, s) for _, f, s, c in string.Formatter().parse(template) if f is not None}


def test_translations_keep_every_placeholder() -> None:
    for english, korean in _catalog().items():
        assert _fields(english) == _fields(korean), english


def test_the_committed_mo_is_the_compiled_po() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="ko")
    built = io.BytesIO()
    write_mo(built, catalog)
    committed = (LOCALE / "ko" / "LC_MESSAGES" / "runbook.mo").read_bytes()
    assert built.getvalue() == committed, "run 'make messages' and commit the .mo"


def test_english_is_the_default_and_the_fallback() -> None:
    assert i18n.language() == "en"
    assert i18n._("it is empty") == "it is empty"
    i18n.set_language("ko")
    assert i18n._("it is empty") == "비어 있습니다"
    assert i18n._("a message nobody translated") == "a message nobody translated"
    i18n.set_language("fr")  # no catalog: back to the parameter / environment / English
    assert i18n.language() == "en"


def test_language_comes_from_the_notebook_parameter_then_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(environ.LANG, "ko_KR.UTF-8")
    assert i18n.language() == "ko"
    shell = SimpleNamespace(user_ns={"language": "en"})
    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    assert i18n.language() == "en", "the notebook's parameter wins over the environment"
    shell.user_ns["language"] = "ko"
    assert i18n.language() == "ko"
    i18n.set_language("en")
    assert i18n.language() == "en", "set_language wins over both"


def test_a_korean_bad_input_is_one_line_with_exit_code_2() -> None:
    i18n.set_language("ko")
    with pytest.raises(BadInput) as caught:
        validate_user_name("bad name!")
    err = caught.value
    assert err.exit_code == EXIT_BAD_INPUT and type(err).__name__ == "BadInput"
    assert "\n" not in str(err)
    assert str(err).startswith("user_name 'bad name!'은 올바른 IAM 사용자 이름이 아닙니다")


def test_the_terminal_summary_in_korean() -> None:
    record = {
        "account_id": "123456789012",
        "target": "sandbox",
        "caller_arn": "arn:aws:iam::123456789012:user/Administrator",
        "plan": True,
        "reads": 3,
        "planned": [{"action": "create-user", "resource": "Administrator"}],
    }
    i18n.set_language("ko")
    assert summary_lines(record) == [
        "  대상: sandbox, 계정 123456789012, 호출자 arn:aws:iam::123456789012:user/Administrator",
        "  계획: 변경 없음(읽기 3회); 계획된 변경 1개:",
        "    예정: create-user Administrator",
    ]


def _policy(length: int, reuse: int | None, *, default: bool = False) -> PasswordPolicy:
    return PasswordPolicy(length, True, True, True, True, True, None, reuse, False, default)


def test_the_password_policy_plan_stays_aligned_in_korean() -> None:
    i18n.set_language("ko")
    text = repr(PolicyPlan("123456789012", _policy(8, None, default=True), _policy(14, 24)))
    lines = text.splitlines()
    assert lines[0] == "계정 123456789012의 암호 정책: 설정 안 됨, AWS 기본값 적용"
    names = ["설정"] + [i18n._(name) for name, __ in SETTINGS]
    rows = [line for line in lines if line.startswith("  ")]
    assert [row.split()[0] for row in rows] == [name.split()[0] for name in names]
    starts = set()
    for row, name in zip(rows, names, strict=True):
        rest = row[2 + len(name) :]
        starts.add(width(row[: len(row) - len(rest.lstrip())]))
    assert len(starts) == 1, f"the second column starts at columns {starts}"
