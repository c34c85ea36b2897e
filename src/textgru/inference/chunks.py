"""Many texts taken a chunk at a time, with a progress bar on a terminal: `textgru predict` writes each chunk's
predictions as they come, and `textgru eval` shows how far it has got (a review: a 2M-row file was scored in one
call, silent for minutes)."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence

CHUNK = 8192  # texts per call (each call sorts its texts by length into batches)


def in_chunks(texts: Sequence[str], desc: str, shown: bool = True) -> Iterator[Sequence[str]]:
    """`texts`, `CHUNK` at a time, in order; a progress bar named `desc` on stderr where `shown`, stderr is a terminal
    and there is more than one chunk."""
    from tqdm import tqdm

    shown = shown and sys.stderr.isatty() and len(texts) > CHUNK
    with tqdm(total=len(texts), unit=" texts", desc=desc, disable=not shown, file=sys.stderr) as bar:
        for start in range(0, len(texts), CHUNK):
            chunk = texts[start : start + CHUNK]
            yield chunk
            bar.update(len(chunk))
