"""Matching the labels of data to evaluate on with a model's label names (`Classifier.evaluate`)."""

from __future__ import annotations

from collections.abc import Sequence

from textgru.data.ignored_labels import IgnoredLabels, command_arg
from textgru.data.label_key import label_key
from textgru.errors import TextgruError


def label_indices(names: Sequence[str], label_names: Sequence[str], left_out: Sequence[object] = ()) -> list[int]:
    """Each data label's index among the model's `label_names`: as written; else stripped, composed (NFC) and in
    lower case (" NEG" is "neg"; `label_key`), unless the model itself tells such labels apart; else as a number ("1.0" or "+1"
    is a model's "1": CSV files are read as written, and models trained before read them as numbers; "True" is 1), where
    exactly one label is that number. One line for labels the model does not know (those its training left out,
    `left_out`: its `data.ignore_labels`, named so, and looked for before a number: its '3.10' is not its 3.1)."""

    def key(name: str) -> str:
        return label_key(name).lower()

    def number(name: str) -> float | None:
        try:
            return float(name)
        except ValueError:  # JSON's true/false, which training reads as 1/0 beside numbers (a review: refused here)
            return {"true": 1.0, "false": 0.0}.get(name.strip().lower())

    exact = {n: i for i, n in enumerate(label_names)}
    folded = {key(n): i for i, n in enumerate(label_names)}
    if len(folded) < len(label_names):  # the model tells "Pos" from "pos"
        folded = {}
    numbers: dict[float, list[int]] = {}
    for i, n in enumerate(label_names):
        if number(n) is not None:
            numbers.setdefault(number(n), []).append(i)

    left = IgnoredLabels(left_out)  # matched as training left them out ([2] is "2.0"; a review)

    def index(name: str) -> int | None:
        found = exact.get(name, folded.get(key(name)))
        if found is None and left.matches(name):  # before the number (a review: ['3.10'] left out, its rows scored
            return None  # as the model's 3.1)
        if found is None and number(name) is not None and len(numbers.get(number(name), [])) == 1:
            found = numbers[number(name)][0]
        return found

    found = {n: index(n) for n in set(names)}
    unknown = sorted(n for n, i in found.items() if i is None)
    if unknown and all(left.matches(n) for n in unknown):  # a review: the advice was to rewrite them
        raise TextgruError(
            f"labels {unknown[:10]} in the data are ones this model's training left out (data.ignore_labels); leave "
            f"them out here too: {command_arg(unknown[:10])}"  # ('3.10' quoted: [3.10] is 3.1 too)
        )
    if unknown:
        raise TextgruError(
            f"labels {unknown[:10]} in the data are unknown to the model (it knows {list(label_names)}); "
            "write them as the model's labels, leave their rows out (data.ignore_labels=[...]; in Python a data dict "
            "{'path': ..., 'ignore_labels': [...]} with split='all' to score every row, or the rows dropped), or point data.label_column= (Python: "
            "label_column=) at the column that holds those"  # (a review: evaluate() has no ignore_labels=)
        )
    return [found[n] for n in names]  # type: ignore[misc]
