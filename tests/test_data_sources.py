"""Data sources: the built-in tweets, local files in every format, Hub datasets while offline."""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
from conftest import data_cfg, make_rows, write_csv
from datasets import ClassLabel, Dataset, Features, Value

from textgru.data.labelled import load_classification_data
from textgru.errors import TextgruError


def _local(path, **kw) -> dict:
    return data_cfg(
        "local",
        path=str(path) if not isinstance(path, list) else [str(p) for p in path],
        text_column="review",
        label_column="sentiment",
        **kw,
    )


def test_tweets_clean_stratified_cached(private_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dd = load_classification_data(data_cfg("tweets", cache_dir=str(private_cache)))
    assert set(dd) == {"train", "validation", "test"}
    assert dd["train"].features["label"].names == ["negative", "neutral", "positive"]
    sizes = {k: len(v) for k, v in dd.items()}
    total = sum(sizes.values())
    assert 36_000 < total < 38_158  # duplicates and conflicting texts removed
    assert abs(sizes["test"] / total - 0.1) < 0.005 and abs(sizes["validation"] / total - 0.1) < 0.005
    texts = [t for s in dd.values() for t in s["text"]]
    assert len(texts) == len(set(texts))  # no text twice, so none in two splits
    share = {s: Counter(dd[s]["label"]) for s in dd}
    for label in range(3):  # stratified: each label's share equal across splits to within a point
        shares = [share[s][label] / sizes[s] for s in dd]
        assert max(shares) - min(shares) < 0.01
    with monkeypatch.context() as m:  # prepared once, then loaded from the cache: not built again
        m.setattr("textgru.data.tweets._build", lambda *a: pytest.fail("the tweets were prepared again"))
        again = load_classification_data(data_cfg("tweets", cache_dir=str(private_cache)))
    assert again["test"]["text"] == dd["test"]["text"]
    # a cache that a textgru of another carving rule wrote is not read as today's split (a review: one of 12-01's was)
    monkeypatch.setattr("textgru.data.splitting.SPLIT_RULE", -1)
    load_classification_data(data_cfg("tweets", cache_dir=str(private_cache)))
    assert len(list(private_cache.glob("tweets-*"))) == 2


def _write_all_formats(tmp_path: Path, rows) -> dict[str, Path]:
    df = pd.DataFrame(rows, columns=["review", "sentiment"])
    paths = {"csv": write_csv(tmp_path / "d.csv", rows), "tsv": write_csv(tmp_path / "d.tsv", rows, delimiter="\t")}
    paths["parquet"] = tmp_path / "d.parquet"
    df.to_parquet(paths["parquet"])
    paths["jsonl"] = tmp_path / "d.jsonl"
    paths["jsonl"].write_text("".join(json.dumps({"review": t, "sentiment": y}) + "\n" for t, y in rows))
    paths["json"] = tmp_path / "d.json"
    paths["json"].write_text("".join(json.dumps({"review": t, "sentiment": y}) + "\n" for t, y in rows))
    return paths


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "parquet"])
def test_local_formats(tmp_path: Path, fmt: str) -> None:
    rows = make_rows(120)
    path = _write_all_formats(tmp_path, rows)[fmt]
    dd = load_classification_data(_local(path))
    assert sum(len(v) for v in dd.values()) == 120
    assert dd["train"].features["label"] == ClassLabel(names=["neg", "neutral", "pos"])
    assert dd["train"].column_names == ["text", "label"]
    for split in dd.values():  # stratified carve: every label in every split
        assert set(split["label"]) == {0, 1, 2}


def test_local_separate_split_files_and_integer_labels(tmp_path: Path) -> None:
    rows = [(t, {"neg": 0, "pos": 1, "neutral": 2}[y]) for t, y in make_rows(90)]
    paths = [
        write_csv(tmp_path / f"{s}.csv", rows[30 * i : 30 * (i + 1)]) for i, s in enumerate(["train", "val", "test"])
    ]
    dd = load_classification_data(_local(paths[0], validation_path=str(paths[1]), test_path=str(paths[2])))
    assert [len(dd[s]) for s in ("train", "validation", "test")] == [30, 30, 30]
    assert dd["train"].features["label"].names == ["0", "1", "2"]


def test_local_several_files_glob(tmp_path: Path) -> None:
    rows = make_rows(100)
    write_csv(tmp_path / "part1.csv", rows[:50])
    write_csv(tmp_path / "part2.csv", rows[50:])
    dd = load_classification_data(_local(str(tmp_path / "part*.csv")))
    assert sum(len(v) for v in dd.values()) == 100


