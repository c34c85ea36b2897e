"""What the training texts became as tokens, said where it matters: how many are cut at `data.max_length`, and a
word tokenizer on text that has no spaces between its words (Chinese, Japanese, Thai: a whole sentence becomes one,
mostly unknown, token)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence

log = logging.getLogger(__name__)

# scripts written without spaces between words: CJK ideographs, Hiragana, Katakana, Thai, Lao, Myanmar, Khmer
UNSPACED = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff]")


def report_token_counts(texts: Sequence[str], uncut: Sequence[int], max_length: int, kind: str | None) -> None:
    """Log the share of training texts longer than `max_length` tokens (`uncut`: every training text's token count
    before the cut; a warning from a fifth of them on), and warn when a word tokenizer reads `texts` (a sample of the
    training texts) mostly in scripts written without spaces between words."""
    cut = sum(1 for n in uncut if n > max_length)
    if cut:
        share = cut / max(1, len(uncut))
        (log.warning if share >= 0.2 else log.info)(
            "%d of %d training texts (%.0f%%) are longer than data.max_length=%d tokens and are cut to it%s",
            *(cut, len(uncut), 100 * share, max_length, "; raise data.max_length to read more" if share >= 0.2 else ""),
        )
    sample = "".join(texts).replace(" ", "")
    unspaced = len(UNSPACED.findall(sample)) / max(1, len(sample))
    if kind == "word" and unspaced >= 0.3:
        log.warning(
            "%.0f%% of the training texts' characters are Chinese, Japanese, Thai or another script written without "
            "spaces between words; the word tokenizer splits only at spaces and punctuation, so a sentence becomes one "
            "mostly unknown token: use tokenizer=bpe or tokenizer=char",
            100 * unspaced,
        )
