"""ONNX export and the onnxruntime backend: exported graphs agree with PyTorch (padding-exact, every length), the
inference API and the commands give the same results on both backends, the folder holds nothing pickled, and bad
exports, an existing output and a missing extra each get one line."""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import ROOT, built_once, make_rows, run_python, run_script, run_textgru

import textgru
from textgru.checkpoint import checkpoint_extras, load_checkpoint, rebuild_model
from textgru.data.splitting import SPLIT_RULE
from textgru.errors import TextgruError
from textgru.models import model_class
from textgru.onnx_graphs import ClassifierGraph, ForecastGraph

pytest.importorskip("onnxruntime")

TOL = 1e-4
N = 200  # random inputs per length


@pytest.fixture(autouse=True)
def one_thread():
    """PyTorch and onnxruntime (which follows torch's thread count) on one thread: on a busy 2-core machine two
    threads make the many small GRU calls of the parity sweeps much slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def one_line_error(r, *needles: str) -> None:
    assert r.returncode == 2, r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, r.stderr[-2000:]
    for n in needles:
        assert n in errors[0], errors[0]


def random_checkpoint(path: Path, task: str, name: str, args: dict, tokenizer: str | None, **extras) -> Path:
    """A checkpoint in textgru's format around a randomly initialised model (the weights do not matter for parity)."""
    torch.manual_seed(0)
    model = model_class(name)(**args)
    meta = checkpoint_extras(
        task, model, args, tokenizer, extras.pop("labels", None), {"source": "local"}, extras.pop("max_length")
    )
    meta.update(extras)
    torch.save({"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "textgru": meta}, path)
    return path


NORM = {"columns": ["a", "b"], "mean": [1.0, -2.0], "std": [0.5, 3.0]}


def forecast_checkpoint(path: Path, normalisation: dict = NORM, **variant) -> Path:
    args = {"num_features": 2, "hidden_size": 8, "num_layers": 2, **variant}
    return random_checkpoint(
        path, "forecast", "GRUForecaster", args, None, max_length=12, normalisation=normalisation, window=12, horizon=3
    )


def widened(tokenizer: str, size: int) -> str:
    """A word-level tokenizer's JSON with made-up words added up to `size` tokens: a loaded model's tokenizer must
    have as many tokens as its embedding has rows."""
    spec = json.loads(tokenizer)
    vocab = spec["model"]["vocab"]
    vocab.update({f"made-up-{i}": i for i in range(len(vocab), size)})
    return json.dumps(spec)


def classifier_checkpoint(path: Path, tokenizer: str, max_length: int = 64, **variant) -> Path:
    """A random BiGRU classifier of the default's shape (meanmax pooling) and max_length (tweets: 64), smaller."""
    args = {"vocab_size": 300, "num_classes": 3, "embedding_dim": 16, "hidden_size": 24, **variant}
    tokenizer = widened(tokenizer, args["vocab_size"])
    labels = ["negative", "neutral", "positive"]
    return random_checkpoint(path, "sentiment", "GRUClassifier", args, tokenizer, labels=labels, max_length=max_length)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_run: Path, lm_run: Path) -> dict:
    """Exports of the tiny trained classifier and LM runs, a random forecaster, and a random classifier of the
    default's max_length (64) for the every-length sweep (the tiny run's is 256: that sweep is a slow test)."""

    def build(root: Path) -> None:
        forecast_checkpoint(root / "forecast.ckpt")
        classifier_checkpoint(root / "classifier64.ckpt", load_checkpoint(tiny_run)["textgru"]["tokenizer"])
        for task, run in runs(root).items():
            textgru.export(run, root / task)

    def runs(root: Path) -> dict[str, Path]:
        return {
            "sentiment": tiny_run,
            "lm": lm_run,
            "forecast": root / "forecast.ckpt",
            "classifier64": root / "classifier64.ckpt",
        }

    root = built_once(tmp_path_factory, "exports", build)
    return {task: root / task for task in runs(root)} | {"runs": runs(root)}


def torch_model(run: Path) -> tuple[torch.nn.Module, dict]:
    return rebuild_model(load_checkpoint(run), "cpu")


# ---------------------------------------------------------------- parity, every length, batched with longer ones


def classifier_parity(model: torch.nn.Module, runner, max_length: int, vocab: int, pad: int, seed: int = 0) -> float:
    """For every length L: N random texts of length L on PyTorch alone (no padding), and on onnxruntime batched with
    N/10 texts 1-16 tokens longer (right-padded to the longest; at L = max_length, as long): max abs difference of
    logits and probabilities."""
    g = torch.Generator().manual_seed(seed)
    graph = ClassifierGraph(model)
    worst = 0.0
    with torch.inference_mode():
        for length in range(1, max_length + 1):
            ids = torch.randint(2, vocab, (N, length), generator=g)
            logits, probs = graph(ids, torch.full((N,), length))
            low, high = min(length + 1, max_length), min(length + 16, max_length)
            longer = torch.randint(low, high + 1, (N // 10,), generator=g)
            lengths = torch.cat([torch.full((N,), length), longer])  # (N + N/10,)
            batch = torch.randint(2, vocab, (len(lengths), int(lengths.max())), generator=g)
            batch[:N, :length] = ids
            batch[torch.arange(batch.shape[1])[None, :] >= lengths[:, None]] = pad  # right padding
            got = runner(batch, lengths)[:N]
            worst = max(worst, float((got - logits).abs().max()), float((got.softmax(-1) - probs).abs().max()))
    return worst


@pytest.mark.parametrize("which", ["classifier64", pytest.param("sentiment", marks=pytest.mark.slow)])
def test_classifier_parity_every_length_batched_with_longer(exported: dict, which: str) -> None:
    """200 random texts of every length 1..max_length (64; the slow one: the tiny trained run's 256)."""
    model, meta = torch_model(exported["runs"][which])
    clf = textgru.load(exported[which])
    assert isinstance(clf, textgru.Classifier) and clf.meta["backend"] == "onnxruntime"
    config = json.loads((exported[which] / "config.json").read_text())
    assert config["max_length"] == meta["max_length"] and config["labels"] == meta["label_names"]
    vocab = model.embedding.num_embeddings
    worst = classifier_parity(model, clf.model, config["max_length"], vocab, config["pad_id"])
    assert worst < TOL, worst
    # the graph's own probs output (what other runtimes read) is the softmax of its logits
    ids, lengths = torch.randint(2, vocab, (4, 9)), torch.tensor([9, 4, 1, 7])
    logits, probs = clf.model.session.run(None, {"input_ids": ids.numpy(), "lengths": lengths.numpy()})
    np.testing.assert_allclose(probs, torch.softmax(torch.from_numpy(logits), -1).numpy(), atol=1e-6)


def test_lm_parity_every_length_batched_with_longer_and_carried_state(exported: dict) -> None:
    model, meta = torch_model(exported["runs"]["lm"])
    lm = textgru.load(exported["lm"])
    max_length, vocab = int(meta["max_length"]), model.decoder.out_features
    g = torch.Generator().manual_seed(1)
    worst = 0.0
    with torch.inference_mode():
        for length in range(1, max_length + 1):
            ids = torch.randint(0, vocab, (N, length), generator=g)
            hidden = torch.randn(model.num_layers, N, model.hidden_size, generator=g) * 0.5
            logits, h_out = model(ids, hidden)  # (N, length, vocab), (layers, N, hidden)
            got_logits, got_h = lm.model(ids, hidden)  # alone: the state after the last token
            worst = max(worst, float((got_logits - logits).abs().max()), float((got_h - h_out).abs().max()))
            longer = torch.randint(0, vocab, (N + N // 10, max_length), generator=g)  # batched with longer rows
            longer[:N, :length] = ids
            batch_logits, _ = lm.model(longer, torch.cat([hidden, hidden[:, : N // 10]], 1))
            worst = max(worst, float((batch_logits[:N, :length] - logits).abs().max()))
    assert worst < TOL, worst


def test_forecast_parity_every_window_length_and_the_forecaster_api(exported: dict) -> None:
    model, meta = torch_model(exported["runs"]["forecast"])
    graph = ForecastGraph(model, NORM["mean"], NORM["std"], meta["horizon"])
    onnx_fc, torch_fc = textgru.load(exported["forecast"]), textgru.Forecaster.load(exported["runs"]["forecast"])
    assert isinstance(onnx_fc, textgru.Forecaster) and onnx_fc.meta["backend"] == "onnxruntime"
    g = torch.Generator().manual_seed(2)
    mean, std = torch.tensor(NORM["mean"]), torch.tensor(NORM["std"])
    worst = 0.0
    with torch.inference_mode():
        for length in range(1, int(meta["window"]) + 1):
            windows = torch.randn(N, length, 2, generator=g) * std + mean
            expected = graph(windows)  # (N, horizon, features)
            worst = max(worst, float((onnx_fc.model(windows) - expected).abs().max()))
    assert worst < TOL, worst
    series = np.random.default_rng(3).normal(size=(40, 2)) * NORM["std"] + NORM["mean"]
    np.testing.assert_allclose(onnx_fc.predict(series), torch_fc.predict(series), atol=TOL)
    for horizon in (1, 2):  # shorter than the exported 3: the roll-out's first steps
        np.testing.assert_allclose(
            onnx_fc.predict(series, horizon=horizon), torch_fc.predict(series, horizon=horizon), atol=TOL
        )
    with pytest.raises(TextgruError, match="at most the horizon it was exported with"):
        onnx_fc.predict(series, horizon=5)
    for shape in ((2, 5, 2), (int(meta["window"]), 2), (1, int(meta["window"]), 1)):  # ran, read as other windows
        for fc in (onnx_fc, torch_fc):
            with pytest.raises(TextgruError, match=rf"^rollout takes windows of shape \(n, {meta['window']}, 2\)"):
                fc.rollout(np.zeros(shape))
    for horizon in (0, -1, "2", 2.5, True):  # both backends refuse, through predict and through rollout
        for fc in (onnx_fc, torch_fc):
            with pytest.raises(TextgruError, match=r"^horizon=.* must be an integer of at least 1$"):
                fc.rollout(series[None, -int(meta["window"]) :], horizon)
            with pytest.raises(TextgruError, match=r"^horizon=.* must be an integer of at least 1$"):
                fc.predict(series, horizon=horizon)
    window = series[None, -int(meta["window"]) :]
    nan, text = window.copy(), window.astype(str)  # a review: NaN from one backend, a number from the other, and a
    nan[0, 3, 1] = np.nan  # numpy traceback for strings; predict refused both
    for fc in (onnx_fc, torch_fc):
        with pytest.raises(TextgruError, match="^the windows hold missing or infinite values"):
            fc.rollout(nan)
        text[0, 0, 0] = "x"
        with pytest.raises(TextgruError, match="^the windows are not numeric"):
            fc.rollout(text)


def test_export_refuses_a_graph_that_differs_from_pytorch(
    tmp_path: Path, tiny_run: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exporter's self-check: a GRU lowering without `sequence_lens` (the backward direction reads padding) is
    caught before anything is written."""
    from onnxscript import opset18 as op

    import textgru.onnx_lowering as lowering

    def no_lengths(x, h0, w, r, b, lengths=None):
        y, y_h = op.GRU(x, w, r, b, None, h0, direction="bidirectional", hidden_size=r.shape[2], linear_before_reset=1)
        return op.Transpose(y, perm=[0, 2, 1, 3]), y_h

    monkeypatch.setitem(lowering.CUSTOM_TRANSLATIONS, torch.ops.textgru.gru_layer.default, no_lengths)
    tokenizer = load_checkpoint(tiny_run)["textgru"]["tokenizer"]
    args = {"vocab_size": 60, "num_classes": 2, "embedding_dim": 8, "hidden_size": 12}
    ckpt = random_checkpoint(tmp_path / "v.ckpt", "sentiment", "GRUClassifier", args, tokenizer, labels=["a", "b"],
                             max_length=24)  # fmt: skip
    with pytest.raises(TextgruError, match="differs from PyTorch.*nothing was written. A model whose weights grew"):
        textgru.export(ckpt, tmp_path / "export")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.ckpt"]


def test_export_refuses_outputs_that_are_not_finite(tmp_path: Path, tiny_run: Path) -> None:
    """A review: head weights so large (finite) that the logits overflowed exported with "max abs difference 0.0"
    recorded (max() drops the NaN differences), and the export answered NaN probabilities."""
    tokenizer = load_checkpoint(tiny_run)["textgru"]["tokenizer"]
    args = {"vocab_size": 60, "num_classes": 2, "embedding_dim": 8, "hidden_size": 12}
    ckpt = random_checkpoint(tmp_path / "v.ckpt", "sentiment", "GRUClassifier", args, tokenizer, labels=["a", "b"],
                             max_length=24)  # fmt: skip
    saved = torch.load(ckpt, weights_only=True)
    saved["state_dict"]["model.head.weight"] = torch.full_like(saved["state_dict"]["model.head.weight"], 3e38)
    saved["state_dict"]["model.head.bias"] = torch.tensor([3e38, -3e38])
    torch.save(saved, ckpt)
    with pytest.raises(TextgruError, match="^the model's outputs are NaN or infinite on random inputs .* nothing was"):
        textgru.export(ckpt, tmp_path / "new" / "sub" / "export")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v.ckpt"]  # nor the folders made for it (a review)


def test_the_self_check_reads_texts_of_a_long_max_length_only_so_far(tmp_path: Path, tiny_run: Path) -> None:
    """A review: the self-check ran 32 texts of max_length tokens: max_length=100000 ran for minutes (1.8 GB), 10**6
    ran out of memory, 10**18 overflowed. Its texts stop at 512 tokens; config.json keeps the checkpoint's max_length."""
    from textgru.onnx_graphs import classifier_plan

    tokenizer = load_checkpoint(tiny_run)["textgru"]["tokenizer"]
    args = {"vocab_size": 60, "num_classes": 2, "embedding_dim": 8, "hidden_size": 12}
    ckpt = random_checkpoint(tmp_path / "v.ckpt", "sentiment", "GRUClassifier", args, tokenizer, labels=["a", "b"],
                             max_length=100_000)  # fmt: skip
    plan = classifier_plan(*rebuild_model(load_checkpoint(ckpt)))
    assert max(ids.shape[1] for ids, _ in plan["checks"]()) == 512
    out = textgru.export(ckpt, tmp_path / "export")
    assert json.loads((out / "config.json").read_text())["max_length"] == 100_000


@pytest.mark.parametrize("token", ["[PAD]", "[UNK]"])
def test_export_refuses_a_tokenizer_without_a_special_token(tmp_path: Path, tiny_run: Path, token: str) -> None:
    """A review: a checkpoint's tokenizer without [PAD] exported with pad_id 0 written (refused by its own load, "export
    again" giving the same folder); without [UNK], with unk_id null. The export refuses it, and writes nothing."""
    saved = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    spec = json.loads(saved["textgru"]["tokenizer"])
    spec["model"]["vocab"]["[XX]"] = spec["model"]["vocab"].pop(token)
    for added in spec["added_tokens"]:
        added["content"] = "[XX]" if added["content"] == token else added["content"]
    saved["textgru"]["tokenizer"] = json.dumps(spec)
    torch.save(saved, tmp_path / "v.ckpt")
    with pytest.raises(TextgruError, match=re.escape(f"v.ckpt: its tokenizer has no {token} token")) as e:
        textgru.export(tmp_path / "v.ckpt", tmp_path / "export")
    assert "\n" not in str(e.value) and sorted(p.name for p in tmp_path.iterdir()) == ["v.ckpt"]


# ---------------------------------------------------------------- the inference API and the commands on both backends


def test_generation_identical_on_both_backends(exported: dict) -> None:
    torch_lm, onnx_lm = textgru.LanguageModel.load(exported["runs"]["lm"]), textgru.load(exported["lm"])
    assert isinstance(onnx_lm, textgru.LanguageModel)
    greedy = dict(max_new_tokens=300, greedy=True)
    a, b = onnx_lm.generate("ROMEO:", **greedy), torch_lm.generate("ROMEO:", **greedy)
    assert a == b and len(onnx_lm.tokenizer.encode(a[0]).ids) >= 250  # 300 tokens (a char LM: about 300 chars)
    sampled = dict(max_new_tokens=300, temperature=0.9, top_p=0.95, num_samples=3, seed=7)
    samples = onnx_lm.generate("KING:", **sampled)
    assert samples == torch_lm.generate("KING:", **sampled) and len(set(samples)) == 3
    streamed = "".join(onnx_lm.stream("JULIET:", max_new_tokens=120, seed=3, stop=["\n\n"]))
    assert streamed == torch_lm.generate("JULIET:", max_new_tokens=120, seed=3, stop=["\n\n"])[0]
    texts = ["KING:\nMy lord, the queen.", "zqx", "ROMEO:\nthe king and queen of rome"]
    np.testing.assert_allclose(onnx_lm.score(texts), torch_lm.score(texts), atol=TOL)


def test_config_json_generation_recipe_gives_what_textgru_generates(exported: dict) -> None:
    """A review: the recipe in config.json and README left out the document separator textgru reads before the
    prompt, so a runtime following it sampled from other probabilities (0.055 apart), and an empty prompt gave an
    empty axis, which aborts onnxruntime. Followed greedily with onnxruntime alone, it now generates what textgru does."""
    import onnxruntime as ort
    from tokenizers import Tokenizer

    folder = exported["lm"]
    config = json.loads((folder / "config.json").read_text())
    tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    session = ort.InferenceSession(str(folder / "model.onnx"))
    assert "document_separator_id" in config["generation"]
    for prompt in ("KING:", ""):
        ids = [config["document_separator_id"], *tok.encode(prompt).ids]
        hidden = np.zeros((config["num_layers"], 1, config["hidden_size"]), dtype=np.float32)
        new: list[int] = []
        for _ in range(60):
            logits, hidden = session.run(None, {"input_ids": np.array([ids], dtype=np.int64), "hidden": hidden})
            last = logits[0, -1]
            last[config["never_sample_ids"]] = -np.inf
            ids = [int(last.argmax())]
            new.append(ids[0])
        ours = textgru.load(folder).generate(prompt, max_new_tokens=60, greedy=True)[0]
        assert tok.decode(new) == ours, (prompt, ours)


def test_classifier_api_same_on_both_backends(exported: dict, small_csv: Path) -> None:
    torch_clf, onnx_clf = textgru.Classifier.load(exported["runs"]["sentiment"]), textgru.load(exported["sentiment"])
    assert onnx_clf.device == torch.device("cpu") and "onnxruntime" in repr(onnx_clf.model)
    assert textgru.load(exported["sentiment"], device="cpu:0").device == torch.device("cpu")  # the CPU by any name
    texts = [t for t, _ in make_rows(120, seed=5)] + ["", "   ", "good " * 400]
    a, b = torch_clf.predict_proba(texts, batch_size=17), onnx_clf.predict_proba(texts, batch_size=64)
    assert float((a - b).abs().max()) < TOL
    report_t = torch_clf.evaluate(str(small_csv), text_column="review", label_column="sentiment")
    report_o = onnx_clf.evaluate(str(small_csv), text_column="review", label_column="sentiment")
    assert report_o["confusion_matrix"] == report_t["confusion_matrix"]
    assert abs(report_o["macro_f1"] - report_t["macro_f1"]) < 1e-9
    with pytest.raises(
        TextgruError,
        match=r"precision=bf16 runs textgru's PyTorch classifiers; .* is an export \(onnxruntime runs it in fp32\)",
    ):
        onnx_clf.with_precision("bf16")


def _predict_in_child(clf: textgru.Classifier, texts: list[str]) -> list[str]:
    return [p.label for p in clf.predict(texts)]


def test_exports_pickle_into_other_processes(tmp_path: Path, exported: dict) -> None:
    """An exported model goes where a PyTorch one goes: into a process pool (`datasets.map(num_proc=...)` pickles
    it too). It raised "cannot pickle 'InferenceSession'"; the copy runs the same graph even when the folder has
    been changed since loading."""
    import multiprocessing
    import pickle
    import shutil

    folder = copy_export(exported["sentiment"], tmp_path / "sentiment")
    clf = textgru.load(folder)
    texts = [t for t, _ in make_rows(40, seed=3)]
    shutil.rmtree(folder)  # the copy is made from what was loaded, not from the folder again
    copy = pickle.loads(pickle.dumps(clf))
    assert float((copy.predict_proba(texts) - clf.predict_proba(texts)).abs().max()) == 0
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        assert pool.apply(_predict_in_child, (clf, texts)) == [p.label for p in clf.predict(texts)]
    lm = textgru.load(exported["lm"])
    greedy = dict(max_new_tokens=40, greedy=True)
    assert pickle.loads(pickle.dumps(lm)).generate("ROMEO:", **greedy) == lm.generate("ROMEO:", **greedy)


def test_predict_command_same_jsonl_from_the_export(tmp_path: Path, exported: dict) -> None:
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(t for t, _ in make_rows(40, seed=9)) + "\n", encoding="utf-8")
    outs = {}
    for name, path in (("ckpt", exported["runs"]["sentiment"]), ("onnx", exported["sentiment"])):
        r = run_script("predict", f"ckpt_path={path}", f"input={texts}", f"output={tmp_path / name}.jsonl")
        assert r.returncode == 0, r.stderr[-2000:]
        outs[name] = [json.loads(line) for line in (tmp_path / f"{name}.jsonl").read_text().splitlines()]
    assert len(outs["onnx"]) == len(outs["ckpt"]) == 40
    for a, b in zip(outs["ckpt"], outs["onnx"], strict=True):
        assert a["text"] == b["text"] and a["label"] == b["label"]
        assert max(abs(a["probs"][k] - b["probs"][k]) for k in a["probs"]) < TOL


# ---------------------------------------------------------------- the folder, the command, and bad exports: one line


def test_the_folder_holds_three_plain_files(exported: dict) -> None:
    import onnx

    for task in ("sentiment", "lm", "forecast"):
        folder = exported[task]
        assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~current_umask())
        names = {p.name for p in folder.iterdir()}
        assert names == ({"model.onnx", "config.json"} | ({"tokenizer.json"} if task != "forecast" else set()))
        config = json.loads((folder / "config.json").read_text())  # plain JSON
        assert config["task"] == task and config["opset"] == 18 and "_target_" not in json.dumps(config)
        assert config["parity_with_pytorch"]["max_abs_diff"] < TOL
        assert config["split_rule"] == SPLIT_RULE  # how the checkpoint's data was split: evaluate() reads it
        if task != "forecast":  # its .ckpt is not a run's: no metrics.json; the others keep their run's, words too
            metrics = json.loads((exported["runs"][task] / "metrics.json").read_text())
            assert config["training_metrics"] == metrics and "stopped_by" in metrics
        for p in folder.iterdir():
            assert not p.read_bytes().startswith(b"\x80"), p  # no pickle stream
        model = onnx.load(str(folder / "model.onnx"))  # the ONNX protobuf; axes named as in config.json
        shapes = [[d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim] for v in model.graph.input]
        assert shapes == [i["shape"] for i in config["inputs"]]
        assert {"textgru.format": "textgru-onnx", "textgru.task": task}.items() <= {
            m.key: m.value for m in model.metadata_props
        }.items()


def test_export_command_refuses_an_existing_folder_and_replaces_only_an_export(tmp_path: Path, tiny_run: Path) -> None:
    out = tmp_path / "exp"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    one_line_error(run_script("export", f"ckpt_path={tiny_run}", f"output={out}"), "exists", "overwrite=true")
    one_line_error(
        run_script("export", f"ckpt_path={tiny_run}", f"output={out}", "overwrite=true"), "not a textgru export"
    )
    assert [p.name for p in out.iterdir()] == ["notes.txt"] and (out / "notes.txt").read_text() == "keep me"
    one_line_error(run_script("export", f"ckpt_path={tiny_run}", f"output={tmp_path / 'x'}", "format=tflite"), "onnx")
    done = run_script("export", f"ckpt_path={tiny_run}", f"output={tmp_path / 'new'}")
    assert done.returncode == 0, done.stderr[-2000:]
    hint = done.stdout.strip().splitlines()[-1]  # the commands it prints take the folder as they are written
    assert f"textgru predict ckpt_path={tmp_path / 'new'}" in hint and f"serve classifier={tmp_path / 'new'}" in hint
    one_line_error(
        run_script("predict", f"ckpt_path={tmp_path / 'new' / 'config.json'}", "text=hi"),
        f"is a file of the ONNX export '{tmp_path / 'new'}'; give the folder, or its run folder where a checkpoint",
    )
    one_line_error(  # a review: "give the folder itself" led to "... is an ONNX export, not a checkpoint"
        run_script("export", f"ckpt_path={tmp_path / 'new' / 'model.onnx'}", f"output={tmp_path / 'again'}"),
        "is a file of the ONNX export",
    )
    (tmp_path / "new").rename(tmp_path / "new.onnx")  # a folder named like a graph file: read as the folder it is
    renamed = run_script("predict", f"ckpt_path={tmp_path / 'new.onnx'}", "text=hi")  # (a review: "does not exist")
    assert renamed.returncode == 0, renamed.stderr[-2000:]
    (tmp_path / "new.onnx").rename(tmp_path / "new")
    one_line_error(  # where a checkpoint is needed: it said "no best.ckpt in folder"
        run_script("export", f"ckpt_path={tmp_path / 'new'}", f"output={tmp_path / 'again'}"),
        f"'{tmp_path / 'new'}' is an ONNX export, not a checkpoint; give the run folder it came from",
    )
    assert not (tmp_path / "x").exists() and not list(tmp_path.glob(".x*"))


def test_export_over_an_earlier_export_needs_overwrite(
    tmp_path: Path, exported: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    ckpt = exported["runs"]["forecast"]
    out = textgru.export(ckpt, tmp_path / "f")
    stamp = (out / "model.onnx").stat().st_mtime_ns
    with pytest.raises(TextgruError, match="exists; pass overwrite=true"):
        textgru.export(ckpt, out)
    assert textgru.export(ckpt, out, overwrite=True) == out and (out / "model.onnx").stat().st_mtime_ns != stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]
    # a review: 'x/..' staged inside the export it replaced (all deleted, then FileNotFoundError), '.' likewise
    assert textgru.export(ckpt, out / "sub" / "..", overwrite=True) == out and not (out / "sub").exists()
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.onnx"]
    monkeypatch.chdir(out)
    with pytest.raises(TextgruError, match="is the folder you are in"):
        textgru.export(ckpt, ".", overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["config.json", "model.onnx"]
    monkeypatch.chdir(tmp_path)
    with pytest.raises(TextgruError, match=r"ends in \.onnx; an export is a folder .*: name it, e.g. output=\S*/f$"):
        textgru.export(ckpt, "f.onnx")
    (out / "eval").mkdir()  # an eval report written into the export: overwrite=true must not delete it
    (out / "eval" / "test_metrics.json").write_text("{}")
    with pytest.raises(TextgruError, match=r"holds more than an export \(eval\)"):
        textgru.export(ckpt, out, overwrite=True)
    assert (out / "eval" / "test_metrics.json").read_text() == "{}"
    (tmp_path / "link").symlink_to(out)
    with pytest.raises(TextgruError, match="symbolic link"):
        textgru.export(ckpt, tmp_path / "link", overwrite=True)
    (tmp_path / "afile").write_text("x")  # a review: "cannot write in .../afile" blamed permissions
    with pytest.raises(TextgruError, match=r"afile is a file, so no folder can be made under it; choose another$"):
        textgru.export(ckpt, tmp_path / "afile" / "sub")


def test_an_export_of_the_longest_name_allowed_is_replaced(tmp_path: Path, exported: dict) -> None:
    """A review: overwrite=true over an export named with 241 bytes (the most the output's check allows: its staging
    name beside it is then 255) failed with "[Errno 36] File name too long" after the whole export, setting the
    earlier export aside under a name 4 bytes longer than the staging one."""
    from textgru.config_path_rules import Folder

    out = tmp_path / ("f" * 241)
    assert Folder().problem(str(out)) is None and "holds a name of 242 bytes" in Folder().problem(f"{out}f")
    copy_export(exported["forecast"], out)
    stamp = (out / "model.onnx").stat().st_mtime_ns
    assert textgru.export(exported["runs"]["forecast"], out, overwrite=True) == out
    assert (out / "model.onnx").stat().st_mtime_ns != stamp and [p.name for p in tmp_path.iterdir()] == [out.name]


def test_a_folder_made_while_exporting_is_refused_not_deleted(
    tmp_path: Path, exported: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by a review: the output was checked only at the start; a folder the user made there during the export
    (or an earlier export given notes meanwhile) was deleted without overwrite=true, and the export said it succeeded."""
    import textgru.onnx_export as onnx_export

    ckpt, out, real_seal = exported["runs"]["forecast"], tmp_path / "f", onnx_export.seal

    def user_writes_meanwhile(path, config):  # the last step before the export moves into place
        real_seal(path, config)
        out.mkdir(exist_ok=True)
        (out / "notes.txt").write_text("mine")

    monkeypatch.setattr(onnx_export, "seal", user_writes_meanwhile)
    with pytest.raises(TextgruError, match="exists; pass overwrite=true"):
        textgru.export(ckpt, out)
    with pytest.raises(TextgruError, match=r"holds files that are not a textgru export"):
        textgru.export(ckpt, out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"] and (out / "notes.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f"]  # no staging folder left


def current_umask() -> int:
    import os

    mask = os.umask(0)
    os.umask(mask)
    return mask


def copy_export(src: Path, dst: Path) -> Path:
    import shutil

    return Path(shutil.copytree(src, dst))


def write_sealed(folder: Path, config: dict) -> None:
    """config.json written with its digest in model.onnx (and model.onnx's checksum in it), as an export writes them:
    a mix-up made to pass the digest check, for the checks behind it."""
    from textgru.onnx_marks import seal

    try:
        seal(folder / "model.onnx", config)
    except Exception:  # not a graph onnx reads (a test's truncated file): the config as edited
        pass
    (folder / "config.json").write_text(json.dumps(config))


def test_an_edited_config_json_is_refused(tmp_path: Path, exported: dict) -> None:
    """Found by a review: config.json's labels reordered (or its max_length changed) were served silently, every
    answer's label wrong ("positive" 0.986 became "negative" 0.926). model.onnx holds the digest of the config.json
    written with it; an export from before the digest (none in the graph) still loads."""
    import onnx

    for name, edit in {
        "labels": lambda c: c.update(labels=[c["labels"][i] for i in (2, 1, 0)]),
        "max_length": lambda c: c.update(max_length=4),
    }.items():
        folder = copy_export(exported["sentiment"], tmp_path / name)
        config = json.loads((folder / "config.json").read_text())
        edit(config)
        (folder / "config.json").write_text(json.dumps(config, indent=1))
        with pytest.raises(TextgruError, match=r"config.json' was changed after the export") as e:
            textgru.load(folder)
        assert "\n" not in str(e.value)
    older = copy_export(exported["sentiment"], tmp_path / "older")  # its graph without the digest mark
    model = onnx.load(str(older / "model.onnx"))
    kept = [(p.key, p.value) for p in model.metadata_props if p.key != "textgru.config_sha256"]
    del model.metadata_props[:]
    for key, value in kept:
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(older / "model.onnx"))
    config = json.loads((older / "config.json").read_text())
    config["model_sha256"] = hashlib.sha256((older / "model.onnx").read_bytes()).hexdigest()
    (older / "config.json").write_text(json.dumps(config))
    assert textgru.load(older).predict(["great"])[0].label in config["labels"]


def test_an_output_folder_named_none_is_a_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: export(ckpt, "None") was refused as "no output folder given" (the command line's placeholders were
    compared in the Python API too); only a real None or an empty name is."""
    ckpt = tmp_path / "missing.ckpt"  # the output is checked first: a missing checkpoint is the next refusal
    monkeypatch.chdir(tmp_path)
    for missing in (None, "", " "):
        with pytest.raises(TextgruError, match="^no output folder given: pass output=<folder>$"):
            textgru.export(ckpt, missing)  # type: ignore[arg-type]
    with pytest.raises(TextgruError, match="missing.ckpt' does not exist"):  # past the output's checks
        textgru.export(ckpt, "None")
    assert sorted(tmp_path.iterdir()) == []  # nothing made for the refused export


def test_bad_exports_get_one_line(tmp_path: Path, exported: dict) -> None:
    import onnx
    from onnx import TensorProto, helper

    foreign = tmp_path / "foreign"  # an ONNX model textgru did not write, alone or beside our config
    foreign.mkdir()
    node = helper.make_node("Identity", ["x"], ["y"])
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("x", "y")]
    onnx.save(helper.make_model(helper.make_graph([node], "g", [vi[0]], [vi[1]])), str(foreign / "model.onnx"))
    with pytest.raises(TextgruError, match="not one textgru exported"):
        textgru.load(foreign / "model.onnx")
    truncated = copy_export(exported["sentiment"], tmp_path / "truncated")
    data = (truncated / "model.onnx").read_bytes()
    (truncated / "model.onnx").write_bytes(data[: len(data) // 2])
    with pytest.raises(TextgruError, match="truncated"):
        textgru.load(truncated)
    no_config = copy_export(exported["sentiment"], tmp_path / "no_config")
    (no_config / "config.json").unlink()
    with pytest.raises(TextgruError, match=r"has no config\.json"):
        textgru.load(no_config)
    hugging = tmp_path / "hugging"  # a review: another tool's model folder was "an export that lost model.onnx"
    hugging.mkdir()
    (hugging / "config.json").write_text('{"model_type": "bert"}')
    with pytest.raises(
        TextgruError, match=r"is neither a textgru export nor a run folder .its config\.json is another"
    ):
        textgru.load(hugging)
    one_line_error(run_script("predict", f"ckpt_path={no_config}", "text=hi"), "config.json")
    no_model = copy_export(exported["sentiment"], tmp_path / "no_model")
    (no_model / "model.onnx").unlink()
    with pytest.raises(TextgruError, match=r"has no model\.onnx; export again"):  # ours, its model lost
        textgru.load(no_model)
    one_line_error(run_script("generate", f"ckpt_path={exported['sentiment']}", "prompt=a"), "language-model")
    with pytest.raises(TextgruError, match=r"one; use it with textgru predict, eval or serve classifier=$"):
        textgru.LanguageModel.load(exported["sentiment"])  # what an export is for: not "export" it again


@pytest.mark.parametrize(
    "key,value,needle",
    [
        ("labels", {"_target_": "os.system", "command": "touch pwned"}, "labels="),
        ("max_length", "__import__('os')", "max_length="),
        ("task", "builtins.eval", "unknown task"),
        ("format_version", 99, "export format 99"),
        ("data_config", "!!python/object:os.system", "data_config is not a mapping"),
        ("unk_id", None, "unk_id is missing, where an integer belongs"),  # a review: read "unk_id='None'"
        ("training_metrics", [1], "training_metrics is not a mapping"),
        ("model", "os.system", "model is not a mapping"),
        ("labels", ["neg", "pos"], "names 2 labels but the graph gives 3 classes"),
    ],
)
def test_config_json_values_are_checked_plain_values(
    tmp_path: Path, exported: dict, key: str, value, needle: str
) -> None:
    """config.json is read as data: only its known keys, each checked to be a plain value of the right type."""
    folder = copy_export(exported["sentiment"], tmp_path / "tampered")
    config = json.loads((folder / "config.json").read_text())
    config[key] = value
    write_sealed(folder, config)  # the graph vouching for the edited config: the checks behind the digest
    with pytest.raises(TextgruError, match=needle.replace("(", r"\(")):
        textgru.load(folder)
    assert not (tmp_path / "pwned").exists() and not Path("pwned").exists()


def test_a_forecaster_of_a_series_in_millions_exports(tmp_path: Path) -> None:
    """A review: parity was held to 1e-4 in the series' units, so float32's rounding of a series near 5e6 (std 7e5)
    refused the export (8.4e-2, a relative 2e-8); it is now held in units of each column's std."""
    big = {"columns": ["sales", "visits"], "mean": [5e6, 2e4], "std": [7e5, 3.5e3]}
    folder = textgru.export(forecast_checkpoint(tmp_path / "f.ckpt", big), tmp_path / "f")
    parity = json.loads((Path(folder) / "config.json").read_text())["parity_with_pytorch"]
    assert parity["max_abs_diff"] < TOL and "std" in parity["units"], parity
    series = np.random.default_rng(0).normal(size=(30, 2)) * big["std"] + big["mean"]
    onnx_fc, torch_fc = textgru.load(folder), textgru.Forecaster.load(tmp_path / "f.ckpt")
    np.testing.assert_allclose(onnx_fc.predict(series), torch_fc.predict(series), rtol=1e-6)


@pytest.mark.parametrize("task", ["sentiment", "forecast"])
def test_export_leaves_the_callers_random_state(tmp_path: Path, request: pytest.FixtureRequest, task: str) -> None:
    """A review: the forecaster's example input was drawn from torch's global generator (the other plans' from a
    seeded one of their own), so exporting from a notebook moved the caller's random state."""
    ckpt = request.getfixturevalue("tiny_run") if task == "sentiment" else forecast_checkpoint(tmp_path / "f.ckpt")
    torch.manual_seed(0)
    state = torch.get_rng_state()
    textgru.export(ckpt, tmp_path / "export")
    assert torch.equal(torch.get_rng_state(), state)


def test_a_forecaster_export_with_implausible_values_is_one_line(tmp_path: Path, exported: dict) -> None:
    """A review: a resealed config.json with window 10**8 ran a 10**8-step input through the graph while loading (the
    kernel killed it at 22 GB, no word); std 0 loaded and scored NaN, exit 0."""
    for name, edit, needle in (
        ("window", lambda c: c.update(window=10**8), None),
        ("std", lambda c: c.update(std=[0.0] * len(c["std"])), r"^'[^']+': std holds 0\.0; each column's std must"),
        ("mean", lambda c: c.update(mean=[float("nan")] * len(c["mean"])), r"not readable JSON \(NaN is not a JSON"),
    ):
        folder = copy_export(exported["forecast"], tmp_path / name)
        config = json.loads((folder / "config.json").read_text())
        edit(config)
        write_sealed(folder, config)
        if needle is None:  # loads at once (a two-step probe); its forecasts need a series of that window
            with pytest.raises(TextgruError, match="the series has 40 rows; this model reads the last 100000000"):
                textgru.load(folder).predict(np.zeros((40, len(config["std"]))))
        else:
            with pytest.raises(TextgruError, match=needle):
                textgru.load(folder)


# the tokenizer check (data/tokenizer_schema.py) refuses an added token past the vocabulary before the pad checks
PAST_THE_VOCABULARY = r"tokenizer.json' has added tokens textgru does not write \(ids past its vocabulary\)"


def test_files_that_do_not_belong_together_get_one_line(tmp_path: Path, exported: dict) -> None:
    """Found by an audit: a graph swapped in with config.json's checksum updated answered every text with each label
    at 1.0; another run's tokenizer, an edited vocab_size or num_layers, or a repeated label was taken silently (or
    tried to allocate terabytes, or failed every request with onnxruntime's error); so was a pad_id or unk_id that
    another runtime would pad with but tokenizer.json does not have, and a tokenizer.json of the same size and special
    tokens with two tokens swapped (every text read wrong). Each is one line at load."""
    from textgru.onnx_format import sha256

    def tampered(name: str, task: str, edit) -> Path:
        folder = copy_export(exported[task], tmp_path / name)
        config = json.loads((folder / "config.json").read_text())
        edit(folder, config)
        write_sealed(folder, config)
        return folder

    def swap_graph(folder: Path, config: dict) -> None:  # a graph of the right names, marked and checksummed as ours
        import onnx
        from onnx import TensorProto, helper

        from textgru.onnx_format import FORMAT

        nodes = [helper.make_node("Cast", ["input_ids"], ["logits"], to=TensorProto.FLOAT)]
        nodes.append(helper.make_node("Softmax", ["logits"], ["probs"]))  # ops an export has, so the shapes are checked
        ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "time"])]
        ins.append(helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]))
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", "classes"]) for n in ("logits", "probs")]
        model = helper.make_model(helper.make_graph(nodes, "g", ins, outs), opset_imports=[helper.make_opsetid("", 18)])
        helper.set_model_props(model, {"textgru.format": FORMAT, "textgru.task": "sentiment"})
        onnx.save(model, str(folder / "model.onnx"))
        config["model_sha256"] = sha256(folder / "model.onnx")

    def write_tokenizer(folder: Path, config: dict, text: str) -> None:  # checksummed as ours: the checks behind it
        (folder / "tokenizer.json").write_text(text)
        config["tokenizer_sha256"] = sha256(folder / "tokenizer.json")

    def swap_two_tokens(folder: Path, config: dict) -> None:  # same size, same special ids: only the checksum sees it
        tok = json.loads((folder / "tokenizer.json").read_text())
        vocab = tok["model"]["vocab"]
        a, b = [t for t in vocab if not t.startswith("[")][:2]
        vocab[a], vocab[b] = vocab[b], vocab[a]
        (folder / "tokenizer.json").write_text(json.dumps(tok))

    def tokenizer_ids(folder: Path, config: dict, **ids: int) -> None:  # tokens moved in both files alike
        tok = json.loads((folder / "tokenizer.json").read_text())
        for token, new in ids.items():
            content = f"[{token.upper()}]"
            tok["model"]["vocab"][content] = new
            for added in tok["added_tokens"]:
                added["id"] = new if added["content"] == content else added["id"]
            config[f"{token}_id"] = new
        write_tokenizer(folder, config, json.dumps(tok))

    def unknown_token(folder: Path, config: dict) -> None:
        tok = json.loads((folder / "tokenizer.json").read_text())
        tok["model"]["unk_token"] = "[MASK]"
        write_tokenizer(folder, config, json.dumps(tok))

    cases = {
        "labels": ("sentiment", lambda f, c: c.update(labels=["a", "a", "b"]), "names a label twice"),
        "tokenizer": (
            "sentiment",
            lambda f, c: write_tokenizer(f, c, (exported["lm"] / "tokenizer.json").read_text()),
            "tokenizer.json has",
        ),
        "tokenizer replaced": ("sentiment", swap_two_tokens, r"tokenizer.json' does not match its config.json"),
        "vocab": ("lm", lambda f, c: c.update(vocab_size=3), "says vocab_size 3"),
        "layers": ("lm", lambda f, c: c.update(num_layers=10**6), "num_layers=1000000"),
        "pad": (
            "sentiment",
            lambda f, c: c.update(pad_id=10**12),
            r"pad_id=1000000000000 is not tokenizer.json's \[PAD\] id 0",
        ),
        "unk": ("lm", lambda f, c: c.update(unk_id=-1), r"unk_id=-1 is not tokenizer.json's \[UNK\] id 1"),
        "pad far": ("sentiment", lambda f, c: tokenizer_ids(f, c, pad=10**6), PAST_THE_VOCABULARY),
        "swapped": ("lm", lambda f, c: tokenizer_ids(f, c, pad=1, unk=0), r"pad_id=1 is not the model's \[PAD\] id 0"),
        "pad far in all": (
            "sentiment",
            lambda f, c: (tokenizer_ids(f, c, pad=10**6), c["model"].update(padding_idx=10**6)),
            PAST_THE_VOCABULARY,
        ),
        "unknown": ("sentiment", unknown_token, r"has an unknown-word token textgru does not write \('\[MASK\]'\)"),
        "graph": ("sentiment", swap_graph, r"its graph gives logits of shape \[1, 1\] where"),
    }
    for name, (task, edit, needle) in cases.items():
        with pytest.raises(TextgruError, match=needle) as e:
            textgru.load(tampered(name, task, edit))
        assert "\n" not in str(e.value), name


def sealed_graph(folder: Path, nodes: list, initializers: list, task: str = "sentiment") -> Path:
    """`folder` (a copy of a sentiment export) with its model.onnx replaced by a classifier-shaped graph of `nodes`,
    marked as ours and sealed with config.json as an export seals them: anyone can recompute the digests."""
    import onnx
    from onnx import TensorProto, helper

    from textgru.onnx_marks import add_marks

    ins = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "time"])]
    ins.append(helper.make_tensor_value_info("lengths", TensorProto.INT64, ["batch"]))
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, ["batch", 3]) for n in ("logits", "probs")]
    graph = helper.make_graph(nodes, "g", ins, outs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 9
    add_marks(model, {"textgru.format": "textgru-onnx", "textgru.task": task, "textgru.format_version": "1"})
    onnx.save(model, str(folder / "model.onnx"))
    write_sealed(folder, json.loads((folder / "config.json").read_text()))
    return folder


def endless_loop(trips: str) -> tuple[list, list]:
    """Nodes and initializers of a graph whose logits (3 zeros per row) come after a Loop of `trips` iterations."""
    from onnx import TensorProto, helper

    def const(name: str, value, dtype=TensorProto.INT64, dims=()) -> object:
        return helper.make_tensor(name, dtype, list(dims), value if isinstance(value, list) else [value])

    scalar = [
        helper.make_tensor_value_info(n, t, []) for n, t in (("cond", TensorProto.BOOL), ("v", TensorProto.FLOAT))
    ]
    body = helper.make_graph(
        [helper.make_node("Add", ["v_in", "one"], ["v_out"]), helper.make_node("Identity", ["cond_in"], ["cond_out"])],
        "body",
        [
            helper.make_tensor_value_info("i", TensorProto.INT64, []),
            *[helper.make_tensor_value_info(f"{v.name}_in", v.type.tensor_type.elem_type, []) for v in scalar],
        ],  # fmt: skip
        [helper.make_tensor_value_info(f"{v.name}_out", v.type.tensor_type.elem_type, []) for v in scalar],
        initializer=[const("one", 1.0, TensorProto.FLOAT)],
    )
    expand = helper.make_node("Expand", ["x", "shape"], ["logits"])
    nodes = [
        helper.make_node("Loop", [trips, "cond", "v0"], ["v"], body=body),
        helper.make_node("Mul", ["v", "zero"], ["x"]),
        helper.make_node("Shape", ["input_ids"], ["rows"], end=1),
        helper.make_node("Concat", ["rows", "three"], ["shape"], axis=0),
        expand,
        helper.make_node("Softmax", ["logits"], ["probs"], axis=-1),
    ]
    initializers = [const("trips", 2**62), const("cond", True, TensorProto.BOOL), const("v0", 0.0, TensorProto.FLOAT)]
    initializers += [const("zero", 0.0, TensorProto.FLOAT), const("three", [3], dims=[1])]
    return nodes, initializers


def test_a_sealed_graph_with_an_endless_loop_is_refused_at_once(tmp_path: Path, exported: dict) -> None:
    """A review: a model.onnx with a Loop of 2**62 trips, sealed (marks, config digest, checksums recomputed), hung
    `textgru predict` in the load self-check, deaf to Ctrl-C and SIGTERM (a variant passed that check and pinned the
    server's batching thread). The graph's ops are checked against those textgru exports before onnxruntime sees it."""
    folder = sealed_graph(copy_export(exported["sentiment"], tmp_path / "loop"), *endless_loop("trips"))
    r = run_script("predict", f"ckpt_path={folder}", "text=hello", timeout=120)  # killed (a failure) if it hangs
    one_line_error(r, "the ONNX operator 'Loop'", "not written by textgru", "export the checkpoint again")


def test_ops_textgru_never_exports_are_refused(tmp_path: Path, exported: dict) -> None:
    """Another domain's operator, or a standard one textgru's exporter never writes (an export of ours edited), is
    refused before onnxruntime opens the graph; a Loop hidden in a subgraph is found too."""
    import onnx
    from onnx import TensorProto, helper

    for name, (op, domain, needle) in {
        "identity": ("Identity", "", "the ONNX operator 'Identity'"),
        "domain": ("Softmax", "com.example", "the ONNX operator 'com.example:Softmax'"),
    }.items():
        folder = copy_export(exported["sentiment"], tmp_path / name)
        model = onnx.load(str(folder / "model.onnx"))
        last = next(n for n in model.graph.node if "probs" in n.output)
        last.output[0] = "before"
        model.graph.node.append(helper.make_node(op, ["before"], ["probs"], domain=domain))
        if domain:
            model.opset_import.append(helper.make_opsetid(domain, 1))
        onnx.save(model, str(folder / "model.onnx"))
        write_sealed(folder, json.loads((folder / "config.json").read_text()))
        with pytest.raises(TextgruError, match=needle) as e:
            textgru.load(folder)
        assert "\n" not in str(e.value) and "not written by textgru" in str(e.value)
    from textgru.onnx_ops import graph_ops

    inner = helper.make_graph([helper.make_node("Loop", ["n", "c"], [])], "inner", [], [])
    branch = helper.make_graph([helper.make_node("If", ["c"], [], then_branch=inner, else_branch=inner)], "b", [], [])
    outer = helper.make_node("Add", ["a", "b"], ["y"], body=branch)  # no Add has a subgraph: it is walked anyway
    vi = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1]) for n in ("a", "b", "y")]
    model = helper.make_model(helper.make_graph([outer], "g", vi[:2], vi[2:]))
    assert [op for _, op in graph_ops(model)] == ["Add", "If", "Loop", "Loop"]