def test_label_folders_imdb_layout(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for split, n in (("train", 30), ("test", 10)):
        for label in ("neg", "pos", "unsup"):
            d = tmp_path / split / label
            d.mkdir(parents=True)
            for i in range(n):
                (d / f"{i}_1.txt").write_text(f"{label} review number {i} <br /> text")
    dd = load_classification_data(data_cfg("local", path=str(tmp_path), ignore_labels=["unsup"]))
    assert dd["train"].features["label"].names == ["neg", "pos"]
    assert len(dd["test"]) == 20 and len(dd["train"]) + len(dd["validation"]) == 60
    for folder, n in (("val", 4), ("extra", 2)):  # a review: val/ was not read, validation carved from train/
        for label in ("neg", "pos"):
            (tmp_path / folder / label).mkdir(parents=True)
            for i in range(n):
                (tmp_path / folder / label / f"{i}.txt").write_text(f"{label} {folder} review {i}")
    with caplog.at_level("WARNING", logger="textgru.data.local"):
        dd = load_classification_data(data_cfg("local", path=str(tmp_path), ignore_labels=["unsup"]))
    assert (
        len(dd["validation"]) == 8 and len(dd["train"]) == 60 and "sub-folder(s) ['extra'] are not read" in caplog.text
    )
    shutil.rmtree(tmp_path / "val")
    shutil.rmtree(tmp_path / "extra")
    # a review: .TXT files were skipped, and UTF-16 ones (a Windows editor's) read as text with NUL between letters
    (tmp_path / "train" / "pos" / "LOUD.TXT").write_text("shouted praise", encoding="utf-8-sig")  # BOM: not a token
    (tmp_path / "train" / "neg" / "wide.txt").write_text("wide complaint é", encoding="utf-16")
    dd = load_classification_data(data_cfg("local", path=str(tmp_path), ignore_labels=["unsup"]))
    texts = [t for split in ("train", "validation") for t in dd[split]["text"]]
    assert len(texts) == 62 and "shouted praise" in texts and "wide complaint é" in texts
    # a language model's folder of texts: .TXT too (a review: half a corpus left out without a word)
    from textgru.data.text_corpus import read_documents

    assert sorted(read_documents(str(tmp_path / "train" / "pos"))["text"])[0] == "pos review number 0 <br /> text"
    assert "shouted praise" in read_documents(str(tmp_path / "train" / "pos"))["text"]
    # UTF-16 without its byte-order mark (or a binary file): refused by name as the other readers do (a review)
    (tmp_path / "train" / "neg" / "no_mark.txt").write_bytes("wide, no mark".encode("utf-16-le"))
    with pytest.raises(TextgruError, match=r"no_mark.txt holds NUL bytes: it is not UTF-8 text"):
        load_classification_data(data_cfg("local", path=str(tmp_path), ignore_labels=["unsup"]))


def test_ignored_labels_are_matched_as_labels_are(tmp_path: Path) -> None:
    """Found by a review: data.ignore_labels=[NA] left the "na" rows in (trained as a class), [unsup] kept "Unsup",
    and a numeric label could not be named ([2] was refused)."""
    rows = make_rows(60) + [("unknown one", "NA"), ("unknown two", "na"), ("unlabelled", "Unsup")]
    dd = load_classification_data(_local(write_csv(tmp_path / "d.csv", rows), ignore_labels=["NA", "unsup"]))
    assert dd["train"].features["label"].names == ["neg", "neutral", "pos"] and sum(map(len, dd.values())) == 60
    numeric = [(t, str(["neg", "neutral", "pos"].index(y))) for t, y in make_rows(60)]
    dd = load_classification_data(_local(write_csv(tmp_path / "n.csv", numeric), ignore_labels=[2]))
    assert dd["train"].features["label"].names == ["0", "1"]


def test_ignored_labels_match_float_labels_as_numbers_and_one_that_matches_nothing_is_named(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a review: [2] kept the rows of a CSV labelled "2.0" (pandas writes 0.0/1.0/2.0 for a label column
    with a gap), trained as a class without a word; [2.0] was refused; an ignored label no row had was not named."""
    from textgru.config_rules_train import DATA
    from textgru.inference.label_matching import label_indices
    from textgru.inference.scored_data import labelled_texts

    rows = make_rows(90) + [("a review without a label", None)]  # the gap: pandas keeps the labels floats
    frame = pd.DataFrame(
        {"review": [t for t, _ in rows], "sentiment": [y and "neg neutral pos".split().index(y) for _, y in rows]}
    )
    frame.to_csv(tmp_path / "f.csv", index=False)
    assert "2.0" in (tmp_path / "f.csv").read_text()
    for ignore in ([2], [2.0], ["2.0"]):
        with caplog.at_level("WARNING"):
            dd = load_classification_data(_local(tmp_path / "f.csv", ignore_labels=ignore))
        assert dd["train"].features["label"].names == ["0.0", "1.0"] and sum(map(len, dd.values())) == 60, ignore
    assert "matched no label" not in caplog.text
    with caplog.at_level("WARNING"):  # a text is matched as written (a later review: "3.1" left out "3.10")
        dd = load_classification_data(_local(tmp_path / "f.csv", ignore_labels=["2"]))
    assert sum(map(len, dd.values())) == 90 and "data.ignore_labels ['2'] matched no label" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        dd = load_classification_data(_local(tmp_path / "f.csv", ignore_labels=[2, "Neutrl"]))
    assert sum(map(len, dd.values())) == 60
    assert "f.csv: data.ignore_labels ['Neutrl'] matched no label of the data" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):  # the default, IMDB's folder, is not looked for in every file
        load_classification_data(_local(tmp_path / "f.csv", ignore_labels=["unsup"]))
    assert "matched no label" not in caplog.text
    for split, label in (("train", "0"), ("train", "1"), ("train", "2.0"), ("test", "0"), ("test", "1")):
        (tmp_path / "lf" / split / label).mkdir(parents=True)
        for i in range(12):
            (tmp_path / "lf" / split / label / f"{i}.txt").write_text(f"text {i} of label {label}")
    with caplog.at_level("WARNING"):  # label folders: matched alike, across the splits' folders
        dd = load_classification_data(data_cfg("local", path=str(tmp_path / "lf"), ignore_labels=[2, "3"]))
    assert dd["train"].features["label"].names == ["0", "1"]
    assert "data.ignore_labels ['3'] matched no label" in caplog.text and "[2, '3']" not in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):  # evaluation's every row (split=all) alike, and its line for a left-out label
        _, scored, _ = labelled_texts(_local(tmp_path / "f.csv", ignore_labels=[2.0, "x"]), "all", {})
    assert sorted(set(scored)) == ["0.0", "1.0"] and "data.ignore_labels ['x'] matched no label" in caplog.text
    with pytest.raises(TextgruError, match=r"labels \['2.0'\] in the data are ones this model's training left out"):
        label_indices(["0.0", "2.0"], ["0.0", "1.0"], left_out=[2])
    assert DATA["data.ignore_labels"].problem([2.0, 2, "NA"]) is None
    assert DATA["data.ignore_labels"].problem([float("nan")]) is not None


def test_ignored_labels_are_texts_as_written_and_numbers_every_label_written_as_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a review: labels read as numbers, ["3.1"] left out "3.10" too, which textgru trains as another class
    (the README: a label "01" is not the label "1"); [unsup, neutral] on data without an unsup folder named unsup as
    matching nothing. A later one: a number "as the label written as it" cannot be had, for Hydra reads [3.10] as 3.1
    (which left out "3.1" and trained "3.10", no word) and [+1] as 1 ("matched no label", and trained "+1"): a number
    leaves out every label written as it, named where it is more than one, and a text (quoted) the label as written."""
    from textgru.data.ignored_labels import IgnoredLabels

    rows = [(t, ["3.1", "3.10", "3.2", "4"][i % 4]) for i, (t, _) in enumerate(make_rows(120))]
    for ignore, kept in ((["3.1"], ["3.10", "3.2", "4"]), (["3.10"], ["3.1", "3.2", "4"]), ([3.1], ["3.2", "4"])):
        caplog.clear()
        with caplog.at_level("WARNING"):
            dd = load_classification_data(_local(write_csv(tmp_path / "d.csv", rows), ignore_labels=ignore))
        assert dd["train"].features["label"].names == kept and sum(map(len, dd.values())) == 30 * len(kept), ignore
    assert (
        "data.ignore_labels [3.1] left out every label written as that number: 3.1 matched ['3.1', '3.10']"
        in (caplog.text)
        and """quote it: 'data.ignore_labels=["3.10"]'""" in caplog.text
    )
    rows = [(t, ["+1", "-1", "0"][i % 3]) for i, (t, _) in enumerate(make_rows(90))]
    with caplog.at_level("WARNING"):  # [+1], as Hydra gives it
        dd = load_classification_data(_local(write_csv(tmp_path / "s.csv", rows), ignore_labels=[1]))
    assert dd["train"].features["label"].names == ["-1", "0"] and sum(map(len, dd.values())) == 60
    rows = [(t, ["1", "01", "001", "2", "3"][i % 5]) for i, (t, _) in enumerate(make_rows(150))]
    for ignore, kept in ((["01"], ["001", "1", "2", "3"]), ([1], ["2", "3"]), ([1.0], ["2", "3"])):
        caplog.clear()
        with caplog.at_level("WARNING"):
            dd = load_classification_data(_local(write_csv(tmp_path / "z.csv", rows), ignore_labels=ignore))
        assert dd["train"].features["label"].names == kept and sum(map(len, dd.values())) == 30 * len(kept), ignore
    assert (
        f"data.ignore_labels [1.0] left out every label written as that number: 1.0 matched {['001', '01', '1']}"
        in (caplog.text)
    )
    pairs = [("1_000", "1000"), ("١", "1"), ("+2", "2"), ("2", "02"), ("3.10", "3.1"), (1000, "1_000"), (1, "١")]
    assert [IgnoredLabels([y]).matches(k) for y, k in pairs] == [False] * len(pairs)
    pairs = [(2, "2.0"), (2.0, "2"), (-1, "-1.0"), ("NA", "na"), (2, "+2"), (2, "02"), (3.1, "3.10"), (1000, "1e3")]
    assert [IgnoredLabels([y]).matches(k) for y, k in pairs] == [True] * len(pairs)
    assert not IgnoredLabels([1]).matches("1" + "0" * 400 + "1e-400") and IgnoredLabels([-1]).matches(-1)
    assert not IgnoredLabels([1]).matches("1e99999999999999999999")  # past Decimal's exponents: no number, no error
    caplog.clear()
    with caplog.at_level("WARNING"):  # unsup, the default's, is not looked for in every file (a review)
        dd = load_classification_data(
            _local(write_csv(tmp_path / "n.csv", make_rows(90)), ignore_labels=["unsup", "neutral"])
        )
    assert dd["train"].features["label"].names == ["neg", "pos"] and "matched no label" not in caplog.text
    with caplog.at_level("WARNING"):
        load_classification_data(_local(tmp_path / "n.csv", ignore_labels=["Unsup", "Neutrl"]))
    assert "data.ignore_labels ['Neutrl'] matched no label" in caplog.text and "left out every label" not in caplog.text
    rows = [(t, ["3.1", "3.10", "4"][i % 3]) for i, (t, _) in enumerate(make_rows(90))]
    caplog.clear()
    with caplog.at_level("WARNING"), pytest.raises(TextgruError, match=r"only one label \(\['4'\]\)"):
        load_classification_data(_local(write_csv(tmp_path / "one.csv", rows), ignore_labels=[3.1]))
    assert "3.1 matched ['3.1', '3.10']" in caplog.text  # said before the refusal it explains


def test_ignored_labels_are_a_parquet_class_label_columns_names_not_its_indices(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a review: Parquet written by `datasets` with a ClassLabel column (neg, neutral, pos): [neutral]
    matched nothing (said so, and trained neutral), while [1] left out the neutral rows by their index, silently."""
    from datasets import Dataset

    from textgru.inference.scored_data import labelled_texts

    rows = make_rows(90)
    table = Dataset.from_dict({"review": [t for t, _ in rows], "sentiment": [y for _, y in rows]})
    table.class_encode_column("sentiment").to_parquet(tmp_path / "d.parquet")
    with caplog.at_level("WARNING"):
        dd = load_classification_data(_local(tmp_path / "d.parquet", ignore_labels=["neutral"]))
    assert dd["train"].features["label"].names == ["neg", "pos"] and sum(map(len, dd.values())) == 60
    assert "matched no label" not in caplog.text
    with caplog.at_level("WARNING"):
        dd = load_classification_data(_local(tmp_path / "d.parquet", ignore_labels=[1]))
    assert dd["train"].features["label"].names == ["neg", "neutral", "pos"] and sum(map(len, dd.values())) == 90
    assert "data.ignore_labels [1] matched no label" in caplog.text
    _, scored, _ = labelled_texts(_local(tmp_path / "d.parquet", ignore_labels=["neutral"]), "all", {})
    assert sorted(set(scored)) == ["neg", "pos"] and len(scored) == 60


@pytest.mark.parametrize("no_label", [None, -1])
def test_ignored_labels_keep_a_class_label_columns_nulls_and_match_its_minus_one_as_a_number(
    tmp_path: Path, no_label: int | None
) -> None:
    """Found by a review: a ClassLabel column's null (a row without a label) became -1 when [neutral] left out its
    rows, and all was refused ("label(s) ['-1', '0', '1'] ... never occur in training"); -1, `datasets`' "no label",
    was no longer left out by [-1], as it was before names were matched (and is refused without it, as before)."""
    from textgru.inference.scored_data import labelled_texts

    rows = make_rows(120)
    table = Dataset.from_dict({"review": [t for t, _ in rows], "sentiment": [y for _, y in rows]})
    table = table.class_encode_column("sentiment")
    labels = [no_label if i % 4 == 0 else y for i, y in enumerate(table["sentiment"])]
    table = table.remove_columns("sentiment").add_column("sentiment", labels, feature=table.features["sentiment"])
    table.to_parquet(tmp_path / "d.parquet")
    ignore = ["neutral"] if no_label is None else [-1, "neutral"]
    dd = load_classification_data(_local(tmp_path / "d.parquet", ignore_labels=ignore))
    assert dd["train"].features["label"].names == ["neg", "pos"] and sum(map(len, dd.values())) == 60
    _, scored, _ = labelled_texts(_local(tmp_path / "d.parquet", ignore_labels=ignore), "all", {})
    assert sorted(set(scored)) == ["neg", "pos"] and len(scored) == 60
    if no_label == -1:
        dd = load_classification_data(_local(tmp_path / "d.parquet", ignore_labels=[-1]))
        assert dd["train"].features["label"].names == ["neg", "neutral", "pos"] and sum(map(len, dd.values())) == 90
        with pytest.raises(TextgruError, match=r"never occur in training"):
            load_classification_data(_local(tmp_path / "d.parquet", ignore_labels=["neutral"]))


def test_labels_are_read_as_written_when_the_files_order_their_columns_differently(tmp_path: Path) -> None:
    """Found by a review: a validation file with `label,text` against a training file's `text,label` had its labels
    and texts read as numbers, in every file: the codes "01" and "02" became the classes "1" and "2"."""
    rows = [(t, f"0{['neg', 'neutral', 'pos'].index(y) + 1}") for t, y in make_rows(60)]
    train = write_csv(tmp_path / "train.csv", rows[:45])
    (tmp_path / "val.csv").write_text("sentiment,review\n" + "".join(f"{y},{t}\n" for t, y in rows[45:]))
    dd = load_classification_data(_local(train, validation_path=str(tmp_path / "val.csv")))
    assert dd["train"].features["label"].names == ["01", "02", "03"] and len(dd["validation"]) == 15


def test_labels_with_stray_whitespace_and_case_are_merged(tmp_path: Path, caplog) -> None:
    rows = [(t, y) for t, y in make_rows(60)] + [("good stuff", " POS "), ("bad stuff", "neg ")]
    dd = load_classification_data(_local(write_csv(tmp_path / "d.csv", rows)))
    assert dd["train"].features["label"].names == ["neg", "neutral", "pos"]
    assert sum(len(v) for v in dd.values()) == 62
    # inside a label too: a no-break space, a doubled space, a zero-width space (a review: five classes, silently)
    spellings = ["very good", "very  good", "very\u00a0good", "very good\u200b", " very good "]
    rows = [(f"text {i}", spellings[i % 5] if i % 2 else "bad") for i in range(80)]
    dd = load_classification_data(_local(write_csv(tmp_path / "e.csv", rows)))
    assert dd["train"].features["label"].names == ["bad", "very good"]
    from textgru.inference.label_matching import label_indices

    assert label_indices(["Very\u00a0Good\u200b", "bad"], ["bad", "very good"]) == [1, 0]  # evaluate matches so
    from textgru.data.label_key import warn_of_labels_read_as_one
    from textgru.inference.scored_data import labelled_texts

    with caplog.at_level(logging.WARNING):  # a model trained before, on both spellings: its splits carve otherwise
        warn_of_labels_read_as_one(["bad", "very  good", "very good"])
    assert "labels 'very  good' and 'very good' differ only by whitespace or invisible characters" in caplog.text
    write_csv(tmp_path / "z.csv", [*rows, ("a text without a label", "\u200b")])  # training drops it: so does eval
    assert len(labelled_texts(_local(tmp_path / "z.csv"), "all", {})[0]) == 80  # (a review: "labels [''] unknown")


def test_labels_normalised_are_said_of_the_file_that_holds_them(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    train = write_csv(tmp_path / "train.csv", make_rows(60))
    val = write_csv(tmp_path / "val.csv", [(t, f" {y.upper()}") for t, y in make_rows(20, seed=3)])
    with caplog.at_level(logging.INFO, logger="textgru"):
        load_classification_data(_local(train, validation_path=str(val)))
    said = [r.getMessage() for r in caplog.records if "normalised by case" in r.getMessage()]
    assert len(said) == 1 and said[0].startswith(f"{val}: "), said  # a review: the training file was named


def test_a_label_in_two_unicode_forms_is_one_class(tmp_path: Path) -> None:
    """A review: "café" typed composed (NFC) and decomposed (NFD, as macOS file names give it) were two classes."""
    rows = [(f"text {i}", ["caf\u00e9", "cafe\u0301", "tea"][i % 3]) for i in range(60)]
    dd = load_classification_data(_local(write_csv(tmp_path / "d.csv", rows)))
    assert dd["train"].features["label"].names == ["caf\u00e9", "tea"]
    assert sum(len(v) for v in dd.values()) == 60
    # and case is merged by lower case, not case folding, which made "SS" and "ß" one label
    rows = [(f"text {i}", ["SS", "\u00df", "ss "][i % 3]) for i in range(60)]
    dd = load_classification_data(_local(write_csv(tmp_path / "e.csv", rows)))
    names = dd["train"].features["label"].names
    assert len(names) == 2 and "\u00df" in names and {n.lower() for n in names} == {"ss", "\u00df"}


def test_csv_values_are_read_as_written(tmp_path: Path, caplog) -> None:
    """A review: a label column of numbers only read "01" and "1.0" as 1 (six classes became three, silently), and a
    text "007" became "7". Every CSV column is text as written; labels that are one number written differently stay
    separate classes, with a warning naming them."""
    rows = [(["007", "1.50", "hi"][i % 3] + " x" * (i % 5), ["1", "01", "2", "1.0"][i % 4]) for i in range(120)]
    with caplog.at_level(logging.WARNING):
        dd = load_classification_data(_local(write_csv(tmp_path / "d.csv", rows)))
    assert dd["train"].features["label"].names == ["01", "1", "1.0", "2"]
    texts = {t for s in dd.values() for t in s["text"]}
    assert {"007", "1.50"} <= texts
    assert "labels 01/1/1.0 are each one number written differently" in caplog.text
    # with a blank column name too (Excel's trailing comma, a pandas index column: a review found "01" read as 1)
    excel = (tmp_path / "d.csv").read_text().replace("\n", ",\n")
    (tmp_path / "excel.csv").write_text(excel)
    dd = load_classification_data(_local(tmp_path / "excel.csv"))
    assert dd["train"].features["label"].names == ["01", "1", "1.0", "2"]
    # a first line the header reading cannot take (a review: a 200k-character first field was a traceback) is
    # pandas' to tell about, as before
    (tmp_path / "long.csv").write_text("x" * 200_000 + ",pos\n" + "a,neg\n" * 20)
    with pytest.raises(TextgruError, match="column 'review' not found; its columns are"):
        load_classification_data(_local(tmp_path / "long.csv"))


def test_a_missing_value_placeholder_as_a_label_is_warned(tmp_path: Path, caplog) -> None:
    """A review: rows labelled "NA" (a spreadsheet's missing value) trained as a class without a word. It may be a
    real class, so it stays one, with a warning naming it and the two ways out."""
    rows = [(f"text {i} " + "x " * (i % 7), ["pos", "neg", "NA"][i % 3]) for i in range(90)]
    with caplog.at_level(logging.WARNING):
        dd = load_classification_data(_local(write_csv(tmp_path / "na.csv", rows)))
    assert dd["train"].features["label"].names == ["NA", "neg", "pos"]
    assert "label(s) ['NA'] look like a missing value" in caplog.text and "data.ignore_labels" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # "none" and "-" are classes (stance, polarity; a review)
        none = [(t, y if y != "NA" else "none") for t, y in rows]
        load_classification_data(_local(write_csv(tmp_path / "ok.csv", none)))
        signs = [(t, {"pos": "+", "neg": "-"}.get(y, y)) for t, y in none]
        load_classification_data(_local(write_csv(tmp_path / "pm.csv", signs)))
    assert "missing value" not in caplog.text


def test_non_utf8_csv_is_read_with_replacement(tmp_path: Path) -> None:
    p = tmp_path / "d.csv"
    write_csv(p, make_rows(60))
    p.write_bytes(p.read_bytes() + b"caf\xe9 au lait,pos\n")
    dd = load_classification_data(_local(p))
    texts = [t for s in dd.values() for t in s["text"]]
    assert "caf\ufffd au lait" in texts


def test_hub_offline_fails_fast_with_one_line(network_attempts: list[str]) -> None:
    with pytest.raises(TextgruError) as e:
        load_classification_data(data_cfg("imdb"))
    assert network_attempts == []  # fast: offline, no lookup or connection to wait out
    msg = str(e.value)
    assert "imdb" in msg and "data=local" in msg and "\n" not in msg
    assert "cache has no copy" in msg


def test_hub_offline_uses_a_copy_in_datasets_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HF_DATASETS_OFFLINE=1 means "use what was downloaded before" to `datasets`, so textgru reads that copy too."""
    import shutil

    import datasets
    from datasets.packaged_modules.parquet.parquet import Parquet

    rows = make_rows(60)
    frame = pd.DataFrame({"text": [t for t, _ in rows], "label": [int(lab == "pos") for _, lab in rows]})
    frame.to_parquet(tmp_path / "train.parquet")
    frame.to_parquet(tmp_path / "test.parquet")
    built = Parquet(
        cache_dir=str(tmp_path / "build"),
        data_files={"train": str(tmp_path / "train.parquet"), "test": str(tmp_path / "test.parquet")},
    )
    built.download_and_prepare()
    # the layout of a Hub download in datasets' cache: <name>/<config>/<version>/<hash>/<name>-<split>.arrow
    cached = tmp_path / "cache" / "imdb" / "default" / "0.0.0" / "0123abcd"
    cached.mkdir(parents=True)
    for f in Path(built.cache_dir).iterdir():
        shutil.copy(f, cached / f.name.replace("parquet-", "imdb-"))
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    data = load_classification_data(data_cfg("imdb"))
    assert sum(len(split) for split in data.values()) == 120
    assert set(data["test"]["text"]) <= set(frame["text"])


def test_parquet_files_naming_their_labels_in_another_order_are_read_by_name(tmp_path: Path) -> None:
    """Parquet written by `datasets` stores each file's label names: a test file listing them as ['pos', 'neg']
    had every label flipped (its integers read with the training file's names: test accuracy 0.0, silently)."""
    from datasets import ClassLabel, Dataset, Features, Value

    rows = make_rows(60)
    order = sorted({lab for _, lab in rows})
    for split, names in (("train", order), ("test", order[::-1])):
        features = Features({"text": Value("string"), "label": ClassLabel(names=names)})
        labels = [names.index(lab) for _, lab in rows]
        Dataset.from_dict({"text": [t for t, _ in rows], "label": labels}, features).to_parquet(
            tmp_path / f"{split}.parquet"
        )
    cfg = {**data_cfg("local"), "path": str(tmp_path / "train.parquet"), "test_path": str(tmp_path / "test.parquet")}
    data = load_classification_data(cfg)
    names = data["train"].features["label"].names
    truth = dict(rows)
    assert names == order and all(truth[r["text"]] == names[r["label"]] for r in data["test"])


def test_parquet_files_of_one_split_naming_other_labels_are_read_by_name(tmp_path: Path) -> None:
    """A review: data.path=[jan.parquet, feb.parquet], feb's labels encoded without "neutral", were read together
    with jan's label names: feb's "pos" rows trained as "neutral", silently."""
    from datasets import Dataset

    rows = make_rows(90)
    months = {"jan": rows[:45], "feb": [r for r in rows[45:] if r[1] != "neutral"]}
    for month, part in months.items():
        table = Dataset.from_dict({"text": [t for t, _ in part], "label": [y for _, y in part]})
        table.class_encode_column("label").to_parquet(tmp_path / f"{month}.parquet")
    data = load_classification_data({**data_cfg("local"), "path": [str(tmp_path / f"{m}.parquet") for m in months]})
    names = data["train"].features["label"].names
    got = Counter((t, names[y]) for ds in data.values() for t, y in zip(ds["text"], ds["label"], strict=True))
    assert got == Counter(months["jan"] + months["feb"])


@pytest.mark.parametrize("named_first", [True, False])
def test_parquet_label_names_beside_plain_numbers_in_one_split_are_one_line(tmp_path: Path, named_first: bool) -> None:
    """A review: one file's labels a ClassLabel (names), another's plain integers: cast to text, "neg"/"pos" and
    "0"/"1" would have trained as four classes without a word (read together, the integers took the names)."""
    from datasets import Dataset

    rows = [(t, y) for t, y in make_rows(90) if y != "neutral"]
    named = Dataset.from_dict({"text": [t for t, _ in rows[:30]], "label": [y for _, y in rows[:30]]})
    named.class_encode_column("label").to_parquet(tmp_path / "a.parquet")
    plain = Dataset.from_dict({"text": [t for t, _ in rows[30:]], "label": [int(y == "pos") for _, y in rows[30:]]})
    plain.to_parquet(tmp_path / "b.parquet")
    files = [str(tmp_path / n) for n in (("a", "b") if named_first else ("b", "a"))]
    said = r"^column 'label' holds label names \(a ClassLabel\) in '.*a.parquet' but plain numbers in '.*b.parquet'"
    with pytest.raises(TextgruError, match=said):
        load_classification_data({**data_cfg("local"), "path": [f + ".parquet" for f in files]})


@pytest.mark.parametrize("kind", ["float64", "int32", "string"])
def test_parquet_files_of_one_split_of_other_column_types_are_cast_to_the_first_files(
    tmp_path: Path, kind: str
) -> None:
    """A review: part-001.parquet's labels as float64 (pandas', for a column with a null) or int32 beside int64, or its
    texts as string beside large_string (pandas' and polars'), were refused ("column 'label' holds Value('float64')
    ..."); read together, before, each took the first file's types, as it does again; one that does not cast is one line."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [(t, int(y == "pos")) for t, y in make_rows(90) if y != "neutral"]
    first, later = rows[:30], rows[30:]
    texts, labels = pa.array([t for t, _ in later]), [y for _, y in later]
    later_labels = {"float64": pa.array([None, *labels[1:]], pa.float64()), "int32": pa.array(labels, pa.int32())}
    later_texts = texts.cast(pa.string() if kind == "string" else pa.large_string())
    pq.write_table(
        pa.table({"text": pa.array([t for t, _ in first], pa.large_string()), "label": [y for _, y in first]}),
        tmp_path / "part-000.parquet",
    )
    pq.write_table(
        pa.table({"text": later_texts, "label": later_labels.get(kind, labels)}), tmp_path / "part-001.parquet"
    )
    data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "part-*.parquet")})
    names = data["train"].features["label"].names
    got = Counter((t, names[y]) for ds in data.values() for t, y in zip(ds["text"], ds["label"], strict=True))
    unlabelled = 1 if kind == "float64" else 0  # its null label
    assert got == Counter((t, str(y)) for t, y in first + later[unlabelled:])
    pq.write_table(
        pa.table({"text": texts, "label": pa.array([y + 0.5 for y in labels])}), tmp_path / "part-002.parquet"
    )
    with pytest.raises(TextgruError, match=r"^column 'label' holds Value\('float64'\) in '.*part-002.parquet' but"):
        load_classification_data({**data_cfg("local"), "path": str(tmp_path / "part-*.parquet")})


@pytest.mark.parametrize(
    ("first", "later"), [("bool", "int012"), ("int012", "bool"), ("digits", "bool"), ("names", "int01"), ("jsonl", "")]
)
def test_labels_of_another_kind_in_one_splits_files_are_one_line(tmp_path: Path, first: str, later: str) -> None:
    """A review: cast to the first file's label type, bool labels beside 0/1/2 trained as False/True (2 merged into
    True), "0"/"1" beside bools or "neg"/"pos" beside 0/1 as 4 classes, without a word; the label column casts only
    within its kind (numbers, text, bool), else the one line naming both files, Parquet or JSON Lines alike."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [t for t, _ in make_rows(60)]
    labels = {
        "bool": [i % 2 == 0 for i in range(30)],
        "int012": [i % 3 for i in range(30)],
        "int01": [i % 2 for i in range(30)],
        "digits": [str(i % 2) for i in range(30)],
        "names": [("neg", "pos")[i % 2] for i in range(30)],
    }
    if first == "jsonl":  # b.jsonl's extra column: read each by itself
        for name, part, extra in (("a", "bool", {}), ("b", "int012", {"id": 1})):
            rows = [{"text": t, "label": y, **extra} for t, y in zip(texts[:30], labels[part], strict=True)]
            (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
        said = r"^column 'label' holds Value\('int64'\) in '.*b.jsonl' but Value\('bool'\) in '.*a.jsonl'"
        with pytest.raises(TextgruError, match=said):
            load_classification_data({**data_cfg("local"), "path": str(tmp_path / "*.jsonl")})
        return
    for name, part, some in (("a", first, texts[:30]), ("b", later, texts[30:])):
        pq.write_table(pa.table({"text": some, "label": labels[part]}), tmp_path / f"{name}.parquet")
    types = {"bool": "bool", "int012": "int64", "int01": "int64", "digits": "string", "names": "string"}
    said = rf"^column 'label' holds Value\('{types[later]}'\) in '.*b.parquet' but Value\('{types[first]}'\) in"
    with pytest.raises(TextgruError, match=said + r" '.*a.parquet'; give every data file"):
        load_classification_data({**data_cfg("local"), "path": str(tmp_path / "*.parquet")})


@pytest.mark.parametrize("empty", ["pandas", "nan"])
@pytest.mark.parametrize("empty_first", [True, False])
def test_a_parquet_shard_without_labels_takes_the_others_label_type(
    tmp_path: Path, empty: str, empty_first: bool
) -> None:
    """A review: an unlabelled shard written by pandas (its label column float64, every value NaN) listed first set
    the label type, and the labelled shard's names were refused ("holds Value('large_string') ... but
    Value('float64')"); listed after them, its NaN (written as NaN, not null) were cast to the class "nan"."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = [(t, y) for t, y in make_rows(90) if y != "neutral"]
    labelled, unlabelled = rows[:40], [t for t, _ in rows[40:]]
    pd.DataFrame({"text": [t for t, _ in labelled], "label": [y for _, y in labelled]}).to_parquet(
        tmp_path / f"part-{int(empty_first)}.parquet"
    )
    if empty == "pandas":  # its NaN written as nulls of float64
        pd.DataFrame({"text": unlabelled, "label": [float("nan")] * len(unlabelled)}).to_parquet(
            tmp_path / f"part-{int(not empty_first)}.parquet"
        )
    else:
        table = pa.table({"text": unlabelled, "label": pa.array([float("nan")] * len(unlabelled), pa.float64())})
        pq.write_table(table, tmp_path / f"part-{int(not empty_first)}.parquet")
    data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "part-*.parquet")})
    names = data["train"].features["label"].names
    got = Counter((t, names[y]) for ds in data.values() for t, y in zip(ds["text"], ds["label"], strict=True))
    assert names == ["neg", "pos"] and got == Counter(labelled)


def test_json_lines_files_with_null_values_are_read_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: three JSON Lines shards each with a row of "text": null were read together, then each again
    by itself (4 reads, 4 folders in the cache) to learn their keys; a shard without a key is still named."""
    import datasets

    import textgru.data.split_tables as split_tables

    rows, reads = make_rows(90), []
    for i in range(3):
        shard = [{"text": None if j == 0 else t, "label": y} for j, (t, y) in enumerate(rows[i * 30 : i * 30 + 30])]
        (tmp_path / f"shard{i}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in shard))
    monkeypatch.setattr(
        split_tables, "load_dataset", lambda *a, **kw: reads.append(kw) or datasets.load_dataset(*a, **kw)
    )
    data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "shard*.jsonl")})
    assert sum(len(ds) for ds in data.values()) == 87 and len(reads) == 1
    (tmp_path / "shard2.jsonl").write_text("".join(json.dumps({"text": t}) + "\n" for t, _ in rows[60:]))
    with pytest.raises(TextgruError, match=r"^'.*shard2.jsonl' has no column 'label', but '.*shard0.jsonl' has"):
        load_classification_data({**data_cfg("local"), "path": str(tmp_path / "shard*.jsonl")})
    assert len(reads) == 2


def test_a_test_file_with_more_columns_is_read_and_one_without_labels_is_named(tmp_path: Path) -> None:
    """A review: a Kaggle-style test.csv (id,text,label) beside train.csv (text,label) was refused ("give every data
    file the same columns"), and a test file with no label column read "no row ... has a label; fill it in"."""
    rows = [(t, f"0{['neg', 'neutral', 'pos'].index(y) + 1}") for t, y in make_rows(60)]  # codes, read as written
    train = write_csv(tmp_path / "train.csv", rows[:45], text_col="text", label_col="label")
    test = tmp_path / "test.csv"
    test.write_text("id,text,label\n" + "".join(f"{i},{t},{y}\n" for i, (t, y) in enumerate(rows[45:])))
    data = load_classification_data({**data_cfg("local"), "path": str(train), "test_path": str(test)})
    names = data["test"].features["label"].names
    assert names == ["01", "02", "03"]  # (not 1, 2, 3: the two headers differ)
    got = Counter((t, names[y]) for t, y in zip(data["test"]["text"], data["test"]["label"], strict=True))
    assert got == Counter(rows[45:])
    bare = tmp_path / "bare.csv"
    bare.write_text("text\n" + "".join(f"{t}\n" for t, _ in rows[45:]))
    with pytest.raises(TextgruError, match=r"^'.*bare.csv' has no column 'label', but '.*train.csv' has") as e:
        load_classification_data({**data_cfg("local"), "path": str(train), "test_path": str(bare)})
    assert "\n" not in str(e.value)


def test_a_tsv_has_no_quoting_so_a_stray_quote_swallows_no_rows(tmp_path: Path) -> None:
    """A review: a text starting with an unclosed '"' joined the next 15 rows into one example, silently."""
    rows = make_rows(60)
    lines = [f"{t}\t{lab}" for t, lab in rows]
    lines[5] = f'"Citizen Kane meets Tron {lines[5]}'
    (tmp_path / "q.tsv").write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "q.tsv")})
    texts = [t for split in data.values() for t in split["text"]]
    assert len(texts) == 60 and '"Citizen Kane meets Tron ' + rows[5][0] in texts


