"""Texts that occur more than once in labelled data: a repeat that lands in training and in test makes the test score
a memory test. Before textgru carves validation and test from the training rows, repeats are dropped; splits the user
gave are left as given, and texts they share are counted in a warning."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping

from datasets import Dataset, DatasetDict

from textgru.data.columns import column_values

log = logging.getLogger(__name__)


def drop_repeats(ds: Dataset, name: str) -> Dataset:
    """`ds` without rows whose text (stripped) and label came before; a text with several labels keeps one row per
    label (said in a warning: they cannot all be right)."""
    labels = column_values(ds, "label") if "label" in ds.column_names else [None] * len(ds)
    seen: set[tuple[str, object]] = set()
    labels_of: dict[str, int] = {}
    keep = []
    for i, (text, label) in enumerate(zip(column_values(ds, "text"), labels, strict=True)):
        key = (text.strip(), label)
        if key in seen:
            continue
        seen.add(key)
        labels_of[key[0]] = labels_of.get(key[0], 0) + 1
        keep.append(i)
    if len(keep) < len(ds):
        log.info(
            "%s: dropped %d repeated rows (the same text and label) before splitting, so that no repeated text is "
            "both trained and tested on (texts that differ in case or spacing are kept apart); %d remain",
            name,
            len(ds) - len(keep),
            len(keep),
        )
        ds = ds.select(keep)
    several = sum(1 for n in labels_of.values() if n > 1)
    if several:
        log.warning("%s: %d texts have more than one label (kept, one row per label)", name, several)
    return ds


def loosely(text: str) -> str:
    """`text` as compared for a leak: case and runs of spaces ignored (a review: "Great film" in test beside "great
    film " in training went unwarned, and a lowercasing tokenizer reads them alike)."""
    return " ".join(text.casefold().split())


def texts_under_several_labels(dd: DatasetDict) -> int:
    """How many texts (compared `loosely`) have rows under more than one label across `dd`'s splits."""
    labels: dict[str, set] = {}
    for part in dd.values():
        for text, label in zip(column_values(part, "text"), column_values(part, "label"), strict=True):
            labels.setdefault(loosely(text), set()).add(label)
    return sum(len(v) > 1 for v in labels.values())


def text_digests(texts: Iterable[str]) -> list[int]:
    """8-byte digests of `texts` as compared for a leak (`loosely`), sorted, each once: what a biLM checkpoint keeps
    of its training texts, so that fine-tuning can tell whether it read the classifier's held-out texts."""
    digests = (hashlib.blake2b(loosely(text).encode(), digest_size=8).digest() for text in texts)
    return sorted({int.from_bytes(digest, "big", signed=True) for digest in digests})


KEPT_DIGESTS = 2_000_000  # 16 MB in a checkpoint


def corpus_digests(documents: Iterable[str]) -> list[int]:
    """`text_digests` of a biLM's training documents and of each of their lines (a review: a .txt of the labelled
    texts one per line was one document, whose digest no held-out text has). Past KEPT_DIGESTS, the smallest of them:
    a sample by digest, the same for the same corpus, said in the log (the check then sees that share)."""
    kept = text_digests(piece for doc in documents for piece in (doc, *doc.split("\n")) if piece.strip())
    if len(kept) > KEPT_DIGESTS:
        log.info(
            "%d distinct training texts and lines: the checkpoint keeps the digests of %d of them (a sample), so "
            "fine-tuning's check of its validation and test texts against them is partial",
            len(kept),
            KEPT_DIGESTS,
        )
    return kept[:KEPT_DIGESTS]


def warn_shared_texts(dd: DatasetDict, name: str | Mapping[str, str]) -> None:
    """A warning for each split that shares texts with the training split (files the user split themselves), naming
    the split's file and the training file (`name`: one, or one per split; a review: a split read from
    data.validation_path was named by the training file)."""
    trained = {loosely(t) for t in column_values(dd["train"], "text")}
    files = {split: name if isinstance(name, str) else name.get(split, name["train"]) for split in dd}
    for split in ("validation", "test"):
        shared = sum(1 for t in column_values(dd[split], "text") if loosely(t) in trained)
        if shared:
            log.warning(
                "%s: %d of the %s split's %d texts are also in the training split%s (case and spacing aside): its "
                "scores are optimistic",
                files[split],
                shared,
                split,
                len(dd[split]),
                f" ({files['train']})" if files[split] != files["train"] else "",
            )
