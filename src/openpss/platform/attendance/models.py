"""Tables of the attendance domain."""