def test_a_csv_quoted_tsv_is_read_with_its_quoting_by_training_and_predict(tmp_path: Path) -> None:
    """A review: pandas' `to_csv(sep="\t")` (and Excel's tab-delimited export) quote a text holding a line break or a
    quote; read without quoting, such a text was two rows (predict: 121 predictions for 120 rows, every later one a
    line off; training: the tail trained on with the text's label) and '""' stayed doubled. Each file is read the way
    its rows fit the header: a TSV quoted throughout with its quoting, a plain one (GLUE's) with its quotes as text."""
    from textgru.command_io import read_texts

    rows = make_rows(60)
    rows[3] = ('he said "wow" great', rows[3][1])
    rows[7] = ("first line\nsecond line great", rows[7][1])
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "p.tsv", sep="\t", index=False)
    texts = [t for t, _ in rows]
    assert read_texts(None, str(tmp_path / "p.tsv")) == texts
    data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "p.tsv")})
    names = data["train"].features["label"].names
    read = {r["text"]: names[r["label"]] for split in data.values() for r in split}
    assert read == dict(rows)
    with_mid = (tmp_path / "p.tsv").read_text() + 'it is 5" tall\tpos\n'  # a quote inside a text: text either way
    (tmp_path / "m.tsv").write_text(with_mid)
    assert read_texts(None, str(tmp_path / "m.tsv")) == [*texts, 'it is 5" tall']


