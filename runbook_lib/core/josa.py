"""Korean particles (조사) chosen by the word they follow, once a message is formatted.

A Korean message cannot know in advance whether ``{user}`` ends in a consonant (``bob`` 밥 →
``bob을``) or a vowel (``Administrator`` 어드미니스트레이터 → ``Administrator를``). The catalog
writes both forms with a slash, ``{user}을/를``, and ``particles()`` replaces the pair with the
form the preceding word takes *as a Korean reader says it*:

- a Hangul syllable: its final consonant (받침); for ``으로/로`` a final ㄹ counts as none
  (``서울로``);
- digits as Sino-Korean numbers: ``1`` 일 → ``1로``, ``3`` 삼 → ``3을``, ``10`` 십, ``100``
  백, ``1,000`` 천, ``10000`` 만; after a decimal point digit by digit (``S6.9`` 구 → ``S6.9를``);
  ``%`` 퍼센트;
- Latin letters: an acronym or a single letter by the letters' Korean names (``MFA`` 엠에프에이
  → ``를``, ``IAM`` 아이엠 → ``을``, ``URL`` 유알엘 → ``로``; capitals of four or more with a
  vowel are a word: ``FAIL`` 페일, ``NOT_APPLICABLE``); a word by how its ending is
  borrowed into Korean (``-er``/``-or`` 어, ``-ing``/``-ng`` ㅇ, ``-l``/``-le`` ㄹ, ``-m``,
  ``-n``, ``-ck``, ``-ic``, a short vowel before ``-t``/``-p``/``-b`` 받침: ``secret``
  시크릿, ``group`` 그룹, ``bob`` 밥; others a vowel: ``root`` 루트, ``access`` 액세스);
- closing quotes and other punctuation are skipped back to the word (``'{user}'을/를``,
  ``{name!r}을/를``); a bracketed aside right after a word is skipped whole, as Korean agrees
  with the word before it (``키(AKIA…)를``).

The pairs are ``을/를``, ``이/가``, ``은/는``, ``과/와``, ``으로/로``, ``이나/나``, ``이라/라``,
``아/야`` (either order); the old parenthesized notation (``을(를)``, ``(으)로``…) is read the
same way, so a message written that way still comes out right. Where nothing readable precedes
the pair, the form after a consonant is used.
"""

from __future__ import annotations

import re

#: marker -> (form after a final consonant, form after a vowel)
_FORMS: dict[str, tuple[str, str]] = {}
for _consonant, _vowel in (
    ("을", "를"),
    ("이", "가"),
    ("은", "는"),
    ("과", "와"),
    ("으로", "로"),
    ("이나", "나"),
    ("이라", "라"),
    ("아", "야"),
):
    _FORMS[f"{_consonant}/{_vowel}"] = _FORMS[f"{_vowel}/{_consonant}"] = (_consonant, _vowel)
    if len(_consonant) == 1 and len(_vowel) == 1:
        _FORMS[f"{_consonant}({_vowel})"] = _FORMS[f"{_vowel}({_consonant})"] = (
            _consonant,
            _vowel,
        )
    else:  # 으로/로 -> (으)로, 이나/나 -> (이)나
        _FORMS[f"({_consonant[0]}){_vowel}"] = (_consonant, _vowel)

#: any marker, the longest first (``이나/나`` before ``나/이``)
MARKER = re.compile("|".join(re.escape(m) for m in sorted(_FORMS, key=len, reverse=True)))

_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
_RIEUL = 8  # index of ㄹ among the 28 finals (0: none)

#: what a final sound is: no final consonant, a final ㄹ, any other final consonant
VOWEL, RIEUL, CONSONANT = "vowel", "rieul", "consonant"

_DIGITS = "영일이삼사오육칠팔구"
#: units a round number ends with, by its count of trailing zeros (십 백 천 만 … 억 … 조 … 경)
_UNITS = " 십백천만만만만억억억억조조조조"
#: the last syllable of each Latin letter's Korean name
_LETTERS = dict(
    zip(
        "abcdefghijklmnopqrstuvwxyz",
        "이비씨디이프지치이이이엘엠엔오피큐알스티유이유스이드",  # 에이 비 씨 디 … 엑스 와이 제드
        strict=True,
    )
)
#: words whose borrowed ending the rules below get wrong
_WORDS = {"check": "크", "about": "웃", "group": "룹", "type": "입", "loop": "프", "scope": "프"}
_VOWEL_LETTERS = "aeiouy"
#: characters skipped back to the word: quotes, closing brackets, punctuation (never a space:
#: a particle after a list of quoted symbols must not read the sentence before it)
_SKIP = set("'\"`’”」』)]}>.,;:!?…/\\*_-")


