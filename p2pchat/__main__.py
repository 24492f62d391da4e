"""Run the chat with `python -m p2pchat`."""

from p2pchat.cli import main

raise SystemExit(main())
