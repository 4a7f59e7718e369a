"""Command groups of the `openpss` CLI, one module each."""
