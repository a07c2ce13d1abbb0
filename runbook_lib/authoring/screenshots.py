"""The course's screenshots, taken again every time from the current apps (``make screenshots``).

For each language a new seeded sandbox, then S1, S2 and S3 each as ``runbook app NN --sandbox
--lang LANG`` serves it (the CLI in a subprocess, pointed at that sandbox, on a free port, with
Jupyter and secrets folders of its own), driven by Debian's chromium through playwright at a
1280 px viewport: S1 with the
root-only billing step confirmed, S2 with the new key shown masked, S3 with the QR code shown
and covered. Each picture is cropped to the widget (at least ``MIN_WIDTH`` wide) and written
over the committed one (``docs/NAME.png``, ``docs/ko/NAME.png``): nothing is "copied only when
missing". Waits are for the page's own lines (the translated Verify line), never sleeps.

No picture may show a secret: the QR code is masked in the capture, ``zbarimg`` must decode
nothing in the file, and the page's text at capture time must hold none of the run's secret
values (every password, secret access key and MFA seed the sandbox holds, read from the sandbox
itself, and the secret columns of the run's files); a picture that fails either check is
deleted and the command stops (exit 1).
"""

from __future__ import annotations

import contextlib
import csv
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runbook_lib.authoring.course import readable_codes
from runbook_lib.core.errors import BadInput, RunbookError, SecretLeak
from runbook_lib.core.i18n import DEFAULT, translations

#: the committed screenshots: ``docs/NAME.png`` (English), ``docs/<lang>/NAME.png``
DOCS = Path(__file__).resolve().parents[2] / "docs"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]
VIEWPORT = {"width": 1280, "height": 1600}
#: the narrowest picture the course shows (a crop is widened to it)
MIN_WIDTH = 1100
MARGIN = 24
BOTTOM = 56  # the line under a widget (its step line) is part of the picture
TIMEOUT_MS = 60_000
LANGS = ("en", "ko")


def _tr(lang: str, msgid: str) -> str:
    """``msgid`` as the app in ``lang`` shows it."""
    return translations(lang).gettext(msgid)


def _live_prefix(lang: str, msgid: str) -> str:
    """The start of a translated line, up to its first placeholder (what to wait for)."""
    return _tr(lang, msgid).split("{", 1)[0].strip()[:24]


@dataclass(frozen=True)
class Shot:
    """One screenshot: the runbook's app, the file, what to do and what to crop to."""

    stem: str
    name: str
    ready: str  # the Verify line (msgid) that says the page's cells all ran
    act: Callable[[Any, str], list[Any]]  # (page, lang) -> elements to mask
    crop: str  # the CSS selector of the widget to crop to
    params: tuple[tuple[str, str], ...] = ()  # as ``runbook app NN -p NAME VALUE``


def _s1(page: Any, lang: str) -> list[Any]:
    step = page.locator(".runbook-confirm-step")
    step.get_by_role("button", name=_tr(lang, "I have done this")).click()
    page.wait_for_function(
        "sel => !document.querySelector(sel).querySelector('button:not([disabled])')",
        arg=".runbook-confirm-step",
        timeout=TIMEOUT_MS,
    )
    return []


def _s2(page: Any, lang: str) -> list[Any]:
    page.locator(".runbook-shown-once").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => document.querySelector('.runbook-shown-once').innerText.includes('••••')"
    )
    return []


def _s3(page: Any, lang: str) -> list[Any]:
    panel = page.locator(".runbook-qr-panel")
    panel.get_by_role("button", name=_tr(lang, "Show QR code")).click()
    panel.locator("img").wait_for(state="visible", timeout=TIMEOUT_MS)
    return [panel.locator("img")]


SHOTS = (
    Shot(
        "01_create_admin_user",
        "voila-s1-billing-confirmed",
        "Not verified yet: waiting for Step 7 (press Create).",
        _s1,
        ".runbook-confirm-step",
    ),
    Shot(
        "02_create_access_key",
        "voila-s2-access-key-masked",
        "Not verified yet: waiting for 'I have stored it' in Step 5 (that button proves "
        "the secret you stored with STS, then this line updates).",
        _s2,
        ".runbook-shown-once",
        (("destination", "widget"),),
    ),
    Shot(
        "03_enable_virtual_mfa",
        "voila-s3-mfa-qr",
        "Not verified yet: waiting for {steps}.",
        _s3,
        ".runbook-qr-panel, .runbook-virtual-authenticator",
    ),
)