def test_a_tsv_with_every_field_in_quotes_is_read_with_its_quoting(tmp_path: Path) -> None:
    """A review: R's `write.table(sep="\\t")` (quote=TRUE) and csv's QUOTE_ALL put every field in quotes, a label
    and the header too; read as text, the labels were '"neg"' and '"pos"' (no warning), or, with the header quoted,
    the text column was not found. A TSV whose texts alone are quoted keeps its quotes as text, as before."""
    from textgru.command_io import read_texts

    rows = make_rows(60)
    body = "".join(f'"{t}"\t"{lab}"\n' for t, lab in rows)
    for name, header in (("rows.tsv", "text\tlabel\n"), ("all.tsv", '"text"\t"label"\n')):
        (tmp_path / name).write_text(header + body)
        data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / name)})
        assert sorted(data["train"].features["label"].names) == ["neg", "neutral", "pos"], name
        assert read_texts(None, str(tmp_path / name)) == [t for t, _ in rows]
    (tmp_path / "texts.tsv").write_text("text\tlabel\n" + "".join(f'"{t}"\t{lab}\n' for t, lab in rows))
    assert read_texts(None, str(tmp_path / "texts.tsv")) == [f'"{t}"' for t, _ in rows]
    (tmp_path / "one.tsv").write_text('"text"\n' + "".join(f'"{t}"\n' for t, _ in rows))  # a predict input (the
    assert read_texts(None, str(tmp_path / "one.tsv")) == [t for t, _ in rows]  # review of the change: refused)
    escaped = '"text"\t"label"\n"He said \\"awful\\" twice"\t"neg"\n' + body  # R's default: a quote as \"
    (tmp_path / "r.tsv").write_text(escaped)
    said = r"r.tsv: every field is in double quotes, .* but the file does not read as CSV-quoted \(after row 1: a quote"
    for read in (
        lambda: read_texts(None, str(tmp_path / "r.tsv")),
        lambda: load_classification_data({**data_cfg("local"), "path": str(tmp_path / "r.tsv")}),
    ):
        with pytest.raises(TextgruError, match=said):
            read()


