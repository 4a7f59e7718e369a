"""Tables of the vision domain."""
