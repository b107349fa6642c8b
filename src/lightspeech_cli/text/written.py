"""Which words of the input each spoken word came from, so that timings name the input's own
words with their character offsets.

Normalization rewrites the text ("$5.50" is read "five dollars and fifty cents"), so the link
is found by alignment: a token of the input and a spoken word that read the same are an
anchor, anchors are taken in order, and whatever lies between two anchors was read as what
lies between them on the other side ("Nov. 25" as "november twenty fifth"). Tokens read as
nothing (an emoji, a dash) name no spoken word. Linear: an anchor is looked for only a few
tokens ahead.
"""

from __future__ import annotations

import re
from bisect import bisect_left

from .g2p import Word

RAW_LOOKAHEAD = 8  # input tokens: a stretch rewritten as one unit is rarely longer
SPOKEN_LOOKAHEAD = 64  # spoken words: "1,234,567" alone is nine
TOKEN = re.compile(r"\S+")


def key(text: str) -> str:
    """What a written token and a spoken word compare by: lower case, letters, digits and apostrophes."""
    return re.sub(r"[^a-z0-9']", "", text.lower())


def alignment(raw: str, words: list[Word]) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """((start, end) in `raw`, (first, last) index in `words`) of each written stretch and the
    spoken words it was read as, in order; punctuation and skipped words are no spoken words."""
    tokens = [(m.start(), m.end(), key(m.group())) for m in TOKEN.finditer(raw)]
    spoken = [index for index, word in enumerate(words) if word.source not in ("punctuation", "skipped")]
    spoken_keys = [key(words[index].text) for index in spoken]
    positions: dict[str, list[int]] = {}
    for position, spoken_key in enumerate(spoken_keys):
        positions.setdefault(spoken_key, []).append(position)
    groups: list[list[int]] = []  # [first token, last token, first spoken, last spoken]

    def add(token_range: range, spoken_range: range) -> None:
        if not spoken_range:
            return  # tokens read as nothing
        if not token_range:  # spoken words of no token (a number's "and"): with the stretch before
            if groups:
                groups[-1][3] = spoken_range[-1]
                return
            token_range = range(0, min(1, len(tokens)))
            if not token_range:
                return
        groups.append([token_range[0], token_range[-1], spoken_range[0], spoken_range[-1]])

    i = j = 0
    while i < len(tokens) and j < len(spoken):
        anchor = _next_anchor(tokens, i, j, positions)
        if anchor is None:  # nothing in common ahead: the rest is read as one stretch
            add(range(i, len(tokens)), range(j, len(spoken)))
            i, j = len(tokens), len(spoken)
            break
        a, b = anchor
        add(range(i, a), range(j, b))
        add(range(a, a + 1), range(b, b + 1))
        i, j = a + 1, b + 1
    add(range(i, len(tokens)), range(j, len(spoken)))
    if groups and groups[-1][3] < len(spoken) - 1:  # spoken words left over: the last stretch's
        groups[-1][3] = len(spoken) - 1
    return [((tokens[t0][0], tokens[t1][1]), (spoken[s0], spoken[s1])) for t0, t1, s0, s1 in groups]


def _next_anchor(tokens, i: int, j: int, positions: dict[str, list[int]]) -> tuple[int, int] | None:
    """The nearest (token, spoken) pair at or after (i, j) that read the same."""
    best = None
    for a in range(i, min(len(tokens), i + RAW_LOOKAHEAD)):
        token_key = tokens[a][2]
        if not token_key or token_key not in positions:
            continue
        found = positions[token_key]
        at = bisect_left(found, j)
        if at < len(found) and found[at] < j + SPOKEN_LOOKAHEAD:
            b = found[at]
            if best is None or (a - i) + (b - j) < (best[0] - i) + (best[1] - j):
                best = (a, b)
    return best