def test_a_plain_tsv_whose_quotes_are_text_is_read_as_written(tmp_path: Path) -> None:
    """The diff review: the first rule took any quoted span holding a line break or a tab for CSV quoting, so a plain
    TSV was read with rows merged (an opening quote, an inch mark lines later: 5 texts read as 2) or fields shifted (a
    title opening with '"', the sentence after it ending with one: the title swallowed the sentence, the label lost),
    and refused GLUE-like files that had loaded."""
    from textgru.command_io import read_texts

    lines = [f"{t}\t{lab}" for t, lab in make_rows(20)]  # an unclosed quote, rows later a closing one
    lines[2], lines[9] = '"opens here\tpos', 'a 12 inch board is 12"\tneg'
    (tmp_path / "u.tsv").write_text("text\tlabel\n" + "\n".join(lines) + "\n")
    assert len(read_texts(None, str(tmp_path / "u.tsv"))) == 20
    rows = [f"title {i}\tgood film number {i} fine\t{['neg', 'pos'][i % 2]}" for i in range(60)]
    rows[7] = '"Best film ever\tand the ending, 10/10"\tpos'
    (tmp_path / "pair.tsv").write_text("title\tsentence\tlabel\n" + "\n".join(rows) + "\n")
    cfg = {**data_cfg("local"), "path": str(tmp_path / "pair.tsv"), "text_column": "sentence"}
    data = load_classification_data(cfg)
    assert sum(len(split) for split in data.values()) == 60
    assert 'and the ending, 10/10"' in [t for split in data.values() for t in split["text"]]
    assert read_texts(None, str(tmp_path / "pair.tsv"), "sentence")[7] == 'and the ending, 10/10"'
    (tmp_path / "one.tsv").write_text('text\n"Frankly, awful\nfine film\nit was 6 feet 2"\nlast one\n')
    said = r"one.tsv line 2: a text in double quotes runs over a line break, and the file reads as well"
    with pytest.raises(TextgruError, match=said):  # one column: both readings fit; which is meant cannot be told
        read_texts(None, str(tmp_path / "one.tsv"))


def test_a_data_file_replaced_with_the_same_time_is_read_again(tmp_path: Path) -> None:
    """`datasets` caches a local file by path and modification time: a file replaced by another of the same time
    (cp -p, rsync -a, an unzip) was read from the cache as it was, old rows and labels (a review)."""
    import os

    path = tmp_path / "d.csv"
    rows = make_rows(60)
    write_csv(path, rows)
    stamp = path.stat().st_mtime_ns
    cfg = {**data_cfg("local"), "path": str(path), "text_column": "review", "label_column": "sentiment"}
    assert "pos" in load_classification_data(cfg)["train"].features["label"].names
    write_csv(path, [(t, {"pos": "good", "neg": "bad"}.get(lab, lab)) for t, lab in rows])
    os.utime(path, ns=(stamp, stamp))
    names = load_classification_data(cfg)["train"].features["label"].names
    assert "good" in names and "pos" not in names


def test_an_id_column_taken_for_the_label_is_a_short_line_that_says_so(tmp_path: Path) -> None:
    """A review: data.label_column=id on 5,000 rows listed ~1,000 label names in one 8 KB error line."""
    rows = [(f"text number {i}", f"id{i}") for i in range(300)]
    with pytest.raises(TextgruError, match=r"and \d+ more have no training examples") as e:
        load_classification_data(_local(write_csv(tmp_path / "d.csv", rows)))
    assert len(str(e.value)) < 400 and "300 labels for 239 training rows" in str(e.value)
    assert str(e.value).endswith("training rows: is data.label_column the label?")


def test_fractions_that_leave_too_few_training_rows_are_named_not_the_label_column(tmp_path: Path) -> None:
    """A review: data.val_fraction=0.5 data.test_fraction=0.49 on 120 rows left 1 training row, and the error asked
    whether data.label_column was the label."""
    path = write_csv(tmp_path / "d.csv", make_rows(120))
    with pytest.raises(TextgruError, match=r"have no training examples after splitting") as e:
        load_classification_data(_local(path, val_fraction=0.5, test_fraction=0.49))
    assert str(e.value).endswith(
        "training keeps 1 of its 120 rows after data.val_fraction=0.5 and data.test_fraction=0.49; lower them"
    ), str(e.value)


def test_a_test_file_without_some_labels_is_named_in_the_warning(tmp_path: Path, caplog) -> None:
    """A review: a test file of positive rows only was warned of under the training file's name, with the advice to
    raise the fractions or give it "a file of its own", which it was."""
    train = write_csv(tmp_path / "tr.csv", make_rows(120))
    test = write_csv(tmp_path / "te.csv", [(t, lab) for t, lab in make_rows(30, seed=1) if lab == "pos"])
    with caplog.at_level(logging.WARNING):
        load_classification_data(_local(train, test_path=str(test)))
    said = [r.getMessage() for r in caplog.records if "has no example of" in r.getMessage()]
    assert said == [
        f"{test}: the test split has no example of 2 of the 3 labels (neg, neutral): its scores for them are 0 or "
        "undefined and lower its macro-F1; add rows of those labels to that file"
    ], said