def image_path(name: str, lang: str, docs: Path = DOCS) -> Path:
    """Where the screenshot ``name`` in ``lang`` is committed."""
    return docs / f"{name}.png" if lang == DEFAULT else docs / lang / f"{name}.png"


def _sandbox_secrets() -> list[str]:
    """Every secret the sandbox (moto, in this process) holds: console passwords, secret access
    keys and virtual MFA seeds, whoever created them."""
    from moto.iam.models import iam_backends

    values: list[str] = []
    for regions in iam_backends.values():
        backend = regions["global"]
        for user in backend.users.values():
            values += [user.password or ""] + [k.secret_access_key for k in user.access_keys]
        for device in backend.virtual_mfa_devices.values():
            seed = device.base32_string_seed
            values.append(seed.decode() if isinstance(seed, bytes) else str(seed))
    return values


def _secret_values(secrets_dir: Path) -> list[str]:
    """The run's secret values: the sandbox's own, and the password and secret key columns of
    the run's secret files (the console's CSV formats)."""
    values = _sandbox_secrets()
    for path in secrets_dir.rglob("*.csv"):
        with path.open(newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                values += [
                    value
                    for column, value in row.items()
                    if column and value and any(w in column.lower() for w in ("password", "secret"))
                ]
    return [v for v in values if len(v) >= 6]


def _crop(page: Any, selector: str) -> dict[str, float]:
    """The area of the widgets matching ``selector``, widened to ``MIN_WIDTH`` and padded."""
    boxes: list[dict[str, float]] = page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )
    if not boxes:
        raise RunbookError(f"the page has no {selector}: the app changed; update SHOTS")
    left = min(b["x"] for b in boxes) - MARGIN
    top = min(b["y"] for b in boxes) - MARGIN
    right = max(b["x"] + b["width"] for b in boxes) + MARGIN
    bottom = max(b["y"] + b["height"] for b in boxes) + BOTTOM
    width = max(right - left, MIN_WIDTH)
    left = max(0.0, min(left - (width - (right - left)) / 2, VIEWPORT["width"] - width))
    return {"x": left, "y": max(0.0, top), "width": width, "height": bottom - max(0.0, top)}


