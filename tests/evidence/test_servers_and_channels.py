"""Servers and channels hold against the red team's attacks (issue 20, items 7, 8, 9 and the
low-severity list), each reproduced as it was reported.

- ``runbook app``: a request with ``Host: evil.example`` ran S2 (a key created), and the login
  cookie alone, without the token, executed the runbook. Now both get 403 and IAM, read with
  awscli as a second client, shows no key; the token URL still runs it.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterator

import pytest
from browser.browser_pages import aws_keys, cli_server

from runbook_lib.core import environ
from runbook_lib.interfaces import app_server


# ---- runbook app (item 8) ------------------------------------------------------------------


def request(url: str, path: str, **headers: str) -> http.client.HTTPResponse:
    """GET ``path`` on the app of ``url`` with ``headers`` (read in full)."""
    parts = re.match(r"http://([\d.]+):(\d+)/", url)
    assert parts
    conn = http.client.HTTPConnection(parts[1], int(parts[2]), timeout=180)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


@pytest.fixture(scope="module")
def app_02(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """``runbook app 02 --sandbox --seed-prerequisites -p mode rotate``: every execution of
    the page makes a key. Yields (page URL with the token, token, sandbox URL)."""
    tmp = tmp_path_factory.mktemp("app02")
    args = ("app", "02", "--sandbox", "--seed-prerequisites", "-p", "mode", "rotate")
    own_sandbox = (environ.SANDBOX_URL, environ.SANDBOX_ACCOUNT)  # not the session's shared one
    with cli_server(tmp, *args, ready="Voilà is running", env_drop=own_sandbox) as (url, _s):
        sandbox = re.search(r"sandbox: (\S+)", (tmp / "server.log").read_text("utf-8"))
        assert sandbox, "no sandbox line"
        token = url.split("token=", 1)[1]
        yield url, token, sandbox[1]


def test_app_refuses_a_foreign_host_and_runs_nothing(app_02: tuple[str, str, str]) -> None:
    url, token, sandbox = app_02
    before = aws_keys(sandbox)
    response = request(url, f"/?token={token}", Host="evil.example")
    assert response.status == 403
    assert aws_keys(sandbox) == before == []


def test_app_cookie_without_the_token_runs_nothing(app_02: tuple[str, str, str]) -> None:
    url, token, sandbox = app_02
    # a request the page itself makes gives the login cookie (and runs nothing: no such kernel)
    given = request(url, f"/api/kernels/{'0' * 8}-0000-0000-0000-{'0' * 12}?token={token}")
    cookie = given.getheader("Set-Cookie") or ""
    assert cookie.startswith("username-"), "no login cookie from a token request"
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "samesite=strict" in attributes and "httponly" in attributes
    assert not any(a.startswith(("expires=", "max-age=")) for a in attributes), cookie
    response = request(url, "/", Cookie=cookie.split(";")[0])
    assert response.status == 403
    assert aws_keys(sandbox) == []


def test_app_refuses_another_pages_request_even_with_the_token(
    app_02: tuple[str, str, str],
) -> None:
    url, token, sandbox = app_02
    origin = url.split("/?")[0]
    other = origin.rsplit(":", 1)[0] + ":1"  # the same host, another port: same-site
    for headers in (
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": other},
        {"Referer": f"{other}/attack.html"},
    ):
        assert request(url, f"/?token={token}", **headers).status == 403, headers
    assert aws_keys(sandbox) == []


def test_app_token_url_still_runs_the_runbook(app_02: tuple[str, str, str]) -> None:
    """Last in this module: the attacks above ran nothing; the person's URL does."""
    url, token, sandbox = app_02
    assert request(url, f"/?token={token}").status == 200
    assert len(aws_keys(sandbox)) == 1


@pytest.mark.parametrize(
    ("headers", "refused"),
    [
        ({"Host": "127.0.0.1:8866"}, False),
        ({"Host": "localhost:8866", "Sec-Fetch-Site": "same-origin"}, False),
        ({"Host": "127.0.0.1:8866", "Sec-Fetch-Site": "none"}, False),
        ({"Host": "127.0.0.1:8866", "Origin": "http://127.0.0.1:8866"}, False),
        ({"Host": "127.0.0.1:8866", "Referer": "http://127.0.0.1:8866/?token=t"}, False),
        ({"Host": "[::1]:8866"}, False),
        ({"Host": "evil.example"}, True),
        ({"Host": "evil.example:8866"}, True),
        ({"Host": "127.0.0.1.evil.example:8866"}, True),
        ({}, True),
        ({"Host": "127.0.0.1:8866", "Sec-Fetch-Site": "same-site"}, True),
        ({"Host": "127.0.0.1:8866", "Origin": "null"}, True),
        ({"Host": "127.0.0.1:8866", "Origin": "http://127.0.0.1:8867"}, True),
        ({"Host": "127.0.0.1:8866", "Referer": "http://127.0.0.2:8866/a"}, True),
    ],
)
def test_app_request_check(headers: dict[str, str], refused: bool) -> None:
    assert bool(app_server.refusal(headers)) is refused
