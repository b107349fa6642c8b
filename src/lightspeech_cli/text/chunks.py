"""Cutting normalized text into the pieces a model reads: at the sentence ends that survived
normalization, then at commas, then at spaces, to at most MAX_CHUNK_CHARS characters, so a
model never sees an input longer than it trained on."""

from __future__ import annotations

import re

MAX_CHUNK_CHARS = 300


def sentence_chunks(text: str, max_chars: int = MAX_CHUNK_CHARS) -> list[tuple[int, int]]:
    """(start, end) of the pieces a model reads from normalized text: split where a
    sentence end survived normalization, then cut at commas, then spaces, to at most
    `max_chars` characters, so a model never sees an input longer than it trained on."""
    spans = []
    start = 0
    for match in re.finditer(r"(?<=[.?!])\s+", text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    chunks = []
    for a, b in spans:
        a, b = a + len(text[a:b]) - len(text[a:b].lstrip()), b - len(text[a:b]) + len(text[a:b].rstrip())
        if a < b:
            chunks.extend(_chunk(text, a, b, max_chars))
    return chunks


def _chunk(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    if end - start <= max_chars:
        return [(start, end)]
    for separator in (", ", " "):
        cuts = [m.start() for m in re.finditer(re.escape(separator), text[start:end])]
        if not cuts:
            continue
        chunks, chunk_start, last_cut = [], start, None
        for cut in [start + c for c in cuts] + [end]:
            if cut - chunk_start > max_chars and last_cut is not None:
                chunks.append((chunk_start, last_cut))
                chunk_start = last_cut + len(separator)
            last_cut = cut
        chunks.append((chunk_start, end))
        # Two separators in a row leave an empty piece between them: it is dropped.
        if len(chunks) > 1:
            return [piece for a, b in chunks if a < b for piece in _chunk(text, a, b, max_chars)]
    # One unbroken token: cut it; no reader would say it whole anyway.
    return [(i, min(i + max_chars, end)) for i in range(start, end, max_chars)]
