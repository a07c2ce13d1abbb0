"""Korean particles chosen by the word they follow (runbook_lib/core/josa.py), as a Korean reader
says that word: Hangul by its final consonant, digits as Sino-Korean numbers, Latin letters by
their Korean names or as borrowed words; and ``_()`` choosing them once a message is formatted.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from runbook_lib.core import i18n
from runbook_lib.core.errors import BadInput
from runbook_lib.core.josa import particles

#: (word, its form before 을/를, before 으로/로) -- each with how a Korean reader says it
READINGS = [
    ("관리자", "를", "로"),  # no final consonant
    ("그룹", "을", "으로"),  # ㅂ
    ("서울", "을", "로"),  # ㄹ takes 로
    ("bob", "을", "으로"),  # 밥
    ("Administrator", "를", "로"),  # 어드미니스트레이터
    ("Administrators", "를", "로"),  # …터스
    ("MFA", "를", "로"),  # 엠에프에이
    ("IAM", "을", "으로"),  # 아이엠
    ("URL", "을", "로"),  # 유알엘
    ("CSV", "를", "로"),  # 씨에스브이
    ("AKIAIOSFODNN7EXAMPL3", "을", "으로"),  # …삼
    ("3", "을", "으로"),  # 삼
    ("1", "을", "로"),  # 일
    ("2", "를", "로"),  # 이
    ("10", "을", "으로"),  # 십
    ("1,000", "을", "으로"),  # 천
    ("7.0.0", "을", "으로"),  # 칠 점 영 점 영
    ("S6.9", "를", "로"),  # 에스육 점 구
    ("45%", "를", "로"),  # 사십오 퍼센트
    ("123456789012", "를", "로"),  # …이
    ("alice", "를", "로"),  # 앨리스
    ("alice@example.com", "을", "으로"),  # …닷컴
    ("console", "을", "로"),  # 콘솔
    ("https://123456789012.signin.aws.amazon.com/console", "을", "로"),
    ("start", "를", "로"),  # 스타트
    ("root", "를", "로"),  # 루트
    ("secret", "을", "으로"),  # 시크릿
    ("setup", "을", "으로"),  # 셋업
    ("group", "을", "으로"),  # 그룹
    ("app", "을", "으로"),  # 앱
    ("name", "을", "으로"),  # 네임
    ("profile", "을", "로"),  # 프로파일
    ("running", "을", "으로"),  # 러닝
    ("token", "을", "으로"),  # 토큰
    ("public", "을", "으로"),  # 퍼블릭
    ("password", "를", "로"),  # 패스워드
    ("user", "를", "로"),  # 유저
    ("FAIL", "을", "로"),  # 페일: capitals with a vowel are a word
    ("NOT_APPLICABLE", "을", "로"),  # 낫 애플리커블
    ("PT8H", "를", "로"),  # 피티팔에이치
    ("GetUserId", "를", "로"),  # 겟유저아이디
    ("SelfManageMFA", "를", "로"),  # …엠에프에이
    ("arn:aws:iam::123456789012:mfa/Administrator", "를", "로"),
    ("arn:aws:iam::123456789012:mfa/bob", "을", "으로"),
]


@pytest.mark.parametrize(("word", "object_form", "direction"), READINGS)
def test_a_particle_follows_how_the_word_is_read(
    word: str, object_form: str, direction: str
) -> None:
    assert particles(f"{word}을/를 보십시오") == f"{word}{object_form} 보십시오"
    assert particles(f"{word}으로/로 갑니다") == f"{word}{direction} 갑니다"
    consonant = object_form == "을"
    assert particles(f"{word}이/가") == word + ("이" if consonant else "가")
    assert particles(f"{word}은/는") == word + ("은" if consonant else "는")
    assert particles(f"{word}과/와") == word + ("과" if consonant else "와")


def test_either_order_and_the_old_parenthesized_notation_read_the_same() -> None:
    for marker in ("을/를", "를/을", "을(를)", "를(을)"):
        assert particles(f"bob{marker}, MFA{marker}") == "bob을, MFA를"
    assert particles("1(으)로, 3(으)로, 관리자(이)나") == "1로, 3으로, 관리자나"


def test_quotes_and_punctuation_are_skipped_back_to_the_word() -> None:
    assert particles("'bob'을/를") == "'bob'을"
    assert particles("'bad name!'은/는") == "'bad name!'은"  # 네임
    assert particles('"MFA"이/가') == '"MFA"가'


def test_a_bracketed_aside_agrees_with_the_word_before_it() -> None:
    assert particles("키(AKIA3)을/를") == "키(AKIA3)를"  # 키, not 삼
    assert particles("1.8(최소 14)이/가") == "1.8(최소 14)이"  # 일 점 팔
    assert particles("계획 (변경)을/를") == "계획 (변경)을"  # on its own: read inside


def test_nothing_readable_takes_the_form_after_a_consonant_and_never_reads_past_a_space() -> None:
    assert particles("허용: ' ', '!'은/는") == "허용: ' ', '!'은"
    assert particles("은/는") == "은"


def test_text_without_a_pair_is_left_as_it_is() -> None:
    text = "사용자/그룹 (변경) 이 가 을 를"
    assert particles(text) == text


@pytest.fixture
def _korean() -> Iterator[None]:
    i18n.set_language("ko")
    yield
    i18n.set_language(None)


@pytest.mark.usefixtures("_korean")
def test_a_korean_message_chooses_its_particles_once_formatted() -> None:
    template = i18n._("Delivered {key_id} to {where}.")
    assert "을/를" in template, "the catalog writes both forms"
    assert template.format(key_id="AKIA1", where="x") == "AKIA1을 x에 전달했습니다."
    assert template.format(key_id="AKIA2", where="x") == "AKIA2를 x에 전달했습니다."
    assert type(template.format(key_id="1", where="x")) is str
    assert template.format_map({"key_id": "AKIA3", "where": "x"}) == "AKIA3을 x에 전달했습니다."
    sign_in = i18n._("Sign in to the AWS console as IAM user {user_name}:")
    assert sign_in.format(user_name="bob").startswith("IAM 사용자 bob으로 AWS")
    assert sign_in.format(user_name="Administrator").startswith("IAM 사용자 Administrator로")


@pytest.mark.usefixtures("_korean")
def test_a_korean_error_reads_naturally_for_each_code_number() -> None:
    from runbook_lib.core import totp

    for n, particle in ((1, "은"), (2, "는")):
        with pytest.raises(BadInput) as caught:
            totp.check_codes("JBSWY3DPEHPK3PXP", *(("12", "123456") if n == 1 else ("123456", "1")))
        assert f"MFA 코드 {n}{particle} 6자리 숫자여야 합니다" in str(caught.value)


def test_english_messages_are_plain_strings_untouched() -> None:
    i18n.set_language("en")
    try:
        template = i18n._("Delivered {key_id} to {where}.")
        assert type(template) is str
        assert template.format(key_id="k", where="w") == "Delivered k to w."
    finally:
        i18n.set_language(None)
