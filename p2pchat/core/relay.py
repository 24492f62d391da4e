"""Who gets a relayed copy: forward only to peers not known to have the message already.

An author sends its own message to every peer it links to. A node that gets a message relays it
only to peers that, as far as it knows, have not had it and will not get it from someone else:

- received from the author itself: a peer the author does not link to, and only if we are its
  *designated relay* (the smallest node ID among the author's peers that link to it), so a node
  two hops away gets exactly one copy;
- received from a relay: a peer linked neither to the author nor to that relay, nor to any of our
  peers that links to the author (such a peer has a designated relay of its own).

Knowledge comes from the complete peer lists neighbours announce. Unknown lists count as empty,
which errs on the side of an extra copy. A node that is missed anyway (stale lists, an odd
topology) notices through the history digest in the next ping and fetches the message by sync.
In a healthy full mesh nobody relays: every node gets exactly one copy, from the author.
"""

from __future__ import annotations

from collections.abc import Mapping

Links = frozenset[str]
NO_LINKS: Links = frozenset()


def relay_targets(
    me: str, author: str, sender: str, neighbours: Mapping[str, Links | None]
) -> list[str]:
    """IDs of our peers (keys of neighbours, with their known link sets) to forward a copy to."""
    author_links = neighbours.get(author)
    if sender == author:
        if author_links is None:
            return [p for p in neighbours if p != author]
        # The common case, a full mesh: the author reached all our peers itself.
        unreached = neighbours.keys() - author_links - {author}
        return [
            peer
            for peer in sorted(unreached)
            if _designated(me, author_links, neighbours[peer] or NO_LINKS)
        ]
    sender_links = neighbours.get(sender) or NO_LINKS
    covered = (author_links or NO_LINKS) | sender_links | {author, sender}
    near_author = {p for p, links in neighbours.items() if links and author in links} | {sender}
    return [
        peer
        for peer, links in neighbours.items()
        if peer not in covered and not (links and (author in links or links & near_author))
    ]


def _designated(me: str, author_links: Links, target_links: Links) -> bool:
    """True if we are the smallest-ID node that links to both the author and the target."""
    common = author_links & target_links
    return not common or me <= min(common)
