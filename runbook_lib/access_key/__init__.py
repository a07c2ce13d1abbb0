"""S2 — an access key for an IAM user: created once, delivered once, rotated safely; and the
cleanup of credentials nobody uses.

The notebook ``02_create_access_key`` calls these verbs in this order, in every mode (``create``,
``rotate``, ``rotate-if-older-than``, ``cleanup``; ``modes`` says what each does per mode):
``check_request`` → ``ensure_access_key`` → ``show_key`` → ``deliver_key`` → ``retire_old_key``
→ ``verify``.
"""

from runbook_lib.access_key.modes import (
    check_request,
    deliver_key,
    ensure_access_key,
    retire_old_key,
    show_key,
    verify,
)

__all__ = [
    "check_request",
    "deliver_key",
    "ensure_access_key",
    "retire_old_key",
    "show_key",
    "verify",
]
