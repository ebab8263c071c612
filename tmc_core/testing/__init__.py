"""Test support shipped with the core: hypothesis strategies for tmc's values (needs hypothesis)."""
