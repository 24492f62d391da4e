"""Rows of the log for the views the full screen shows its own way.

The rest look as in the plain interface (`plain.render`).
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.text import Text

from p2pchat.core import views as vw
from p2pchat.core.limits import SHORT_ID_CHARS
from p2pchat.ui.format import Hanging, mentions, message_line, safe_display, safe_line, stamp
from p2pchat.ui.plain import render
from p2pchat.ui.qr import qr_lines

DELETED = "message deleted"


def mentions_me(view: vw.MessageShown, my_nick: str) -> bool:
    """True if someone else's message names my nick (never before my nick is known)."""
    return bool(my_nick) and not view.own and mentions(view.text, my_nick)


def message_row(view: vw.MessageShown, *, mention: bool) -> Hanging:
    """A message as message_line shows it, wrapped under its text, in bold if it is my own."""
    line = message_line(view, mention=mention)
    start = len(line.text) - len(safe_display(view.text))
    if view.own:
        line.text.stylize("bold", start)
    return Hanging(line.text, indent=cell_len(line.text.plain[:start]))


def deleted_row(view: vw.MessageShown) -> Hanging:
    """A deleted message, dim: '[12:03:00] alice: message deleted'."""
    return Hanging(Text(safe_line(f"[{stamp(view.ts)}] {view.display}: {DELETED}"), style="dim"))


def joined_row(view: vw.PeerJoined) -> Hanging:
    """'→ alice [1a2b3c4d] joined from 10.0.0.2:5000'."""
    short = view.node_id[:SHORT_ID_CHARS]
    text = safe_line(f"→ {view.display} [{short}] joined from {view.addr}")
    return Hanging(Text(text, style="dim green"))


def left_row(view: vw.PeerLeft) -> Hanging:
    """'← alice left: timed out'."""
    return Hanging(Text(safe_line(f"← {view.display} left: {view.reason}"), style="dim"))


def invite_rows(view: vw.InviteCode) -> RenderableType:
    """The invite code as text, then as a QR code (cropped, never wrapped, on a narrow log)."""
    code = Text("\n".join(qr_lines(view.code)), no_wrap=True, overflow="crop")
    return Group(render(view), code)


def notice_row(text: str) -> Hanging:
    """A short note of the app's own, as '· text'."""
    return Hanging(Text(safe_line(f"· {text}"), style="dim"))


def screenshot_row(path: str) -> Hanging:
    """Where a screenshot was saved."""
    return notice_row(f"screenshot saved to {path}")


def paste_refusal(size: int, limit: int) -> RenderableType:
    """A paste that would make the message size characters long, over limit, was dropped."""
    text = f"paste too long ({size} > {limit} characters); nothing was added"
    return render(vw.Problem(text))


def send_refusal(size: int, limit: int) -> RenderableType:
    """The message in the input is size characters long, over limit: it was not sent."""
    text = f"message too long ({size} > {limit} characters); not sent, it is still in the input"
    return render(vw.Problem(text))
