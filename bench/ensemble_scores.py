"""Validation and test macro-F1 of probability-averaging ensembles of classifier runs trained on the same data: every
subset of the runs given, summarised per ensemble size (min/median/max over the subsets), and the subset that
validation would pick. How far averaging several models goes where one model stops (README "Few labels").

Usage:
    python bench/ensemble_scores.py RUN RUN [RUN ...] [--out bench/results/ensemble_scores.json] [--threads N]

Each RUN is a classifier run folder or checkpoint; all must have the same labels and training data config (their
validation and test splits are then the same texts). Every subset is scored (2**n - 1 of them: at most 12 runs).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
from pathlib import Path

import torch
from _common import (
    add_out_argument,
    description,
    machine_line,
    parse_args,
    positive_int,
    run_main,
    set_threads,
    write_result,
)

import textgru
from textgru.checkpoint_path import resolve_checkpoint_path
from textgru.inference.evaluation import classification_metrics
from textgru.inference.label_matching import label_indices
from textgru.inference.scored_data import labelled_texts
from textgru.onnx_format import is_export

SPLITS = ("validation", "test")


def loaded_file(run: str) -> Path:
    """The file `textgru.load(run)` reads, resolved: a run folder's checkpoints/best.ckpt, a .ckpt, an export's
    model.onnx (a run folder and its own best.ckpt are one model)."""
    try:
        if is_export(run):
            path = Path(run).expanduser()
            return (path if path.suffix.lower() == ".onnx" else path / "model.onnx").resolve()
        return resolve_checkpoint_path(run).resolve()
    except textgru.TextgruError as e:
        sys.exit(f"error: {run}: {e}")


def split_probabilities(runs: list[str]) -> tuple[dict[tuple[str, str], torch.Tensor], dict[str, list[int]], list[str]]:
    """Each run's class probabilities on each split, the splits' true label ids, the label names."""
    probs, gold, first = {}, {}, None
    classifiers = {}
    for run in runs:  # every run loaded (and refused in one line) before any is scored
        try:
            classifiers[run] = textgru.load(run)
        except textgru.TextgruError as e:
            sys.exit(f"error: {run}: {e}")
        if not isinstance(classifiers[run], textgru.Classifier):
            sys.exit(f"error: {run} is not a classifier run; give classifier run folders or checkpoints")
    for run, clf in classifiers.items():
        if first is None:
            first = clf
        elif list(clf.label_names) != list(first.label_names) or clf.meta["data_config"] != first.meta["data_config"]:
            sys.exit(f"error: {run}: other labels or training data than {runs[0]}; give runs trained on the same data")
        for split in SPLITS:
            texts, names, _ = labelled_texts(None, split, clf.meta["data_config"])
            gold[split] = label_indices(names, clf.label_names)
            probs[run, split] = clf.predict_proba(texts)
    return probs, gold, list(first.label_names)


def main() -> None:
    parser = argparse.ArgumentParser(description=description(__doc__))
    parser.add_argument("runs", nargs="+", help="classifier run folders or checkpoints (2 to 12)")
    add_out_argument(parser, "ensemble_scores.json")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch threads (default: torch's)")
    args = parse_args(parser)
    if not 2 <= len(args.runs) <= 12:
        parser.error(f"give 2 to 12 runs, not {len(args.runs)}")
    seen: dict[Path, str] = {}
    for run in args.runs:
        if (file := loaded_file(run)) in seen:
            parser.error(
                f"{seen[file]} and {run} load one checkpoint ({file}); give each run once (an ensemble of a model "
                "with itself is that model)"
            )
        seen[file] = run
    set_threads(args.threads)
    probs, gold, names = split_probabilities(args.runs)
    for a, b in itertools.combinations(args.runs, 2):  # a review: a copied run folder was a "2-model ensemble"
        if all(torch.equal(probs[a, s], probs[b, s]) for s in SPLITS):
            sys.exit(
                f"error: {a} and {b} give the same probabilities for every text (one model, copied?); give each once"
            )
    subsets = []
    for k in range(1, len(args.runs) + 1):
        for combo in itertools.combinations(args.runs, k):
            scores = {
                s: classification_metrics(torch.stack([probs[r, s] for r in combo]).mean(0), gold[s], names)["macro_f1"]
                for s in SPLITS
            }
            subsets.append({"runs": list(combo), **scores})
    print(f"macro-F1 of probability-averaging ensembles ({machine_line()})")
    print("| models | subsets | test min / median / max | validation median | picked on validation: val / test |")
    print("| ---: | ---: | --- | --- | --- |")
    sizes = []
    for k in range(1, len(args.runs) + 1):
        rows = [x for x in subsets if len(x["runs"]) == k]
        test = [x["test"] for x in rows]
        picked = max(rows, key=lambda x: x["validation"])
        sizes.append(
            {
                "models": k,
                "subsets": len(rows),
                "test": {"min": min(test), "median": statistics.median(test), "max": max(test)},
                "validation_median": statistics.median(x["validation"] for x in rows),
                "picked_on_validation": picked,
            }
        )
        print(
            f"| {k} | {len(rows)} | {min(test):.4f} / {statistics.median(test):.4f} / {max(test):.4f} | "
            f"{sizes[-1]['validation_median']:.4f} | {picked['validation']:.4f} / {picked['test']:.4f} |"
        )
    write_result(args.out, {"runs": args.runs, "sizes": sizes, "subsets": subsets})


if __name__ == "__main__":
    run_main(main)
