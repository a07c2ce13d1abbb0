"""The Voilà server of ``runbook app``, guarded as JupyterLab is (and a step further).

``python -m runbook_lib.interfaces.app_server NOTEBOOK [Voilà options]`` is Voilà with:

- every request refused (403) whose ``Host`` is not a loopback address or ``localhost`` (a DNS
  rebinding page names its own host), or that comes from another page: ``Sec-Fetch-Site`` other
  than ``same-origin``/``none``, an ``Origin`` or ``Referer`` that is not the app's own. Lab
  refuses a foreign Host; Voilà alone does not (it sets ``allow_remote_access``). The check
  runs before any handler, static files and the kernel websocket included;
- the page that executes the notebook served only to a request that carries the token
  (``?token=`` or ``Authorization: token``): the login cookie alone never runs the runbook;
- the login cookie made from the token limited to the kernel websocket and the API the page
  itself calls: ``SameSite=Strict``, HttpOnly, a browser-session cookie (no ``Expires``), and
  accepted for at most ``COOKIE_MAX_AGE_DAYS`` (Jupyter's default is 30 days, no SameSite).

The checks are plain functions of the request headers (``refusal``), so they are tested
without a server; the server tests drive them over HTTP and in a browser.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Mapping
from typing import Any

from jupyter_server.auth.identity import IdentityProvider, PasswordIdentityProvider
from tornado import web
from traitlets import Type, default
from voila.app import Voila  # type: ignore[import-untyped]
from voila.handler import VoilaHandler  # type: ignore[import-untyped]

from runbook_lib.core.i18n import _

#: host names accepted besides loopback addresses (as JupyterLab's ``local_hostnames``)
LOCAL_HOSTNAMES = ("localhost",)
#: ``Sec-Fetch-Site`` values of a request the app's own page (or the person) made
OWN_FETCH_SITES = ("same-origin", "none")
#: the login cookie's options: SameSite=Strict, HttpOnly, gone when the browser closes
COOKIE_OPTIONS: dict[str, object] = {"samesite": "Strict", "httponly": True, "expires_days": None}
#: a login cookie older than this is refused even if the browser still sends it
COOKIE_MAX_AGE_DAYS = 1


def _hostname(host: str) -> str:
    """``host`` (a Host header) without its port and IPv6 brackets, lower case."""
    name = urllib.parse.urlsplit(f"//{host}").hostname
    return (name or "").lower()


def local_host(host: str) -> bool:
    """Whether a Host header names this machine (a loopback address or ``localhost``)."""
    name = _hostname(host)
    if name in LOCAL_HOSTNAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _same_origin(url: str, host: str) -> bool:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower()


def refusal(headers: Mapping[str, str]) -> str:
    """Why a request with these headers is refused (``""``: it is not).

    Args:
        headers: the request's headers (case-insensitive mapping, as tornado's).
    """
    host = headers.get("Host", "")
    if not local_host(host):
        return _("Host {host} is not this machine").format(host=repr(host))
    site = headers.get("Sec-Fetch-Site", "")
    if site and site not in OWN_FETCH_SITES:
        return _("a {site} request (another page's)").format(site=site)
    origin = headers.get("Origin", "")
    if origin and not _same_origin(origin, host):
        return _("Origin {origin} is not the app's").format(origin=repr(origin))
    referer = headers.get("Referer", "")
    if referer and not _same_origin(referer, host):
        return _("Referer is not the app's page")
    return ""


def _refuse(handler: web.RequestHandler, reason: str) -> None:
    """Answer 403 (``reason`` in the server's log); nobody is logged in for the error page."""
    handler.current_user = None
    handler._jupyter_current_user = None  # type: ignore[attr-defined]  # Jupyter's error page
    raise web.HTTPError(403, reason)


def _guarded(handler: type[Any]) -> type[Any]:
    """``handler`` with ``refusal`` checked before anything else it does."""

    class Guarded(handler):  # type: ignore[misc]
        def prepare(self) -> Any:
            reason = refusal(self.request.headers)
            if reason:
                _refuse(self, reason)
            return super().prepare()

        def write_error(self, status_code: int, **kwargs: Any) -> None:
            if status_code != 403:
                super().write_error(status_code, **kwargs)
                return
            # one plain line: Jupyter's error page would load a stylesheet from a CDN
            error = kwargs.get("exc_info", (None, None, None))[1]
            reason = getattr(error, "log_message", None) or "forbidden"
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"403 Forbidden: {reason}.\n")

    Guarded.__name__ = Guarded.__qualname__ = handler.__name__
    return Guarded


class AppIdentity(PasswordIdentityProvider):
    """The token runs the page; a SameSite=Strict session cookie made from it serves the page's
    own websocket and API calls."""

    @default("cookie_options")
    def _cookie_options(self) -> dict[str, object]:
        return dict(COOKIE_OPTIONS)

    @default("get_secure_cookie_kwargs")
    def _cookie_age(self) -> dict[str, object]:
        return {"max_age_days": COOKIE_MAX_AGE_DAYS}

    async def _get_user(self, handler: web.RequestHandler) -> Any:
        if isinstance(handler, VoilaHandler) and self.get_token(handler) != self.token:
            # the page executes the notebook: never on the cookie alone
            _refuse(handler, _("the page runs the notebook: open the URL 'runbook app' printed"))
        return await super()._get_user(handler)


class GuardedVoila(Voila):  # type: ignore[misc]
    """Voilà whose every handler checks ``refusal`` first, with ``AppIdentity``."""

    identity_provider_class = Type(default_value=AppIdentity, klass=IdentityProvider, config=True)

    def init_handlers(self) -> list[Any]:
        handlers: list[Any] = super().init_handlers()
        return [(spec[0], _guarded(spec[1]), *spec[2:]) for spec in handlers]


if __name__ == "__main__":  # pragma: no cover - the Voilà process
    GuardedVoila.launch_instance()
