"""The public Python API through real tiny checkpoints: load, Classifier, LanguageModel, train, sweep; it agrees
with the scripts, and the README's Python blocks and the examples run."""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import runpy
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import datasets
import pytest
import torch
import yaml
from conftest import ROOT, TINY_MODEL, data_cfg, make_rows, run_python, run_script, run_textgru, write_csv

import textgru
from textgru.config import compose_config


@pytest.fixture(scope="module")
def clf(tiny_run: Path) -> textgru.Classifier:
    model = textgru.load(tiny_run)
    assert isinstance(model, textgru.Classifier)
    return model


@pytest.fixture(scope="module")
def lm(lm_run: Path) -> textgru.LanguageModel:
    model = textgru.load(lm_run / "checkpoints" / "best.ckpt")
    assert isinstance(model, textgru.LanguageModel)
    return model


def test_import_is_light_and_every_public_name_is_documented() -> None:
    r = subprocess.run(
        [sys.executable, "-c", "import sys, textgru; print('torch' in sys.modules)"], capture_output=True, text=True
    )
    assert r.stdout.strip() == "False"  # names load on first use
    # a command's checks read the serve command's Host rule without importing the server (a review: ~60 ms each)
    code = "import sys, textgru.command_line_checks; print('textgru.serving.server' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    from textgru.serving import Limits, build_server, serve

    assert serve is textgru.serve and Limits.__doc__ and build_server.__doc__
    import textgru.serving as serving  # its names listed, its modules reached as before (a review)

    assert {"Limits", "build_server", "serve"} <= set(dir(serving)) and serving.batcher.__name__.endswith("batcher")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        serving.nope  # noqa: B018
    for name in textgru.__all__:
        if name != "__version__":
            assert getattr(textgru, name).__doc__, name
    assert (ROOT / "src" / "textgru" / "py.typed").is_file()


def test_load_picks_the_task_and_refuses_what_it_cannot_read(
    clf: textgru.Classifier, lm: textgru.LanguageModel, tmp_path: Path
) -> None:
    assert clf.label_names == ["neg", "neutral", "pos"] and clf.device == torch.device("cpu")
    assert "Classifier(labels=" in repr(clf) and "LanguageModel(vocab=" in repr(lm)
    (tmp_path / "junk.ckpt").write_bytes(b"not a checkpoint")
    with pytest.raises(textgru.TextgruError, match="corrupt or not a torch checkpoint file"):
        textgru.load(tmp_path / "junk.ckpt")
    with pytest.raises(textgru.TextgruError, match="does not exist"):
        textgru.load(tmp_path / "missing.ckpt")
    run = Path(clf.meta["path"]).parent.parent  # a run's healthy files were called corrupt (a review)
    for name in ("tokenizer.json", "config.yaml"):
        with pytest.raises(
            textgru.TextgruError, match=f"{name}' is a file of the run folder .*, not a checkpoint; giv"
        ):
            textgru.load(run / name)
    if not torch.cuda.is_available():
        with pytest.raises(textgru.TextgruError, match="no CUDA GPU"):
            textgru.load(tmp_path / "junk.ckpt", device="cuda")
    with pytest.raises(textgru.TextgruError, match="is a classifier .* needs a language-model"):
        textgru.LanguageModel.load(clf.meta["path"])
    stopped = (
        tmp_path / "stopped"
    )  # a run stopped before its end has last.ckpt only: the hint is resume=, not best.ckpt
    (stopped / "checkpoints").mkdir(parents=True)
    (stopped / "checkpoints" / "last.ckpt").write_bytes(b"x")
    last = stopped / "checkpoints" / "last.ckpt"
    with pytest.raises(
        textgru.TextgruError, match=f"use {last}, or continue the unfinished run: textgru train resume="
    ):
        textgru.load(stopped)
    (stopped / "checkpoints" / "best-unfinished.ckpt").write_bytes(b"x")  # a review: its best so far is that one
    with pytest.raises(textgru.TextgruError, match="use .*best-unfinished.ckpt, or continue the unfinished run"):
        textgru.load(stopped)
    (stopped / "checkpoints" / "best-unfinished.ckpt").unlink()
    (stopped / "metrics.json").write_text("{}")  # finished, with callbacks.model_checkpoint=null: no resume hint
    with pytest.raises(textgru.TextgruError, match=f"no best.ckpt in folder .*; use {last}$"):
        textgru.load(stopped)

    class Place(os.PathLike):  # any os.PathLike, as the hints say (a review: its str() was taken for the path)
        def __fspath__(self) -> str:
            return str(Path(clf.meta["path"]))

    assert textgru.load(Place()).label_names == clf.label_names
    with pytest.raises(textgru.TextgruError, match="^3 is not a path; give a run folder or a .ckpt file$"):
        textgru.load(3)


def test_predict_equals_the_predict_script(clf: textgru.Classifier, tiny_run: Path, tmp_path: Path) -> None:
    texts = [t for t, _ in make_rows(25, seed=9)] + ["so good 😀", "שלום bad", "a\u200bgood\u200bday"]
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    r = run_script(
        "predict", f"ckpt_path={tiny_run}", f"input={tmp_path / 'texts.txt'}", f"output={tmp_path / 'out.jsonl'}"
    )
    assert r.returncode == 0, r.stderr[-2000:]
    from_script = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text(encoding="utf-8").splitlines()]
    assert from_script == [p.to_dict() for p in clf.predict(texts)]
    single = clf.predict(texts[0])
    assert isinstance(single, textgru.Prediction) and single.label == from_script[0]["label"]
    assert single.probs == pytest.approx(from_script[0]["probs"], abs=1e-6)  # batch of 1: other float rounding
    assert single.probs[single.label] == single.score == max(single.probs.values())


def test_top_k_keeps_the_likeliest_labels_in_order_in_python_and_on_the_command_line(
    clf: textgru.Classifier, tiny_run: Path, tmp_path: Path
) -> None:
    texts = [t for t, _ in make_rows(12, seed=4)]
    full = clf.predict(texts)
    for k in (1, 2, 5):
        got = clf.predict(texts, top_k=k)
        for g, f in zip(got, full, strict=True):
            want = sorted(f.probs, key=f.probs.__getitem__, reverse=True)[:k]
            assert list(g.probs) == want and g.label == want[0] == f.label and g.score == f.score
            assert g.probs == {n: f.probs[n] for n in want}
    assert list(clf.predict(texts[0], top_k=None).probs) == clf.label_names  # None: every label, in label order
    for bad in (0, -1, 1.5, True, "2"):
        with pytest.raises(textgru.TextgruError, match="top_k"):
            clf.predict(texts, top_k=bad)
    (tmp_path / "texts.txt").write_text("\n".join(texts), encoding="utf-8")
    r = run_script("predict", f"ckpt_path={tiny_run}", f"input={tmp_path / 'texts.txt'}", "top_k=1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert [json.loads(line) for line in r.stdout.splitlines()] == [p.to_dict() for p in clf.predict(texts, top_k=1)]
    r = run_script("predict", f"ckpt_path={tiny_run}", "text=good", "top_k=0")
    assert r.returncode != 0 and "top_k" in r.stderr and "Traceback" not in r.stderr


def test_the_terminal_table_lists_the_likeliest_labels_when_columns_would_not_fit() -> None:
    from textgru.prediction_table import format_table

    few = [{"text": "ok", "label": "a", "score": 0.7, "probs": {"a": 0.7, "b": 0.2, "c": 0.1}}]
    assert format_table(few).splitlines()[0].split()[-3:] == ["a", "b", "c"]
    probs = {f"label{i}": 0.001 * i for i in range(40)}
    lines = format_table([{"text": "ok", "label": "label39", "score": 0.039, "probs": probs}]).splitlines()
    assert lines[0].endswith("likeliest labels") and len(lines[0]) < 100
    assert lines[2].endswith("label39 0.039, label38 0.038, label37 0.037")


def test_the_terminal_table_escapes_control_characters_and_counts_wide_ones() -> None:
    """A review: an ANSI sequence in an input file reached the terminal (it can erase the line above) and CJK text
    cut at 60 characters filled 120 columns, breaking the table."""
    import unicodedata

    from textgru.prediction_table import format_table

    def columns(line: str) -> int:  # as a terminal shows it (wcwidth): wide 2, marks 0
        wide = ("W", "F")
        return sum(
            2 if unicodedata.east_asian_width(c) in wide else unicodedata.category(c) not in ("Mn", "Me") for c in line
        )

    probs = {"neg": 0.2, "pos": 0.8}
    texts = ["fine", "a\x1b[2K\x1b[1Ab\u202eevil", "日本語のテキスト" * 20, "x" * 60, "x" * 61, "สวัสดีครับ" * 9]
    lines = format_table([{"text": t, "label": "pos", "score": 0.8, "probs": probs} for t in texts]).splitlines()
    assert all("\x1b" not in line and "\u202e" not in line for line in lines)
    assert "a\\x1b[2K\\x1b[1Ab\\u202eevil" in lines[3]  # shown escaped, as git and ls do
    assert len({columns(line) for line in lines[2:]}) == 1  # every row as wide on the terminal
    assert lines[5].startswith("x" * 60 + " ") and lines[6].startswith("x" * 59 + "… ")


def test_label_names_are_shown_escaped_in_the_predict_and_eval_tables() -> None:
    """A review: a checkpoint's labels reached the terminal raw in both tables (an ANSI colour left open by the cut
    header, a window title, an "error:" line of their own), though the training log escaped them."""
    import torch

    from textgru.inference.evaluation import classification_metrics, format_report
    from textgru.prediction_table import format_table

    names = ["\x1b[31mred", "\x1b]0;title\x07", "ok\nerror: forged", "\u202eevil"]
    probs = dict(zip(names, (0.4, 0.3, 0.2, 0.1), strict=True))
    rows = [{"text": "t", "label": names[0], "score": 0.4, "probs": probs}]
    tables = [format_table(rows), format_table(rows, columns=2)]  # a column per label; the likeliest labels
    tables.append(format_report(classification_metrics(torch.eye(4)[[0, 1, 2, 3]], [0, 1, 2, 3], names)))
    for table in tables:
        assert not any(c in table for c in "\x1b\x07\u202e") and "\nerror:" not in table, table
    assert "\\x1b[31mred" in tables[0].splitlines()[2] and "ok\\nerror: forged" in tables[2]


def test_predict_keeps_input_order_across_length_buckets(clf: textgru.Classifier) -> None:
    rng = random.Random(3)
    texts = [
        " ".join(rng.choice(["good", "bad", "the", "table", "love", "awful"]) for _ in range(rng.randint(1, 60)))
        for _ in range(80)
    ]
    batched = clf.predict(texts, batch_size=7)  # 12 buckets of different lengths
    one_by_one = [clf.predict(t) for t in texts]
    assert [p.text for p in batched] == texts
    assert [p.label for p in batched] == [p.label for p in one_by_one]
    for a, b in zip(batched, one_by_one, strict=True):
        assert a.probs == pytest.approx(b.probs, abs=1e-5)
    assert clf.predict([]) == []
    with pytest.raises(textgru.TextgruError, match=r"texts\[1\] is an int"):
        clf.predict(["fine", 3])  # type: ignore[list-item]


def test_a_text_cut_at_max_length_is_said_once(tiny_run: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A review: a text longer than the training max_length was cut without a word (a review's verdict at its end
    never read); now one warning a classifier, as Hugging Face's tokenizers give."""
    clf = textgru.load(tiny_run)
    long = "the " * (clf.max_length + 5) + "awful"
    with caplog.at_level("WARNING", logger="textgru.inference.classifier"):
        clf.predict(["good", "bad"])
        assert caplog.text == ""  # short texts: nothing
        clf.predict(["good", long, long])
        said = f"texts longer than max_length={clf.max_length} tokens, the length this classifier was trained on, are"
        assert said in caplog.text and caplog.text.count("longer than") == 1
        clf.predict([long])
        assert caplog.text.count("longer than") == 1  # said once


def test_predict_pauses_the_garbage_collector_and_leaves_it_as_it_was(clf: textgru.Classifier, monkeypatch) -> None:
    """A full collection with torch loaded scans ~350k objects (~250 ms); the objects of many texts started one every
    few predict calls. The collector is paused while predict / predict_proba make them (token ids, predictions),
    and as it was afterwards."""
    import gc
    from dataclasses import dataclass

    import textgru.inference.classifier as classifier_module

    running = []

    @dataclass(frozen=True)
    class Recorded(classifier_module.Prediction):
        def __post_init__(self) -> None:
            running.append(gc.isenabled())

    encode = clf.encode
    monkeypatch.setattr(clf, "encode", lambda texts: running.append(gc.isenabled()) or encode(texts))
    monkeypatch.setattr(classifier_module, "Prediction", Recorded)
    texts = [f"text number {i} good" for i in range(30)]
    assert gc.isenabled()
    clf.predict(texts)
    clf.predict_proba(texts, batch_size=7)
    clf.predict("one text")
    assert len(running) == 30 + 1 + 1 + 1 + 1 and not any(running), running
    assert gc.isenabled()
    try:
        gc.disable()
        clf.predict(texts[:3])
        assert not gc.isenabled()  # a caller's own choice stays
    finally:
        gc.enable()


def test_a_label_without_example_or_prediction_has_no_score_in_the_table() -> None:
    """A review: a label no example has and nothing predicted printed 0.0000 while the macro avg (1.0000) left it out."""
    import torch

    from textgru.inference.evaluation import classification_metrics, format_report

    names = ["negative", "neutral", "positive"]
    table = format_report(classification_metrics(torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8]]), [0, 2], names))
    lines = table.splitlines()
    assert lines[2].split() == ["neutral", "-", "-", "-", "0"] and lines[4].split()[-2:] == ["1.0000", "2"]
    assert lines[-1] == "(no example and no prediction, left out of the macro avg: neutral)"
    predicted = format_report(classification_metrics(torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]]), [0, 2], names))
    assert "0.0000" in predicted.splitlines()[2] and "left out" not in predicted  # predicted: a real 0, averaged