def test_labels_in_no_row_are_named_with_the_list_that_holds_them_not_the_fractions(tmp_path: Path) -> None:
    """A review: 14 rows of labels a and b with data.label_names=[a, ..., g] were told that c-g have no training rows
    "after data.val_fraction=0.1 and data.test_fraction=0.1; lower them": no fraction gives them a row."""
    rows = [(f"text number {i}", "ab"[i % 2]) for i in range(14)]
    path = write_csv(tmp_path / "d.csv", rows, text_col="text", label_col="label")
    config = {**data_cfg("local"), "path": str(path)}
    with pytest.raises(TextgruError) as e:
        load_classification_data({**config, "label_names": list("abcdefg")})
    assert str(e.value) == (
        f"{path}: label(s) ['c', 'd', 'e', 'f', 'g'] of data.label_names are in none of its training rows; add rows "
        "of them, or leave them out of data.label_names"
    )
    parquet = tmp_path / "d.parquet"  # a label feature's own names (`datasets`' Parquet): that feature is named
    features = Features({"text": Value("string"), "label": ClassLabel(names=["a", "b", "c"])})
    Dataset.from_dict({"text": [t for t, _ in rows], "label": [i % 2 for i in range(14)]}, features).to_parquet(parquet)
    with pytest.raises(TextgruError, match=r"\['c'\] of its label feature \(ClassLabel\) are in none of its training"):
        load_classification_data({**config, "path": str(parquet)})


def test_a_test_folder_without_some_labels_is_named_with_the_label_folders_to_fill(tmp_path: Path, caplog) -> None:
    """A review: train/{pos,neg,neutral} beside test/{pos,neg} was warned of as "imdb: the test split ...; it is the
    dataset's own split (data.splits)", which data=local has none of; the sub-folder is named, and the label's folder
    to add .txt files to (val/ alike)."""
    for split, labels in (("train", ("pos", "neg", "neutral")), ("test", ("pos", "neg")), ("val", ("pos",))):
        for label in labels:
            (tmp_path / "imdb" / split / label).mkdir(parents=True)
            for i in range(4):
                (tmp_path / "imdb" / split / label / f"{i}.txt").write_text(f"{label} {split} text {i}")
    with caplog.at_level(logging.WARNING):
        load_classification_data(data_cfg("local", path=str(tmp_path / "imdb")))
    said = [r.getMessage() for r in caplog.records if "has no example of" in r.getMessage()]
    assert said == [
        f"{tmp_path / 'imdb' / 'val'}: the validation split has no example of 2 of the 3 labels (neg, neutral): its "
        "scores for them are 0 or undefined and lower its macro-F1; add .txt files to each label's folder in "
        f"{tmp_path / 'imdb' / 'val'}/ (neg/, neutral/)",
        f"{tmp_path / 'imdb' / 'test'}: the test split has no example of 1 of the 3 labels (neutral): its scores for "
        f"them are 0 or undefined and lower its macro-F1; add .txt files to {tmp_path / 'imdb' / 'test' / 'neutral'}/ "
        "(the label's folder)",
    ], said
    caplog.clear()  # a glob for the folder: the folder it matched (a review: 'imdb*/validation', which is not)
    with caplog.at_level(logging.WARNING):
        load_classification_data(data_cfg("local", path=str(tmp_path / "imdb*")))
    assert [r.getMessage() for r in caplog.records if "has no example of" in r.getMessage()] == said


def test_a_label_column_with_a_gap_reads_the_same_in_training_and_evaluation(tmp_path: Path) -> None:
    """pandas writes a 0/1 label column with an empty cell as 0.0/1.0: training named the labels '0' and '1', but
    evaluation read '0.0' and '1.0' and refused them as unknown to the model."""
    from textgru.inference.scored_data import labelled_texts

    rows = make_rows(60)
    frame = pd.DataFrame({"text": [t for t, _ in rows], "label": [float(lab == "pos") for _, lab in rows]})
    frame.loc[3, "label"] = None
    frame.to_csv(tmp_path / "gap.csv", index=False)
    trained = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "gap.csv")})
    assert trained["train"].features["label"].names == ["0.0", "1.0"]  # CSV values as written
    texts, labels, _ = labelled_texts(str(tmp_path / "gap.csv"), "all", {}, "text", "label")
    assert len(texts) == 59 and set(labels) == {"0.0", "1.0"}


def test_evaluation_matches_data_labels_to_the_models_by_case_and_number() -> None:
    """A review: reading CSV values as written made a model trained before on a 0/1 column (labels "0", "1") refuse
    its own data read now as "0.0", "1.0" (or "+1"). Data labels match as written, then stripped and in lower case,
    then as one number where exactly one model label is that number."""
    from textgru.inference.label_matching import label_indices

    assert label_indices(["0.0", "1.0", "+1", " 1 "], ["0", "1"]) == [0, 1, 1, 1]
    assert label_indices([" NEG", "pos", "1.0"], ["neg", "pos", "1.0"]) == [0, 1, 2]
    # JSON's true/false, which training read as 1/0 beside numbers (a review: eval with data= refused the model's own
    # training file); a model trained on true/false alone has them as its labels
    assert label_indices(["True", "False", "2"], ["0", "1", "2"]) == [1, 0, 2]
    assert label_indices(["True", "False"], ["False", "True"]) == [1, 0]
    assert label_indices(["Pos", "pos"], ["Pos", "pos"]) == [0, 1]  # a model that tells them apart
    with pytest.raises(TextgruError, match=r"labels \['1.0', 'POS'\] in the data are unknown to the model"):
        label_indices(["1.0", "POS", "01"], ["Pos", "pos", "1", "01"])  # 1.0 is two of its labels
    # labels its training left out (data.ignore_labels) are named so, with the setting that leaves them out (a
    # review: the advice was to rewrite them as the model's labels)
    with pytest.raises(TextgruError, match=r"training left out \(data.ignore_labels\); .*data.ignore_labels=\[none\]$"):
        label_indices(["+", "none", "-"], ["+", "-"], left_out=["none"])
    with pytest.raises(TextgruError, match="unknown to the model"):  # others among them: as before
        label_indices(["+", "none", "x"], ["+", "-"], left_out=["none"])
    # a review: trained with ['3.10'] (model labels 3.1, 4), eval split=all scored the 3.10 rows as the model's 3.1
    # (a number's match, looked for first); the advice is quoted, as [3.10] (Hydra's 3.1) leaves out 3.1 too
    left_out = (
        r"labels \['3.10'\] in the data are ones this model's training left out .*'data.ignore_labels=\[\"3.10\"\]'$"
    )
    with pytest.raises(TextgruError, match=left_out):
        label_indices(["3.1", "3.10", "4"], ["3.1", "4"], left_out=["3.10"])
    with pytest.raises(TextgruError, match=r"labels \['3.1'\] in the data are ones this model's training left out"):
        label_indices(["3.1", "3.10", "4"], ["3.10", "4"], left_out=[3.1])  # trained with [3.1] by 00425be
    assert label_indices(["2.0", "1", "+1"], ["1", "2.0"], left_out=[2]) == [1, 0, 0]  # its own labels stay its own


