"""S3's widgets: the QR code panel, the two-code form and the sandbox's virtual authenticator."""

from __future__ import annotations

import html
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from runbook_lib.core.errors import RunbookError, TargetRefused
from runbook_lib.core.i18n import N_, _
from runbook_lib.core.secrets import Secret
from runbook_lib.core.totp import PERIOD, current_code
from runbook_lib.widgets.base import MASK, SafeBox, code_tag, wide_button
from runbook_lib.widgets.live import refresh_live

_PRESS_SHOW = N_("Press Show codes to see the current code (live notebook only).")


def _group4(text: str) -> str:
    return " ".join(text[i : i + 4] for i in range(0, len(text), 4))


class QrPanel(SafeBox):
    """A virtual MFA device's QR code behind "Show QR code", its secret key behind Reveal.

    Nothing secret is in the panel when it is displayed: the QR image is empty and the key is
    masked until a person presses a button in a live frontend (the click's callback runs in the
    kernel; no executor clicks). So papermill, ``nbconvert --execute`` and ``jupyter execute``,
    which save the widget state produced while cells execute, save an empty image and a mask.
    Its saved ``text/plain`` is a fixed sentence, and ``clear()`` removes both from the page
    once the device is assigned.

    Args:
        qr_png: the QR code PNG (kind ``qr-png``), built locally from the Key URI.
        seed: the base32 seed (kind ``mfa-seed``).
        title: e.g. ``"Virtual MFA device of Administrator"``.
    """

    def __init__(self, qr_png: Secret, seed: Secret, title: str) -> None:
        self.seed, self.qr_png = seed, qr_png
        # align_self: a VBox stretches its children to its width; the QR keeps its own size
        self.image = w.Image(
            value=b"", format="png", layout=w.Layout(align_self="flex-start", display="none")
        )
        self.qr_button = wide_button(
            _("Show QR code"),
            icon="qrcode",
            tooltip=_("Show it to the authenticator app"),
        )
        self.qr_button.on_click(self._toggle_qr)
        self.key_html = w.HTML(value=self._masked())
        self.reveal_button = wide_button(
            _("Reveal secret key"), icon="eye", tooltip=_("For typing into the app")
        )
        self.reveal_button.on_click(self._toggle)
        self.status = w.HTML(
            value=_(
                "Open the authenticator app, add an account, press Show QR code and scan it "
                "(or reveal the secret key and type it). Then type two consecutive codes in Step 8."
            )
        )
        super().__init__(
            [
                w.HTML(value=f"<b>{html.escape(title)}</b>"),
                self.qr_button,
                self.image,
                w.HBox([self.reveal_button, self.key_html]),
                self.status,
            ],
            safe_text=_("{title}: QR code and secret key (live notebook only; never saved)").format(
                title=title
            ),
        )
        self.add_class("runbook-qr-panel")

    def _masked(self) -> str:
        return f"{code_tag(MASK)} <small>{html.escape(self.seed.fingerprint)}</small>"

    @property
    def qr_shown(self) -> bool:
        """Whether the QR code is on the page now."""
        return bool(self.image.value)

    @property
    def revealed(self) -> bool:
        """Whether the secret key is on the page now."""
        return bool(self.reveal_button.description == _("Hide secret key"))

    def _toggle_qr(self, _click: Any = None) -> None:
        if self.seed.dropped or self.qr_png.dropped:
            return
        if self.qr_shown:
            self.image.value = b""
            self.image.layout.display = "none"
            self.qr_button.description = _("Show QR code")
        else:
            png = self.qr_png.reveal()
            self.image.value = png if isinstance(png, bytes) else png.encode()
            self.image.layout.display = None
            self.qr_button.description = _("Hide QR code")

    def _toggle(self, _click: Any = None) -> None:
        if self.seed.dropped:
            return
        if self.revealed:
            self.key_html.value = self._masked()
            self.reveal_button.description, self.reveal_button.icon = _("Reveal secret key"), "eye"
        else:
            self.key_html.value = code_tag(_group4(self.seed.text()))
            self.reveal_button.description = _("Hide secret key")
            self.reveal_button.icon = "eye-slash"

    def clear(self) -> None:
        """Remove the QR code and the key from the page (after the device is assigned)."""
        self.image.value = b""
        self.image.layout.display = "none"
        self.qr_button.description, self.qr_button.disabled = _("Show QR code"), True
        self.key_html.value = code_tag(_("(removed)"))
        self.reveal_button.description, self.reveal_button.icon = _("Reveal secret key"), "eye"
        self.reveal_button.disabled = True
        self.status.value = _(
            "Assigned: the QR code and the key are gone from this page and kernel."
        )


