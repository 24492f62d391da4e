"""check_invariants: quiet on a healthy core, loud on each kind of broken state."""

from __future__ import annotations

import pytest

from p2pchat.core.errors import InvariantError
from p2pchat.core.history import History
from p2pchat.core.limits import Limits
from p2pchat.core.messages import Chat
from tests.core.peers import P1_KEYS, P2_KEYS, link, make_mesh

LIMITS = Limits()


def chat(seq: int, lamport: int, text: str = "hi") -> Chat:
    return Chat("a" * 32, seq, lamport, 1.0, "ann", text, b"k" * 32, b"s" * 64)


def test_a_healthy_mesh_with_two_peers_passes() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    link(m, 2, P2_KEYS)
    m.check_invariants()


def test_a_peer_whose_link_is_gone_is_caught() -> None:
    m = make_mesh()
    link(m, 1, P1_KEYS)
    m.members.peers[P1_KEYS.node_id].conn = 99  # white box: a link the mesh does not hold
    with pytest.raises(InvariantError, match="primary link"):
        m.check_invariants()


def test_a_history_out_of_order_or_with_a_drifted_count_is_caught() -> None:
    history = History(LIMITS)
    for seq in (1, 2, 3):
        assert history.add(chat(seq, seq), 0.0)
    history.check_invariants()
    history._text_bytes += 1  # white box: a count that drifted
    history.check_invariants(thorough=False)  # the quick check does not read every message
    with pytest.raises(InvariantError, match="text byte count"):
        history.check_invariants()
    history._text_bytes -= 1
    history._messages[("a" * 32, 2)] = chat(2, 7)  # held under another Lamport time
    with pytest.raises(InvariantError, match="not held as ordered"):
        history.check_invariants()
