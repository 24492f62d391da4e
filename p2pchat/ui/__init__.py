"""User interfaces: plain lines (rich) and JSON lines."""
