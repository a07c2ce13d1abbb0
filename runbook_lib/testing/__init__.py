"""Test support shipped with the library: fault injection. Nothing outside tests imports it."""
