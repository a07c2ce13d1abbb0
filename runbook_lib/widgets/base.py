"""The widgets' common ground: a box whose saved text is a fixed sentence, and display."""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as w

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


def wide_button(description: str, **kwargs: Any) -> w.Button:
    """A button as wide as its label (ipywidgets' fixed 148 px cut "Reveal secret key", and
    cuts longer labels in other languages)."""
    layout = w.Layout(width="max-content", min_width="8em", flex="0 0 auto")
    return w.Button(description=description, layout=layout, **kwargs)


def code_tag(text: str) -> str:
    """``text`` as escaped, easy-to-select inline code."""
    return f"<code style='font-size:1.1em;user-select:all'>{html.escape(text)}</code>"


def pre_tag(text: str) -> str:
    """``text`` as an escaped, wrapping preformatted block."""
    return (
        f"<pre style='white-space:pre-wrap;margin:0.3em 0'>{html.escape(text, quote=False)}</pre>"
    )


def show(widget: Any) -> None:
    """Display a widget in the running notebook."""
    from IPython.display import display

    display(widget)  # type: ignore[no-untyped-call]
