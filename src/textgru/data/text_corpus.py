"""Config → `datasets.DatasetDict` of documents (a `text` column) for language modelling: built-in
Shakespeare, Hub corpora by name, or the user's own text files."""

from __future__ import annotations

import logging
import random
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, Value

from textgru.config_keys import require_keys
from textgru.data.columns import column_values
from textgru.data.data_paths import expand_paths, text_files
from textgru.data.decoding import decode_bytes, undecoded_header_hint
from textgru.data.local import FORMATS, load_tables
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

SOURCES = ("shakespeare", "hub", "local_text")
SPLITS = ("train", "validation", "test")
WHITESPACE = re.compile(r"\s")
NUMBERS = ("int", "uint", "float", "decimal")  # Arrow's number types (a CSV's cells are read as written: text)


def load_text_corpus(cfg: Mapping[str, Any]) -> DatasetDict:
    """Splits `train`/`validation`/`test`, one document per row in a `text` column."""
    require_keys(cfg, ("source", "split_seed"))
    source = cfg["source"]
    seed = int(cfg["split_seed"])
    if source == "shakespeare":
        from textgru.data.shakespeare import load_shakespeare

        require_keys(cfg, ("val_plays", "test_plays"))
        return load_shakespeare(seed, int(cfg["val_plays"]), int(cfg["test_plays"]))
    if source not in SOURCES:
        raise TextgruError(
            f"data.source {source!r} is not a corpus for a language model; use one of {list(SOURCES)} "
            "(data=shakespeare, data=local_text, or a Hub corpus such as data=wikitext2)"
        )
    require_keys(cfg, ("text_column",))
    if source == "hub":
        from textgru.data.hub import LOCAL_TEXT, load_hub

        require_keys(cfg, ("hub_name", "hub_config", "splits"))
        raw = load_hub(
            cfg["hub_name"],
            cfg["hub_config"],
            cfg["splits"],
            local_route=LOCAL_TEXT,
        )
        name = cfg["hub_name"]
    else:
        require_keys(cfg, ("path",))
        raw = DatasetDict({"train": read_documents(cfg["path"], cfg["text_column"])})
        name = str(cfg["path"])
    column = "text" if source == "local_text" else cfg["text_column"]
    given = cfg["text_column"]  # as the user named it (a local file's is renamed `text`)
    for split, ds in raw.items():
        if column not in ds.column_names:
            raise TextgruError(
                f"{name}: no column {column!r} in split {split!r}; columns are {ds.column_names}; set data.text_column=<one of them>."
                + undecoded_header_hint(ds.column_names)
            )
        feature = ds.features[column]
        if not isinstance(feature, Value):  # a review: a JSONL list of paragraphs trained as its repr
            raise TextgruError(
                f"{name}: column {given!r} of the {split} split holds lists or objects, not one text per row; give "
                "one text (a string) per row"
            )
        if feature.dtype == "bool" or feature.dtype.startswith(NUMBERS):  # a review: an id column trained on "0".."99"
            what = "true/false values" if feature.dtype == "bool" else f"numbers ({feature.dtype})"
            raise TextgruError(
                f"{name}: column {given!r} of the {split} split holds {what}, not texts; choose the text column with "
                "data.text_column=<its name>"
            )
    docs = {s: [str(t) for t in column_values(raw[s], column) if t is not None and str(t).strip()] for s in raw}
    for split, kept in docs.items():
        if len(kept) < raw[split].num_rows:  # a table's null or blank rows, an empty text file: nothing to learn from
            report = log.warning if source == "local_text" else log.info
            report(
                "%s: %d of %d rows of the %s split are empty or null; left out",
                name,
                raw[split].num_rows - len(kept),
                raw[split].num_rows,
                split,
            )
    if not docs.get("train"):
        raise TextgruError(
            f"{name}: the corpus is empty (no non-blank text in the training split); point data.path at text files"
        )
    if not docs.get("validation") or not docs.get("test"):
        require_keys(cfg, ("val_fraction", "test_fraction"))  # carved from train only where the corpus lacks them
        docs = split_documents(docs, seed, float(cfg["val_fraction"]), float(cfg["test_fraction"]))
    return DatasetDict({s: Dataset.from_dict({"text": docs[s]}) for s in SPLITS})


