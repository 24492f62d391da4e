"""What one step of the core has to say: actions for the runtime, views, log lines, in order."""

from __future__ import annotations

from p2pchat.core import actions as act
from p2pchat.core import views as vw


class Outbox:
    """Collects the actions of one step; every part of the core that speaks writes here."""

    def __init__(self) -> None:
        self._actions: list[act.Action] = []

    def emit(self, action: act.Action) -> None:
        """Ask the runtime to do something (send, dial, close, store...)."""
        self._actions.append(action)

    def show(self, view: vw.View) -> None:
        """Put something on the user's screen."""
        self._actions.append(act.Show(view))

    def log(self, level: int, text: str) -> None:
        """Write a line to the log (level: act.INFO, act.WARNING...)."""
        self._actions.append(act.Log(level, text))

    def take(self) -> list[act.Action]:
        """Everything collected since the last take, oldest first; the outbox is empty after."""
        actions, self._actions = self._actions, []
        return actions
