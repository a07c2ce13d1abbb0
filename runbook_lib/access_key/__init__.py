"""S2 — an access key for an IAM user: created once, delivered once, rotated safely.

The notebook ``02_create_access_key`` calls these verbs in this order, in every mode
(``create``, ``rotate``, ``rotate-if-older-than``): ``check_request`` → ``ensure_access_key`` →
``show_key`` → ``deliver_key`` → ``retire_old_key`` → ``verify``. The cleanup of unused
credentials is runbook 05's (``unused_credentials``).
"""

from runbook_lib.access_key.apply import ensure_access_key
from runbook_lib.access_key.handover import deliver_key, show_key
from runbook_lib.access_key.request import check_request
from runbook_lib.access_key.rotation import retire_old_key
from runbook_lib.access_key.verify import verify

__all__ = [
    "check_request",
    "deliver_key",
    "ensure_access_key",
    "retire_old_key",
    "show_key",
    "verify",
]