class CodeForm(SafeBox):
    """Two MFA code boxes and a button that hands them to the library.

    Args:
        title: what the button does, e.g. ``"Assign MFA: arn:aws:iam::...:mfa/Administrator"``.
        on_submit: called with (code 1, code 2); returns a status line, or raises a
            ``RunbookError`` whose message (plain words, no secret) is shown in the form.
        button: the button's label.
    """

    def __init__(self, title: str, on_submit: Callable[[str, str], str], button: str = "") -> None:
        self._on_submit = on_submit
        button = button or _("Assign MFA")
        self.code1 = w.Text(description=_("MFA code 1"), placeholder=_("6 digits"))
        self.code2 = w.Text(description=_("MFA code 2"), placeholder=_("the next code"))
        self.button = wide_button(button, button_style="primary", icon="lock")
        self.status = w.HTML(
            value=_(
                "Type the code the app shows now, wait for the next one (up to 30 s), type "
                "it, then press {button} at once."
            ).format(button=html.escape(button))
        )
        self.button.on_click(self.submit)
        super().__init__(
            [
                w.HTML(value=f"<b>{html.escape(title)}</b>"),
                self.code1,
                self.code2,
                self.button,
                self.status,
            ],
            safe_text=_("{title} (form in the live notebook)").format(title=title),
        )
        self.add_class("runbook-code-form")

    def submit(self, _click: Any = None) -> None:
        """Send the two codes to the library and show its answer."""
        self.button.disabled = True
        try:
            result = self._on_submit(self.code1.value, self.code2.value)
        except RunbookError as err:
            self.status.value = (
                "<span style='color:#b00'>"
                + _("Not done: {message}").format(message=html.escape(err.message))
                + "</span>"
            )
            self.button.disabled = False
            return
        self.code1.value = self.code2.value = ""
        self.code1.disabled = self.code2.disabled = True
        self.status.value = _("Done: {result}").format(result=html.escape(result))
        refresh_live()


class VirtualAuthenticator(SafeBox):
    """The sandbox's stand-in for a phone: the current code and the seconds left.

    No code is shown until a person presses "Show codes" in a live frontend (then it ticks for
    ``run_seconds``): a code is never in the widget state an executor saves while cells run.
    It refuses to run unless the run targets the sandbox: on a real account the codes must come
    from the user's own device.

    Args:
        ctx: the run context (anything with a ``sandbox`` attribute).
        seed: the device's seed.
        label: the entry's name, e.g. ``"AWS:Administrator"``.
        clock: returns the current Unix time.
        run_seconds: how long the display ticks before it stops (Refresh restarts it).

    Raises:
        TargetRefused: the target is not the sandbox.
    """

    def __init__(
        self,
        ctx: Any,
        seed: Secret,
        label: str,
        clock: Callable[[], float] = time.time,
        run_seconds: float = 600,
    ) -> None:
        if not getattr(ctx, "sandbox", False):
            raise TargetRefused(
                _(
                    "The virtual authenticator runs only on the sandbox: on a real account, scan "
                    "the QR code with the user's own authenticator app."
                )
            )
        self.seed, self._clock, self._run_seconds = seed, clock, run_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.code_html = w.HTML(value=_(_PRESS_SHOW))
        self.refresh_button = wide_button(_("Show codes"), icon="refresh")
        self.refresh_button.on_click(lambda _: self.start())
        super().__init__(
            [
                w.HTML(
                    value="<b>"
                    + _("Sandbox virtual authenticator")
                    + f"</b> — {html.escape(label)}"
                ),
                self.code_html,
                self.refresh_button,
            ],
            safe_text=_("Sandbox virtual authenticator for {label} (live notebook only)").format(
                label=label
            ),
        )
        self.add_class("runbook-virtual-authenticator")

    def refresh(self) -> None:
        """Show the current code and the seconds left in its 30-second window."""
        if self.seed.dropped:
            self.code_html.value = _("Stopped: the device is assigned and its seed is forgotten.")
            return
        now = self._clock()
        left = PERIOD - int(now) % PERIOD
        code = current_code(self.seed.text(), now)
        left_text = _("{seconds} s left").format(seconds=left)
        self.code_html.value = f"{code_tag(code[:3] + ' ' + code[3:])} <small>{left_text}</small>"

    def start(self) -> None:
        """Show the code and tick once a second, in the background, for ``run_seconds`` (the
        button's callback: a person asked for the codes)."""
        self.stop()
        self.refresh_button.description = _("Refresh")
        self.refresh()
        self._stop = threading.Event()
        stop, end = self._stop, self._clock() + self._run_seconds

        def tick() -> None:
            while not stop.wait(1.0) and self._clock() < end and not self.seed.dropped:
                self.refresh()
            self.refresh()

        self._thread = threading.Thread(target=tick, daemon=True, name="virtual-authenticator")
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking (once the seed is forgotten, the display says so)."""
        self._stop.set()
        if self.seed.dropped:
            self.refresh()
