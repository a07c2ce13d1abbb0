"""Kernel side, imports no section: context, target, record, errors, secrets, sinks, validation."""
