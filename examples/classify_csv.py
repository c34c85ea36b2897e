"""Classify one column of a CSV with a trained textgru classifier; write the rows back, with predicted_label,
predicted_score and one probability column per label (p_<label>) added.

    python examples/classify_csv.py outputs/sentiment/<date>/<time> tweets.csv --column text --output labelled.csv
"""

from __future__ import annotations

import argparse
import os
import sys

import pandas as pd

import textgru
from textgru.data.delimited_tables import longer_rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0].replace("\n", " "))
    parser.add_argument("checkpoint", help="a run folder or a .ckpt file of a task=sentiment run")
    parser.add_argument("csv", help="the CSV to classify")
    parser.add_argument("--column", default="text", help="the column holding the texts (default: text)")
    parser.add_argument("--output", required=True, help="the CSV to write (refused if it exists)")
    args = parser.parse_args()

    try:  # every cell as written: "NA", "null" or "None" stay texts (pandas would read them as missing)
        rows = pd.read_csv(args.csv, encoding_errors="replace", dtype=str, keep_default_na=False)
    except (OSError, ValueError) as e:  # no such file, a parse error (pandas' ParserError is a ValueError)
        sys.exit(f"error: cannot read {args.csv} as CSV: {' '.join(str(e).split())}")
    if problem := longer_rows(rows, args.csv):  # pandas took each row's first field for an index and dropped it
        sys.exit(f"error: {problem}")
    if args.column not in rows.columns:
        sys.exit(f"error: column {args.column!r} not in {args.csv}; columns are {list(rows.columns)}")
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
    rows.to_csv(args.output, index=False)
    print(rows["predicted_label"][~blank].value_counts().to_string())
    if blank.any():
        numbers = ", ".join(str(i + 1) for i in blank[blank].index[:10])  # counting data rows from 1
        print(f"{int(blank.sum())} empty text(s) left without a prediction (rows {numbers})")


if __name__ == "__main__":
    main()
