"""``runbook fix`` and notebook 07: from S0's FAILs to the runbooks that close them, then S0 again.

``plan`` turns an audit's findings into steps (one table, ``REMEDIES``), ``run`` runs the audit,
the steps and the audit again on one target, ``report`` writes ``fix.json`` and the lines a
person reads, ``board`` is notebook 07's side (the plan as rows, a step per button). The loop
over an Organization joins this package and ``org``: ``interfaces.fix_org``.
"""

from runbook_lib.fix.board import open_board, steps_view, verify
from runbook_lib.fix.request import check_inputs as check_request

__all__ = ["check_request", "open_board", "steps_view", "verify"]
