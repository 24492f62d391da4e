"""p2pchat: a serverless chat for one LAN."""

__version__ = "0.1.0"
