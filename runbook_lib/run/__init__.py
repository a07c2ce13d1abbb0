"""Host side: the one engine that executes runbook notebooks, the leak guard."""