def read_documents(path: str | list[str] | None, text_column: str = "text") -> Dataset:
    """Documents from one file, a glob, a list, or a folder (its .txt files, recursively). Text files are one
    document each (non-UTF-8 bytes replaced); CSV/TSV/JSON/JSONL/Parquet give one per row of `text_column`."""
    if path in (None, "", "???"):
        raise TextgruError(
            "data.path is required: pass data.path=<file.txt, folder of .txt, glob, or .csv/.jsonl/.parquet>"
        )
    files: list[Path] = []
    for found in expand_paths(path, "data.path"):
        p = Path(found)
        if not p.is_dir():
            files.append(p)
            continue
        in_folder, others = text_files(p)  # .TXT too (a review: half a corpus left out without a word)
        files += in_folder
        if others:
            log.warning("%s: %d file(s) not read: a folder's documents are its .txt files", p, others)
    if not files:
        raise TextgruError(f"data.path {path!r} matches no files; a folder needs .txt files in it")
    tables = [f for f in files if f.suffix.lower() in FORMATS]
    if tables and len(tables) != len(files):
        raise TextgruError("data.path mixes tables (.csv/.jsonl/.parquet) and text files; use one kind")
    if tables:
        ds = load_tables({"train": [str(f) for f in tables]}, (text_column,))["train"]
        if text_column not in ds.column_names:
            raise TextgruError(
                f"no column {text_column!r} in {tables[0].name}; columns are {ds.column_names}; set data.text_column=<one of them>."
                + undecoded_header_hint(ds.column_names)
            )
        ds = ds.select_columns([text_column])
        return ds if text_column == "text" else ds.rename_column(text_column, "text")
    texts = []
    for f in files:
        texts.append(decode_bytes(f.read_bytes(), str(f)))  # UTF-16/32 by their mark (they read as NUL-laced text);
        # named as found (a review: "bin.txt holds NUL bytes" did not say which of the folders' bin.txt)
    log.info("local text: %d file(s), %d characters", len(files), sum(map(len, texts)))
    if crlf := sum("\r\n" in t for t in texts):  # read as written (runs trained on them resume and score as they were)
        log.warning(  # (a review: the model learnt \r, which generate then showed escaped at every line end)
            "%d of the %d text file(s) have Windows line ends (\\r\\n): a model learns the \\r as text; convert "
            "them to \\n line ends (e.g. dos2unix) before training",
            crlf,
            len(files),
        )
    return Dataset.from_dict({"text": texts})


def _line_end(text: str, i: int) -> int:
    """The position after the first newline at or after `i` (cuts fall between lines); with no newline after `i`,
    after the first whitespace (a review: a one-line file was cut mid-word), else `i`."""
    j = text.find("\n", i)
    if j < 0 and (space := WHITESPACE.search(text, i)) is not None:
        j = space.start()
    return j + 1 if j >= 0 else i


def split_documents(
    docs: dict[str, list[str]], seed: int, val_fraction: float, test_fraction: float
) -> dict[str, list[str]]:
    """Carve the missing validation/test splits from train: whole documents (shuffled with `seed`) when there
    are enough for every split to get one, else the end of each document, contiguously (train, val, test), cut between lines."""
    train = docs["train"]
    need = [s for s in ("validation", "test") if not docs.get(s)]
    frac = {
        "validation": val_fraction if "validation" in need else 0.0,
        "test": test_fraction if "test" in need else 0.0,
    }
    n_val, n_test = round(len(train) * frac["validation"]), round(len(train) * frac["test"])
    out = dict(docs)
    copies: dict[str, list[int]] = {}  # each distinct text's documents: all go to one split (a review: a JSONL of
    for i, text in enumerate(train):  # texts exported 5 times each had every validation and test text in train too)
        copies.setdefault(text, []).append(i)
    enough = all(round(len(train) * frac[s]) >= 1 for s in need) and len(train) - n_val - n_test >= 1
    if enough and len(copies) > len(need):
        groups = list(copies.values())
        random.Random(seed).shuffle(groups)  # without repeats, the order a shuffle of the documents gives
        wanted, taken = {"validation": n_val, "test": n_test}, {s: [] for s in SPLITS}
        for group in groups:
            taken[next((s for s in ("validation", "test") if len(taken[s]) < wanted[s]), "train")] += group
        out.update({s: docs.get(s) or [train[i] for i in taken[s]] for s in ("validation", "test")})
        out["train"] = [train[i] for i in taken["train"]]
        if len(copies) < len(train):
            log.info(
                "%d of the %d documents repeat another; each text's copies are kept in one split",
                len(train) - len(copies),
                len(train),
            )
        log.info("split %d documents by document: %s", len(train), {s: len(out[s]) for s in SPLITS})
        return out
    parts: dict[str, list[str]] = {s: [] for s in SPLITS}
    for text in train:
        a = _line_end(text, int(len(text) * (1 - frac["validation"] - frac["test"])))
        b = max(a, _line_end(text, int(len(text) * (1 - frac["test"]))))
        if b == a < len(text) and frac["validation"] and frac["test"]:  # both carved, and a long line ran past the
            # test cut too: share what follows it (it was "too short"); with one carved, all of it goes there
            b = max(a, _line_end(text, a + (len(text) - a) // 2))
        for split, piece in (("train", text[:a]), ("validation", text[a:b]), ("test", text[b:])):
            if piece.strip():
                parts[split].append(piece)
    for s in need:
        out[s] = parts[s]
    out["train"] = parts["train"]
    log.info(
        "split %d document(s) contiguously (train | validation | test): %s characters",
        len(train),
        {s: sum(map(len, out[s])) for s in SPLITS},
    )
    if not all(out[s] for s in SPLITS):
        raise TextgruError("the corpus is too short to carve validation and test text from it; give a longer text")
    total = sum(len(t) for s in SPLITS for t in parts[s]) or 1  # the training text they were carved from
    got = {s: sum(map(len, parts[s])) / total for s in need}
    if off := [s for s in need if abs(got[s] - frac[s]) > max(0.02, frac[s] / 2)]:  # a review: 6.2% for 1%, said
        log.warning(  # only in an info line, with too few documents to split whole and lines longer than the slices
            "the carved %s got %s of the training text, not the %s asked: documents are cut between lines, as %d "
            "distinct one(s) are too few to split whole; give more documents, or fractions their lines fit",
            " and ".join(off),
            " and ".join(f"{got[s]:.1%}" for s in off),
            " and ".join(f"{frac[s]:.1%}" for s in off),
            len(copies),
        )
    return out
