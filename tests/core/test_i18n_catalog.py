"""Every Korean message, rendered as a user sees it, reads as Korean: no particle left in both
forms (``을(를)``, ``(으)로``, ``을/를``) whatever the values, and the catalogs hold none of the
old both-ways notation (the notebook catalog's markdown is static text: it names its particles).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from runbook_lib.core import i18n
from runbook_lib.core.josa import MARKER

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "runbook_lib" / "locale" / "ko" / "LC_MESSAGES" / "runbook.po"
NOTEBOOK_CATALOG = ROOT / "notebooks" / "ko" / "catalog.yaml"

#: a particle written both ways, as a reader would see it
BOTH_WAYS = re.compile(r"\((?:을|를|은|는|이|가|과|와)\)|\(으\)로|\(이\)[나라]")
#: the same in a catalog (the hook's pattern; the slash pairs are the catalog's notation)
OLD_NOTATION = re.compile(
    r"을\(를\)|를\(을\)|은\(는\)|는\(은\)|이\(가\)|가\(이\)|과\(와\)|와\(과\)|\(으\)로"
)

#: one value per kind of ending: ASCII names ending in a consonant and in a vowel sound,
#: acronyms, digits read with and without a final consonant (1 일 → 로), ARNs, Hangul
VALUES: tuple[str | int, ...] = (
    "bob",
    "Administrator",
    "MFA",
    "IAM",
    "3",
    "1",
    "2",
    "10",
    "arn:aws:iam::123456789012:mfa/Administrator",
    "arn:aws:iam::123456789012:user/bob",
    "관리자",
    "그룹",
    "서울",
    "S6.8, S6.9",
    "alice@example.com",
    "",
)


def _messages() -> list[tuple[str, str | None, str]]:
    """(msgid, plural msgid or None, one Korean translation) for every translated message."""
    with PO.open("rb") as handle:
        catalog = read_po(handle, locale="ko")
    found = []
    for message in catalog:
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id, None)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        found.extend((ids[0], ids[1], text) for text in strings if text)
    return found


MESSAGES = _messages()


@pytest.fixture(autouse=True)
def _korean() -> Iterator[None]:
    i18n.set_language("ko")
    yield
    i18n.set_language(None)


def _render(msgid: str, plural: str | None, korean: str, value: str | int) -> str:
    """The message as ``_()`` (or ``ngettext``) and ``format`` show it, every field = value."""
    fields = [
        (name, spec) for _, name, spec, _ in string.Formatter().parse(korean) if name is not None
    ]
    args: list[object] = []
    kwargs: dict[str, object] = {}
    for name, spec in fields:
        shown: object = (int(value) if str(value).isdigit() else 3) if spec else value
        if name == "" or name.isdigit():
            args.append(shown)
        else:
            kwargs[name.split(".")[0].split("[")[0]] = shown
    template = i18n.ngettext(msgid, plural, 2) if plural else i18n._(msgid)
    return template.format(*args, **kwargs)


def test_the_catalog_has_messages_to_render() -> None:
    assert len(MESSAGES) > 800
    assert sum(bool(MARKER.search(korean)) for _, _, korean in MESSAGES) > 100


@pytest.mark.parametrize("value", VALUES, ids=[repr(v) for v in VALUES])
def test_every_korean_message_reads_with_one_particle_whatever_the_value(value: str) -> None:
    bad = []
    for msgid, plural, korean in MESSAGES:
        shown = _render(msgid, plural, korean, value)
        if BOTH_WAYS.search(shown) or MARKER.search(shown):
            bad.append(shown)
    assert not bad, f"{len(bad)} messages show a particle both ways, e.g. {bad[:3]}"


def test_a_rendered_message_takes_the_particle_of_its_value() -> None:
    no_device = i18n._("No MFA device yet: create and enable {serial}")
    assert no_device.format(serial="arn:aws:iam::1:mfa/Administrator").endswith(
        "mfa/Administrator를 생성하고 활성화합니다"
    )
    assert no_device.format(serial="arn:aws:iam::1:mfa/bob").endswith(
        "mfa/bob을 생성하고 활성화합니다"
    )
    steps = i18n._("Not verified yet: waiting for {steps}.")
    assert steps.format(steps="S6.8, S6.9") == "아직 검증하지 않음: S6.8, S6.9를 기다리는 중."
    assert steps.format(steps="S1.2") == "아직 검증하지 않음: S1.2를 기다리는 중."
    assert steps.format(steps="S1.3") == "아직 검증하지 않음: S1.3을 기다리는 중."


def test_no_catalog_writes_a_particle_both_ways() -> None:
    for path in (PO, NOTEBOOK_CATALOG):
        lines = path.read_text("utf-8").splitlines()
        found = [
            f"{path.name}:{n}: {line}"
            for n, line in enumerate(lines, 1)
            if OLD_NOTATION.search(line)
        ]
        assert not found, found[:5]
    markdown = NOTEBOOK_CATALOG.read_text("utf-8")
    assert not MARKER.search(markdown), "notebook markdown is static: write the particle itself"