def test_a_label_without_example_or_prediction_has_null_scores_in_the_report(tmp_path: Path) -> None:
    """A review: <split>_metrics.json gave the label the table shows as `-` precision, recall and f1 0.0, so its
    per_class f1 averaged to another number than its own macro_f1 (which leaves the label out)."""
    import torch

    from textgru.inference.evaluation import classification_metrics, write_report

    names = ["negative", "neutral", "positive"]
    probs = torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.1, 0.8], [0.2, 0.1, 0.7]])
    write_report(classification_metrics(probs, [0, 2, 0], names), names, tmp_path, "test")
    report = json.loads((tmp_path / "test_metrics.json").read_text(encoding="utf-8"))
    per_class = report["per_class"]
    assert per_class["neutral"] == {"precision": None, "recall": None, "f1": None, "support": 0}, per_class
    scored = [m["f1"] for m in per_class.values() if m["f1"] is not None]
    assert math.isclose(sum(scored) / len(scored), report["macro_f1"], rel_tol=1e-6), report
    predicted = classification_metrics(torch.tensor([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1]]), [0, 2], names)
    assert predicted["per_class"]["neutral"]["f1"] == 0.0  # predicted without an example: a real 0, averaged


def test_an_eval_report_names_the_data_it_scored(tmp_path: Path) -> None:
    """A second review: a Hub dataset was recorded as just data=hub, and a split read from its own file
    (data.test_path) under the training file's name."""
    from textgru.inference.reports import data_scored

    hub = {"source": "hub", "hub_name": "glue", "hub_config": "sst2"}
    assert data_scored(None, hub, "test") == "data=hub glue sst2 (the checkpoint's data)"
    local = {"source": "local", "path": "train.csv", "validation_path": None, "test_path": str(tmp_path / "t.csv")}
    assert data_scored(local, {}, "test") == f"data=local {tmp_path / 't.csv'}"
    assert data_scored(local, {}, "validation") == f"data=local {Path('train.csv').absolute()}"  # carved from it
    assert data_scored({**local, "path": ["a.csv", "b.csv"]}, {}, "all").split()[1:] == [
        str(Path(p).absolute()) for p in ("a.csv", "b.csv", tmp_path / "t.csv")
    ]
    assert data_scored("tweets", {}, "test") == "data=tweets"
    from textgru.inference.reports import report_folder

    assert report_folder(tmp_path, None) == tmp_path  # the checkpoint's own data: eval/
    assert report_folder(tmp_path, local) == tmp_path / "t" and report_folder(tmp_path, hub) == tmp_path / "glue_sst2"
    assert report_folder(tmp_path, {"source": "local", "path": ["../x/a b.csv"]}) == tmp_path / "a_b"
    assert report_folder(tmp_path, {"source": "local", "path": "data/*.csv"}) == tmp_path / "all"
    assert report_folder(tmp_path, {"source": "local", "path": "data/t_*.csv"}) == tmp_path / "t_all"  # not t.csv's
    two = {"source": "local", "path": ["a.csv", "b.csv"]}  # a review: named as a.csv's report, which it then blocked
    named = report_folder(tmp_path, two).name
    assert named.startswith("a_and_1_more_") and named != report_folder(tmp_path, {**two, "path": ["a.csv", "c.csv"]})
    given = {"source": "local", "path": "train.csv", "test_path": "t1.csv", "validation_path": None}  # a review: the
    assert report_folder(tmp_path, given) == tmp_path / "t1"  # file scored, not data.path (t2.csv's clashed)
    assert report_folder(tmp_path, given, "validation") == tmp_path / "train"  # carved from it
    assert report_folder(tmp_path, {"source": "tweets"}) == tmp_path / "tweets"
    assert report_folder(tmp_path, {"source": "local_csv", "path": "/x/other.csv"}) == tmp_path / "other"  # a forecast
    # a review: data=last.csv reported to eval/last/, last.ckpt's own report folder (one refused the other)
    last = {"source": "local", "path": "dd/last.csv"}
    assert report_folder(tmp_path / "eval", last, "all", {"best", "last"}) == tmp_path / "eval" / "last_data"
    assert (
        report_folder(tmp_path / "eval" / "last", last, "all", {"best", "last"}) == tmp_path / "eval" / "last" / "last"
    )


