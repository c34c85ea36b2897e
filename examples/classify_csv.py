"""Classify one column of a CSV with a trained textgru classifier; write the rows back, with predicted_label,
predicted_score and one probability column per label (p_<label>) added.

    python examples/classify_csv.py outputs/sentiment/<date>/<time> tweets.csv --column text --output labelled.csv
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from pathlib import Path

import pandas as pd

import textgru
from textgru.atomic_files import written_atomically
from textgru.data.decoding import decode_bytes
from textgru.data.delimited_tables import longer_rows
from textgru.delimited_texts import header_hint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoint", help="a run folder or a .ckpt file of a task=sentiment run")
    parser.add_argument("csv", help="the CSV to classify")
    parser.add_argument("--column", default="text", help="the column holding the texts (default: text)")
    parser.add_argument("--output", required=True, help="the CSV to write (refused if it exists)")
    args = parser.parse_args()
    if not args.output.strip():  # a review: every row was predicted, then to_csv('') was a traceback
        sys.exit("error: --output is empty; give the CSV to write, e.g. --output labelled.csv")

    try:  # decoded as `textgru predict` reads a file (a review: UTF-16 was read as UTF-8, its header garbled)
        text = decode_bytes(Path(args.csv).read_bytes(), Path(args.csv).name)
    except OSError as e:
        sys.exit(f"error: cannot read {args.csv}: {e.strerror or e}")
    except textgru.TextgruError as e:  # NUL bytes: UTF-16 without its byte-order mark, or binary
        sys.exit(f"error: {e}")
    try:  # every cell as written: "NA", "null" or "None" stay texts (pandas would read them as missing)
        rows = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    except ValueError as e:  # a parse error (pandas' ParserError is a ValueError), no columns at all
        sys.exit(f"error: cannot read {args.csv} as CSV: {' '.join(str(e).split())}")
    if problem := longer_rows(rows, args.csv):  # pandas took each row's first field for an index and dropped it
        sys.exit(f"error: {problem}")
    if args.column not in rows.columns:
        columns = list(rows.columns)  # and why, where the header shows it (another separator, not UTF-8)
        sys.exit(
            f"error: column {args.column!r} not in {args.csv}; columns are {columns}.{header_hint(columns, ',', [args.column])}"
        )
    if os.path.exists(args.output):
        sys.exit(f"error: {args.output} exists; choose another --output")
    folder = os.path.dirname(args.output) or "."
    if not os.path.isdir(folder):  # found now, not after every prediction
        sys.exit(f"error: folder {folder} of --output {args.output} does not exist; make it or choose another --output")
    if not os.access(folder, os.W_OK):
        sys.exit(f"error: cannot write in {folder}; choose another --output")
    try:
        clf = textgru.Classifier.load(args.checkpoint)  # a language model's checkpoint is refused in one line
    except textgru.TextgruError as e:
        sys.exit(f"error: {e}")
    added = ["predicted_label", "predicted_score", *(f"p_{name}" for name in clf.label_names)]
    taken = [c for c in added if c in rows.columns]
    if taken:  # the user's own columns (a gold label, say) are never overwritten
        sys.exit(f"error: {args.csv} already has the column(s) {taken} this script adds; rename them first")
    texts = rows[args.column]
    blank = texts.str.strip() == ""  # left without a prediction, as `textgru predict` skips them
    predictions = iter(clf.predict(texts[~blank].tolist()) if (~blank).any() else [])
    found = [None if is_blank else next(predictions) for is_blank in blank]
    rows["predicted_label"] = [p.label if p else "" for p in found]
    rows["predicted_score"] = [p.score if p else None for p in found]
    for name in clf.label_names:
        rows[f"p_{name}"] = [p.probs[name] if p else None for p in found]
    try:  # beside it, then renamed: a full disk or Ctrl+C leaves no half CSV (a review); one made meanwhile is kept
        with written_atomically(args.output, new_only="choose another --output") as tmp:
            rows.to_csv(tmp, index=False)
    except OSError as e:
        sys.exit(f"error: cannot write {args.output} ({e.strerror or e})")
    except textgru.TextgruError as e:
        sys.exit(f"error: {e}")
    print(rows["predicted_label"][~blank].value_counts().to_string())
    if blank.any():
        numbers = ", ".join(str(i + 1) for i in blank[blank].index[:10])  # counting data rows from 1
        print(f"{int(blank.sum())} empty text(s) left without a prediction (rows {numbers})")


if __name__ == "__main__":
    main()
