"""A Korean run reads as Korean: ``runbook run --all --lang ko`` on the sandbox, in a real
process, and every line its notebooks printed and its terminal summary is read for English
sentences. Codes, IDs, AWS names and commands stay as they are; record items (actions and
resources, language-neutral by design) are not read.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from support.scenarios import Scenario, ScenarioCache

from runbook_lib.core.josa import MARKER

USER = "KoAdmin"
KOREAN_RUN = Scenario(
    id="run-all-korean",
    book="00-03",
    argv=(
        "run",
        "--all",
        "--lang",
        "ko",
        "-f",
        "{sandbox_yaml}",
        "-p",
        "user_name",
        USER,
        "-p",
        "group_name",
        f"{USER}s",
        "-p",
        "secrets_dir",
        "{secrets}",
    ),
)
KOREAN_BAD_INPUT = Scenario(
    id="bad-input-korean",
    book="02",
    argv=(
        "run",
        "02",
        "--lang",
        "ko",
        "-p",
        "user_name",
        "NoSuchKo",
        "-p",
        "secrets_dir",
        "{secrets}",
    ),
)

#: a lowercase English word (with the punctuation around it), alone between spaces
_WORD = re.compile(r"^[(\[\"'“‘]*([a-z]{2,})[.,;:!?)\]\"'”’]*$")
#: commands a user types: code, not prose
_COMMAND = re.compile(r"\b(?:aws|runbook)(?: --?[a-z-]+| [a-z][a-z0-9-]*)+")


def english_phrases(line: str) -> list[str]:
    """Runs of two or more lowercase English words in ``line`` (commands left out)."""
    found: list[str] = []
    run: list[str] = []
    for token in [*_COMMAND.sub("CMD", line).split(), "END"]:
        match = _WORD.match(token)
        if match:
            run.append(match.group(1))
            continue
        if len(run) >= 2:
            found.append(" ".join(run))
        run = []
    return found


def test_the_detector_finds_the_english_this_test_is_about() -> None:
    assert english_phrases("대상: sandbox (embedded moto server on 127.0.0.1)") == [
        "sandbox embedded moto server on"
    ]
    assert english_phrases("AWS CLI로 가져오기: aws configure import --csv file:///x.csv") == []
    assert english_phrases("모드 create: 키를 만들어 CSV 파일 /tmp/a (모드 0600)에 전달") == []


def _outputs(notebook: Path) -> list[str]:
    lines: list[str] = []
    for cell in json.loads(notebook.read_text("utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            lines.extend(("".join(text) if isinstance(text, list) else text).splitlines())
    return lines


def test_a_korean_run_prints_no_english_sentence(scenarios: ScenarioCache) -> None:
    run = scenarios.run(KOREAN_RUN)
    assert run.exit_code == 0, run.stderr
    printed: dict[str, list[str]] = {}
    for folder in run.run_dirs:
        (notebook,) = folder.glob("*.ipynb")
        printed[notebook.stem] = _outputs(notebook)
    assert len(printed) == 5, sorted(printed)
    # the terminal: every line but the record's items (4 spaces: action + resource, codes)
    printed["terminal"] = [line for line in run.stdout.splitlines() if not line.startswith("    ")]
    english = [
        f"{name}: {line}"
        for name, lines in printed.items()
        for line in lines
        if english_phrases(line) or MARKER.search(line)
    ]
    assert not english, "\n".join(english)
    everything = "\n".join(line for lines in printed.values() for line in lines)
    assert "대상: 샌드박스" in everything
    assert re.search(rf"mfa/{USER}을 생성하고 활성화합니다", everything), "어드민 → 을"
    assert re.search(rf"IAM 사용자 {USER}으로 AWS 콘솔에 로그인하십시오", everything)


def test_a_korean_bad_input_says_nothing_changed_in_korean(scenarios: ScenarioCache) -> None:
    run = scenarios.run(KOREAN_BAD_INPUT)
    assert run.exit_code == 2
    said = (run.stdout + run.stderr).splitlines()
    (line,) = [line for line in said if "NoSuchKo" in line]
    assert "사용자 'NoSuchKo'가 " in line, line  # 노서치코: a vowel, 가
    assert line.endswith("아무것도 변경하지 않았습니다.") and not english_phrases(line), line
