"""``runbook fix``: from S0's FAILs to the runbooks that close them, then S0 again.

``plan`` turns an audit's findings into steps (one table, ``REMEDIES``), ``run`` runs the audit,
the steps and the audit again on one target, ``report`` writes ``fix.json`` and the lines a
person reads.
"""
