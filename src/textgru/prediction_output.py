"""What `textgru predict` does with its predictions as they are made: texts are classified in chunks, so that a large
input's predictions go to `output=` (or the pipe) as they come instead of all being held to the end, with a
progress bar on a terminal; a terminal that also gets `output=` is shown the first rows only."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from typing import Any

from textgru.inference.chunks import in_chunks

SHOWN = 20  # rows of the terminal's table when the predictions also go to `output=`


def predictions(classifier: Any, texts: Sequence[str], batch_size: int, top_k: int | None) -> Iterator[dict[str, Any]]:
    """Each text's prediction as a JSON-ready dict, in input order, computed `CHUNK` texts at a time; a progress
    bar on stderr where it is a terminal and there is more than one chunk."""
    for chunk in in_chunks(texts, "predict"):
        yield from (p.to_dict() for p in classifier.predict(chunk, batch_size, top_k))


def show(results: Iterator[dict[str, Any]], output: str | None, overwrite: bool) -> int:
    """Write the predictions (`output=`: a JSONL file written aside and moved into place; no output and a pipe, or
    `output=-`: JSONL lines; a terminal: a table) and return how many there were."""
    from textgru.command_io import write_jsonl
    from textgru.prediction_table import format_table

    terminal = sys.stdout.isatty() and output != "-"  # output=-: JSON lines to stdout, also on a terminal (a review:
    if not output or output == "-":  # it wrote a file named -)
        if terminal:
            rows = list(results)
            print(format_table(rows))
            return len(rows)
        count = 0
        for r in results:
            print(json.dumps(r, ensure_ascii=False))
            count += 1
        return count
    first: list[dict[str, Any]] = []
    count = 0

    def kept() -> Iterator[dict[str, Any]]:
        nonlocal count
        for r in results:
            if len(first) < SHOWN:
                first.append(r)
            count += 1
            yield r

    write_jsonl(kept(), output, overwrite)
    if terminal:
        more = f"\n... and {count - len(first)} more" if count > len(first) else ""
        print(format_table(first) + more + f"\n{count} predictions written to {output}")
    return count