def _syllable_sound(syllable: str) -> str:
    code = ord(syllable)
    if not _HANGUL_FIRST <= code <= _HANGUL_LAST:
        return CONSONANT  # a lone jamo (ㄱ, ㅋ): a consonant
    final = (code - _HANGUL_FIRST) % 28
    return VOWEL if final == 0 else RIEUL if final == _RIEUL else CONSONANT


def _number(digits: str, decimal: bool) -> str:
    """The last syllable of a number read in Sino-Korean (digit by digit after a point)."""
    if decimal:
        return _DIGITS[int(digits[-1])]
    stripped = digits.rstrip("0")
    if not stripped.lstrip("0"):
        return "영"
    zeros = len(digits) - len(stripped)
    if zeros == 0:
        return _DIGITS[int(digits[-1])]
    return _UNITS[zeros] if zeros < len(_UNITS) else "경"


def _english(word: str) -> str:
    """The last syllable (a stand-in with the right final) of an English word said in Korean."""
    if word in _WORDS:
        return _WORDS[word]
    if word.endswith(("ng", "ing")):
        return "응"
    if word.endswith(("l", "le")):
        return "을"
    if word.endswith(("m", "me")):
        return "음"
    if word.endswith(("n", "ne")):
        return "은"
    if word.endswith(("ck", "ic", "ook")):
        return "윽"
    last, before = word[-1], word[-2] if len(word) > 1 else ""
    short = before in _VOWEL_LETTERS and (len(word) < 3 or word[-3] not in _VOWEL_LETTERS)
    if last in "tpb" and (short or before == last):  # secret 시크릿, setup 셋업, bob 밥, app 앱
        return {"t": "읏", "p": "읍", "b": "읍"}[last]
    return "아"  # -er/-or 어, -s 스, -t 트, -d 드, -e, -y, -x…


def _opening(text: str, close: int) -> int | None:
    """Where the bracket closed at ``close`` opens (``None``: it does not)."""
    closer = text[close]
    opener = "(" if closer == ")" else "["
    depth = 0
    for index in range(close, -1, -1):
        depth += (text[index] == closer) - (text[index] == opener)
        if depth == 0:
            return index
    return None


def _word_end(text: str) -> int:
    """The end of the word a particle at the end of ``text`` attaches to: punctuation and
    quotes are skipped, and a bracketed aside right after a word is skipped whole (Korean
    agrees with the word before it: ``키(AKIA…)를``; ``(변경)`` on its own is read inside)."""
    end = len(text)
    while end:
        char = text[end - 1]
        if char in ")]":
            start = _opening(text, end - 1)
            if start is not None and start > 0 and not text[start - 1].isspace():
                end = start
                continue
        if char not in _SKIP:
            break
        end -= 1
    return end


_TAIL = re.compile(r"(?:(?P<digits>[0-9][0-9,]*)|(?P<letters>[A-Za-z]+)|(?P<hangul>[가-힣]))$")


def last_sound(text: str) -> str | None:
    """``VOWEL``, ``RIEUL`` or ``CONSONANT``: how ``text`` ends when read in Korean (``None``:
    nothing readable, e.g. only punctuation)."""
    text = text[: _word_end(text)]
    if text.endswith("%"):
        return VOWEL  # 퍼센트
    match = _TAIL.search(text)
    if match is None:
        return None
    if match["hangul"]:
        return _syllable_sound(match["hangul"])
    if match["digits"]:
        digits = match["digits"].replace(",", "")
        start = match.start()
        decimal = start >= 2 and text[start - 1] == "." and text[start - 2].isdigit()
        return _syllable_sound(_number(digits, decimal))
    letters = match["letters"]
    # the last part of a camelCase or PascalCase name: GetUserId -> Id, SelfManageMFA -> MFA
    part = re.search(r"(?:[A-Z]?[a-z]+|[A-Z]+)$", letters)
    word = part.group() if part else letters
    spelled = word.isupper() and (len(word) < 4 or not set(word) & set("AEIOU"))
    if len(word) == 1 or spelled:  # MFA 엠에프에이, HTML 에이치티엠엘; FAIL 페일 is a word
        return _syllable_sound(_LETTERS[word[-1].lower()])
    return _syllable_sound(_english(word.lower()))


def choose(marker: str, before: str) -> str:
    """The form of the particle ``marker`` (``을/를``, ``(으)로``…) after the text ``before``."""
    consonant, vowel = _FORMS[marker]
    sound = last_sound(before)
    if sound is None:
        return consonant
    if sound == VOWEL or (sound == RIEUL and consonant == "으로"):
        return vowel
    return consonant


def particles(text: str) -> str:
    """``text`` with every particle pair replaced by the form its preceding word takes."""
    if not MARKER.search(text):
        return text
    out: list[str] = []
    last = 0
    for match in MARKER.finditer(text):
        out.append(text[last : match.start()])
        out.append(choose(match.group(), "".join(out)))
        last = match.end()
    out.append(text[last:])
    return "".join(out)
