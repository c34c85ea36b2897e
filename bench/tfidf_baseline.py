"""TF-IDF (word 1-2 grams + char 2-5 grams) + logistic regression on textgru's tweets split: the bar to beat.

Usage: python bench/tfidf_baseline.py [--cache-dir DIR] [--out bench/results/tfidf_baseline.json]
The scores are deterministic (the same split, features and lbfgs solver give the same model every run), so each C is
fitted once; the seconds are one fit each, for orientation only.
"""

from __future__ import annotations

import argparse
import time

from _common import add_out_argument, parse_args, positive_float, run_main, write_result
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import make_pipeline, make_union

from textgru.config import data_config
from textgru.data.labelled import load_classification_data


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache-dir", default=None, help="where the tweets' splits are cached (default: the config's)")
    ap.add_argument("--C", type=positive_float, nargs="+", default=[1.0, 3.0, 10.0], help="regularisation values tried")
    add_out_argument(ap, "tfidf_baseline.json")
    args = parse_args(ap)
    data = data_config("tweets")  # the complete data config of the default run: same splits
    if args.cache_dir:
        data["cache_dir"] = args.cache_dir
    dd = load_classification_data(data)
    features = make_union(
        TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2, sublinear_tf=True, lowercase=True),
    )
    rows = []
    for C in args.C:
        t0 = time.time()
        clf = make_pipeline(features, LogisticRegression(C=C, max_iter=2000))
        clf.fit(dd["train"]["text"], dd["train"]["label"])
        val_f1 = f1_score(dd["validation"]["label"], clf.predict(dd["validation"]["text"]), average="macro")
        pred = clf.predict(dd["test"]["text"])
        rows.append(
            {
                "C": C,
                "val/macro_f1": val_f1,
                "test/macro_f1": f1_score(dd["test"]["label"], pred, average="macro"),
                "test/accuracy": accuracy_score(dd["test"]["label"], pred),
                "seconds": time.time() - t0,
            }
        )
    best = max(rows, key=lambda r: r["val/macro_f1"])  # model selection on validation, as textgru does
    print(f"{'C':>5} {'val/macro_f1':>13} {'test/macro_f1':>14} {'test/accuracy':>14} {'seconds':>8}")
    for r in rows:
        mark = "  <- chosen on validation" if r is best else ""
        print(
            f"{r['C']:>5} {r['val/macro_f1']:>13.4f} {r['test/macro_f1']:>14.4f} {r['test/accuracy']:>14.4f} {r['seconds']:>8.1f}{mark}"
        )
    write_result(args.out, {"runs": rows, "chosen": best})


if __name__ == "__main__":
    run_main(main)
