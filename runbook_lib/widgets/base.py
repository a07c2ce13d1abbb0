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