def test_a_sealed_graph_keeping_tensors_in_another_file_is_refused(
    tmp_path: Path, exported: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: a model.onnx whose weights were ONNX external data (a file named in it), sealed, loaded: onnxruntime
    read that file from the current folder (a `.env` there came back as probabilities). Refused before it opens."""
    import onnx

    from textgru.onnx_ops import external_tensor

    folder = copy_export(exported["sentiment"], tmp_path / "external")
    model = onnx.load(str(folder / "model.onnx"))
    assert external_tensor(model) is None  # textgru's own export holds every value itself
    onnx.save_model(model, str(folder / "model.onnx"), save_as_external_data=True, location="weights.bin")
    config = json.loads((folder / "config.json").read_text())  # its marks kept; the checksum recomputed
    config["model_sha256"] = hashlib.sha256((folder / "model.onnx").read_bytes()).hexdigest()
    (folder / "config.json").write_text(json.dumps(config))
    (tmp_path / "weights.bin").write_bytes((folder / "weights.bin").read_bytes())
    monkeypatch.chdir(tmp_path)  # where onnxruntime would find it
    with pytest.raises(TextgruError, match=r"keeps its tensor '.*' in another file \(ONNX external data\)") as e:
        textgru.load(folder)
    assert "\n" not in str(e.value) and "not written by textgru" in str(e.value)


def test_every_op_textgru_exports_is_allowed(tmp_path: Path, exported: dict) -> None:
    """`textgru.onnx_ops.ALLOWED_OPS` was gathered from real exports; an exporter that starts writing another op
    fails here (add it there), rather than refusing users' exports: the fixture's exports (meanmax pooling, the tiny
    LM, a forecaster), classifiers whose pooling or parts add ops, and a bidirectional forecaster."""
    import onnx

    from textgru.onnx_ops import ALLOWED_OPS, DEFAULT_DOMAINS, graph_ops

    folders = [(task, exported[task]) for task in ("sentiment", "lm", "forecast")]
    tokenizer = load_checkpoint(exported["runs"]["sentiment"])["textgru"]["tokenizer"]
    variants = (
        {"pooling": "last"},
        {"pooling": "attention", "bidirectional": False},
        {"lm_features": [12, 10, 1], "members": 2},
    )
    for i, variant in enumerate(variants):
        ckpt = classifier_checkpoint(tmp_path / f"c{i}.ckpt", tokenizer, 12, **variant)
        folders.append(("sentiment", textgru.export(ckpt, tmp_path / f"c{i}")))
    ckpt = forecast_checkpoint(tmp_path / "f.ckpt", bidirectional=True, predict_change=True)
    folders.append(("forecast", textgru.export(ckpt, tmp_path / "f")))
    for task, folder in folders:
        model = onnx.load(str(Path(folder) / "model.onnx"))
        ops = set(graph_ops(model))
        assert {d for d, _ in ops} <= set(DEFAULT_DOMAINS) and not model.functions, folder
        assert {op for _, op in ops} <= ALLOWED_OPS[task], (folder, {op for _, op in ops} - ALLOWED_OPS[task])
        textgru.load(folder)  # and it loads


def test_a_config_json_holding_nan_is_one_line(tmp_path: Path, exported: dict) -> None:
    """A review: NaN in config.json (Python's json writes and reads it; JSON has none) was a traceback from the config
    digest ("Out of range float values are not JSON compliant"). The exporter writes finite numbers only, so NaN,
    Infinity and a number beyond float (1e999, read as inf) make the file unreadable JSON: one line."""
    for name, text in {"nan": "NaN", "infinity": "-Infinity", "huge": "1e999"}.items():
        folder = copy_export(exported["sentiment"], tmp_path / name)
        config = json.loads((folder / "config.json").read_text())
        config.setdefault("training_metrics", {})["val/loss"] = 0.125
        raw = json.dumps(config).replace('"val/loss": 0.125', f'"val/loss": {text}')
        (folder / "config.json").write_text(raw)
        with pytest.raises(TextgruError, match=r"config.json' is not readable JSON \(.*(NaN|Infinity|1e999)") as e:
            textgru.load(folder)
        assert "\n" not in str(e.value)
    one_line_error(run_script("predict", f"ckpt_path={folder}", "text=hi"), "is not readable JSON", "export again")


def test_without_the_onnx_extra_one_line_says_what_to_install(
    tmp_path: Path, exported: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("onnxruntime", "onnxscript"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if not installed
    with pytest.raises(TextgruError, match=r"pip install 'textgru\[onnx\]'"):
        textgru.load(exported["sentiment"])
    with pytest.raises(TextgruError, match=r"needs onnxscript, onnxruntime: pip install 'textgru\[onnx\]'"):
        textgru.export(exported["runs"]["forecast"], tmp_path / "x")
    assert not (tmp_path / "x").exists()


# ---------------------------------------------------------------- slow: more shapes, other runtimes, more commands


@pytest.mark.slow
@pytest.mark.parametrize(
    "variant",
    [
        {"pooling": "last", "num_layers": 2},
        {"pooling": "attention", "rnn": "reference"},
        {"pooling": "max", "bidirectional": False},
    ],
)
def test_classifier_variants_parity(tmp_path: Path, tiny_run: Path, variant: dict) -> None:
    """Every pooling reads real positions only, so the BiGRU's one-GRU-op lowering (zeros past each length) agrees
    with PyTorch for 2 layers, one direction and the reference GRU too."""
    tokenizer = load_checkpoint(tiny_run)["textgru"]["tokenizer"]
    ckpt = classifier_checkpoint(tmp_path / "v.ckpt", tokenizer, max_length=24, **variant)
    clf = textgru.load(textgru.export(ckpt, tmp_path / "export"))
    model, _ = torch_model(ckpt)
    assert classifier_parity(model, clf.model, 24, 300, 0) < TOL


def test_a_classifier_with_lm_features_exports_with_parity(tmp_path: Path, tiny_run: Path) -> None:
    """`model.transfer=features`: the frozen biLM's two-layer BiGRU is in the graph too, padding-exact."""
    tokenizer = load_checkpoint(tiny_run)["textgru"]["tokenizer"]
    ckpt = classifier_checkpoint(tmp_path / "f.ckpt", tokenizer, max_length=12, lm_features=[12, 10, 2], pooling="max")
    clf = textgru.load(textgru.export(ckpt, tmp_path / "export"))
    model, _ = torch_model(ckpt)
    assert model.lm is not None and model.rnn.forward_layers[0].input_size == 16 + 12 + 2 * 10
    assert classifier_parity(model, clf.model, 12, 300, 0) < TOL


def test_a_classifier_of_members_exports_with_parity(tmp_path: Path, tiny_run: Path) -> None:
    """`model.members=3` over LM features: the graph holds every member and gives their mean probability."""
    tokenizer = load_checkpoint(tiny_run)["textgru"]["tokenizer"]
    ckpt = classifier_checkpoint(tmp_path / "m.ckpt", tokenizer, max_length=12, lm_features=[12, 10, 1], members=3)
    clf = textgru.load(textgru.export(ckpt, tmp_path / "export"))
    model, _ = torch_model(ckpt)
    assert len(model.members) == 3
    assert classifier_parity(model, clf.model, 12, 300, 0) < TOL


def test_an_exported_forecaster_of_a_series_far_from_zero_forecasts_what_the_checkpoint_does(tmp_path: Path) -> None:
    """A series near 1e8 with a spread of 0.5: in float32 (which steps by 8 there) the graph forecast a constant and
    its self-check, on float32 inputs, saw no difference (a review: test MSE 0.50 against the checkpoint's 0.22).
    Values in the series' units are float64 in and out; the model reads normalised float32."""
    far = {**NORM, "mean": [1e8, -2.0]}
    ckpt = forecast_checkpoint(tmp_path / "far.ckpt", far)
    folder = textgru.export(ckpt, tmp_path / "export")
    config = json.loads((Path(folder) / "config.json").read_text())
    assert config["inputs"][0]["dtype"] == config["outputs"][0]["dtype"] == "float64"
    onnx_fc, torch_fc = textgru.load(folder), textgru.Forecaster.load(ckpt)
    windows = np.random.default_rng(0).normal(size=(50, 12, 2)) * far["std"] + far["mean"]
    got, want = onnx_fc.rollout(windows), torch_fc.rollout(windows)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL)
    assert np.ptp(got[:, 0, 0]) > 0.01  # forecasts that follow their windows, not one value


@pytest.mark.slow
@pytest.mark.parametrize("variant", [{"bidirectional": True, "predict_change": True}, {"num_layers": 3}])
def test_forecaster_variants_parity(tmp_path: Path, variant: dict) -> None:
    """The bidirectional forecaster re-reads the slid window at every step; a one-way one carries its state."""
    ckpt = forecast_checkpoint(tmp_path / "f.ckpt", **variant)
    onnx_fc, torch_fc = textgru.load(textgru.export(ckpt, tmp_path / "export")), textgru.Forecaster.load(ckpt)
    windows = np.random.default_rng(0).normal(size=(50, 12, 2)) * NORM["std"] + NORM["mean"]
    np.testing.assert_allclose(onnx_fc.rollout(windows), torch_fc.rollout(windows), atol=TOL)


NO_TEXTGRU = """
import sys
sys.modules["torch"] = sys.modules["textgru"] = None  # neither may be imported: the folder must be enough
import json, numpy as np, onnxruntime as ort
from tokenizers import Tokenizer
folder = sys.argv[1]
config = json.load(open(folder + "/config.json"))
tok = Tokenizer.from_file(folder + "/tokenizer.json")
session = ort.InferenceSession(folder + "/model.onnx")
texts = [line.rstrip("\\n") for line in open(sys.argv[2], encoding="utf-8")]
ids = [tok.encode(t).ids[: config["max_length"]] or [config["unk_id"]] for t in texts]
lengths = np.array([len(x) for x in ids], dtype=np.int64)
batch = np.full((len(ids), lengths.max()), config["pad_id"], dtype=np.int64)
for i, x in enumerate(ids):
    batch[i, : len(x)] = x
logits, probs = session.run(None, {"input_ids": batch, "lengths": lengths})
print(json.dumps([[config["labels"][j] for j in probs.argmax(1)], probs.tolist()]))
"""


EMPTY_CALLS = """
import json, sys, numpy as np, torch, textgru
from textgru.errors import TextgruError
said = {}
for backend, where in json.loads(sys.argv[1]).items():
    fc, lm, clf = (textgru.load(where[task]) for task in ("forecast", "lm", "sentiment"))
    none, no_lengths = torch.zeros((0, 3), dtype=torch.long), torch.zeros(0, dtype=torch.long)
    no_steps, lengths = torch.zeros((2, 0), dtype=torch.long), torch.ones(2, dtype=torch.long)
    with torch.inference_mode():
        got = [fc.rollout(np.zeros((0, 12, 2))), fc.rollout(np.zeros((0, 12, 2)), 2), *lm.model(none)]
        said[backend] = [[list(t.shape), str(t.dtype)] for t in [*got, clf.model(none, no_lengths)]]
        for call in (lambda: lm.model(no_steps), lambda: clf.model(no_steps, lengths)):
            try:
                call()
            except (TextgruError, RuntimeError) as e:  # RuntimeError: PyTorch's GRU
                said[backend].append(str(e))
print(json.dumps(said))
"""


def test_an_empty_batch_gets_empty_outputs_not_an_abort(tmp_path: Path, exported: dict) -> None:
    """A review: an exported forecaster's rollout of 0 windows ended the process (onnxruntime's SIGABRT; a classifier's
    batch of 0 a segfault) where the checkpoint gives (0, horizon, features): a batch of 0 now gets the checkpoint's
    empty outputs without running onnxruntime, and a time axis of 0 one line. In a child process: it was the process
    that ended."""
    where = {"onnx": {t: str(exported[t]) for t in ("forecast", "lm", "sentiment")}}
    where["torch"] = {t: str(exported["runs"][t]) for t in ("forecast", "lm", "sentiment")}
    (tmp_path / "empty_calls.py").write_text(EMPTY_CALLS, encoding="utf-8")
    r = run_python([str(tmp_path / "empty_calls.py"), json.dumps(where)])
    assert r.returncode == 0, (r.returncode, r.stderr[-2000:])
    said = json.loads(r.stdout.splitlines()[-1])
    assert said["onnx"][:5] == said["torch"][:5]  # the same shapes and types from both backends
    assert said["onnx"][:2] == [[[0, 3, 2], "float64"], [[0, 2, 2], "float64"]]
    assert said["onnx"][4] == [[0, 3], "torch.float32"]
    refused = "an exported model cannot run inputs of shapes {}: onnxruntime stops the process on an empty axis; give"
    assert said["onnx"][5].startswith(refused.format("(2, 0), (1, 2, 32)"))  # a GRU of no steps has no state to give
    assert said["onnx"][6].startswith(refused.format("(2, 0), (2,)"))


@pytest.mark.slow
def test_the_folder_runs_without_textgru_or_torch(tmp_path: Path, exported: dict) -> None:
    """README's recipe for other runtimes, with onnxruntime, tokenizers and numpy only: same labels and
    probabilities as the Classifier."""
    import subprocess

    texts = [t for t, _ in make_rows(30, seed=4)] + [""]
    (tmp_path / "texts.txt").write_text("\n".join(texts) + "\n", encoding="utf-8")
    r = subprocess.run(
        [sys.executable, "-c", NO_TEXTGRU, str(exported["sentiment"]), str(tmp_path / "texts.txt")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    labels, probs = json.loads(r.stdout)
    clf = textgru.load(exported["sentiment"])
    assert labels == [p.label for p in clf.predict(texts)]
    assert float((torch.tensor(probs) - clf.predict_proba(texts)).abs().max()) < TOL


@pytest.mark.slow
def test_generate_and_eval_commands_on_the_export(tmp_path: Path, exported: dict, small_csv: Path) -> None:
    args = ["prompt=KING:", "max_new_tokens=150", "num_samples=2", "seed=11"]
    a = run_script("generate", f"ckpt_path={exported['runs']['lm']}", *args)
    b = run_script("generate", f"ckpt_path={exported['lm']}", *args)
    assert a.returncode == 0 and b.returncode == 0, b.stderr[-2000:]
    assert a.stdout == b.stdout and "===== sample 2 =====" in b.stdout
    folder = copy_export(exported["sentiment"], tmp_path / "sentiment")
    data = [f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment", "split=all"]
    r = run_script("eval", f"ckpt_path={folder}", "data=local", *data)
    assert r.returncode == 0, r.stderr[-2000:]
    report = json.loads((folder / "eval" / small_csv.stem / "all_metrics.json").read_text())  # another data's folder
    expected = textgru.Classifier.load(exported["runs"]["sentiment"]).evaluate(
        str(small_csv), text_column="review", label_column="sentiment"
    )
    assert report["confusion_matrix"] == expected["confusion_matrix"]


def test_the_report_of_an_export_names_the_state_scored_and_a_changed_export(tmp_path: Path) -> None:
    """A review: an export's report recorded no digest nor step, so the report of an export replaced since
    (overwrite=true, from another checkpoint) was refused as if it scored the model there now."""
    from textgru.onnx_format import sha256

    ckpt = forecast_checkpoint(tmp_path / "f.ckpt")
    saved = torch.load(ckpt, weights_only=True)
    saved["textgru"]["data_config"] |= {"val_fraction": 0.15, "test_fraction": 0.15}  # evaluate() carves spans
    torch.save({**saved, "global_step": 7}, ckpt)
    folder, out = textgru.export(ckpt, tmp_path / "f"), tmp_path / "ev"
    series = np.random.default_rng(0).normal(size=(40, 2))
    result = textgru.Forecaster.load(folder).evaluate(series, output_dir=out)
    assert result["checkpoint"] == str(folder) and result["checkpoint_step"] == 7
    assert result["checkpoint_sha256"] == sha256(folder / "model.onnx")
    assert json.loads((out / "all_metrics.json").read_text())["checkpoint_sha256"] == sha256(folder / "model.onnx")
    with pytest.raises(TextgruError) as unchanged:
        textgru.Forecaster.load(folder / "model.onnx").evaluate(series, output_dir=out)
    assert "changed since" not in str(unchanged.value) and "another" not in str(unchanged.value).split(";")[0]
    weights = {k: v + 0.01 for k, v in saved["state_dict"].items()}  # the run trained on: a later checkpoint
    torch.save({**saved, "state_dict": weights, "global_step": 12}, ckpt)
    textgru.export(ckpt, folder, overwrite=True)
    assert textgru.Forecaster.load(folder).evaluate(series)["checkpoint_step"] == 12
    with pytest.raises(TextgruError) as changed:
        textgru.Forecaster.load(folder).evaluate(series, output_dir=out)
    assert str(changed.value) == (
        f"{out / 'all_metrics.json'} exists and scored an earlier state of {folder} (step 7), which has changed "
        "since; pass overwrite=true (in Python, overwrite=True) or another output_dir"
    )
    r = run_textgru("eval", f"ckpt_path={folder / 'model.onnx'}", f"output_dir={out}", "split=all")
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1] == (
        f"error: {out / 'all_metrics.json'} exists and scored an earlier state of {folder / 'model.onnx'} (step 7), "
        "which has changed since; pass overwrite=true or output_dir=<another folder>"
    ), r.stderr[-2000:]


def test_serve_accepts_the_exported_folders(tmp_path: Path, exported: dict) -> None:
    """`textgru serve` on the exported classifier and LM: /predict, /generate (seeded) and /score give what the
    checkpoints give, and /info describes the export (backend, model, the source run's metrics)."""
    pytest.importorskip("uvicorn", reason="the serve extra is not installed (pip install -e '.[serve]')")
    import httpx
    from serve_helpers import start, stop

    runs = exported["runs"]
    server = start(
        ["scripts/serve.py", f"classifier={exported['sentiment']}", f"lm={exported['lm']}", "port=0", "threads=1"],
        tmp_path / "server.log",
    )
    try:
        clf, lm = textgru.Classifier.load(runs["sentiment"]), textgru.LanguageModel.load(runs["lm"])
        texts = [t for t, _ in make_rows(12, seed=4)]
        with httpx.Client(base_url=server.url, timeout=60) as c:
            served = c.post("/predict", json={"texts": texts}).json()["predictions"]
            for got, want in zip(served, clf.predict(texts), strict=True):
                assert got["label"] == want.label
                assert max(abs(got["probs"][k] - want.probs[k]) for k in want.probs) < TOL
            knobs = {"prompt": "KING:", "seed": 5, "max_new_tokens": 60, "top_p": 0.9}
            assert c.post("/generate", json=knobs).json()["samples"][0]["text"] == lm.generate(**knobs)[0]
            scores = c.post("/score", json={"texts": ["ROMEO:\nthe king"]}).json()
            np.testing.assert_allclose(
                [s["nats_per_token"] for s in scores["scores"]], lm.score(["ROMEO:\nthe king"]), atol=TOL
            )
            info = c.get("/info").json()["models"]
            for kind, task in (("classifier", "sentiment"), ("lm", "lm")):
                assert info[kind]["backend"] == "onnxruntime" and info[kind]["checkpoint"] == str(exported[task])
                assert info[kind]["trained_with_textgru"] == textgru.__version__
                assert str(runs[task]) in info[kind]["exported_from"]  # the run it was exported from
                metrics = json.loads((runs[task] / "metrics.json").read_text())
                kept = {k: v for k, v in metrics.items() if isinstance(v, str) or v == v}  # NaN dropped, words kept
                assert info[kind]["metrics"] == pytest.approx(kept) and "test/loss" in kept
                assert info[kind]["metrics"]["stopped_by"] == metrics["stopped_by"]  # what ended training, too
            assert info["classifier"]["model"]["class"] == "GRUClassifier"
            assert info["lm"]["model"]["class"] == "GRULanguageModel"
    finally:
        assert stop(server), "the server did not stop cleanly on SIGTERM:\n" + server.log_tail()


def test_the_server_opens_exports_with_its_own_thread_count(exported: dict, monkeypatch: pytest.MonkeyPatch) -> None:
    """Found by a review: `build_server(threads=1)` loaded exports before setting its thread count, so their
    onnxruntime sessions took torch's default (every core) and each of the server's compute threads ran a pool of
    them on the same cores (about 2x the time and CPU under load), while /info said threads 1."""
    pytest.importorskip("fastapi")
    from textgru.inference import onnx_runtime
    from textgru.serving import build_server

    opened: list[int] = []
    real = onnx_runtime.session_options

    def recorded(threads: int | None = None):
        options = real(threads)
        opened.append(options.intra_op_num_threads)
        return options

    monkeypatch.setattr(onnx_runtime, "session_options", recorded)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        build_server(classifier=exported["sentiment"], lm=exported["lm"], threads=1)
    finally:
        torch.set_num_threads(before)
    assert opened and set(opened) == {1}, opened


@pytest.mark.parametrize("task", ["sentiment", "lm"])
def test_an_export_quantized_to_int8_by_onnxruntime_still_loads(tmp_path: Path, exported: dict, task: str) -> None:
    """The review of the op check: bench/inference_backends.py's int8 copy (onnxruntime's `quantize_dynamic`) was
    refused after the check came in; its straight-line quantization ops are allowed, and it answers as the fp32 one."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from inference_backends import quantized_copy
    finally:
        sys.path.remove(str(ROOT / "bench"))
    int8 = textgru.load(quantized_copy(exported[task], tmp_path / "int8"))
    fp32 = textgru.load(exported[task])
    if task == "sentiment":
        assert [p.label for p in int8.predict(["a good day", "awful"])] == [
            p.label for p in fp32.predict(["a good day", "awful"])
        ]
    else:
        assert int8.generate("th", max_new_tokens=5, greedy=True)