def test_repeated_texts_are_dropped_before_splitting_and_shared_given_splits_are_told(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a review: a file holding every row 4 times, labels drawn at random, scored 0.97 test accuracy: the
    repeats sat in training and in test alike."""
    rows = list(dict.fromkeys(make_rows(90)))
    relabelled = [(text, "neutral" if label != "neutral" else "pos") for text, label in rows[:30]]
    columns = {"text_col": "text", "label_col": "label"}
    write_csv(tmp_path / "rep.csv", rows * 3 + relabelled, **columns)
    with caplog.at_level("INFO", logger="textgru.data"):
        dd = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "rep.csv")})
    assert sum(len(dd[s]) for s in dd) == len(rows) + 30  # one row per text and label
    # a review: a text with two labels had a row in training and one in test (5 of 9 test texts)
    assert not set(dd["train"]["text"]) & (set(dd["test"]["text"]) | set(dd["validation"]["text"]))
    assert (
        f"dropped {2 * len(rows)} repeated rows" in caplog.text and "30 texts have more than one label" in caplog.text
    )
    assert "text(s) with rows under other labels in training and in the test split: each kept in one" in caplog.text
    # every text under two labels, the second copy spaced otherwise: splits still carved, and no text in two of them
    # (reviews of the change: moved to training, the test split was empty; compared exactly, " a " was not "a")
    twice = rows[:60] + [(f" {text.upper()} ", "neutral" if label != "neutral" else "pos") for text, label in rows[:60]]
    write_csv(tmp_path / "twice.csv", twice, **columns)
    dd = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "twice.csv")})
    texts = {split: {" ".join(t.casefold().split()) for t in dd[split]["text"]} for split in dd}
    assert sum(len(dd[split]) for split in dd) == 120 and not texts["test"] & texts["validation"]
    assert not texts["train"] & (texts["test"] | texts["validation"])
    # and the fractions hold, a row either way (the review of that: 19% test for 10%, 35% held out for 20%)
    assert abs(len(dd["test"]) - 12) <= 1 and abs(len(dd["validation"]) - 12) <= 1, {s: len(dd[s]) for s in dd}
    # nor is a label's last training row moved out (that review: a file refused, for 2 of 40 split seeds, as having
    # no training example of 'neutral', whose 3 texts each also had a 'pos' row)
    few = [(f"text {i}", ("neg", "pos")[i % 2]) for i in range(40)]
    few += [(f"it was ok {i}", label) for i in range(3) for label in ("pos", "neutral")]
    write_csv(tmp_path / "few.csv", few, **columns)
    for seed in (5, 39):
        dd = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "few.csv"), "split_seed": seed})
        assert "neutral" in {dd["train"].features["label"].int2str(i) for i in dd["train"]["label"]}
    write_csv(tmp_path / "train.csv", rows[:70], **columns)
    variants = [(f"  {t.upper()} ", label) for t, label in rows[60:62]] + rows[62:]  # case and spaces: the same
    write_csv(tmp_path / "test.csv", variants, **columns)  # 10 of its texts are training texts
    caplog.clear()
    write_csv(tmp_path / "val.csv", rows[70:80], **columns)
    files = {"path": "train.csv", "validation_path": "val.csv", "test_path": "test.csv"}
    config = {**data_cfg("local"), **{key: str(tmp_path / name) for key, name in files.items()}}
    with caplog.at_level("WARNING", logger="textgru.data.repeated_texts"):
        load_classification_data(config)
    shared = f"10 of the test split's {len(rows) - 60} texts are also in the training split ({tmp_path / 'train.csv'})"
    assert f"{tmp_path / 'test.csv'}: {shared} (case" in caplog.text  # the split's file named, not the training file's


def test_one_file_for_validation_and_test_and_fractions_left_unused_are_warned_of(tmp_path: Path, caplog) -> None:
    """A review: data.validation_path and data.test_path naming the same file chose the best checkpoint on the test
    texts, and data.val_fraction/test_fraction given beside both files were ignored, each without a word."""
    from textgru.data.split_files import warn_of_split_files

    rows = make_rows(30)
    for name in ("tr", "va", "te"):
        write_csv(tmp_path / f"{name}.csv", rows)
    files = {"path": str(tmp_path / "tr.csv"), "validation_path": str(tmp_path / "va.csv")}
    with caplog.at_level(logging.WARNING, logger="textgru"):
        warn_of_split_files(data_cfg("local", **files, test_path=str(tmp_path / "te.csv")))
    assert caplog.text == ""  # separate files, the default fractions
    with caplog.at_level(logging.WARNING, logger="textgru"):
        warn_of_split_files(data_cfg("local", **files, test_path=f"{tmp_path}/./va.csv", val_fraction=0.2))
    assert (
        f"data.validation_path and data.test_path both name {tmp_path / 'va.csv'}: the best checkpoint" in caplog.text
    )
    assert "data.val_fraction=0.2 is not used: data.validation_path gives the validation split" in caplog.text
    assert "test_fraction" not in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textgru"):
        warn_of_split_files(data_cfg("local", path=files["path"], test_fraction=0.3, val_fraction=0.2))
    assert caplog.text == ""  # carved: both are used


def test_a_semicolon_separated_file_is_named_as_such(tmp_path: Path) -> None:
    """European spreadsheets save "CSV" with semicolons: the error named only the missing column 'text'."""
    (tmp_path / "excel.csv").write_text("text;label\ngreat film;pos\nawful;neg\n" * 5)
    with pytest.raises(TextgruError, match=r"columns are \['text;label'\].*separated by ';', not commas"):
        load_classification_data({**data_cfg("local"), "path": str(tmp_path / "excel.csv")})
    from textgru.inference.scored_data import labelled_texts

    with pytest.raises(TextgruError, match=r"to textgru eval\)\. The file looks separated by ';'"):  # a review: eval
        labelled_texts({"path": str(tmp_path / "excel.csv")}, "all", {})  # of such a file did not say so
    (tmp_path / "latin1.csv").write_bytes("t\u00e9xte,label\ngreat film,pos\nawful,neg\n".encode("latin-1") * 5)
    config = {**data_cfg("local"), "path": str(tmp_path / "latin1.csv"), "text_column": "t\u00e9xte"}
    with pytest.raises(TextgruError, match=r"The header is not UTF-8 \('t\ufffdxte' has bytes that do not read\)"):
        load_classification_data(config)  # a review: Excel's Latin-1 header gave no word of why 'téxte' was missing
    from textgru.data.series import read_csv_series
    from textgru.data.text_corpus import load_text_corpus

    with pytest.raises(TextgruError, match=r"set data.text_column=<one of them>\. The header is not UTF-8"):
        load_text_corpus({**data_cfg("local_text"), "path": str(tmp_path / "latin1.csv"), "text_column": "t\u00e9xte"})
    (tmp_path / "latin1.csv").write_bytes("caf\u00e9,y\n1,2\n2,3\n".encode("latin-1"))
    with pytest.raises(TextgruError, match=r"it has: caf\ufffd, y\. The header is not UTF-8 \('caf\ufffd' has"):
        read_csv_series(tmp_path / "latin1.csv", ["caf\u00e9"])
    (tmp_path / "na.csv").write_text(
        "text,label\n" + "".join(f"t {i},{['pos', 'neg', 'NA'][i % 3]}\n" for i in range(9))
    )
    _, labels, _ = labelled_texts({"path": str(tmp_path / "na.csv"), "ignore_labels": ["NA"]}, "all", {})
    assert labels == ["pos", "neg"] * 3  # a review: `textgru eval data=local split=all` scored ignored labels


def test_a_file_whose_name_holds_brackets_is_that_file_not_a_pattern(tmp_path: Path) -> None:
    """A review: data.path=reviews[1].csv was read as a glob, so reviews1.csv beside it (an older copy with the labels
    swapped) was trained on and scored with nothing said; alone, the file "did not exist"."""
    from textgru.config_path_rules import Existing
    from textgru.data.file_digest import bytes_digest, files_digest
    from textgru.data.local import expand_paths
    from textgru.data.text_corpus import read_documents
    from textgru.inference.scored_data import labelled_texts

    named = write_csv(tmp_path / "reviews[1].csv", make_rows(60))
    config = _local(named)
    assert Existing(many=True).problem(str(named)) is None  # the command line's check: "matches no file"
    alone = load_classification_data(config)
    assert sum(map(len, alone.values())) == 60
    older = write_csv(tmp_path / "reviews1.csv", [(text, "other") for text, _ in make_rows(30, seed=1)])
    both = load_classification_data(config)
    assert sum(map(len, both.values())) == 60 and "other" not in both["train"].features["label"].names
    texts, labels, _ = labelled_texts(config, "all", {})  # eval's data.path
    assert len(texts) == 60 and "other" not in labels
    assert files_digest(config) == bytes_digest([str(named)])  # eval's check that the data is unchanged
    assert len(read_documents(str(named), "review")) == 60  # data=local_text
    for folder in ("set[1]", "set1"):  # a pattern in a folder named so: that folder's files
        (tmp_path / folder).mkdir()
        write_csv(tmp_path / folder / "r.csv", make_rows(10))
    assert expand_paths(str(tmp_path / "set[1]" / "*.csv"), "data.path") == [str(tmp_path / "set[1]" / "r.csv")]
    assert Existing(many=True).problem(str(tmp_path / "set[1]" / "*.csv")) is None
    from textgru.data.data_paths import glob_paths

    (tmp_path / "set[1]" / "run").mkdir()  # `*/`: the folders only, as Python's glob reads it (a review: the
    assert glob_paths(f"{tmp_path / 'set[1]'}/*/") == [f"{tmp_path / 'set[1]' / 'run'}/"]  # README's ensemble glob)
    pattern = str(tmp_path / "reviews[0-9].csv")  # nothing of that name: a pattern, as before
    assert expand_paths(pattern, "data.path") == [str(older)]
    assert len(read_documents(pattern, "review")) == 30


@pytest.mark.parametrize("layout", ["", "train"])
def test_hidden_folders_and_files_are_neither_labels_nor_texts(tmp_path: Path, caplog, layout: str) -> None:
    """A review: a notebook's .ipynb_checkpoints folder beside neg/ and pos/ (and inside train/) became a third label,
    unsaid. Hidden folders and files are skipped, as the text-corpus reader skips them, and the digest agrees."""
    from textgru.data.file_digest import files_digest
    from textgru.data.local import load_local

    root = tmp_path / "lf"
    for label in ("neg", "pos"):
        (root / layout / label).mkdir(parents=True)
        for i in range(3):
            (root / layout / label / f"{i}.txt").write_text(f"{label} text {i}")
    digest = files_digest(_local(root))
    (root / layout / ".ipynb_checkpoints").mkdir()
    (root / layout / ".ipynb_checkpoints" / "0-checkpoint.txt").write_text("a notebook's copy")
    (root / layout / "pos" / "._0.txt").write_bytes(b"\x00\x05\x16\x07 a Mac's resource fork")
    (root / layout / "pos" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    with caplog.at_level(logging.WARNING, logger="textgru"):
        train = load_local(str(root))["train"]
    assert sorted(set(train["label"])) == ["neg", "pos"] and len(train) == 6
    assert "not read" not in caplog.text  # hidden entries are not named among a label's unread ones
    assert "hidden folder" not in caplog.text  # a tool's folder, skipped unsaid
    assert files_digest(_local(root)) == digest
    (root / layout / ".net").mkdir()  # the diff review: a label of its own (a tag), dropped without a word
    (root / layout / ".net" / "0.txt").write_text("a .net text")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert sorted(set(load_local(str(root))["train"]["label"])) == ["neg", "pos"]
    assert f"{root / layout / '.net'}: a hidden folder is not read as a label; rename it" in caplog.text


def test_a_folder_taken_in_by_a_glob_or_list_is_named(tmp_path: Path) -> None:
    """A review: data.path=data/* over train.csv and a folder old/ said "unsupported data file type(s) ['']"."""
    write_csv(tmp_path / "train.csv", make_rows(30))
    (tmp_path / "old").mkdir()
    write_csv(tmp_path / "old" / "2023.csv", make_rows(30))
    for path in (str(tmp_path / "*"), [str(tmp_path / "train.csv"), str(tmp_path / "old")]):
        with pytest.raises(TextgruError) as e:
            load_classification_data(_local(path))
        assert f"data.path takes in {tmp_path / 'old'}, which is a folder" in str(e.value)
        assert f"give e.g. data.path='{tmp_path / '*.csv'}'" in str(e.value) and "\n" not in str(e.value)
    for label in ("pos", "neg"):  # a glob over label folders: the folder above them is the fix
        (tmp_path / "lf" / label).mkdir(parents=True)
        (tmp_path / "lf" / label / "a.txt").write_text(f"{label} text")
    with pytest.raises(TextgruError, match=f"give data.path={tmp_path / 'lf'} if its sub-folders are labels"):
        load_classification_data(_local(tmp_path / "lf" / "*"))


@pytest.mark.parametrize(
    ("name", "content"), [("empty.json", "[]\n"), ("objs.jsonl", "{}\n{}\n"), ("one.json", "{}"), ("l.json", "[{}]")]
)
def test_a_json_file_without_rows_is_said_so_as_an_empty_csv_is(tmp_path: Path, name: str, content: str) -> None:
    """A review: an empty JSON array, or JSON lines of {}, was refused in `datasets`' words ('Instruction "train"
    corresponds to no data!')."""
    (tmp_path / name).write_text(content)
    with pytest.raises(TextgruError, match=r"^'[^']*' has no data rows \(a header at most\); give a file with rows$"):
        load_classification_data(_local(tmp_path / name))


def test_a_folder_is_read_through_linked_folders_and_digested(tmp_path: Path, caplog) -> None:
    """A review: data=local_text skipped a linked sub-folder (`rglob`: half a corpus left out, unsaid) and other files
    without a count; a folder of label folders had no digest, so eval never warned that it changed."""
    from textgru.data.file_digest import files_digest
    from textgru.data.text_corpus import read_documents

    corpus, elsewhere = tmp_path / "corpus", tmp_path / "elsewhere"
    (corpus / "part1").mkdir(parents=True)
    elsewhere.mkdir()
    for i in range(3):
        (corpus / "part1" / f"{i}.txt").write_text(f"first part {i}")
        (elsewhere / f"{i}.txt").write_text(f"second part {i}")
    (corpus / "part2").symlink_to(elsewhere, target_is_directory=True)
    (elsewhere / "loop").symlink_to(corpus, target_is_directory=True)  # a link loop ends
    (corpus / "notes.md").write_text("not a document")
    (corpus / ".git" / "objects").mkdir(parents=True)  # a checkout's own files are neither read nor counted
    (corpus / ".git" / "objects" / "ab").write_text("a git object")
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert len(read_documents(str(corpus))) == 6
    assert f"{corpus}: 1 file(s) not read: a folder's documents are its .txt files" in caplog.text
    run = corpus / "outputs" / "lm" / "2026-12-06" / "10-01-49"  # a review: a run's samples.txt read as a document
    (run / ".hydra").mkdir(parents=True)
    (run / "samples.txt").write_text("generated text")
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert len(read_documents(str(corpus))) == 6
    assert f"{corpus}: 1 run folder(s) under it not read (outputs/lm/2026-12-06/10-01-49)" in caplog.text
    plain = tmp_path / "plain"  # a glob likewise (the review of the change), in a corpus without a link loop
    shutil.copytree(corpus / "part1", plain / "part1")
    shutil.copytree(corpus / "outputs", plain / "outputs")
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert len(read_documents(str(plain / "**" / "*.txt"))) == 3
    assert f"*.txt: matches in 1 run folder(s) not read ({plain / run.relative_to(corpus)})" in caplog.text
    with pytest.raises(TextgruError, match=r"samples.txt' matches only files in run folders .*, not data; name"):
        read_documents(str(plain / "outputs" / "**" / "samples.txt"))  # not "does not exist" (a review)
    shutil.rmtree(corpus / "outputs")
    for label in ("pos", "neg"):
        (tmp_path / "lf" / label).mkdir(parents=True)
        for i in range(3):
            (tmp_path / "lf" / label / f"{i}.txt").write_text(f"{label} text {i}")
    config = {**_local(tmp_path / "lf"), "ignore_labels": ["Unsup"]}
    digest = files_digest(config)
    assert digest is not None and files_digest(config) == digest
    (tmp_path / "lf" / "README.txt").write_text("not a text of any label")  # what is not read changes nothing
    (tmp_path / "lf" / "unsup").mkdir()
    (tmp_path / "lf" / "unsup" / "0.txt").write_text("a text whose label is left out")
    assert files_digest(config) == digest
    (tmp_path / "lf" / "pos" / "0.txt").rename(tmp_path / "lf" / "neg" / "9.txt")  # a text moved to another label
    assert files_digest(config) not in (None, digest)


def test_label_names_set_the_order_and_a_wrong_list_is_one_line(tmp_path: Path) -> None:
    """`data.label_names` orders the labels; a review: a name given twice was ClassLabel's traceback, and a label the
    list leaves out was said to "never occur in training" although the training file holds it."""
    rows = make_rows(60)
    write_csv(tmp_path / "l.csv", rows, text_col="text", label_col="label")
    config = {**data_cfg("local"), "path": str(tmp_path / "l.csv")}
    dd = load_classification_data({**config, "label_names": ["pos", "neutral", "neg"]})
    assert dd["train"].features["label"].names == ["pos", "neutral", "neg"]
    with pytest.raises(TextgruError, match=r"^data.label_names names \['neg'\] more than once \(case aside\); name"):
        load_classification_data({**config, "label_names": ["pos", "neg", "neutral", "neg"]})
    with pytest.raises(TextgruError, match=r"^data.label_names names \['Pos', 'pos'\] more than once \(case aside\)"):
        load_classification_data({**config, "label_names": ["pos", "Pos", "neg", "neutral"]})
    with pytest.raises(TextgruError, match=r"in the train split are not in data.label_names \(\['pos', 'neg'\]\); add"):
        load_classification_data({**config, "label_names": ["pos", "neg"]})


def test_a_text_corpus_with_windows_line_ends_is_named(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A review: a corpus saved with CRLF taught the language model a \\r token, which generate showed escaped at
    every line end, without a word. It is read as written (a run trained on it resumes and scores as it did: a review
    of a first fix, which read \\r\\n as \\n, found such a run refused as if its data had changed), and named."""
    from textgru.data.text_corpus import read_documents

    (tmp_path / "lf.txt").write_bytes(b"the king\nis dead\n")
    (tmp_path / "crlf.txt").write_bytes(b"the king\r\nis dead\r\n")
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert read_documents(str(tmp_path / "lf.txt"))["text"] == ["the king\nis dead\n"]
    assert "Windows line ends" not in caplog.text
    with caplog.at_level(logging.WARNING, logger="textgru"):
        assert sorted(read_documents(str(tmp_path))["text"]) == ["the king\nis dead\n", "the king\r\nis dead\r\n"]
    assert "1 of the 2 text file(s) have Windows line ends (\\r\\n): a model learns the \\r as text" in caplog.text


@pytest.mark.parametrize(("text_col", "label_col"), [("review", "text"), ("label", "text")])
def test_a_label_column_named_text_or_a_text_column_named_label_is_read(
    tmp_path: Path, text_col: str, label_col: str
) -> None:
    """A review: a label column named `text` (or texts in `label`) was a traceback, "New column name text already in
    the dataset": the text column was renamed to `text` while the label column still held the name."""
    from textgru.inference.scored_data import labelled_texts

    rows = make_rows(60)
    path = write_csv(tmp_path / "swap.csv", rows, text_col=text_col, label_col=label_col)
    cfg = {**data_cfg("local"), "path": str(path), "text_column": text_col, "label_column": label_col}
    dd = load_classification_data(cfg)
    names = dd["train"].features["label"].names
    assert names == ["neg", "neutral", "pos"]
    got = {t: names[lab] for s in dd for t, lab in zip(dd[s]["text"], dd[s]["label"], strict=True)}
    assert got == dict(rows)
    texts, labels, _ = labelled_texts(cfg, None, {}, text_col, label_col)
    assert texts and all(dict(rows)[t] == lab for t, lab in zip(texts, labels, strict=True))


def test_a_parquet_column_of_bytes_is_read_as_utf8_text_labels_too(tmp_path: Path) -> None:
    """A review: Parquet labels stored as bytes (binary) trained as the classes "b'neg'" and "b'pos'"; texts as bytes
    that are not UTF-8 were pyarrow's ArrowInvalid traceback."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = make_rows(90)
    texts, labels = [t.encode() for t, _ in rows], [y.encode() for _, y in rows]
    pq.write_table(
        pa.table({"text": pa.array(texts, pa.binary()), "label": pa.array(labels, pa.binary())}), tmp_path / "b.parquet"
    )
    data = load_classification_data({**data_cfg("local"), "path": str(tmp_path / "b.parquet")})
    names = data["train"].features["label"].names
    assert names == ["neg", "neutral", "pos"]
    got = Counter((t, names[y]) for ds in data.values() for t, y in zip(ds["text"], ds["label"], strict=True))
    assert got == Counter(rows)
    texts[5] = b"\xff\xfe not utf-8"
    table = pa.table({"review": pa.array(texts, pa.binary()), "label": pa.array(labels, pa.binary())})
    pq.write_table(table, tmp_path / "bad.parquet")
    cfg = {**data_cfg("local"), "path": str(tmp_path / "bad.parquet"), "text_column": "review"}
    with pytest.raises(TextgruError, match=r"bad.parquet: column 'review' holds bytes that are not UTF-8 text; save"):
        load_classification_data(cfg)


@pytest.mark.parametrize("kind", ["file", "unwritable"])
def test_datasets_cache_that_cannot_be_used_is_named_not_the_data_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """A review: HF_DATASETS_CACHE a file, or a folder this user cannot write, was "could not read 'd.csv' as csv:
    [Errno 17] File exists: ..." (or Permission denied on its .lock): the data file blamed for the cache's fault."""
    import datasets.config

    csv = write_csv(tmp_path / "d.csv", make_rows(60), "text", "label")
    cache = tmp_path / "cache"
    if kind == "file":
        cache.write_text("not a folder")
    else:
        cache.mkdir()

        def refused(*args: object, **kwargs: object) -> object:  # as a user without write access to it meets it
            raise PermissionError(13, "Permission denied", str(cache / "_tmp_csv.lock"))

        monkeypatch.setattr("textgru.data.split_tables.load_dataset", refused)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", str(cache))
    why = "a file, not a folder" if kind == "file" else "permission denied"
    said = rf"^datasets' cache folder HF_DATASETS_CACHE={cache} cannot be used \({why}: {cache}.*\); set HF_DATASETS_CACHE="
    with pytest.raises(TextgruError, match=said):
        load_classification_data({**data_cfg("local"), "path": str(csv)})