@contextlib.contextmanager
def _app(stem: str, root: Path, env: dict[str, str], lang: str, shot: Shot) -> Iterator[str]:
    """``runbook app STEM --sandbox --lang LANG`` in a subprocess; yields the URL it prints."""
    port = _free_port()
    cmd = [sys.executable, "-m", "runbook_lib.interfaces.cli", "app", stem, "--sandbox"]
    cmd += ["--lang", lang, "--no-browser", "--port", str(port)]
    cmd += ["--output-dir", str(root / "runs")]
    for name, value in shot.params:
        cmd += ["-p", name, value]
    log = root / f"{lang}-{stem}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=root)
    try:
        deadline = time.monotonic() + TIMEOUT_MS / 1000
        url = None
        while url is None:
            if proc.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-1500:]
                raise RunbookError(f"'runbook app {stem}' printed no URL in time: {tail}")
            url = re.search(r"open: (\S+)", log.read_text(errors="replace"))
            time.sleep(0.2)
        yield url[1]
    finally:
        proc.send_signal(signal.SIGINT)  # as Ctrl+C: the CLI stops its server and kernels
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _app_env(root: Path, sandbox_url: str) -> dict[str, str]:
    """The CLI's environment: this sandbox (``--sandbox`` uses a running one), Jupyter and
    secrets folders of its own, no real credentials."""
    from runbook_lib.core import environ
    from runbook_lib.core.sandbox import SANDBOX_URL_VAR

    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for name in ("HOME", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR"):
        folder = root / name.lower()
        folder.mkdir(parents=True, exist_ok=True)
        env[name] = str(folder)
    for name in ("JUPYTER_PATH", "JUPYTER_DATA_DIR", environ.LANG):
        env.pop(name, None)
    env[SANDBOX_URL_VAR] = sandbox_url
    env[environ.SECRETS_DIR] = str(root / "secrets")
    return env


def _shoot(
    page: Any, shot: Shot, lang: str, out: Path, secret_values: Callable[[], list[str]]
) -> None:
    page.locator(shot.crop.split(",")[0].strip()).first.wait_for(timeout=TIMEOUT_MS)
    ready = _live_prefix(lang, shot.ready)
    try:
        page.wait_for_function(
            "t => document.body.textContent.includes(t)", arg=ready, timeout=TIMEOUT_MS
        )
    except Exception as err:
        tail = str(page.evaluate("document.body.innerText"))[-600:]
        raise RunbookError(f"{shot.stem} never showed {ready!r}; the page ends: {tail}") from err
    mask = shot.act(page, lang)
    page.evaluate("document.fonts.ready")
    text = str(page.evaluate("document.body.innerText"))
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(
        path=str(out),
        clip=_crop(page, shot.crop),
        mask=mask,
        mask_color="#9aa5b1",
        animations="disabled",
    )
    shown = [v for v in secret_values() if v in text]
    if shown or readable_codes(out):
        out.unlink()
        raise SecretLeak(
            f"{out.name} was not kept: the page showed "
            + ("a secret value of the run" if shown else "a code zbarimg can read")
            + " at capture time. Mask it in SHOTS before taking screenshots again."
        )


def take_language(browser: Any, lang: str, docs: Path, seed: int = 42) -> list[Path]:
    """The screenshots of one language, on a new sandbox of its own.

    Returns:
        The pictures written.

    Raises:
        SecretLeak: a picture would show a secret (it is deleted).
        RunbookError: an app did not reach the state to photograph.
    """
    from runbook_lib.core import environ
    from runbook_lib.core.sandbox import Sandbox
    from runbook_lib.run.notebooks import all_notebooks, notebooks_dir
    from runbook_lib.run.runner import run_notebook

    folder = notebooks_dir() if lang == DEFAULT else notebooks_dir() / lang
    books = {book.stem: book for book in all_notebooks(folder)}
    root = Path(tempfile.mkdtemp(prefix=f"runbook-screenshots-{lang}-"))
    box = Sandbox(seed=seed).start()
    written: list[Path] = []
    try:
        env = _app_env(root, box.url)
        for shot in SHOTS:
            if shot.stem == "02_create_access_key":  # S2 and S3 need S1's user
                seeded = run_notebook(
                    str(books["01_create_admin_user"]),
                    {"language": lang},
                    output_dir=root / "runs",
                    sandbox=box,
                    kernel_env={environ.SECRETS_DIR: str(root / "secrets")},
                )
                if seeded.exit_code not in (0, 3):  # 3: the billing step is pending
                    raise RunbookError(f"S1 headless did not create the user: {seeded.message}")
            out = image_path(shot.name, lang, docs)
            started = time.monotonic()
            context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1, locale=lang)
            page = context.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            with _app(shot.stem, root, env, lang, shot) as url:
                page.goto(url, timeout=TIMEOUT_MS)
                _shoot(page, shot, lang, out, lambda: _secret_values(root / "secrets"))
            context.close()
            print(
                f"  {out.relative_to(docs.parent)} ({time.monotonic() - started:.0f} s)", flush=True
            )
            written.append(out)
    finally:
        box.stop()
        shutil.rmtree(root, ignore_errors=True)
    return written


def take_screenshots(langs: tuple[str, ...] = LANGS, docs: Path = DOCS) -> list[Path]:
    """Every course screenshot in every language of ``langs``, taken again (see the module).

    Raises:
        RunbookError: chromium is missing, or a picture could not be taken.
        SecretLeak: a picture would show a secret.
    """
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.exists():
        raise RunbookError(f"{CHROMIUM} is missing: run 'make system' (Debian chromium).")
    written: list[Path] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for lang in langs:
                print(f"screenshots ({lang}):", flush=True)
                written += take_language(browser, lang, docs)
        finally:
            browser.close()
    return written


def main() -> int:
    """``python -m runbook_lib.authoring.screenshots [LANG ...]``: exit 0; 2 when a checker is
    missing; 1 when a picture could not be taken or would show a secret (it is deleted)."""
    langs = tuple(sys.argv[1:]) or LANGS
    started = time.monotonic()
    try:
        written = take_screenshots(langs)
    except BadInput as err:  # a missing checker (zbarimg): nothing was taken
        print(f"screenshots not taken: {err}", file=sys.stderr)
        return 2
    except RunbookError as err:
        print(f"screenshots not taken: {err}", file=sys.stderr)
        return 1
    print(f"{len(written)} screenshots in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
