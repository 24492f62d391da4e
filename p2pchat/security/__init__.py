"""Keys, signatures and encryption, all from the `cryptography` library."""
