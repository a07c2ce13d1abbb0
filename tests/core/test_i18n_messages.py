"""Part 2 of the Korean edition, in-process: S0's report, S3's code checks, the widgets' labels
and S2's two-keys message in Korean; codes, IDs and statuses stay as they are."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from runbook_lib.access_key.request import two_keys_message
from runbook_lib.access_key.state import KeyInfo
from runbook_lib.core import i18n, totp
from runbook_lib.core.errors import EXIT_BAD_INPUT, BadInput
from runbook_lib.root_usage.request import check_request
from runbook_lib.root_usage.result import FAIL, PASS, AuditReport, CheckResult, compare
from runbook_lib.root_usage.root import has_administrators

SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


@pytest.fixture(autouse=True)
def _korean() -> Iterator[None]:
    i18n.set_language("ko")
    yield
    i18n.set_language(None)


def test_the_cis_report_is_korean_and_keeps_control_ids_and_statuses() -> None:
    facts = type("Facts", (), {"details": {"GroupDetailList": [], "UserDetailList": []}})()
    result = has_administrators(facts, "123456789012")
    assert (result.check, result.status) == ("iam_administrator", FAIL)
    assert result.title == "IAM 관리자가 있음"
    length = CheckResult("password_min_length", "t", PASS, "", "e")
    report = AuditReport("123456789012", tuple(r.labelled("7.0.0") for r in (result, length)))
    text = repr(report)
    assert text.startswith("계정 123456789012의 IAM 감사(CIS AWS Foundations Benchmark v7.0.0")
    assert "1 PASS, 1 FAIL" in text and "S0-admins" in text and "통제 항목" in text
    assert "→ 일상 작업에 아무도 루트 사용자가 필요 없도록" in text
    assert result.as_dict()["status"] == "FAIL"  # run.json: the status stays a code
    lines = compare([{"control": "2.8", "status": "FAIL"}], [{"control": "2.8", "status": "FAIL"}])
    assert lines == ["2.8 FAIL (변경 없음)"]


def test_a_bad_threshold_is_one_korean_line_with_exit_code_2() -> None:
    with pytest.raises(BadInput) as caught:
        check_request(unused_days=0)
    assert caught.value.exit_code == EXIT_BAD_INPUT and "\n" not in str(caught.value)
    assert "감사에 쓸 수 있는 임곗값이 아닙니다" in str(caught.value)


def test_wrong_mfa_codes_give_the_korean_one_line_error() -> None:
    now = time.time()
    valid = {totp.current_code(SEED, now + 30 * k) for k in range(-21, 22)}
    bad1, bad2 = [c for c in (f"{d}" * 6 for d in "0123456789") if c not in valid][:2]
    with pytest.raises(BadInput) as caught:
        totp.check_codes(SEED, bad1, bad2, now=now)
    message = str(caught.value)
    assert message.startswith("두 코드 모두 이 디바이스의 보안 키와 일치하지 않습니다")
    assert "\n" not in message and caught.value.exit_code == EXIT_BAD_INPUT
    with pytest.raises(BadInput, match="MFA 코드 1은 6자리 숫자여야 합니다"):
        totp.check_codes(SEED, "12", bad2, now=now)


def test_the_widgets_labels_are_korean() -> None:
    from runbook_lib import widgets

    form = widgets.CodeForm("MFA 할당: arn", lambda a, b: "ok")
    assert form.button.description == "MFA 할당" and form.code1.description == "MFA 코드 1"
    form.code1.value, form.code2.value = "1", "2"
    form._on_submit = _refuse
    form.submit()
    assert "완료되지 않음: 거부" in form.status.value


def _refuse(code1: str, code2: str) -> str:
    raise BadInput("거부")


def test_the_two_keys_message_is_korean_and_names_both_keys() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    keys = [
        KeyInfo("AKIAAAAAAAAAAAAAAAA1", "Active", now - timedelta(days=3), None, ""),
        KeyInfo("AKIAAAAAAAAAAAAAAAA2", "Inactive", now - timedelta(days=9), None, ""),
    ]
    message = two_keys_message("alice", keys, now, "create")
    assert message.startswith("사용자 'alice'에게 이미 IAM이 허용하는 최대치인 액세스 키 2개")
    assert "AKIAAAAAAAAAAAAAAAA1 Active, 생성 후 3일" in message
    assert (
        "AKIAAAAAAAAAAAAAAAA2 (비활성)" not in message
        and "(예: AKIAAAAAAAAAAAAAAAA2, 비활성)" in message
    )
