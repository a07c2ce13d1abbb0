"""Many accounts: the Organization's accounts, their targets, the fan-out, its summary."""