def test_evaluate_warns_where_the_training_file_changed(
    tiny_run: Path, tmp_path: Path, caplog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: after the run's CSV was re-sorted (or rows appended), eval's test split carved from it held training
    texts (accuracy 0.96 -> 1.00) without a word. The checkpoint records its data files' digest; a change is warned."""
    from textgru.checkpoint import load_checkpoint
    from textgru.data.file_digest import files_digest

    saved = load_checkpoint(tiny_run / "checkpoints" / "best.ckpt")
    data = saved["textgru"]["data_config"]
    assert saved["textgru"]["data_digest"] == files_digest(data) is not None  # recorded at training
    rows = Path(data["path"]).read_text().splitlines()
    mine = tmp_path / "data.csv"
    mine.write_text("\n".join(rows) + "\n")
    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["textgru"]["data_config"] = {**data, "path": str(mine)}
    ckpt["textgru"]["data_digest"] = files_digest({**data, "path": str(mine)})
    torch.save(ckpt, tmp_path / "model.ckpt")
    model = textgru.load(tmp_path / "model.ckpt")
    with caplog.at_level("WARNING"):
        model.evaluate()
    assert "changed since the model was trained" not in caplog.text  # the same bytes
    mine.write_text("\n".join([rows[0], *reversed(rows[1:])]) + "\n")  # re-sorted
    with caplog.at_level("WARNING"):
        model.evaluate()
    assert f"{mine} changed since the model was trained: the test split carved from it now may hold" in caplog.text
    caplog.clear()
    monkeypatch.chdir(tmp_path)  # the same file by a relative path (a review: not warned of)
    with caplog.at_level("WARNING"):
        model.evaluate({**data, "path": "data.csv"})
    assert "data.csv changed since the model was trained: the test split carved from it now may hold" in caplog.text


def test_evaluate_warns_where_the_models_validation_or_test_file_changed(
    tiny_run: Path, tmp_path: Path, caplog
) -> None:
    """A review: a model trained with data.validation_path scored that file unwarned after its labels were flipped;
    only data.path's edits were warned of. The checkpoint's digest covers every data file the run read."""
    from textgru.data.file_digest import files_digest

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    data = ckpt["textgru"]["data_config"]
    rows = Path(data["path"]).read_text().splitlines()
    va = tmp_path / "va.csv"
    va.write_text("\n".join(rows[:21]) + "\n")
    data = {**data, "validation_path": str(va)}
    ckpt["textgru"].update(data_config=data, data_digest=files_digest(data))
    torch.save(ckpt, tmp_path / "model.ckpt")
    model = textgru.load(tmp_path / "model.ckpt")
    with caplog.at_level("WARNING"):
        model.evaluate(split="validation")
    assert "changed since the model was trained" not in caplog.text
    va.write_text("\n".join([rows[0], *reversed(rows[1:21])]) + "\n")
    with caplog.at_level("WARNING"):
        model.evaluate(split="validation")
    assert f"data.validation_path {va} changed since the model was trained: the scores of its validation" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        model.evaluate(split="test")  # carved from data.path, which did not change
    assert "changed since the model was trained" not in caplog.text


def test_a_split_carved_again_from_the_training_file_is_carved_as_in_training(tiny_run: Path, tmp_path: Path) -> None:
    """A review: `textgru eval data=local data.path=<the training file>` carved its test split with the data
    config's default seed, so a model trained with data.split_seed=7 was scored on 47 training texts of 60; the file
    (or a copy) is now carved with the model's own split settings, another file with those given."""
    from textgru.checkpoint import load_checkpoint
    from textgru.data.file_digest import files_digest
    from textgru.data.labelled import load_classification_data
    from textgru.inference.scored_data import labelled_texts
    from textgru.inference.trained_split import as_trained as as_trained_split

    trained_on = {**load_checkpoint(tiny_run / "checkpoints" / "best.ckpt")["textgru"]["data_config"], "split_seed": 7}
    copy = tmp_path / "copy.csv"
    shutil.copy(trained_on["path"], copy)
    given = {**trained_on, "split_seed": 42, "val_fraction": 0.2}  # what a data=local command line carries
    as_trained = load_classification_data(trained_on)["test"]["text"]
    assert as_trained != load_classification_data(given)["test"]["text"]
    digest = files_digest(trained_on)
    for path in (trained_on["path"], copy):
        texts, _, _ = labelled_texts({**given, "path": str(path)}, "test", trained_on, trained_digest=digest)
        assert texts == as_trained
    names = load_classification_data(trained_on)["train"].features["label"].names
    labelled = {**trained_on, "ignore_labels": [], "label_names": names[::-1]}  # a review: eval's defaults
    as_labelled = load_classification_data(labelled)["test"]["text"]  # ([unsup], none) carved another test split
    assert as_labelled != load_classification_data({**labelled, "label_names": None})["test"]["text"]
    unnamed = {k: v for k, v in given.items() if k not in ("ignore_labels", "label_names")}  # as eval passes them
    assert labelled_texts(unnamed, "test", labelled, trained_digest=digest)[0] == as_labelled
    given_labels = {**given, "ignore_labels": ["unsup"], "label_names": None}
    named = as_trained_split(given_labels, labelled, digest, given=["ignore_labels"])  # [unsup] named: kept (a
    assert named["ignore_labels"] == ["unsup"] and named["label_names"] == names[::-1]  # review: the model's [])
    from textgru.config import data_config
    from textgru.inference.trained_split import LABELLING

    assert LABELLING["ignore_labels"] == data_config("local")["ignore_labels"]  # the default that is not a choice
    chosen = as_trained_split({**unnamed, "ignore_labels": ["neutral"]}, labelled, digest)  # the review of the
    assert chosen["ignore_labels"] == ["neutral"] and chosen["label_names"] == names[::-1]  # change: [neutral] lost
    for other_source in ({"label_column": "text"}, {"validation_path": str(copy)}):  # other data (a review: taken)
        assert as_trained_split({**given, **other_source}, trained_on, digest)["split_seed"] == 42
    from textgru.config import data_config

    sine = {**data_config("synthetic_sine"), "test_fraction": 0.4}  # a generated series: its settings name it
    assert as_trained_split(sine, {**sine, "test_fraction": 0.05})["test_fraction"] == 0.05
    assert as_trained_split({**sine, "series_seed": 5}, {**sine, "test_fraction": 0.05})["test_fraction"] == 0.4
    other = tmp_path / "other.csv"  # another file: carved as its config says
    other.write_text(copy.read_text() + copy.read_text().splitlines()[1] + "\n")
    texts, _, _ = labelled_texts({**given, "path": str(other)}, "test", trained_on, trained_digest=digest)
    assert texts == load_classification_data({**given, "path": str(other)})["test"]["text"]


def test_evaluate_says_when_it_skips_rows(clf: textgru.Classifier, caplog: pytest.LogCaptureFixture) -> None:
    """A review: evaluate(df) scored 2 of 4 rows (an empty text, a missing label) and said so only at INFO level."""
    import pandas as pd

    frame = pd.DataFrame({"text": ["good day", "", "bad day", "ok"], "label": ["pos", "neg", "neg", None]})
    with caplog.at_level("WARNING", logger="textgru.inference.evaluation"):
        assert clf.evaluate(frame)["n"] == 2
    assert "the given rows: skipped 2 without a text or a label (n counts the rest)" in caplog.text


def test_evaluate_names_a_column_of_bytes(clf: textgru.Classifier, tmp_path: Path) -> None:
    """A review: a text column holding bytes (Arrow reads a column with any bytes in it as bytes, its strings too)
    dropped every row "without a text", then "the given dataset has no rows with both a text and a label"; a label
    column of bytes was labels "b'pos'" unknown to the model."""
    import pandas as pd

    texts, labels = map(list, zip(*make_rows(6, seed=4), strict=True))
    with_bytes = {
        "text": [t.encode() if i < 2 else t for i, t in enumerate(texts)],
        "label": [y.encode() for y in labels],
    }
    for column in ("text", "label"):
        frame = pd.DataFrame({"text": texts, "label": labels, column: with_bytes[column]})
        frame.to_parquet(tmp_path / f"{column}.parquet")
        for given in (frame, datasets.Dataset.from_pandas(frame), str(tmp_path / f"{column}.parquet")):
            with pytest.raises(textgru.TextgruError, match=f"^column '{column}' holds bytes, not strings; decode"):
                clf.evaluate(given)
        frame[column] = frame[column].map(lambda v: v.decode("utf-8") if isinstance(v, bytes) else v)  # as it says
        assert clf.evaluate(frame)["n"] == 6


def test_evaluate_takes_what_the_data_sources_take(
    clf: textgru.Classifier, tiny_run: Path, small_csv: Path, tmp_path: Path
) -> None:
    trained = json.loads((tiny_run / "metrics.json").read_text())
    assert clf.evaluate()["macro_f1"] == pytest.approx(trained["test/macro_f1"], abs=1e-6)  # the same test split
    from_path = clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=tmp_path / "ev")
    assert from_path["n"] == 300 and from_path["split"] == "all"
    # a review: the report said neither what it scored nor (absolutely) which checkpoint
    assert from_path["data"] == str(small_csv.absolute()) and Path(from_path["checkpoint"]).is_absolute()
    assert Path(from_path["checkpoint"]) == (tiny_run / "checkpoints" / "best.ckpt").absolute()
    trained_on = yaml.safe_load((tiny_run / "config.yaml").read_text())["data"]["path"]  # under xdist: the CSV of
    # the worker that trained tiny_run, not always this worker's small_csv (a run with -n 4 failed so)
    assert Path(trained_on).name == small_csv.name
    assert clf.evaluate()["data"] == f"data=local {Path(trained_on).absolute()} (the checkpoint's data)"
    assert (tmp_path / "ev" / "all_metrics.json").is_file() and (tmp_path / "ev" / "all_confusion_matrix.png").is_file()
    written = (tmp_path / "ev" / "all_metrics.json").read_bytes()
    with pytest.raises(
        textgru.TextgruError,
        match=r"all_metrics.json exists; pass overwrite=true \(in Python, overwrite=True\) or another output_dir",
    ):
        clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=tmp_path / "ev")
    assert (tmp_path / "ev" / "all_metrics.json").read_bytes() == written  # the earlier report as it was
    mine = tmp_path / "mine" / "all_confusion_matrix.png"  # a user's own file of the plot's name (a review: replaced)
    mine.parent.mkdir()
    mine.write_text("MY PICTURE")
    with pytest.raises(
        textgru.TextgruError,
        match=r"all_confusion_matrix.png exists; pass overwrite=true \(in Python, overwrite=True\)",
    ):
        clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=mine.parent)
    assert mine.read_text() == "MY PICTURE" and sorted(mine.parent.iterdir()) == [mine]
    mine.unlink()
    mine.mkdir()  # a folder of that name: in the way even with overwrite (it was a traceback after scoring)
    with pytest.raises(textgru.TextgruError, match=r"all_confusion_matrix.png is in the way \(a folder\); move it"):
        clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=mine.parent, overwrite=True)
    again = clf.evaluate(
        small_csv, text_column="review", label_column="sentiment", output_dir=tmp_path / "ev", overwrite=True
    )
    assert again["accuracy"] == from_path["accuracy"]
    with pytest.raises(textgru.TextgruError, match="is a file; give a folder for the report"):  # FileExistsError
        clf.evaluate(
            small_csv, text_column="review", label_column="sentiment", output_dir=tmp_path / "ev" / "all_metrics.json"
        )
    too_long = tmp_path / ("x" * 300)  # an OSError after the scoring before (a review)
    with pytest.raises(textgru.TextgruError, match=r"report's path \(output_dir, split\) holds a name of 300 bytes"):
        clf.evaluate(small_csv, text_column="review", label_column="sentiment", output_dir=too_long)
    config = {"source": "local", "path": str(small_csv), "text_column": "review", "label_column": "sentiment"}
    assert clf.evaluate(config, split="all")["accuracy"] == pytest.approx(from_path["accuracy"])
    four = tmp_path / "four.csv"  # too small to carve into splits, a label seen once: every row is still scored
    four.write_text("review,sentiment\ngood day,pos\nbad day,neg\nok day,neutral\nfine,pos\n")
    assert clf.evaluate(four, text_column="review", label_column="sentiment")["n"] == 4
    as_cli = {**data_cfg("local"), "path": str(four), "text_column": "review", "label_column": "sentiment"}
    assert clf.evaluate(as_cli, split="all")["n"] == 4  # textgru eval data=local ... split=all: it refused to split
    by_hand = {"path": str(four), "text_column": "review", "label_column": "sentiment"}  # no source: read as local
    for given in (by_hand, {**by_hand, "source": "local"}):  # a review: carved into splits, then refused
        got = clf.evaluate(given, split="all")
        assert got["n"] == 4 and got["data"] == f"data=local {four.absolute()}", got["data"]  # it said data=None
    with pytest.raises(textgru.TextgruError, match=r"not a carved test split: set split to 'all'\)$"):
        clf.evaluate(by_hand)  # a config's default split, carved: the refusal spoke of training rows alone (a review)
    (tmp_path / "one").mkdir()  # a file of one label: "a classifier needs two or more", without the way out (a
    one = tmp_path / "one" / "one.csv"  # review); not among the *.csv below
    one.write_text("text,label\n" + "".join(f"good day {i},pos\n" for i in range(60)))
    with pytest.raises(textgru.TextgruError, match=r"only one label .* set split to 'all'\)$"):
        clf.evaluate({"path": str(one)})
    assert clf.evaluate({"path": str(one)}, split="all")["n"] == 60
    with pytest.raises(textgru.TextgruError, match="column 'body' not found") as e:  # not a carving problem
        clf.evaluate({**by_hand, "text_column": "body"})
    assert "split to 'all'" not in str(e.value)
    more = "".join(f"good day {i},pos\nbad day {i},neg\nok day {i},neutral\n" for i in range(4))  # repeats: dropped
    (tmp_path / "more.csv").write_text("review,sentiment\n" + more)
    (tmp_path / "again.csv").write_text(four.read_text())  # a review: a glob's or a list's repeats were dropped and
    globbed = clf.evaluate({**as_cli, "path": str(tmp_path / "*.csv")}, split="all")  # the rest carved, then joined
    assert globbed["n"] == 20  # every row of every file, as for one file
    listed = clf.evaluate({**as_cli, "path": [str(four), str(tmp_path / "again.csv")]}, split="all")
    assert listed["n"] == 8 and listed["accuracy"] == pytest.approx(clf.evaluate(as_cli, split="all")["accuracy"])
    import pandas as pd

    numbers = pd.DataFrame({"text": [1001, 12.5], "label": ["pos", "neg"]})  # a review: skipped "without a text"
    assert clf.evaluate(numbers)["n"] == 2
    rows = make_rows(30, seed=4)
    ds = datasets.Dataset.from_dict({"text": [t for t, _ in rows], "label": [f" {y.upper()}" for _, y in rows]})
    from_dataset = clf.evaluate(ds)
    expected = sum(p.label == y for p, (_, y) in zip(clf.predict([t for t, _ in rows]), rows, strict=True)) / len(rows)
    assert from_dataset["n"] == 30 and from_dataset["accuracy"] == pytest.approx(expected)
    frame = ds.to_pandas().rename(columns={"text": "review"})  # a notebook's DataFrame (was a 14-line error)
    assert clf.evaluate(frame, text_column="review")["accuracy"] == pytest.approx(from_dataset["accuracy"])
    with pytest.raises(textgru.TextgruError, match="unknown data 'nosuch'"):
        clf.evaluate("nosuch")
    with pytest.raises(
        textgru.TextgruError,
        match="unknown to the model .*; write them as the model.s labels, leave their rows out .*in Python a data dict "
        r"\{'path': ..., 'ignore_labels': \[...\]\} with split='all' to score every row, or the rows dropped\), or point",
    ):
        clf.evaluate(datasets.Dataset.from_dict({"text": ["good"], "label": ["joy"]}))
    frame.assign(label=["joy"] + list(frame.label[1:])).to_csv(tmp_path / "joy.csv", index=False)  # the advice works
    joyless = {"path": str(tmp_path / "joy.csv"), "text_column": "review", "ignore_labels": ["joy"]}
    assert clf.evaluate(joyless, split="all")["n"] == 29  # a review: without split='all', a carved 10% (3 rows)


def test_evaluate_of_a_frame_or_dataset_names_a_bad_split_or_column_and_keeps_earlier_reports(
    clf: textgru.Classifier, tmp_path: Path
) -> None:
    """Found by a review: split= was taken unchecked for a DataFrame or Dataset (every row scored, the report named
    'test'), and split='sub/test' wrote the report into sub/sub/ past the check for an earlier one (overwriting it
    without overwrite=True; '../..' wrote at the file system's root). A column mixing strings and numbers was
    pyarrow's traceback."""
    rows = make_rows(12, seed=2)
    frame = datasets.Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}).to_pandas()
    earlier = tmp_path / "ev" / "sub" / "sub" / "test_metrics.json"
    earlier.parent.mkdir(parents=True)
    earlier.write_text("mine")
    for split in ("sub/test", "test", "../../x"):
        with pytest.raises(
            textgru.TextgruError, match=f"^split='{re.escape(split)}': a DataFrame or Dataset is scored"
        ):
            clf.evaluate(frame, split=split, output_dir=tmp_path / "ev")
    assert earlier.read_text() == "mine" and sorted(p.name for p in (tmp_path / "ev").rglob("*")) == [
        "sub",
        "sub",
        "test_metrics.json",
    ]
    assert clf.evaluate(frame, split="all", output_dir=tmp_path / "ev")["n"] == 12
    with pytest.raises(textgru.TextgruError, match=r"^split=0 must be a split's name"):  # was the default, "test"
        clf.evaluate(split=0)
    assert (tmp_path / "ev" / "all_metrics.json").is_file()
    in_parts = datasets.DatasetDict({"sub/test": datasets.Dataset.from_pandas(frame)})
    with pytest.raises(textgru.TextgruError, match="^split='sub/test' cannot name a report file"):
        clf.evaluate(in_parts, split="sub/test", output_dir=tmp_path / "ev")
    for column, value in (("text", 42), ("label", 0)):
        mixed = frame.astype(object)  # pandas 3 keeps a str column strings
        mixed.loc[1, column] = value
        with pytest.raises(textgru.TextgruError, match=f"^the DataFrame's column '{column}' mixes strings with other"):
            clf.evaluate(mixed)


