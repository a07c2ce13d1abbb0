"""Widgets of the runbooks' steps: a secret shown once, a manual-step confirmation, and the
form that applies a reviewed plan (with an optional masked password field)."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w
from traitlets import Unicode

from runbook_lib.core.errors import BadInput, RunbookError
from runbook_lib.core.i18n import _
from runbook_lib.core.secrets import Secret
from runbook_lib.widgets.base import MASK, SafeBox, code_tag, pre_tag, wide_button
from runbook_lib.widgets.live import refresh_live


class ShownOnce(SafeBox):
    """A secret shown once: masked, Reveal/Hide, and "I have stored it" that forgets it.

    Args:
        secret: the secret to show.
        title: what it is, e.g. ``"Secret access key of Administrator"``.
        extra: non-secret lines to show with it (e.g. the access key ID).
        on_stored: called after the person confirmed and the value was dropped.
    """

    def __init__(
        self,
        secret: Secret,
        title: str,
        extra: str = "",
        on_stored: Callable[[], None] | None = None,
    ) -> None:
        self.secret = secret
        self._on_stored = on_stored
        self.value_html = w.HTML(value=self._masked(), layout=w.Layout(min_width="30em"))
        self.reveal_button = wide_button(_("Reveal"), icon="eye", tooltip=_("Show the value"))
        self.stored_button = wide_button(
            _("I have stored it"), button_style="warning", icon="check"
        )
        self.status = w.HTML(
            value=_("It is shown once: after you confirm, it cannot be shown again.")
        )
        self.reveal_button.on_click(self._toggle)
        self.stored_button.on_click(self._stored)
        header = w.HTML(value=f"<b>{html.escape(title)}</b> {html.escape(extra)}")
        super().__init__(
            [
                header,
                self.value_html,
                w.HBox([self.reveal_button, self.stored_button]),
                self.status,
            ],
            safe_text=_("{title}: {secret} (shown once in the live notebook; never saved)").format(
                title=title, secret=repr(secret)
            ),
        )
        self.add_class("runbook-shown-once")

    def _masked(self) -> str:
        return f"{code_tag(MASK)} <small>{html.escape(self.secret.fingerprint)}</small>"

    @property
    def revealed(self) -> bool:
        """Whether the value is on the page now."""
        return bool(self.reveal_button.description == _("Hide"))

    def _toggle(self, _click: Any = None) -> None:
        if self.secret.dropped:
            return
        if self.revealed:
            self.value_html.value = self._masked()
            self.reveal_button.description, self.reveal_button.icon = _("Reveal"), "eye"
        else:
            self.value_html.value = code_tag(self.secret.text())
            self.reveal_button.description, self.reveal_button.icon = _("Hide"), "eye-slash"

    def _stored(self, _click: Any = None) -> None:
        self.secret.drop()
        self.value_html.value = f"{code_tag('(removed)')} <small>{self.secret.fingerprint}</small>"
        self.reveal_button.description, self.reveal_button.icon = _("Reveal"), "eye"
        self.reveal_button.disabled = True
        self.stored_button.disabled = True
        self.status.value = _("Stored by you. The value is gone from this page and this kernel.")
        if self._on_stored is not None:
            self._on_stored()
        refresh_live()


class ConfirmStep(SafeBox):
    """A manual step a person must do: instructions plus a "Done" confirmation.

    Args:
        title: the step heading.
        instructions_html: what to do, as HTML.
        on_confirm: called once when the person confirms.
        done: the step is already done (shows as confirmed).
    """

    def __init__(
        self,
        title: str,
        instructions_html: str,
        on_confirm: Callable[[], None],
        done: bool = False,
    ) -> None:
        self._on_confirm = on_confirm
        self.button = wide_button(
            _("I have done this"), button_style="primary", icon="check", disabled=done
        )
        self.status = w.HTML(value=_("Done.") if done else _("Waiting for you."))
        self.button.on_click(self._confirm)
        super().__init__(
            [
                w.HTML(value=f"<b>{html.escape(title)}</b>"),
                w.HTML(value=instructions_html),
                w.HBox([self.button, self.status]),
            ],
            safe_text=_("Manual step: {title} ({state})").format(
                title=title, state=_("done") if done else _("waiting for confirmation")
            ),
        )
        self.add_class("runbook-confirm-step")

    def _confirm(self, _click: Any = None) -> None:
        self.button.disabled = True
        self.status.value = _("Done: recorded in the run record.")
        self._on_confirm()
        refresh_live()


class MaskedField(w.Password):  # type: ignore[misc]
    """A password field whose typed value the kernel never sends back.

    ipywidgets 8 echoes every value a frontend sends (``echo_update``) to all frontends of the
    kernel; for a typed password that echo would put the value on the kernel's IOPub channel,
    where any connected client (or a saved widget state) could keep it.
    """

    value = Unicode(help="The typed password").tag(sync=True, echo_update=False)


class ApplyForm(SafeBox):
    """A reviewed plan and the button that makes it, with an optional masked password field.

    The typed value leaves the widget at once: the field is emptied before ``on_apply`` runs, so
    it is never in the widget state that JupyterLab could save.

    Args:
        title: what the form does, e.g. ``"Step 7 — review, then create"``.
        review: the plan, as plain text.
        on_apply: receives the typed password (``""``: none typed); returns what was done as
            plain text, or raises a ``RunbookError`` whose message (no secret) is shown.
            ``BadInput`` leaves the form open (nothing changed); other errors close it. Once
            done, the result replaces the plan (the plan is hidden, the result is the status).
        password_title: the label of the masked field; ``""`` for no field.
        button: the button's label.
    """

    def __init__(
        self,
        title: str,
        review: str,
        on_apply: Callable[[str], str],
        password_title: str = "",
        button: str = "",
    ) -> None:
        self._on_apply = on_apply
        button = button or _("Create")
        self.field = MaskedField(
            placeholder=_("empty: a generated password"),
            continuous_update=False,  # sent once, not per keystroke
            layout=w.Layout(width="24em"),
        )
        self.button = wide_button(button, button_style="primary", icon="check")
        self.status = w.HTML(
            value=_("Nothing is changed until you press {button}.").format(
                button=html.escape(button)
            )
        )
        self.button.on_click(self.submit)
        self.review = w.HTML(value=pre_tag(review))
        children = [w.HTML(value=f"<b>{html.escape(title)}</b>"), self.review]
        if password_title:
            children += [w.HTML(value=html.escape(password_title)), self.field]
        super().__init__(
            [*children, self.button, self.status],
            safe_text=_(
                "{title} (form in the live notebook; a typed password is never saved)"
            ).format(title=title),
        )
        self.add_class("runbook-apply-form")

    def submit(self, _click: Any = None) -> None:
        """Hand the typed password (and the go-ahead) to the library and show its answer."""
        typed, self.field.value = str(self.field.value), ""
        self.button.disabled = True
        try:
            result = self._on_apply(typed)
        except BadInput as err:
            self.status.value = (
                "<span style='color:#b00'>"
                + _("Not done: {message}").format(message=html.escape(err.message))
                + "</span>"
            )
            self.button.disabled = False
            return
        except RunbookError as err:
            self.status.value = (
                "<span style='color:#b00'>"
                + _("Stopped: {message}").format(message=html.escape(err.message))
                + "</span>"
            )
            refresh_live()  # some writes may be done: the waiting lines say what is true now
            return
        finally:
            del typed
        self.field.disabled = True
        # the result takes the plan's place: the page keeps no "will make" above "made"
        self.review.value = ""
        self.review.layout.display = "none"
        self.status.value = _("Done:") + pre_tag(result)
        refresh_live()
