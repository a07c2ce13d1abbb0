"""The only module that imports ipywidgets: shown-once secrets and manual-step confirmations.

Rules every widget here follows:
- a secret's value reaches the page only after a person presses Reveal, and is removed from the
  page (and from the kernel) by "I have stored it";
- the ``text/plain`` fallback that a saved notebook keeps is a fixed, secret-free sentence
  (ipywidgets' default is the widget's ``repr``, which includes its value);
- widget state is never saved by the runner (``store_widget_state=False``); JupyterLab saves it
  only when "Save Widget State Automatically" is switched on, which the README warns against.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from .errors import BadInput
from .secrets import Secret

MASK = "•" * 12


class SafeBox(w.VBox):  # type: ignore[misc]
    """A VBox whose saved text fallback is a fixed sentence instead of its children's values."""

    def __init__(self, children: list[Any], safe_text: str, **kwargs: Any) -> None:
        super().__init__(children=children, **kwargs)
        self._safe_text = safe_text

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs) or {}
        data["text/plain"] = self._safe_text
        return data

    def __repr__(self) -> str:
        return self._safe_text


def _code(text: str) -> str:
    return f"<code style='font-size:1.1em;user-select:all'>{html.escape(text)}</code>"


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
        self.reveal_button = w.Button(description="Reveal", icon="eye", tooltip="Show the value")
        self.stored_button = w.Button(
            description="I have stored it", button_style="warning", icon="check"
        )
        self.status = w.HTML(value="It is shown once: after you confirm, it cannot be shown again.")
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
            safe_text=f"{title}: {secret!r} (shown once in the live notebook; never saved)",
        )
        self.add_class("runbook-shown-once")

    def _masked(self) -> str:
        return f"{_code(MASK)} <small>{html.escape(self.secret.fingerprint)}</small>"

    @property
    def revealed(self) -> bool:
        """Whether the value is on the page now."""
        return bool(self.reveal_button.description == "Hide")

    def _toggle(self, _: Any = None) -> None:
        if self.secret.dropped:
            return
        if self.revealed:
            self.value_html.value = self._masked()
            self.reveal_button.description, self.reveal_button.icon = "Reveal", "eye"
        else:
            self.value_html.value = _code(self.secret.text())
            self.reveal_button.description, self.reveal_button.icon = "Hide", "eye-slash"

    def _stored(self, _: Any = None) -> None:
        self.secret.drop()
        self.value_html.value = f"{_code('(removed)')} <small>{self.secret.fingerprint}</small>"
        self.reveal_button.disabled = True
        self.stored_button.disabled = True
        self.status.value = "Stored by you. The value is gone from this page and this kernel."
        if self._on_stored is not None:
            self._on_stored()


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
        self.button = w.Button(
            description="I have done this", button_style="primary", icon="check", disabled=done
        )
        self.status = w.HTML(value="Done." if done else "Waiting for you.")
        self.button.on_click(self._confirm)
        super().__init__(
            [
                w.HTML(value=f"<b>{html.escape(title)}</b>"),
                w.HTML(value=instructions_html),
                w.HBox([self.button, self.status]),
            ],
            safe_text=f"Manual step: {title} ({'done' if done else 'waiting for confirmation'})",
        )
        self.add_class("runbook-confirm-step")

    def _confirm(self, _: Any = None) -> None:
        self.button.disabled = True
        self.status.value = "Done: recorded in the run record."
        self._on_confirm()


class PasswordEntry(SafeBox):
    """A masked field to type a password: "Use this password" hands it over and clears the field.

    The typed value leaves the widget at once (the field is emptied before ``on_use`` runs), so
    it is not in the widget state that JupyterLab could save.

    Args:
        title: what the password is for, e.g. ``"Console password of Administrator"``.
        on_use: receives the value; returns a status line, or raises ``BadInput`` (shown).
    """

    def __init__(self, title: str, on_use: Callable[[str], str]) -> None:
        self._on_use = on_use
        self.field = w.Password(placeholder="type a password", layout=w.Layout(width="24em"))
        self.button = w.Button(description="Use this password", icon="key")
        self.status = w.HTML(value="Leave it empty to use a generated password.")
        self.button.on_click(self._use)
        super().__init__(
            [
                w.HTML(value=f"<b>{html.escape(title)}</b>"),
                w.HBox([self.field, self.button]),
                self.status,
            ],
            safe_text=f"{title}: masked entry in the live notebook (the value is never saved)",
        )
        self.add_class("runbook-password-entry")

    def _use(self, _: Any = None) -> None:
        value = str(self.field.value)
        self.field.value = ""
        try:
            message = self._on_use(value)
        except BadInput as err:
            message = str(err)
        self.status.value = html.escape(message)


def show(widget: Any) -> None:
    """Display a widget in the running notebook."""
    from IPython.display import display

    display(widget)  # type: ignore[no-untyped-call]
