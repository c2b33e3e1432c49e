"""Text against a pattern whose only wildcard is ``*`` (any run of characters, none included).

Step Functions' ``StringMatches`` and SNS filter policies' ``wildcard`` match so. A backtracking
regular expression (``.*`` for each star) takes time growing with the text's length to the power
of the number of stars: ``*a*a*a*a*a*a*a*a*a*a*b`` against forty ``a`` runs for seconds, and
one more star multiplies that. Here each literal piece between stars is found once, leftmost, in
what the previous left: the leftmost place is never worse than a later one, so no choice is
revisited.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["matches_wildcard"]


def matches_wildcard(pieces: Sequence[str], text: str) -> bool:
    """Whether ``text`` is ``pieces[0]``, then anything, then ``pieces[1]``... ending with
    ``pieces[-1]``: the pattern's literal text split at its stars (one piece: no star)."""
    if len(pieces) == 1:
        return text == pieces[0]
    first, *middle, last = pieces
    if len(text) < len(first) + len(last) or not text.startswith(first):
        return False
    if not text.endswith(last):
        return False
    position, end = len(first), len(text) - len(last)
    for piece in middle:
        found = text.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return True
