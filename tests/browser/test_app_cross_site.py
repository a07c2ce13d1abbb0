"""``runbook app 02 -p mode rotate`` in Chromium: a page of another origin (127.0.0.1 on another
port, the same *site*, so a SameSite=Strict cookie alone would not stop it) that links or
posts to the app does not run the runbook, even after the person opened the app in the same
browser (the login cookie is there); the token URL the CLI printed does run it.

"Ran" is what a person would check: the access keys IAM lists (read with awscli) and the
app's run record in the session folder.
"""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser.browser_pages import aws_keys, cli_server, page_text

from runbook_lib.core import environ

RECORD = "02_create_access_key.run.json"


@pytest.fixture
def app_02(tmp_path: Path) -> Iterator[tuple[str, Path, str]]:
    """The CLI's app on 02 (rotate: each run of the page makes a key); (URL, session, sandbox)."""
    args = ("app", "02", "--sandbox", "--seed-prerequisites", "-p", "mode", "rotate")
    own_sandbox = (environ.SANDBOX_URL, environ.SANDBOX_ACCOUNT)  # not the session's shared one
    with cli_server(tmp_path, *args, ready="Voilà is running", env_drop=own_sandbox) as found:
        url, session = found
        sandbox = re.search(r"sandbox: (\S+)", (tmp_path / "server.log").read_text("utf-8"))
        assert sandbox
        yield url, session, sandbox[1]


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[Any]:
    """A web server on 127.0.0.1 (another port) whose page links and posts to a given app:
    ``attacker(app_origin)`` returns the attack page's URL."""
    site = tmp_path / "attacker"
    site.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(site), **kwargs)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def page_for(app_origin: str) -> str:
        (site / "index.html").write_text(
            f'<a id="go" href="{app_origin}/">a cat picture</a>'
            f'<form id="post" method="post" action="{app_origin}/?mode=rotate">'
            '<input name="mode" value="rotate"><button id="send">win</button></form>',
            encoding="utf-8",
        )
        return f"http://127.0.0.1:{server.server_address[1]}/index.html"

    try:
        yield page_for
    finally:
        server.shutdown()
        server.server_close()


def test_another_origins_link_or_post_does_not_run_the_app(
    app_02: tuple[str, Path, str], attacker: Any, page: Any
) -> None:
    url, session, sandbox = app_02
    page.goto(url, timeout=120_000)  # the person opens the app: it runs once, the cookie is set
    keys = aws_keys(sandbox)
    assert len(keys) == 1, "the token URL did not run the runbook"
    record = (session / RECORD).read_bytes()
    assert any(c["name"].startswith("username-") for c in page.context.cookies())

    evil = attacker(url.split("/?")[0])
    page.goto(evil)
    page.click("#go")
    page.wait_for_load_state()
    assert "403" in page_text(page)
    page.goto(evil)
    page.click("#send")
    page.wait_for_load_state()
    assert "403" in page_text(page)

    assert aws_keys(sandbox) == keys, "another page's request rotated the key"
    assert (session / RECORD).read_bytes() == record, "another page's request ran the notebook"
    assert not page.blocked, page.blocked[:3]
