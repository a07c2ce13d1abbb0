"""IAM's rules for user tags, checked before any AWS call (IAM would answer ValidationError)."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

from runbook_lib.core.errors import BadInput
from runbook_lib.core.wording import bad_chars, not_text, show

MAX_TAGS = 50
MAX_TAG_KEY = 128
MAX_TAG_VALUE = 256
#: the punctuation IAM allows in tags besides Unicode letters (L), separators (Z), numbers (N)
_TAG_PUNCTUATION = frozenset("_.:/=+-@")
_TAG_RULE = "letters, digits, spaces and _ . : / = + - @"


def _is_tag_char(char: str) -> bool:
    """IAM's ``[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]`` for one character."""
    return unicodedata.category(char)[0] in "LZN" or char in _TAG_PUNCTUATION


def _tag_problem(key: object, value: object, seen: dict[str, str]) -> str:
    """Return what is wrong with one tag, or ``""``."""
    if not isinstance(key, str):
        return f"tag key {show(key)}: {not_text(key)}"
    if not key or len(key) > MAX_TAG_KEY:
        return f"tag key {show(key)} has {len(key)} characters; use 1-{MAX_TAG_KEY}"
    if not all(_is_tag_char(c) for c in key):
        return f"tag key {show(key)}: {bad_chars(key, _is_tag_char)} not allowed; use {_TAG_RULE}"
    if key.lower().startswith("aws:"):
        return f"tag key {show(key)}: the prefix 'aws:' is reserved for AWS; choose another key"
    if key.lower() in seen:
        return (
            f"tag keys {show(seen[key.lower()])} and {show(key)} differ only in case, "
            "and IAM treats them as the same key; keep one"
        )
    seen[key.lower()] = key
    if value is None:
        return f"tag {show(key)} has no value; write '' for an empty value"
    if not isinstance(value, str):
        return f"the value of tag {show(key)}: {not_text(value)}"
    if len(value) > MAX_TAG_VALUE:
        return f"the value of tag {show(key)} has {len(value)} characters; use 0-{MAX_TAG_VALUE}"
    if not all(_is_tag_char(c) for c in value):
        return (
            f"the value of tag {show(key)}: {bad_chars(value, _is_tag_char)} not allowed; "
            f"use {_TAG_RULE}"
        )
    return ""


def validate_tags(tags: Mapping[str, str] | None, param: str = "tags") -> list[dict[str, str]]:
    """Check tags for an IAM user and return them in boto3's form, sorted by key.

    Args:
        tags: key -> value, or ``None`` for no tags.
        param: the parameter the operator should fix, used in the message.

    Returns:
        ``[{"Key": ..., "Value": ...}, ...]`` sorted by key (empty for ``None``).

    Raises:
        BadInput: more than 50 tags; a key that is empty, longer than 128 characters,
            reserved (``aws:``) or repeated in another case; a value that is not text or
            longer than 256 characters; a character outside letters, digits, spaces and
            ``_ . : / = + - @``.
    """
    if tags is None:
        return []
    if not isinstance(tags, Mapping):
        raise BadInput(
            f"{param} must be a mapping of tag keys to values, not {type(tags).__name__}; "
            "write one 'Key: value' per line."
        )
    if len(tags) > MAX_TAGS:
        raise BadInput(
            f"{param} has {len(tags)} tags: IAM allows at most {MAX_TAGS} per user; "
            "remove some (IAM would answer LimitExceeded)."
        )
    seen: dict[str, str] = {}
    items: list[tuple[Any, Any]] = list(tags.items())
    for key, value in items:
        problem = _tag_problem(key, value, seen)
        if problem:
            raise BadInput(f"{param}: {problem} (IAM would answer ValidationError).")
    return [{"Key": key, "Value": value} for key, value in sorted(items)]