def test_python_callers_get_one_line_where_the_command_line_does(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review of the Python API: overwrite="false" (a config file's string) replaced a report and an export; a
    report folder under a file was a traceback after the scoring; a model loaded by a relative path, scored after
    os.chdir, recorded a checkpoint path that did not exist; build_server took timeout=nan (every answer a 504),
    max_batch_size="8" and limits={...} were tracebacks; serve(log_level="verbose") failed after loading. Another:
    threads=100000 was a segfault, limits=5 an AttributeError, fast_lane="no" read as true and serve's root_path
    unchecked, all refused by the command line."""
    from textgru.serving import build_server

    monkeypatch.chdir(tiny_run.parent)
    clf = textgru.load(tiny_run.name)
    monkeypatch.chdir(tmp_path)
    rows = make_rows(12, seed=3)
    frame = datasets.Dataset.from_dict({"text": [t for t, _ in rows], "label": [y for _, y in rows]}).to_pandas()
    result = clf.evaluate(frame, output_dir="ev")
    assert result["checkpoint"] == str(tiny_run / "checkpoints" / "best.ckpt")
    for bad in ("false", 0, None):
        with pytest.raises(textgru.TextgruError, match=f"^overwrite={bad!r} must be true or false$"):
            clf.evaluate(frame, output_dir="ev", overwrite=bad)
        with pytest.raises(textgru.TextgruError, match=f"^overwrite={bad!r} must be true or false$"):
            textgru.export(tiny_run, tmp_path / "export", overwrite=bad)
    with pytest.raises(textgru.TextgruError, match="^output= takes a folder name .a str or Path., not an int$"):
        textgru.export(tiny_run, 123)  # type: ignore[arg-type]  (a review: a TypeError)
    (tmp_path / "a.csv").write_text("x")
    with pytest.raises(textgru.TextgruError, match="^output_dir='a.csv/sub' cannot be used as a folder: a.csv is a"):
        clf.evaluate(frame, output_dir="a.csv/sub")
    for options, said in (
        ({"timeout": float("nan")}, "^timeout=nan must be a finite number of seconds"),
        ({"max_batch_size": "8"}, "^max_batch_size='8' must be a whole number"),
        ({"limits": {"max_textz": 3}}, r"^unknown limit\(s\) \['max_textz'\]"),
        ({"limits": 5}, r"^limits=5 must be textgru.serving.Limits\(...\), a mapping of its fields or None$"),
        ({"fast_lane": "no"}, "^fast_lane='no' must be true or false$"),
        ({"threads": 100_000}, "^threads=100000 must be a whole number from 1 to 1024, or None for torch's default$"),
    ):
        with pytest.raises(textgru.TextgruError, match=said):
            build_server(classifier=tiny_run, **options)
    for root_path in ("textgru", "/textgru/", "/a b", 5):  # before the models load (nope: no such run)
        with pytest.raises(textgru.TextgruError, match=f'^root_path={re.escape(repr(root_path))} must be "" or a'):
            textgru.serve(classifier=tmp_path / "nope", port=0, root_path=root_path)
    assert build_server(classifier=tiny_run, limits={"max_texts": 3}) is not None
    with pytest.raises(textgru.TextgruError, match="^log_level='verbose' must be one of critical, error, warning"):
        textgru.serve(classifier=tiny_run, port=0, log_level="verbose")


def test_serve_names_a_mistyped_keyword_and_the_one_meant(tmp_path: Path) -> None:
    """A review: serve(max_batch=8) was Python's TypeError naming build_server, an internal function; now one line
    naming the keyword and the closest known one (as generate names a sampling option's typo), before anything loads."""
    said = r"^unknown keyword\(s\) max_batch \(did you mean max_batch_size\?\), colour; serve\(\) takes .*\bhost\b"
    with pytest.raises(textgru.TextgruError, match=said) as e:
        textgru.serve(classifier=tmp_path / "nope", port=0, max_batch=8, colour="red")
    assert "\n" not in str(e.value) and "inner_batch_size" in str(e.value)


def test_a_stream_left_open_at_exit_prints_nothing(lm_run: Path) -> None:
    """Found by a review: a script that took one piece of `stream` and ended printed two "Exception ignored"
    tracebacks (the generator was closed after torch's modules were torn down). A fresh Python: forks skip that
    teardown."""
    code = f"import textgru; s = textgru.load({str(lm_run)!r}).stream('ROMEO:', seed=1); print(repr(next(s)))"
    r = run_python(["-c", code], fresh=True)
    assert r.returncode == 0 and r.stdout.strip() and r.stderr == "", r.stderr


def test_generate_equals_the_generate_script_and_stream_joins_to_it(
    lm: textgru.LanguageModel, lm_run: Path, tmp_path: Path
) -> None:
    r = run_script(
        "generate",
        f"ckpt_path={lm_run}",
        "prompt=ROMEO:",
        "num_samples=2",
        "seed=7",
        "max_new_tokens=60",
        "top_p=0.9",
        f"output={tmp_path / 's.jsonl'}",
    )
    assert r.returncode == 0, r.stderr[-2000:]
    from_script = [json.loads(line)["text"] for line in (tmp_path / "s.jsonl").read_text(encoding="utf-8").splitlines()]
    assert lm.generate("ROMEO:", num_samples=2, seed=7, max_new_tokens=60, top_p=0.9) == from_script
    one = lm.generate("KING:", seed=2, max_new_tokens=80, temperature=0.8)[0]
    pieces = list(lm.stream("KING:", seed=2, max_new_tokens=80, temperature=0.8))
    assert len(pieces) > 1 and "".join(pieces) == one
    defaults = textgru.SamplingOptions()
    generate_yaml = compose_config("generate", ["ckpt_path=x"])
    for key in (
        "max_new_tokens",
        "temperature",
        "top_k",
        "top_p",
        "repetition_penalty",
        "greedy",
        "num_samples",
        "seed",
    ):
        assert getattr(defaults, key) == generate_yaml[key], key  # no keyword: the script's default
    with pytest.raises(textgru.TextgruError, match="unknown sampling option"):
        lm.generate("KING:", temprature=0.5)
    with pytest.raises(textgru.TextgruError, match="streaming draws one sample"):
        lm.stream("KING:", num_samples=2)  # at the call, not at the first piece (a review: a later cell failed)
    with pytest.raises(
        textgru.TextgruError, match="tokenizer has no token for: '\u6f22', '\u5b57'; remove them, or pass"
    ):
        lm.stream("KING:\u6f22\u5b57")


def test_score_is_the_mean_next_token_loss_after_the_separator(
    lm: textgru.LanguageModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = ["KING:\nThe queen of rome did speak,", "zq", "ROMEO:\nMy lord", ""]
    scores = lm.score(texts, batch_size=2)
    assert math.isnan(scores[3])
    for text, score in zip(texts[:3], scores, strict=False):
        ids = lm.tokenizer.encode("\n").ids + lm.tokenizer.encode(text).ids
        hidden, nll = None, []
        with torch.no_grad():
            for prev, nxt in zip(ids[:-1], ids[1:], strict=True):  # one token at a time, the hidden state carried
                logits, hidden = lm.model(torch.tensor([[prev]]), hidden)
                nll.append(-torch.log_softmax(logits[0, -1], -1)[nxt].item())
        assert score == pytest.approx(sum(nll) / len(nll), abs=1e-4)
    assert lm.score(texts[0]) == pytest.approx(scores[:1], abs=1e-5)
    assert scores[0] < scores[1]  # the play's style is likelier than noise
    import textgru.inference.language_model as language_model

    monkeypatch.setattr(language_model, "STEPS_AT_ONCE", 3)  # long texts are scored in pieces, the state carried
    assert lm.score(texts, batch_size=2)[:3] == pytest.approx(scores[:3], abs=1e-5)
    tracked = []  # found by a review: score kept every step's activations for a backward pass (24 GB on /score)
    hook = lm.model.register_forward_hook(lambda _m, _i, out: tracked.append(out[0].requires_grad))
    try:
        with torch.enable_grad():
            lm.score(texts)
    finally:
        hook.remove()
    assert tracked and not any(tracked)
    for bad, message in ((None, "not None"), (5, "not an int"), (["a", b"b"], r"texts\[1\] is a bytes")):
        with pytest.raises(textgru.TextgruError, match=message):
            lm.score(bad)  # type: ignore[arg-type]
    with pytest.raises(textgru.TextgruError, match="batch_size=0 must be an integer of at least 1"):
        lm.score(texts, batch_size=0)
    for call in (lm.generate, lambda p: list(lm.stream(p))):  # a list of prompts: the tokenizer's TypeError
        with pytest.raises(textgru.TextgruError, match=r"the prompt is a list, not a string \(one prompt per call\)"):
            call(["KING:"])
    for device in ("tpu", 0):
        with pytest.raises(
            textgru.TextgruError, match=r"device='(tpu|0)': use cpu, cuda, cuda:N \(the N-th GPU\) or mps"
        ):
            textgru.load(lm.meta["path"], device=device)  # type: ignore[arg-type]


def test_score_says_once_that_texts_hold_tokens_the_model_never_saw(
    lm: textgru.LanguageModel, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: a text of characters the model never saw scored as likelier than its own style, unsaid."""
    fresh = textgru.load(lm.meta["path"])
    with caplog.at_level(logging.WARNING, logger="textgru"):
        fresh.score(["KING:\nMy lord"])
        assert "never saw" not in caplog.text
        fresh.score(["\u20ac\u20ac\u20ac the", "KING:"])
        fresh.score(["\u20ac"])
    assert caplog.text.count("1 of 2 texts hold tokens this model never saw, each scored as the [UNK] token") == 1
    assert caplog.text.count("never saw") == 1 and fresh.unknown_tokens(["\u20ac\u20ac\u20ac the"]) == [3]
    with pytest.raises(textgru.TextgruError, match="lone UTF-16 surrogate"):  # as score says (a review: a TypeError)
        fresh.unknown_tokens("a\ud800")


def test_train_refuses_bad_overrides_in_one_line(tmp_path: Path, tiny_run: Path, small_csv: Path) -> None:
    for call in (textgru.train, textgru.sweep):  # a string was read character by character: "override 't'"
        with pytest.raises(
            textgru.TextgruError, match=r"takes a list of overrides, e.g. \w+\(\['seed=1'\]\), not a string"
        ):
            call("seed=1")  # type: ignore[arg-type]
        # found by a review: a dict's values were dropped ("Error parsing override 'task'"), None a TypeError
        for bad, message in (
            ({"seed": 1}, r"takes a list of overrides, not a dict: \w+\(\['seed=1'\]\)"),
            (None, r"takes a list of overrides \(strings like 'model.hidden_size=64'\), not None"),
            ([["seed=1"]], r"\(\): each override is a string like 'model.hidden_size=64', not a list"),
        ):
            with pytest.raises(textgru.TextgruError, match=message):
                call(bad)  # type: ignore[arg-type]
    before = (tiny_run / ".hydra" / "overrides.yaml").read_bytes()
    with pytest.raises(textgru.TextgruError, match="already holds a run .* pass another run_dir="):
        textgru.train(["trainer.max_epochs=1"], run_dir=tiny_run)
    assert (tiny_run / ".hydra" / "overrides.yaml").read_bytes() == before  # nothing of the run rewritten
    with pytest.raises(textgru.TextgruError, match=r"^no config key model\.hiden_size"):
        textgru.train(["model.hiden_size=8"], run_dir=tmp_path / "r")
    with pytest.raises(textgru.TextgruError, match="is a sweep; use textgru.sweep"):
        textgru.train(["model.hidden_size=8,16"])
    with pytest.raises(
        textgru.TextgruError, match=r"paths.run_dir follows the run folder: give train\(\.\.\., run_dir="
    ):
        textgru.train([f"paths.run_dir={tmp_path / 'p'}"])  # a review: ignored, the run in outputs/<task>/<date>/...
    with pytest.raises(textgru.TextgruError, match=r"^hydra.run.dir=.*/r/\$\{model.hiden_size\} cannot be resolved: "):
        textgru.train([f"hydra.run.dir={tmp_path / 'r'}/${{model.hiden_size}}"])  # a review: omegaconf's own error
    with pytest.raises(textgru.TextgruError, match="unknown model 'nope'"):
        textgru.sweep(["model=nope"])
    with pytest.raises(textgru.TextgruError, match=r"^model.hidden_size=0: must be an integer >= 1"):
        textgru.sweep(["model.hidden_size=8,0", "trainer.fast_dev_run=true"], sweep_dir=tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()
    with pytest.raises(textgru.TextgruError, match=r"^callbacks.early_stopping.monitor=val/los is not a validation"):
        textgru.sweep(
            [
                "callbacks.early_stopping.monitor=val/loss,val/los",
                "callbacks.early_stopping.mode=min",
                "trainer.fast_dev_run=true",
            ],
            sweep_dir=tmp_path / "sweep",
        )
    assert not (tmp_path / "sweep").exists()
    # a review: an argument `+` adds that its class does not take failed once the data was read (train), or once the
    # job of the class that lacks it came (sweep: the jobs before it had trained): one line up front, as on the command line
    with pytest.raises(
        textgru.TextgruError, match=r"^\+trainer\.foo: lightning\.pytorch\.Trainer takes no argument foo"
    ):
        textgru.train(["+trainer.foo=1"], run_dir=tmp_path / "r")
    added = ["optimizer=adam,adamw", "+optimizer.decoupled_weight_decay=true", "trainer.fast_dev_run=true"]
    with pytest.raises(
        textgru.TextgruError, match=r"^\+optimizer\.decoupled_weight_decay: torch\.optim\.AdamW takes no"
    ):
        textgru.sweep(added, sweep_dir=tmp_path / "sweep")
    assert not (tmp_path / "sweep").exists()
    with pytest.raises(textgru.TextgruError, match=r"^seed=1,2 is a sweep, and seed=3 after it gives seed again"):
        textgru.sweep(["seed=1,2", "seed=3"], sweep_dir=tmp_path / "sweep")  # a review: one job, seed 3, unsaid
    assert not (tmp_path / "sweep").exists()
    # a job that fails once trained data are read (a size its data cannot take): named, the jobs before summarised
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    with pytest.raises(textgru.TextgruError, match=r"^sweep job 1 \(.*data.train_size=100000\) failed: ") as e:
        textgru.sweep(
            [*data, *TINY_MODEL, "data.train_size=10,100000,20", "trainer.max_epochs=1"], sweep_dir=tmp_path / "s"
        )
    assert str(e.value).endswith(f"the 1 job(s) before it are summarised in {tmp_path / 's' / 'summary.md'}")
    summary = (tmp_path / "s" / "summary.md").read_text()  # and the failed job as failed, the rest not started (a
    assert "| 0 | 10 | finished |" in summary and "| 1 | 100000 | failed |" in summary  # review: "unfinished", the
    assert "| - | 20 | not started |" in summary, summary  # rest unlisted)
    with pytest.raises(textgru.TextgruError, match=r"^sweep job 0 \(.*data.train_size=100000\) failed: "):  # a review:
        textgru.sweep([*data, *TINY_MODEL, "data.train_size=100000,10"], sweep_dir=tmp_path / "s0")  # an OSError
    assert "| 0 | failed |" in (tmp_path / "s0" / "summary.md").read_text()  # (the new folder was taken away)
    with pytest.raises(textgru.TextgruError, match=r"^hydra.run.dir=.*reviews.csv/run cannot be used as a folder: "):
        textgru.train([*data, f"hydra.run.dir={small_csv}/run"])  # a review: a NotADirectoryError traceback
    with pytest.raises(textgru.TextgruError, match=r"^sweep_dir=.*reviews.csv/s cannot be used as a folder: "):
        textgru.sweep([*data, "seed=1,2"], sweep_dir=small_csv / "s")
    with pytest.raises(textgru.TextgruError, match=r"^config_name 'trian' is not a training config; leave it out"):
        textgru.train(config_name="trian")  # the list it gave offered eval, serve ... (a review)
    assert not (tmp_path / "r").exists()
    # found by a review of the API in a notebook: each was a traceback or a line pointing elsewhere
    for call, args, message in (
        (textgru.train, (["data.path=/x/odd,dir/t.csv"],), r"or quote a value that holds a comma: data.path='/x/odd,"),
        (textgru.train, (["data.path=/x/a=b.csv"],), r"cannot read the override 'data.path=/x/a=b.csv' .*; quote a"),
        (textgru.sweep, (["data.path=it's.csv"],), r"cannot read the override .*; quote a value holding"),
        (
            textgru.train,
            (["--help"],),
            r"^train\(\) takes overrides \(key=value\), not the command line's flag '--help'",
        ),
        (textgru.sweep, (["-m", "seed=1,2"],), r"^sweep\(\) takes overrides .* flag '-m'"),
        (textgru.sweep, (["seed=range(5,1)"],), r"^seed=range\(5,1\) holds no value"),  # an IndexError
        (textgru.sweep, (["seed=1,2", "hydra.run.dir=x"],), r"^hydra.run.dir= names one run's folder, .* sweep_dir="),
        # a review: these were dropped (the jobs went to <sweep_dir>/0, 1 ...; the run to run_dir), resume a config key
        (textgru.sweep, (["seed=1,2", "hydra.sweep.subdir=${seed}"],), r"^sweep\(\) names its jobs' folders 0, 1"),
        (textgru.sweep, (["seed=1,2", "hydra.sweep.dir=x"], "train", "y"), r"^hydra.sweep.dir= and sweep_dir= both"),
        (textgru.sweep, (["resume=x", "seed=1,2"],), r"^sweep\(\) starts new runs; resume a run with textgru.train\("),
        (textgru.train, (["hydra.run.dir=x"], "train", "y"), r"^hydra.run.dir=x and run_dir= both name the run's"),
        (textgru.sweep, (["optimizer.lr=interval(1e-3,1e-2)"],), r"a grid sweep \(-m\) runs listed values"),  # Hydra's
        (textgru.train, (["~model"],), r"^~model: train\(\) needs each of its top-level keys"),  # a traceback
        (textgru.train, ([None],), r"^train\(\): each override is a string .*, not None"),  # an AttributeError
        (
            textgru.train,
            ([], "eval"),
            r"^config_name 'eval' is not a training config; leave it out \(or give 'train'\)$",
        ),
        (textgru.train, ([], "train", 123), r"^run_dir= takes a folder \(a str or Path\), not an int"),
        (textgru.sweep, ([], "train", 1.5), r"^sweep_dir= takes a folder \(a str or Path\), not a float"),
    ):
        with pytest.raises(textgru.TextgruError, match=message):
            call(*args)


def test_a_run_stopped_while_reading_its_data_leaves_nothing_and_one_call_at_a_time(
    small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: Ctrl+C in a notebook while train() read its data left .hydra/ and train.log, and running the cell
    again was refused ("already holds .hydra/overrides.yaml"); two threads training at once mixed each other's log
    lines and seeds (a run's macro-F1 changed from 0.62 to 0.87). Now the folder goes, and a second thread's call
    is refused while one runs."""
    import threading

    from textgru.tasks import sentiment

    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    args = [*data, *TINY_MODEL, "trainer.fast_dev_run=true"]
    reading, go_on = threading.Event(), threading.Event()
    build = sentiment.build

    def interrupted(cfg):
        raise KeyboardInterrupt

    monkeypatch.setattr(sentiment, "build", interrupted)
    with pytest.raises(KeyboardInterrupt):
        textgru.train(args, run_dir=tmp_path / "runs" / "a")
    assert not (tmp_path / "runs").exists()

    def slow(cfg):  # the first call reads its data until the second has been refused
        reading.set()
        go_on.wait(60)
        return build(cfg)

    monkeypatch.setattr(sentiment, "build", slow)
    first: dict = {}

    def train_first() -> None:
        try:
            first["r"] = textgru.train(args, run_dir=tmp_path / "runs" / "a")
        except BaseException as e:  # shown by the assertion below
            first["r"] = e

    thread = threading.Thread(target=train_first)
    thread.start()
    try:
        assert reading.wait(60)
        for call, folder in ((textgru.train, "run_dir"), (textgru.sweep, "sweep_dir")):
            with pytest.raises(textgru.TextgruError, match=r"^another thread of this process is running textgru"):
                call(args, **{folder: tmp_path / "b"})
    finally:
        go_on.set()
        thread.join(120)
    assert isinstance(first["r"], textgru.TrainResult), first["r"]
    assert first["r"].run_dir == tmp_path / "runs" / "a" and not (tmp_path / "b").exists()


def test_a_refused_run_in_an_existing_folder_takes_away_only_what_it_added(small_csv: Path, tmp_path: Path) -> None:
    """textgru.train(run_dir=<an existing folder>) refused while reading its data left .hydra/overrides.yaml and
    train.log in the user's folder; now the folder is left as it was (the user's files and the folder itself)."""
    bad = ["data=local", f"data.path={small_csv}", "data.text_column=nope", *TINY_MODEL]
    empty, mine = tmp_path / "empty", tmp_path / "mine"
    empty.mkdir()
    (mine / ".hydra").mkdir(parents=True)
    (mine / ".hydra" / "notes.yaml").write_text("mine: 1")
    (mine / "notes.txt").write_text("keep")
    for folder in (empty, mine):
        with pytest.raises(textgru.TextgruError, match="column 'nope' not found"):
            textgru.train(bad, run_dir=folder)
    assert empty.is_dir() and not any(empty.iterdir())
    assert sorted(str(p.relative_to(mine)) for p in mine.rglob("*")) == [".hydra", ".hydra/notes.yaml", "notes.txt"]


def test_a_relative_data_path_is_recorded_absolute(tmp_path: Path, small_csv: Path, monkeypatch) -> None:
    """A run trained on `data.path=reviews.csv` from the file's folder is evaluated from anywhere: its config.yaml
    and checkpoint named the file as typed, so eval, resume= and evaluate() elsewhere could not find it."""
    import yaml

    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(small_csv, work / "reviews.csv")
    monkeypatch.chdir(work)
    data = ["data=local", "data.path=reviews.csv", "data.text_column=review", "data.label_column=sentiment"]
    result = textgru.train([*data, *TINY_MODEL, "trainer.max_epochs=1"], run_dir="../run")  # relative: kept absolute
    metrics, config = result.metrics, yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert config["data"]["path"] == str(work / "reviews.csv")
    assert result.run_dir.is_absolute() and result.run_dir.resolve() == (tmp_path / "run").resolve()  # (a review)
    assert config["paths"]["run_dir"] == str(result.run_dir)
    monkeypatch.chdir(tmp_path)
    assert textgru.load(tmp_path / "run").evaluate()["macro_f1"] == pytest.approx(metrics["test/macro_f1"], abs=1e-6)


def test_a_callers_own_logging_gets_warnings_not_the_runs_info_lines(tmp_path: Path, small_csv: Path) -> None:
    """A notebook that called `logging.basicConfig()` got every INFO line of textgru and Lightning (the model summary,
    "GPU available") under the bar while `textgru.train` ran (a review); they belong in train.log, and the caller's
    handlers get textgru's warnings, as before the call."""
    import io

    said = io.StringIO()
    handler = logging.StreamHandler(said)  # what logging.basicConfig() adds to the root logger
    logging.getLogger().addHandler(handler)
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    try:
        textgru.train([*data, *TINY_MODEL, "trainer.max_epochs=1", "model.feature_dropout=0.3"], run_dir=tmp_path / "r")
    finally:
        logging.getLogger().removeHandler(handler)
    log, said = (tmp_path / "r" / "train.log").read_text(), said.getvalue()
    assert "GPU available" in log and "task=sentiment, seed" in log and "feature_dropout=0.3 applies only" in log
    assert "GPU available" not in said and "task=sentiment, seed" not in said and "Params" not in said
    assert "model.feature_dropout=0.3 applies only with model.transfer=features" in said
    assert logging.getLogger("textgru").propagate and logging.getLogger("textgru").level == logging.NOTSET


def python_blocks(markdown: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown, flags=re.S)


def test_readme_python_blocks_run(
    tiny_run: Path, lm_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """The 'Use from Python' blocks, in order, in a folder holding the runs and the file they name."""
    blocks = python_blocks((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(blocks) >= 3
    for block in blocks:
        for folder in re.findall(r'textgru\.load\("(outputs/[^"]+)"\)', block):
            shutil.copytree(lm_run if "/lm/" in folder else tiny_run, tmp_path / folder)
    write_csv(tmp_path / "reviews.csv", make_rows(120, seed=2), text_col="text", label_col="label")
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    rng, seed_env = torch.get_rng_state(), os.environ.get("PL_GLOBAL_SEED")
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert torch.equal(torch.get_rng_state(), rng) and os.environ.get("PL_GLOBAL_SEED") == seed_env  # caller's state
    run, runs = namespace["run"], namespace["runs"]
    assert run.metrics == json.loads((run.run_dir / "metrics.json").read_text())
    assert run.run_dir.relative_to(tmp_path).parts[:2] == ("outputs", "sentiment")  # absolute
    assert (run.run_dir / "train.log").stat().st_size > 0
    assert len(runs) == 2 and [r.run_dir.name for r in runs] == ["0", "1"]
    summary = (runs[0].run_dir.parent / "summary.csv").read_text().splitlines()
    assert len(summary) == 3 and summary[0].startswith("run,model.hidden_size,status,val/macro_f1")
    assert "\n" in capsys.readouterr().out


@pytest.mark.usefixtures("process_restored")  # the examples run in this process, as scripts
def test_examples_run(
    tiny_run: Path,
    lm_run: Path,
    small_csv: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    import pandas as pd

    out, gold = tmp_path / "labelled.csv", tmp_path / "gold.csv"
    pd.read_csv(small_csv).rename(columns={"sentiment": "label"}).to_csv(gold, index=False)
    monkeypatch.setattr(
        sys, "argv", ["classify_csv.py", str(tiny_run), str(gold), "--column", "review", "--output", str(out)]
    )
    runpy.run_path(str(ROOT / "examples" / "classify_csv.py"), run_name="__main__")
    rows = pd.read_csv(out)
    assert len(rows) == 300 and {"predicted_label", "predicted_score", "p_neg", "p_neutral", "p_pos"} <= set(
        rows.columns
    )
    assert (
        rows["label"].tolist() == pd.read_csv(gold)["label"].tolist()
    )  # the file's own labels kept (were overwritten)
    assert (rows["predicted_label"] == rows["label"]).mean() > 0.8
    assert "pos" in capsys.readouterr().out  # the label counts
    with pytest.raises(SystemExit, match="exists"):
        runpy.run_path(str(ROOT / "examples" / "classify_csv.py"), run_name="__main__")
    monkeypatch.setattr(
        sys, "argv", ["classify_csv.py", str(tiny_run), str(out), "--column", "review", "--output", "x"]
    )
    with pytest.raises(
        SystemExit, match=r"already has the column\(s\) \['predicted_label', 'predicted_score', 'p_neg'"
    ):
        runpy.run_path(str(ROOT / "examples" / "classify_csv.py"), run_name="__main__")
    # a review: pandas read "NA"/"null" as missing, written back as empty cells and classified as ""; a blank text
    # gets no made-up prediction, as `textgru predict` skips it; a malformed CSV is one line, not a traceback
    odd, odd_out = tmp_path / "odd.csv", tmp_path / "odd_out.csv"
    odd.write_text("review,id\nNA,1\nnull,2\n   ,3\ngreat film,4\n")
    monkeypatch.setattr(
        sys, "argv", ["classify_csv.py", str(tiny_run), str(odd), "--column", "review", "--output", str(odd_out)]
    )
    runpy.run_path(str(ROOT / "examples" / "classify_csv.py"), run_name="__main__")
    written = pd.read_csv(odd_out, dtype=str, keep_default_na=False)
    assert written["review"].tolist() == ["NA", "null", "   ", "great film"]
    assert [bool(label) for label in written["predicted_label"]] == [True, True, False, True]
    assert "1 empty text(s) left without a prediction (rows 3)" in capsys.readouterr().out
    odd.write_text('review,id\n"never closed,1\nb,2\n')
    monkeypatch.setattr(sys, "argv", ["classify_csv.py", str(tiny_run), str(odd), "--output", str(tmp_path / "o2.csv")])
    with pytest.raises(SystemExit, match=r"error: cannot read .*odd.csv as CSV: Error tokenizing data"):
        runpy.run_path(str(ROOT / "examples" / "classify_csv.py"), run_name="__main__")
    assert not (tmp_path / "o2.csv").exists()
    monkeypatch.setattr(sys, "argv", ["sample.py", str(lm_run), "--tokens", "30", "--samples", "2", "--seed", "1"])
    runpy.run_path(str(ROOT / "examples" / "sample.py"), run_name="__main__")
    printed = capsys.readouterr().out
    assert printed.startswith("ROMEO:") and printed.count("===== sample") == 2 and "nats per token" in printed
    monkeypatch.setattr(sys, "argv", ["sample.py", str(lm_run), "--prompt=\u2603"])  # was a traceback: one line
    with pytest.raises(SystemExit, match=f"^error: .*{re.escape(chr(0x2603))}"):
        runpy.run_path(str(ROOT / "examples" / "sample.py"), run_name="__main__")
    assert capsys.readouterr().out == ""
    monkeypatch.setattr(sys, "argv", ["sample.py", str(lm_run), "--tokens=-1"])  # refused by its own option's name
    with pytest.raises(SystemExit) as stopped:
        runpy.run_path(str(ROOT / "examples" / "sample.py"), run_name="__main__")
    said = capsys.readouterr()
    assert stopped.value.code == 2 and said.out == "" and "argument --tokens: must be at least 1" in said.err


@pytest.mark.usefixtures("process_restored")
def test_classify_csv_example_reads_as_predict_and_writes_whole(
    tiny_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A review: `--output ""` predicted every row, then was a traceback (FileNotFoundError: ''); a UTF-16 CSV was
    "column 'text' not in u16.csv; columns are ['\ufffd\ufffdt\x00e\x00x...']"; the output was written in place, so a
    full disk or Ctrl+C left half a CSV. The empty name is refused first, the file is read as `textgru predict`
    reads it (UTF-16 with its byte-order mark; one line without it), and the CSV written beside, then renamed."""
    import errno

    import pandas as pd

    example = str(ROOT / "examples" / "classify_csv.py")

    def run(*argv: str | Path) -> None:
        monkeypatch.setattr(sys, "argv", ["classify_csv.py", str(tiny_run), *map(str, argv)])
        runpy.run_path(example, run_name="__main__")

    (tmp_path / "in.csv").write_text("text,id\ngreat film,1\nawful,2\n")
    with pytest.raises(SystemExit, match=r"^error: --output is empty; give the CSV to write"):
        run(tmp_path / "in.csv", "--output", "")
    assert capsys.readouterr().out == ""  # refused before any prediction
    (tmp_path / "u16.csv").write_bytes("text,id\ncafé au lait,1\nawful,2\n".encode("utf-16"))  # with its mark
    run(tmp_path / "u16.csv", "--output", tmp_path / "u16_out.csv")
    written = pd.read_csv(tmp_path / "u16_out.csv", dtype=str, keep_default_na=False)
    assert written["text"].tolist() == ["café au lait", "awful"] and all(written["predicted_label"])
    (tmp_path / "bare.csv").write_bytes("text,id\nawful,2\n".encode("utf-16-le"))  # no mark: NUL bytes
    with pytest.raises(SystemExit, match=r"^error: bare.csv holds NUL bytes: it is not UTF-8 text .* save it as UTF-8"):
        run(tmp_path / "bare.csv", "--output", tmp_path / "bare_out.csv")

    def half(frame: pd.DataFrame, path: str | Path, **kwargs: object) -> None:  # a full disk mid-write
        Path(path).write_text("text,id,predicted_label\ngreat")
        raise OSError(errno.ENOSPC, "No space left on device")

    with monkeypatch.context() as m:
        m.setattr(pd.DataFrame, "to_csv", half)
        with pytest.raises(SystemExit, match=r"^error: cannot write .*full.csv \(No space left on device\)"):
            run(tmp_path / "in.csv", "--output", tmp_path / "full.csv")
    assert not [p.name for p in tmp_path.iterdir() if "full" in p.name]  # neither half a CSV nor its temporary file


@pytest.mark.parametrize("call", ["train", "sweep"])
def test_the_first_train_call_leaves_the_callers_state(small_csv: Path, tmp_path: Path, call: str) -> None:
    """In a fresh process, where `textgru.train` imports Lightning (which draws from `random` and sets variables);
    `textgru.sweep` too (a review: its first import of rich drew from `random`)."""
    args = [*TINY_MODEL, "trainer.fast_dev_run=true", "model.pretrained_embeddings=null", "data=local"]
    args += [f"data.path={small_csv}", "data.text_column=review"]
    args.append("data.label_column=sentiment")
    code = (
        "import json, os, random\n"
        "import numpy as np\n"
        "import torch\n"
        "random.seed(1); np.random.seed(1); torch.manual_seed(1)\n"
        "state = lambda: (random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state().tolist(), "
        "dict(os.environ))\n"
        "before = state()\n"
        "import textgru\n"
        + (
            f"textgru.train({args!r}, run_dir={str(tmp_path / 'run')!r})\n"
            if call == "train"
            else f"textgru.sweep({[*args, 'seed=1,2']!r}, sweep_dir={str(tmp_path / 'sweep')!r})\n"
        )
        + "first = state()\n"  # the environment: with what Lightning's import sets (it relies on it later)
        f"textgru.train({args!r}, run_dir={str(tmp_path / 'again')!r})\n"
        "print(json.dumps([a == b for a, b in zip(before[:3], first[:3])] + [first == state()]))\n"
        "print(json.dumps(sorted(set(first[3]) - set(before[3]))))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    same, added = (json.loads(line) for line in r.stdout.strip().splitlines()[-2:])
    assert same == [True, True, True, True]  # random, numpy, torch from before the import; all of it on a 2nd call
    assert not any(k.startswith("PL_") for k in added), added  # training's own seed variables are taken back


def test_train_and_sweep_leave_torchs_determinism_flags(small_csv: Path, tmp_path: Path) -> None:
    """Lightning's Trainer sets torch.use_deterministic_algorithms(trainer.deterministic) and cudnn's benchmark: a
    review found a notebook's own `use_deterministic_algorithms(True)` off after `textgru.train`, and a deterministic
    sweep's flags (and CUBLAS_WORKSPACE_CONFIG) left on after it. Both calls give the caller's back."""
    args = [*TINY_MODEL, "trainer.max_steps=2", "trainer.limit_val_batches=1", "trainer.limit_test_batches=1"]
    args += ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]

    def flags() -> tuple[bool, ...]:
        return (
            torch.are_deterministic_algorithms_enabled(),
            torch.is_deterministic_algorithms_warn_only_enabled(),
            torch.backends.cudnn.benchmark,
            torch.backends.cudnn.deterministic,
        )

    def set_flags(deterministic: bool, warn_only: bool, benchmark: bool, cudnn_deterministic: bool) -> None:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic = benchmark, cudnn_deterministic

    before, workspace = flags(), os.environ.get("CUBLAS_WORKSPACE_CONFIG")
    try:
        set_flags(True, True, True, True)
        textgru.train([*args, "trainer.deterministic=false"], run_dir=tmp_path / "run")
        assert flags() == (True, True, True, True)
        set_flags(False, False, True, False)
        textgru.sweep([*args, "trainer.deterministic=true"], sweep_dir=tmp_path / "sweep")
        assert flags() == (False, False, True, False)
        assert os.environ.get("CUBLAS_WORKSPACE_CONFIG") == workspace
    finally:
        set_flags(*before)


def test_predict_command_writes_predictions_as_they_are_made(
    clf: textgru.Classifier, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review measured `textgru predict` on 538,458 texts: 1.2 GB held until the end, and five minutes without a
    sign of progress. Texts are now classified a chunk at a time and written as they come; the predictions are
    those of one call over all texts."""
    from textgru import prediction_output
    from textgru.inference import chunks

    texts = [f"{'great' if i % 3 else 'awful'} movie number {i} " * (1 + i % 7) for i in range(50)]
    calls: list[int] = []
    real = clf.predict
    monkeypatch.setattr(clf, "predict", lambda t, *a: calls.append(len(t)) or real(t, *a))
    monkeypatch.setattr(chunks, "CHUNK", 16)
    stream = prediction_output.predictions(clf, texts, 8, None)
    first = next(stream)
    assert calls == [16]  # the first chunk only, so far
    out = tmp_path / "preds.jsonl"
    assert prediction_output.show(stream, str(out), overwrite=False) == 49 and calls == [16, 16, 16, 2]
    rows = [first] + [json.loads(line) for line in out.read_text().splitlines()]
    whole = real(texts)
    assert [r["text"] for r in rows] == texts and [r["label"] for r in rows] == [p.label for p in whole]
    assert max(abs(r["probs"][k] - p.probs[k]) for r, p in zip(rows, whole, strict=True) for k in p.probs) < 1e-6


def test_evaluate_scores_a_chunk_at_a_time(clf: textgru.Classifier, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: `textgru eval` on 2M rows scored every text in one call, minutes without a sign of progress (and
    all its batches planned at once). It now scores `CHUNK` texts at a time, with the scores of one call."""
    import pandas as pd

    from textgru.inference import chunks

    texts = [f"{'great' if i % 3 else 'awful'} movie number {i} " * (1 + i % 7) for i in range(50)]
    frame = pd.DataFrame({"text": texts, "label": [clf.label_names[i % 2] for i in range(50)]})
    whole = clf.evaluate(frame)
    calls: list[int] = []
    real = clf.predict_proba
    monkeypatch.setattr(clf, "predict_proba", lambda t, *a: calls.append(len(t)) or real(t, *a))
    monkeypatch.setattr(chunks, "CHUNK", 16)
    chunked = clf.evaluate(frame, show_progress=True)
    assert calls == [16, 16, 16, 2]
    assert chunked["confusion_matrix"] == whole["confusion_matrix"] and chunked["n"] == 50
    assert chunked["loss"] == pytest.approx(whole["loss"], abs=1e-6)


def test_a_stopped_train_call_names_the_call_that_continues_it(
    small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review in Jupyter: after Ctrl+C, `textgru.train` said to run `textgru train resume=...`, a shell command; it
    now names the Python call, which continues the same run."""
    from textgru import training
    from textgru.errors import TrainingStopped
    from textgru.run_folder import RunFolder
    from textgru.stopping import stopped_training

    def stopped(cfg, **_: object) -> None:  # as a run Ctrl+C stops after its first checkpoint
        run = RunFolder(cfg.paths.run_dir)
        run.last_checkpoint.parent.mkdir(parents=True, exist_ok=True)
        run.last_checkpoint.write_bytes(b"")
        raise TrainingStopped(stopped_training(run))

    monkeypatch.setattr(training, "train", stopped)
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    folder = tmp_path / "run"
    with pytest.raises(TrainingStopped) as e:
        textgru.train([*data, *TINY_MODEL], run_dir=folder)
    assert str(e.value).endswith(f"continue from its last checkpoint: textgru.train(['resume={folder}'])"), e.value
    trained = []  # a review: a loop that skips refused runs caught the Ctrl+C too, and went on with its next seed
    with pytest.raises(textgru.TrainingStopped, match="continue from its last checkpoint"):  # a KeyboardInterrupt
        for seed in (1, 2):
            try:
                trained.append(textgru.train([*data, *TINY_MODEL, f"seed={seed}"], run_dir=tmp_path / str(seed)))
            except Exception as refused:  # (or `except textgru.TextgruError`)
                trained.append(refused)
    assert trained == []


def test_the_call_a_stopped_run_names_continues_it(
    small_csv: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: `textgru.train(['resume=<folder>'])`, the call that message names, was refused ("no config key
    resume"); it continues the run in its own folder, as `textgru train resume=` does; `resume=~/run` too, as bash
    expands it on the command line (a review: Hydra's grammar refused the `~`)."""
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    folder = tmp_path / "run"
    first = textgru.train([*data, *TINY_MODEL, "trainer.max_epochs=1"], run_dir=folder)
    steps = json.loads((folder / "metrics.json").read_text())["global_step"]
    with pytest.raises(textgru.TextgruError, match="^resume= continues a run in its own folder"):
        textgru.train([f"resume={folder}", "trainer.max_epochs=2"], run_dir=tmp_path / "elsewhere")
    with pytest.raises(textgru.TextgruError) as finished:  # the checks of the run's config speak Python too (a review)
        textgru.train([f"resume={folder}"])
    assert str(finished.value).endswith(
        f"raise that limit: textgru.train(['resume={folder}', 'trainer.max_epochs=<more than 1>'])"
    )
    saved = (folder / "config.yaml").read_text()  # a review: .hydra/ held overrides.yaml alone, so a hand edit of
    (folder / "config.yaml").write_text(saved.replace("seed: 42", "seed: 7"))  # what a resume restores went unseen
    with pytest.raises(textgru.TextgruError, match="says seed=7, but the run started with seed=42"):
        textgru.train([f"resume={folder}", "trainer.max_epochs=2"])
    (folder / "config.yaml").write_text(saved)
    monkeypatch.setenv("HOME", str(tmp_path))  # and a default group repeated (tokenizer=word) was refused
    again = textgru.train(["resume=~/run", "trainer.max_epochs=2", "tokenizer=word"])
    assert again.run_dir == first.run_dir == folder and again.overrides == ["trainer.max_epochs=2", "tokenizer=word"]
    assert json.loads((folder / "metrics.json").read_text())["global_step"] == 2 * steps
    assert list(folder.glob("config.before-resume-at-step-*.yaml")) and again.metrics["test/accuracy"] >= 0


def test_answers_a_notebook_user_can_trip_over(
    clf: textgru.Classifier, lm: textgru.LanguageModel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Found by a review of the Python API: a model left in training mode answered at random (dropout); evaluate()
    put 100,000 texts into its error line; a DataFrame with two columns of one name was a pyarrow traceback;
    generate(on_text=...) was dropped without a word for several samples; a checkpoint damaged mid-file loaded."""
    import pandas as pd

    texts = ["a fine film", "not good at all", "it was a film"] * 5
    expected = clf.predict_proba(texts)
    clf.model.train()
    try:
        assert torch.equal(clf.predict_proba(texts), expected) and clf.model.training  # eval inside, mode given back
    finally:
        clf.model.eval()
    plays = ["ROMEO: the king my lord", "JULIET: good day"]
    dropouts = [m for m in lm.model.modules() if isinstance(m, torch.nn.Dropout)]
    assert dropouts and all(m.p == 0 for m in dropouts)  # the fixture's: a dropout of 0.5 is what the review had
    for m in dropouts:
        m.p = 0.5
    try:
        scored = lm.score(plays)
        lm.model.train()  # a review: LanguageModel.score in train mode scored one text 3.3145, 3.3091, 3.3046
        assert [lm.score(plays) for _ in range(3)] == [scored] * 3 and lm.model.training
    finally:
        lm.model.eval()
        for m in dropouts:
            m.p = 0.0
    with pytest.raises(textgru.TextgruError, match=r"^data=a list is neither") as e:
        clf.evaluate(["the train is late again"] * 100_000)
    assert len(str(e.value)) < 300
    frame = pd.DataFrame([["a fine film", "pos", "x", "y"]] * 4, columns=["text", "label", "note", "note"])
    assert clf.evaluate(frame)["n"] == 4  # other columns of one name: the first, as a CSV is read
    for twice in ("text", "label"):  # a review: the first of two text columns was scored, unsaid (a CSV: refused)
        frame = pd.DataFrame([["a fine film", "pos", "junk"]] * 4, columns=["text", "label", twice])
        with pytest.raises(
            textgru.TextgruError, match=f"^the DataFrame has more than one column named '{twice}'; keep"
        ):
            clf.evaluate(frame)
    with pytest.raises(  # a review: ignore_label (a typo) left every row in, unsaid; the command line refuses it
        textgru.TextgruError, match=r"^data: unknown key\(s\) ignore_label \(did you mean ignore_labels\?\); a data"
    ):
        clf.evaluate({"path": clf.meta["data_config"]["path"], "ignore_label": ["pos"]}, split="all")
    assert clf.evaluate(dict(clf.meta["data_config"]), split="all")["n"] > 0  # the model's own config's keys
    with pytest.raises(textgru.TextgruError, match="on_text streams one sample; with num_samples > 1"):
        lm.generate("ab", num_samples=2, max_new_tokens=3, on_text=print)
    with pytest.raises(textgru.TextgruError, match="on_text=5 must be a function"):
        lm.generate("ab", max_new_tokens=3, on_text=5)
    damaged = tmp_path / "damaged.ckpt"
    shutil.copy(clf.meta["path"], damaged)
    with zipfile.ZipFile(damaged) as z:
        biggest = max(z.infolist(), key=lambda m: m.file_size)
    with open(damaged, "r+b") as f:  # inside the largest tensor's bytes (past its 30-byte local header and name)
        f.seek(biggest.header_offset + 30 + len(biggest.filename) + 200)
        f.write(bytes(64))
    with pytest.raises(textgru.TextgruError, match=r"is corrupt \(.* fails its checksum: a damaged copy\)"):
        textgru.load(damaged)
    again = textgru.load(os.fsencode(clf.meta["path"]), device=None)  # bytes: "does not exist"; None: the CPU
    assert again.device == torch.device("cpu")
    with caplog.at_level("WARNING", logger="textgru"):  # answered without a word, where the command line skips
        again.predict(["", "a fine film", "   "])
        again.predict("")
    assert caplog.text.count("an empty text (or spaces only) is read as one [UNK] token") == 1


def test_threads_sharing_a_classifier_left_training_predict_in_eval_mode(clf: textgru.Classifier) -> None:
    """Found by a review: threads sharing one Classifier whose model a notebook left training answered at random
    (0.12 off): the first call to end put the model back into train mode while another still predicted (dropout).
    The interleaving is forced: B's call begins inside A's, and B's forward runs after A's call has ended."""
    import threading

    forward, seen = clf.model.forward, {}
    inside = {"A": threading.Event(), "B": threading.Event()}
    a_ended = threading.Event()

    def forced(*args: torch.Tensor) -> torch.Tensor:
        name = threading.current_thread().name
        if name in inside:  # A and B; other calls unforced
            inside[name].set()
            if inside["B"].wait(10) and (name == "A" or a_ended.wait(10)):
                seen[name] = clf.model.training
        return forward(*args)

    expected = clf.predict_proba(["a fine film"])
    clf.model.forward = forced
    clf.model.train()
    try:
        a = threading.Thread(target=clf.predict_proba, args=(["a fine film"],), name="A")
        b = threading.Thread(target=clf.predict_proba, args=(["a fine film"],), name="B")
        a.start()
        assert inside["A"].wait(10)  # A switched the model to eval, then B begins
        b.start()
        a.join(10)
        a_ended.set()
        b.join(10)
        assert seen == {"A": False, "B": False} and clf.model.training  # eval inside both; the mode given back
        assert torch.equal(clf.predict_proba(["a fine film"]), expected) and clf.model.training
    finally:
        del clf.model.forward
        clf.model.eval()


def test_a_stream_left_half_read_leaves_the_models_mode_to_later_calls(lm: textgru.LanguageModel) -> None:
    """A review of the threads' shared eval mode: a stream left half read counted as a call inside the model, so a
    notebook's `model.train()` after it was undone by the next score (training went on with dropout off); and a
    finaliser closing such a stream inside another call's switch could wait on its lock for ever. A stream holds eval
    mode while it computes a token, not between pieces."""
    pieces = lm.stream("KING:", max_new_tokens=40, seed=3)
    first = next(pieces)
    lm.model.train()
    try:
        lm.score(["KING: my lord"])
        assert lm.model.training
        rest = "".join(pieces)  # each token in eval mode, and the mode given back after each
        assert lm.model.training and first + rest == lm.generate("KING:", max_new_tokens=40, seed=3)[0]
    finally:
        lm.model.eval()


def test_greedy_says_which_sampling_knobs_it_ignores(
    lm: textgru.LanguageModel, caplog: pytest.LogCaptureFixture
) -> None:
    """A carried finding: generate(greedy=True, temperature=0.5) ignored the temperature without a word (Hugging Face's
    generate warns so for do_sample=False); the defaults, and repetition_penalty (greedy applies it), say nothing."""
    with caplog.at_level("WARNING", logger="textgru"):
        plain = lm.generate("KING:", greedy=True, max_new_tokens=4, repetition_penalty=1.3)
        assert not caplog.text
        assert (
            lm.generate("KING:", greedy=True, max_new_tokens=4, temperature=0.5, top_k=3, repetition_penalty=1.3)
            == plain
        )
    assert "greedy=true takes the likeliest token every time; ignored: temperature=0.5, top_k=3" in caplog.text


def test_evaluate_names_the_column_keys_of_both_the_api_and_the_command(
    clf: textgru.Classifier, small_csv: Path
) -> None:
    """A review: `textgru eval` was told to pass text_column=, which the command refuses (its key is data.text_column=)."""
    with pytest.raises(
        textgru.TextgruError, match=r"columns are \['review', 'sentiment'\]; pass text_column= / label_"
    ):
        clf.evaluate(small_csv, text_column="nope", label_column="sentiment")
    r = run_textgru("eval", f"ckpt_path={clf.meta['path']}", "data=local", f"data.path={small_csv}", "split=all")
    assert r.returncode == 2 and "data.text_column= / data.label_column= to textgru eval" in r.stderr, r.stderr[-2000:]


def test_the_training_split_of_a_few_label_run_is_said_to_be_more_than_it_learnt_from(
    small_csv: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: `textgru eval split=train` of a data.train_size=30 run scored the whole training split, "as training
    carved it", read as the examples the model learnt from."""
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    run = textgru.train([*data, *TINY_MODEL, "data.train_size=40", "trainer.max_epochs=1"], run_dir=tmp_path / "few")
    with caplog.at_level(logging.INFO, logger="textgru"):
        scored = textgru.load(run.run_dir).evaluate(split="train")
    assert scored["n"] > 40 and "the model trained on a sample of it (data.train_size=40)" in caplog.text


def test_eval_keeps_the_default_ignore_labels_where_the_command_line_names_it(tiny_run: Path, tmp_path: Path) -> None:
    """A review: `textgru eval data.ignore_labels=[unsup]` of a model trained with [] was replaced by the model's [],
    silently: a value given equal to the data config's default could not be told from no value. The command line's
    own overrides tell them apart; one left out is still the model's."""
    saved = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    saved["textgru"]["data_config"]["ignore_labels"] = []
    torch.save(saved, tmp_path / "model.ckpt")
    data = saved["textgru"]["data_config"]
    args = ["eval", f"ckpt_path={tmp_path / 'model.ckpt'}", "data=local", f"data.path={data['path']}"]
    args += [f"data.text_column={data['text_column']}", f"data.label_column={data['label_column']}"]
    r = run_textgru(*args, f"output_dir={tmp_path / 'left_out'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "carved with the model's settings (data.ignore_labels=[]" in r.stderr and "differ from" not in r.stderr
    r = run_textgru(*args, "data.ignore_labels=[unsup]", f"output_dir={tmp_path / 'named'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "data.ignore_labels=['unsup'] differ from the model's ([])" in r.stderr, r.stderr[-2000:]


def test_eval_scores_the_data_config_named_on_the_command_line(tiny_run: Path, tmp_path: Path) -> None:
    """A review: `textgru eval data=<config>` kept only the keys typed as `data.<key>=` (and labelling keys that differ
    from the defaults), so `data=tweets` or the user's own conf/data/mine.yaml was read as an empty config: "data=local
    needs data.path"; only the labelling defaults are to be left for the model's own."""
    saved = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)["textgru"]["data_config"]
    (tmp_path / "conf" / "data").mkdir(parents=True)
    keys = ("path", "text_column", "label_column")
    mine = "source: local\n" + "".join(f"{k}: {json.dumps(saved[k])}\n" for k in keys)
    (tmp_path / "conf" / "data" / "mine.yaml").write_text(mine, encoding="utf-8")
    r = run_textgru("eval", f"ckpt_path={tiny_run}", "data=mine", f"output_dir={tmp_path / 'out'}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "test_metrics.json").read_text(encoding="utf-8"))
    assert report["data"] == f"data=local {Path(saved['path']).absolute()}" and report["n"] > 0, report


def test_eval_of_an_older_checkpoint_does_not_claim_its_split_is_trainings(
    tiny_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Reviews: a checkpoint saved before textgru recorded how it carves splits (`split_rule`; the rule changed: texts
    under several labels, repeated rows dropped before carving) was scored on a test split said to be carved "as
    training carved it": 24 of its 30 texts were training's; one without a data digest was not warned of an edited
    file. Now such a checkpoint gets one warning line, with or without such texts; a new one keeps the exact claim."""
    from textgru.data.file_digest import files_digest
    from textgru.data.splitting import SPLIT_RULE

    saved = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    assert saved["textgru"]["split_rule"] == SPLIT_RULE
    data = saved["textgru"]["data_config"]
    lines = Path(data["path"]).read_text().splitlines()
    mine = tmp_path / "mine.csv"
    mine.write_text("\n".join(lines) + "\n")
    old = {**saved, "textgru": {k: v for k, v in saved["textgru"].items() if k != "split_rule"}}
    older = {**saved, "textgru": {k: v for k, v in old["textgru"].items() if k != "data_digest"}}  # before 12-05
    for name, ckpt in (("new", saved), ("old", old), ("older", older)):
        ckpt["textgru"]["data_config"] = {**data, "path": str(mine)}
        if name != "older":
            ckpt["textgru"]["data_digest"] = files_digest({**data, "path": str(mine)})
        torch.save(ckpt, tmp_path / f"{name}.ckpt")
    warned = "this checkpoint was saved by an older textgru, before it recorded its carving rule"
    with caplog.at_level("INFO"):
        textgru.load(tmp_path / "new.ckpt").evaluate()
    assert "as training carved it" in caplog.text and warned not in caplog.text
    caplog.clear()
    with caplog.at_level("INFO"):
        textgru.load(tmp_path / "old.ckpt").evaluate()
    assert "as training carved it" not in caplog.text  # no text under two labels: still not surely training's
    assert f"{warned}: the test split carved from {mine} now may differ" in caplog.text
    assert "data.path=<file> split=all" in caplog.text and "a digest of its data" not in caplog.text
    caplog.clear()
    with caplog.at_level("INFO"):
        textgru.load(tmp_path / "older.ckpt").evaluate()
    assert "as training carved it" not in caplog.text
    assert f"{warned} and a digest of its data (an edit of the file since is not seen)" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO"):
        textgru.load(tmp_path / "older.ckpt").evaluate(split="all")  # the way out: no carving, nothing to say
    assert warned not in caplog.text


def test_ctrl_c_during_a_first_import_ends_after_it_with_the_callers_handler_back(tmp_path: Path) -> None:
    """A review: Ctrl+C in the first seconds of the first `textgru.train` stopped `import torch` half-way, and every
    later `textgru.train`/`load` in that kernel failed ("Only a single TORCH_LIBRARY ..."). The heavy first imports
    run with SIGINT noted: the KeyboardInterrupt comes once they are done, the caller's handler back."""
    import signal

    from textgru.first_imports import imported

    (tmp_path / "slow_standin.py").write_text(
        "import os, signal, time\nos.kill(os.getpid(), signal.SIGINT)  # Ctrl+C during the import\n"
        "time.sleep(0.2)\nDONE = True\n"
    )
    sys.path.insert(0, str(tmp_path))
    mine = signal.signal(signal.SIGINT, signal.default_int_handler)  # the caller's (a kernel's, here pytest's)
    try:
        with pytest.raises(KeyboardInterrupt):
            imported("slow_standin")
        assert sys.modules["slow_standin"].DONE and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        (tmp_path / "term_standin.py").write_text(  # SIGTERM, where a Python handler takes it (the command line's
            "import os, signal, time\nos.kill(os.getpid(), signal.SIGTERM)\ntime.sleep(0.2)\nDONE = True\n"
        )  # turns it into Ctrl+C: a review saw it stop Lightning's import half-way)
        got: list[int] = []

        def on_term(signum: int, frame: object) -> None:
            got.append(signum)
            raise KeyboardInterrupt

        theirs = signal.signal(signal.SIGTERM, on_term)
        try:
            with pytest.raises(KeyboardInterrupt):
                imported("term_standin")
            assert sys.modules["term_standin"].DONE and got == [signal.SIGTERM]
            assert signal.getsignal(signal.SIGTERM) is on_term
            (tmp_path / "both_standin.py").write_text(  # both: each handler gets its own (a review: SIGINT's
                "import os, signal\nos.kill(os.getpid(), signal.SIGINT)\nos.kill(os.getpid(), signal.SIGTERM)\n"
            )  # KeyboardInterrupt came first and the SIGTERM handler was never called)
            got.clear()
            signal.signal(signal.SIGTERM, lambda signum, frame: got.append(signum))
            with pytest.raises(KeyboardInterrupt):
                imported("both_standin")
            assert got == [signal.SIGTERM]
        finally:
            signal.signal(signal.SIGTERM, theirs)
    finally:
        signal.signal(signal.SIGINT, mine)
        sys.path.remove(str(tmp_path))
        sys.modules.pop("slow_standin", None)
        sys.modules.pop("term_standin", None)
        sys.modules.pop("both_standin", None)


def test_ctrl_c_during_the_first_torch_import_leaves_textgru_usable(tmp_path: Path) -> None:
    """The same with the real torch, as a notebook meets it: Ctrl+C while `textgru.load` first imports torch."""
    code = (
        "import os, signal, sys, textgru\n"
        "signal.signal(signal.SIGINT, signal.default_int_handler)  # as a kernel's (a worker may pass on SIG_IGN)\n"
        "class CtrlC:  # Ctrl+C when torch imports torch.autograd: half-way\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'torch.autograd':\n"
        "            os.kill(os.getpid(), signal.SIGINT)\n"
        "sys.meta_path.insert(0, CtrlC())\n"
        "try:\n    textgru.load\nexcept KeyboardInterrupt:\n    print('interrupted')\n"
        "try:\n    textgru.load('/nonexistent/run')\nexcept textgru.TextgruError:\n    print('usable')\n"
        "import torch\nprint(torch.zeros(2).sum().item())\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(textgru.__file__).parents[1])}  # the textgru under test
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0 and r.stdout.split() == ["interrupted", "usable", "0.0"], r.stdout + r.stderr[-2000:]


def test_a_textgru_error_in_ipython_is_its_one_line(tmp_path: Path) -> None:
    """A review: a TextgruError in a notebook showed 30-40 lines of textgru's frames above its one clear line."""
    from textgru.errors import EveryRankError, TrainingStopped

    assert textgru.TextgruError("x=1 is bad; give 2")._render_traceback_() == ["TextgruError: x=1 is bad; give 2"]
    assert EveryRankError("diverged")._render_traceback_() == ["TextgruError: diverged"]
    assert TrainingStopped("stopped; resume=r")._render_traceback_() == ["TrainingStopped: stopped; resume=r"]
    pytest.importorskip("IPython.core.interactiveshell", reason="IPython is not a test dependency")
    # In a Python of its own: a shell sets sys.ps1 and builtins.__IPYTHON__ for good, after which this worker's later
    # tests took themselves for a notebook (CI, whose Python has IPython: rank_starter() said ddp_notebook).
    code = (
        "import contextlib, io\n"
        "from IPython.core.interactiveshell import InteractiveShell\n"
        "shell = InteractiveShell.instance(colors='nocolor')\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out, contextlib.redirect_stderr(io.StringIO()) as err:\n"
        "    shell.run_cell('import textgru\\ndef f():\\n    raise textgru.TextgruError(\"x=1 is bad; give 2\")\\nf()')\n"
        "print(repr((out.getvalue() + err.getvalue()).strip()))\n"
    )
    r = run_python(["-c", code], env={"IPYTHONDIR": str(tmp_path)}, timeout=120, fresh=True)  # no history in ~
    assert r.returncode == 0 and r.stdout.strip() == repr("TextgruError: x=1 is bad; give 2"), r.stdout + r.stderr


def test_a_prediction_shows_in_a_notebook_as_bars_with_its_text_escaped() -> None:
    """A notebook shows a `Prediction` as its text and a bar a label (the predicted one in bold); text and labels
    from the user's data are escaped, never read as HTML."""
    p = textgru.Prediction("<script>alert(1)</script> " + "x" * 400, "<b>pos", 0.75, {"neg": 0.25, "<b>pos": 0.75})
    html = p._repr_html_()
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<b>&lt;b&gt;pos</b>" in html and html.count("<tr>") == 2
    assert "width:75.0px" in html and "width:25.0px" in html and "0.750" in html
    assert "x" * 300 not in html and "…" in html  # the text cut at HTML_TEXT_CHARS
    many = {f"l{i}": (i + 1) / 465 for i in range(30)}  # a review: 120 labels were a 16 kB table; a control
    shown = textgru.Prediction("a\x1b[31mred\u202e", "l29", many["l29"], many)._repr_html_()  # character went in
    assert shown.count("<tr>") == 21 and "(and 10 less likely labels)" in shown and "<b>l29</b>" in shown
    assert "\x1b" not in shown and "\u202e" not in shown and "a\\x1b[31mred\\u202e" in shown


def test_predict_proba_gives_a_plain_tensor_the_caller_can_edit_and_train_on(clf: textgru.Classifier) -> None:
    """A review: its probabilities were an inference-mode tensor, so `p[0, 0] = 0`, `p /= 2` and a distillation loss's
    backward raised "Inplace update to inference tensor outside InferenceMode" / "cannot be saved for backward"."""
    import torch.nn.functional as F

    probs = clf.predict_proba(["what a lovely day", "awful"])
    one = clf.predict_proba("what a lovely day")
    assert not probs.is_inference() and not one.is_inference()
    student = torch.zeros(2, probs.shape[1], requires_grad=True)
    F.cross_entropy(student, probs).backward()  # as distilling from it does
    assert student.grad is not None
    probs /= 2
    one[0] = 0
