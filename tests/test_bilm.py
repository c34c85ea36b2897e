"""The bidirectional language model (task=bilm) and fine-tuning the classifier from it (model.pretrained_lm):
the backward direction predicts the previous token, the weights move into the classifier exactly, the classifier
stays exact under padding, bad checkpoints and sizes get one line; ULMFiT's recipe; few-label sampling. The biLM
is trained once per module in this process (textgru.train); the runs through scripts/train.py are slow tests."""

from __future__ import annotations

import copy
import csv
import hashlib
import json
import logging
import random
import re
import shlex
import shutil
from pathlib import Path
from types import SimpleNamespace

import lightning as L
import pytest
import torch
import yaml
from conftest import make_rows, run_script, write_csv
from omegaconf import OmegaConf

import textgru
from textgru.checkpoint import load_checkpoint, model_state_dict, rebuild_model
from textgru.config import compose_config
from textgru.data.batching import pad_collate
from textgru.data.subset import limit_training_examples, stratified_indices
from textgru.errors import TextgruError
from textgru.models.bilm import BiGRULanguageModel
from textgru.models.gru_classifier import GRUClassifier
from textgru.models.transfer import TRANSFERRED
from textgru.optim import one_cycle, slanted_triangular
from textgru.run_schedule import fit_epochs_to_min_steps
from textgru.tasks.finetuning import (
    FineTuning,
    discriminative_groups,
    layer_groups,
    trainable_groups,
    unfreeze_for_epoch,
)
from textgru.tasks.sentiment import build as build_classification

B_TOKENS = [f"b{i}" for i in range(20)]
RECIPE = {
    "lr_decay": 2.6,
    "gradual_unfreezing": True,
    "unfreeze_epochs": 1,
}  # ULMFiT's schedule (options, not defaults)


def marker(b: str) -> str:
    """The token written before every b-token: one of 5, a function of it (so 4 b-tokens share each marker)."""
    return f"a{int(b[1:]) // 4}"


def toy_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Texts of pairs `marker(b) b` with b random: the previous token of every b-token is determined by it (the
    backward direction can learn it), the next token never is (a fresh random pair starts). Labels: 3 classes."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        bs = [rng.choice(B_TOKENS) for _ in range(rng.randint(3, 8))]
        rows.append((" ".join(f"{marker(b)} {b}" for b in bs), ["x", "y", "z"][int(bs[0][1:]) % 3]))
    return rows


SIZES = ["model.embedding_dim=16", "model.hidden_size=24", "model.num_layers=2"]
QUIET = ["logger.tensorboard=false", "trainer.enable_progress_bar=false", "callbacks.model_summary=null"]
TINY_BILM = [
    *SIZES,
    "model.pretrained_embeddings=null",
    "model.embedding_dropout=0",
    "model.output_dropout=0",
    "data.batch_size=32",
    "optimizer.lr=0.03",
    "trainer.max_epochs=15",
    "callbacks.early_stopping=null",
    *QUIET,
]


@pytest.fixture(scope="module")
def toy_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("toy") / "pairs.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        w.writerows(toy_rows(400))
    return path


@pytest.fixture(scope="module")
def bilm_run(tmp_path_factory: pytest.TempPathFactory, toy_csv: Path) -> Path:
    """A real biLM run (textgru.train, in this process) on the texts of a labelled CSV (labels ignored)."""
    run_dir = tmp_path_factory.mktemp("bilm") / "run"
    torch.set_num_threads(1)
    textgru.train(["task=bilm", "data=local", f"data.path={toy_csv}", *TINY_BILM], run_dir=run_dir)
    return run_dir


def load_lm(run_dir: Path) -> tuple[BiGRULanguageModel, dict]:
    model, meta = rebuild_model(load_checkpoint(run_dir, expect_task="bilm"))
    assert isinstance(model, BiGRULanguageModel)
    return model, meta


def classifier_config(toy_csv: Path, lm: Path, *extra: str):
    overrides = ["task=sentiment", "data=local", f"data.path={toy_csv}", f"model.pretrained_lm={lm}", *SIZES]
    cfg = compose_config("train", [*overrides, "data.batch_size=16", *extra])
    OmegaConf.set_struct(cfg, False)
    cfg.paths.run_dir = str(lm.parent / "unused")
    return cfg


def test_bilm_run_metrics_and_checkpoint(bilm_run: Path) -> None:
    metrics = json.loads((bilm_run / "metrics.json").read_text())
    for stage in ("val", "test"):
        for name in ("loss", "ppl", "forward_loss", "backward_loss", "forward_ppl", "backward_ppl"):
            assert f"{stage}/{name}" in metrics
        mean = (metrics[f"{stage}/forward_loss"] + metrics[f"{stage}/backward_loss"]) / 2
        assert metrics[f"{stage}/loss"] == pytest.approx(mean, rel=1e-5)
    meta = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)["textgru"]
    assert (meta["task"], meta["model_class"], meta["format_version"]) == ("bilm", "BiGRULanguageModel", 2)
    assert meta["model_args"]["cutoffs"] == [500, 2000, 6000]  # a list argument, checked against the signature
    assert (bilm_run / "train.log").read_text().count("adaptive softmax: no cutoff below the vocabulary size") == 1
    with pytest.raises(TextgruError, match=r"is a bidirectional language-model \(task=bilm\) checkpoint"):
        textgru.load(bilm_run)


def test_bilm_on_labelled_data_reads_only_the_training_texts(tmp_path: Path) -> None:
    """`task=bilm data=local` (as `data=tweets`): labels ignored, the tokenizer learns the training texts only,
    and only training texts are trained on; validation and test texts are only scored."""
    from conftest import data_cfg, tok_cfg

    from textgru.data.bilm_datamodule import BiLMDataModule

    paths = {}
    for split, word in (("train", "common"), ("validation", "zzvalonly"), ("test", "zztestonly")):
        paths[split] = tmp_path / f"{split}.csv"
        with open(paths[split], "w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows(
                [("text", "label"), *((f"{word} {word} words {i}", "xy"[i % 2]) for i in range(40))]
            )
    data = data_cfg("local", path=str(paths["train"]), validation_path=str(paths["validation"]))
    dm = BiLMDataModule({**data, "test_path": str(paths["test"])}, tok_cfg("word", min_frequency=1), seed=0)
    dm.setup("fit")
    assert dm.tokenizer.token_to_id("common") is not None
    assert dm.tokenizer.token_to_id("zzvalonly") is None and dm.tokenizer.token_to_id("zztestonly") is None
    unk = dm.tokenizer.token_to_id("[UNK]")
    assert all(unk not in ids for ids in dm.sequences["train"]) and len(dm.sequences["train"]) == 40
    assert all(ids[:2] == [unk, unk] for ids in dm.sequences["validation"])  # scored, never learned from


def test_backward_direction_predicts_the_previous_token(bilm_run: Path) -> None:
    """On held-out texts: the token before every b-token is predicted from the backward states (it is a function
    of the b-token); what no state can know (the random previous or next b-token) is not: no direction leaks."""
    model, meta = load_lm(bilm_run)
    from tokenizers import Tokenizer

    tok = Tokenizer.from_str(meta["tokenizer"])
    texts = [t for t, _ in toy_rows(60, seed=123)]
    batch = pad_collate([{"input_ids": e.ids} for e in tok.encode_batch(texts)])
    ids, lengths = batch["input_ids"], batch["lengths"]
    forward, backward = model.log_probs(ids, lengths)  # (batch, time, vocab)
    b_ids = {tok.token_to_id(b) for b in B_TOKENS}
    hits = {"backward_at_b": [], "backward_at_a": [], "forward_at_b": []}
    for i, n in enumerate(lengths.tolist()):
        for t in range(n):
            is_b = int(ids[i, t]) in b_ids
            if t > 0:  # the backward state at t predicts token t-1
                hits["backward_at_b" if is_b else "backward_at_a"].append(int(backward[i, t].argmax() == ids[i, t - 1]))
            if t + 1 < n and is_b:  # after a b-token comes a random pair's marker
                hits["forward_at_b"].append(int(forward[i, t].argmax() == ids[i, t + 1]))
    acc = {k: sum(v) / len(v) for k, v in hits.items()}
    assert acc["backward_at_b"] > 0.95, acc
    assert acc["backward_at_a"] < 0.4, acc  # the b-token before a marker is random: 1 in 20 by chance
    assert acc["forward_at_b"] < 0.5, acc  # the next marker is random: 1 in 5 by chance


def test_weights_move_into_the_classifier_exactly(bilm_run: Path, toy_csv: Path) -> None:
    """Every embedding and GRU tensor of the classifier equals the language model's, the tokenizer is the LM's,
    and the classifier's BiGRU computes exactly the LM's two directions (upper layers included)."""
    lm, meta = load_lm(bilm_run)
    dm, task = build_classification(classifier_config(toy_csv, bilm_run))
    clf = task.model.eval()
    assert dm.tokenizer.to_str() == meta["tokenizer"]
    state, lm_state = clf.state_dict(), lm.state_dict()
    moved = [k for k in lm_state if k.startswith(TRANSFERRED)]
    assert len(moved) == 1 + 2 * 2 * 4  # embedding + 2 layers x 2 directions x (2 weights + 2 biases)
    for k in moved:
        assert torch.equal(state[k], lm_state[k]), k
    extras = task.checkpoint_extras  # self-contained: no path to the LM's files
    assert "pretrained_lm" not in extras["model_args"] and str(bilm_run) not in json.dumps(extras["model_args"])
    batch = pad_collate([{"input_ids": torch.randint(2, lm.vocab_size, (n,)).tolist()} for n in (9, 3, 6)])
    with torch.no_grad():
        h = clf.rnn(clf.embedding(batch["input_ids"]), batch["lengths"])  # (batch, time, 2*hidden)
        fwd, bwd = lm.states(batch["input_ids"], batch["lengths"])
    mask = (torch.arange(9)[None, :] < batch["lengths"][:, None]).unsqueeze(-1)
    torch.testing.assert_close(h * mask, torch.cat([fwd, bwd], -1) * mask, atol=1e-6, rtol=1e-6)


def test_the_share_of_training_tokens_the_lm_knows_is_reported(bilm_run: Path, caplog) -> None:
    """A biLM pretrained on other text (a 14-token vocabulary in a review) fine-tuned with nearly every word [UNK],
    silently: macro-F1 0.15."""
    from textgru.models.transfer import PretrainedLM

    with caplog.at_level(logging.INFO):
        lm = PretrainedLM(bilm_run)
    assert "adaptive softmax" not in caplog.text  # the LM's own training said so; a fine-tuning run twice (a review)
    unk = lm.tokenizer.token_to_id("[UNK]")
    with caplog.at_level(logging.INFO, logger="textgru.models.transfer"):
        assert lm.report_coverage([[5, unk, 6, unk], [unk, unk]]) == pytest.approx(1 / 3)
        assert lm.report_coverage([[5, 6], [7]]) == 1.0
    first, second = caplog.records[-2:]
    assert first.levelno == logging.WARNING and "knows 33.3% of the training tokens; the rest" in first.getMessage()
    assert second.levelno == logging.INFO and "knows 100.0% of the training tokens" in second.getMessage()


FEW_LABELS = "   # add data.train_size=500 to fine-tune on 500 labelled examples"


def test_next_commands_fit_the_run(tmp_path: Path) -> None:
    """A run's suggested next command works for it: no Shakespeare prompt for any corpus (refused as unseen
    characters), and the biLM's tokenizer kind for the fine-tuning (refused without it)."""
    from textgru.run_folder import RunFolder
    from textgru.tasks import bilm, lm

    run = RunFolder(tmp_path)
    assert "ROMEO" not in lm.next_commands(run)[0] and "max_new_tokens=300" in lm.next_commands(run)[0]
    model = {"embedding_dim": 50, "hidden_size": 16, "num_layers": 1}
    tokenizer = {"kind": "bpe", "min_frequency": 3, "lowercase": False, "unicode_form": "NFKC"}
    run.config.write_text(yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": {"source": "local_text"}}))
    assert bilm.next_commands(run)[0] == (
        f"textgru train task=sentiment model.pretrained_lm={tmp_path} model.embedding_dim=50 model.hidden_size=16 "
        "model.num_layers=1 tokenizer=bpe tokenizer.min_frequency=3 tokenizer.unicode_form='NFKC' tokenizer.lowercase=false "
        "data=local data.path=labelled.csv   # labelled.csv: your file of texts and labels; add data.train_size=500 to "
        "fine-tune on 500 labelled examples"
    )
    # pretrained on the tweets split otherwise: the command splits them alike (a review: the leak check refused it)
    tweets = {"source": "tweets", "split_seed": 7, "val_fraction": 0.1, "test_fraction": 0.1}
    run.config.write_text(yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": tweets}))
    assert bilm.next_commands(run)[0].endswith("tokenizer.lowercase=false data.split_seed=7" + FEW_LABELS)
    # a labelled file with its own test file, or with another file: the same paths (a review: test_path left out)
    for paths, said in [
        ({"path": "a.csv", "test_path": "t.csv"}, "data=local data.path=a.csv data.test_path=t.csv"),
        ({"path": ["a.csv", "my b.csv"]}, "data=local 'data.path=[a.csv,\"my b.csv\"]'"),
    ]:
        local = {"source": "local", "split_seed": 42, "val_fraction": 0.1, "test_fraction": 0.1, **paths}
        run.config.write_text(yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": local}))
        assert bilm.next_commands(run)[0].endswith(f"tokenizer.lowercase=false {said}" + FEW_LABELS)
    # a file of other columns: the classifier reads it alike (a review: the command failed, "column 'text' not found")
    read = {"text_column": "review", "label_column": "my label", "ignore_labels": ["x", "un sup"]}
    local = {"source": "local", "split_seed": 42, "val_fraction": 0.1, "test_fraction": 0.1, "path": "a.csv", **read}
    run.config.write_text(yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": local}))
    command = bilm.next_commands(run)[0]
    assert command.endswith(
        "data=local data.path=a.csv data.text_column=review 'data.label_column=\"my label\"' "
        "'data.ignore_labels=[x,\"un sup\"]'" + FEW_LABELS
    ), command
    cfg = compose_config("train", shlex.split(command, comments=True)[2:])
    assert {k: cfg.data[k] for k in read} == read
    for ignored, said in [([], "'data.ignore_labels=[]'"), (None, "data.ignore_labels=null")]:
        run.config.write_text(
            yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": {**local, "ignore_labels": ignored}})
        )
        assert f" {said}" + FEW_LABELS in bilm.next_commands(run)[0]
    # labels Hydra reads as numbers or booleans stay text, quoted (a review: ['3.10'] printed [3.10], read as 3.1)
    data = {**local, "ignore_labels": ["3.10", 2, "true"]}
    run.config.write_text(yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": data}))
    command = bilm.next_commands(run)[0]
    assert '\'data.ignore_labels=["3.10",2,"true"]\'' in command, command
    cfg = compose_config(
        "train", ["data=local", *(a for a in shlex.split(command, comments=True) if a.startswith("data.ignore"))]
    )
    assert list(cfg.data.ignore_labels) == ["3.10", 2, "true"]


def test_the_printed_next_commands_run_as_printed(tmp_path: Path) -> None:
    """A review: the LM's next line, pasted, failed: "cannot read the override '[prompt=...]'", and the biLM's ended
    in `[data.train_size=500]` (and read `data=<your labelled data>` where the biLM read unlabelled text). Each line,
    less its trailing comment, is a command whose overrides compose; what is optional is in the comment."""
    from textgru.run_folder import RunFolder
    from textgru.tasks import bilm, forecast, lm, sentiment

    run = RunFolder(tmp_path)
    model = {"embedding_dim": 50, "hidden_size": 16, "num_layers": 1}
    tokenizer = {"kind": "bpe", "min_frequency": 3, "lowercase": False, "unicode_form": "NFKC"}
    commands = [*lm.next_commands(run), *sentiment.next_commands(run), *forecast.next_commands(run)]
    for data in ({"source": "local_text"}, {"source": "tweets", "split_seed": 7}, {"source": "local", "path": "a.csv"}):
        run.config.write_text(yaml.safe_dump({"model": model, "tokenizer": tokenizer, "data": data}))
        commands += bilm.next_commands(run)
    run.config.write_text("{")  # unreadable: the shorter line
    commands += bilm.next_commands(run)
    for command in commands:
        textgru, name, *overrides = shlex.split(command, comments=True)
        if textgru == "textgru":  # not forecast's `open forecast.png`
            compose_config(name, overrides)
    assert commands[0].endswith('   # add prompt="..." to go on from a text of yours')
    spaced = RunFolder(tmp_path / "F 2's")  # a review: `open` of the forecast's plot was not quoted
    assert shlex.split(forecast.next_commands(spaced)[1]) == ["open", str(spaced.forecast_plot)]
    assert all(c.endswith("add data.train_size=500 to fine-tune on 500 labelled examples") for c in commands[-4:])
    assert "data=local data.path=labelled.csv" in commands[-4]  # a biLM of unlabelled text: the classifier's file


def test_classifier_exact_under_padding_after_transfer(bilm_run: Path, toy_csv: Path) -> None:
    _, task = build_classification(classifier_config(toy_csv, bilm_run))
    clf = task.model.eval()
    vocab = clf.embedding.num_embeddings
    short = torch.randint(2, vocab, (5,)).tolist()
    batch = pad_collate(
        [{"input_ids": short}, *({"input_ids": torch.randint(2, vocab, (n,)).tolist()} for n in (40, 17))]
    )
    assert batch["input_ids"].shape == (3, 40)
    with torch.no_grad():
        alone = clf(torch.tensor([short]), torch.tensor([5]))
        together = clf(batch["input_ids"], batch["lengths"])
    torch.testing.assert_close(together[0:1], alone, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------- model.transfer=features: the biLM frozen (ELMo)

FEATURES = ["model.transfer=features", "model.hidden_size=20", "model.num_layers=1"]  # sizes of its own


def test_features_read_the_frozen_lm_exactly_and_never_train(bilm_run: Path, toy_csv: Path) -> None:
    """The classifier's `lm` holds the LM's tensors and gives [e; h_fwd; h_bwd] per token, as the LM computes them;
    its parameters are in no layer group, optimizer group or unfreezing stage; the classifier's own sizes differ from
    the LM's (no size check: they are its own); the checkpoint names the LM's sizes, not its path; padding-exact."""
    lm, meta = load_lm(bilm_run)
    dm, task = build_classification(classifier_config(toy_csv, bilm_run, *FEATURES))
    clf = task.model.eval()
    assert dm.tokenizer.to_str() == meta["tokenizer"]
    lm_state, features_state = lm.state_dict(), clf.lm.state_dict()
    assert len(features_state) == 1 + 2 * 2 * 4  # embedding + 2 layers x 2 directions x (2 weights + 2 biases)
    for k, v in features_state.items():
        assert torch.equal(v, lm_state[k]), k
    args = task.checkpoint_extras["model_args"]
    assert args["lm_features"] == [16, 24, 2] and "transfer" not in args and str(bilm_run) not in json.dumps(args)
    assert clf.rnn.num_layers == 1 and clf.rnn.forward_layers[0].input_size == 16 + 16 + 2 * 24
    batch = pad_collate([{"input_ids": torch.randint(2, lm.vocab_size, (n,)).tolist()} for n in (9, 3, 6)])
    ids, lengths = batch["input_ids"], batch["lengths"]
    with torch.no_grad():
        fwd, bwd = lm.states(ids, lengths)
        want = torch.cat([lm.embedding(ids), fwd, bwd], -1)  # (batch, time, 16 + 2*24)
    mask = (torch.arange(9)[None, :] < lengths[:, None]).unsqueeze(-1)
    torch.testing.assert_close(clf.lm(ids, lengths) * mask, want * mask, atol=1e-6, rtol=1e-6)
    frozen = {id(p) for p in clf.lm.parameters()}
    assert not frozen & {id(p) for g in layer_groups(clf) for p in g}
    assert not frozen & {id(p) for g in discriminative_groups(clf, FineTuning(**RECIPE)) for p in g["params"]}
    unfreeze_for_epoch(clf, 10, FineTuning(**RECIPE))  # every stage unfrozen: the LM still not
    assert not any(p.requires_grad for p in clf.lm.parameters())
    assert all(p.requires_grad for g in layer_groups(clf) for p in g)
    clf.train()  # and no gradient reaches it in training
    clf(ids, lengths).sum().backward()
    assert all(p.grad is None for p in clf.lm.parameters()) and clf.embedding.weight.grad is not None
    clf.eval()
    short = ids[1:2, :3]
    with torch.no_grad():
        torch.testing.assert_close(clf(ids, lengths)[1:2], clf(short, lengths[1:2]), atol=1e-6, rtol=1e-6)


def test_a_features_run_trains_the_classifier_not_the_lm_and_resumes_without_it(
    bilm_run: Path, toy_csv: Path, tmp_path: Path
) -> None:
    """A real run (Trainer, weight average on): the checkpoint holds the LM's tensors unchanged, loads and predicts
    alone; resumed after the LM's folder is gone (the run's checkpoint gives the LM's sizes)."""
    shutil.copytree(bilm_run, tmp_path / "lm")
    run_dir = tmp_path / "clf"
    args = ["task=sentiment", "data=local", f"data.path={toy_csv}", f"model.pretrained_lm={tmp_path / 'lm'}"]
    args += [*FEATURES, "data.batch_size=16", "trainer.max_steps=6", "trainer.val_check_interval=3", *QUIET]
    textgru.train(args, run_dir=run_dir)
    lm_state = load_lm(bilm_run)[0].state_dict()
    for name in ("best.ckpt", "last.ckpt"):
        state = model_state_dict(torch.load(run_dir / "checkpoints" / name, map_location="cpu", weights_only=True))
        lm_keys = [k for k in state if k.startswith("lm.")]
        diff = {k: float((state[k] - lm_state[k[3:]]).abs().max()) for k in lm_keys}
        assert len(lm_keys) == 17 and not any(diff.values()), (name, diff)
    start = build_classification(classifier_config(toy_csv, bilm_run, *FEATURES))[1].model
    assert not torch.equal(state["head.weight"], start.head.weight)  # the classifier did train
    lm_file = tmp_path / "lm" / "checkpoints" / "best.ckpt"  # which LM file, by content (a review: only in train.log)
    used = {"path": str(lm_file), "sha256": hashlib.sha256(lm_file.read_bytes()).hexdigest()}
    assert textgru.load(run_dir).meta["pretrained_lm"] == used
    shutil.rmtree(tmp_path / "lm")
    r = run_script("train", f"resume={run_dir}", "trainer.max_steps=9", *QUIET)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["global_step"] == 9
    for name in ("best.ckpt", "last.ckpt"):  # kept by the resume, which reads no LM
        saved = torch.load(run_dir / "checkpoints" / name, map_location="cpu", weights_only=True)
        assert saved["textgru"]["pretrained_lm"] == used, name
    clf = textgru.load(run_dir)
    assert clf.model.lm is not None and clf.predict("a1 b5 a3 b12").label in ("x", "y", "z")
    with pytest.raises(
        TextgruError,
        match=r"^precision=bf16 runs a single classifier without a language model's features; this one has",
    ):
        clf.with_precision("bf16")


def test_a_data_parallel_rank_of_a_new_features_run_reads_the_lm_sizes(
    bilm_run: Path, toy_csv: Path, tmp_path: Path
) -> None:
    """Under trainer=ddp_cpu rank 1 runs the command again after rank zero wrote the run's tokenizer, with no
    checkpoint yet (a review: it took the run for a resumed one and every such run failed at the start)."""
    cfg = classifier_config(toy_csv, bilm_run, *FEATURES)
    cfg.paths.run_dir = str(tmp_path / "run")
    (tmp_path / "run").mkdir()
    shutil.copy(bilm_run / "tokenizer.json", tmp_path / "run" / "tokenizer.json")
    _, task = build_classification(cfg)
    assert task.model.lm is not None and task.checkpoint_extras["model_args"]["lm_features"] == [16, 24, 2]


def test_feature_dropout_without_features_is_warned_of_and_not_recorded(bilm_run: Path, toy_csv: Path, caplog) -> None:
    """A review: model.feature_dropout=0.3 of a fine-tuned run was taken silently and recorded in its checkpoint (and
    /info) as if it applied."""
    with caplog.at_level(logging.WARNING):
        _, task = build_classification(classifier_config(toy_csv, bilm_run, "model.feature_dropout=0.3"))
    assert "model.feature_dropout=0.3 applies only with model.transfer=features; ignored" in caplog.text
    assert "feature_dropout" not in task.checkpoint_extras["model_args"]


# ---------------------------------------------------------------- model.members: several classifiers in one

NO_DROPOUT = ["model.dropout=0", "model.embedding_dropout=0", "model.feature_dropout=0", "model.word_dropout=0"]


def test_members_train_each_on_its_own_loss(bilm_run: Path, toy_csv: Path) -> None:
    """In training each member is scored on its own (the sum of the members' losses: each member's gradient is what
    it would be alone); validation scores the output, the members' mean probability."""
    _, task = build_classification(classifier_config(toy_csv, bilm_run, *FEATURES, "model.members=2", *NO_DROPOUT))
    task.log = task.log_dict = lambda *a, **k: None  # no Trainer here
    vocab = task.model.embedding.num_embeddings
    batch = pad_collate([{"input_ids": torch.randint(2, vocab, (n,)).tolist(), "label": n % 3} for n in (9, 3, 6)])
    labels, each = batch["labels"], task.model.member_logits(batch["input_ids"], batch["lengths"])
    members_sum = sum(task.loss_fn(m, labels) for m in each) / len(labels)
    ensemble = task.loss_fn(each.log_softmax(-1).exp().mean(0).log(), labels) / len(labels)
    task.train()
    torch.testing.assert_close(task._step(batch, "train"), members_sum)
    task.eval()
    torch.testing.assert_close(task._step(batch, "val"), ensemble)
    assert abs(float(members_sum) / 2 - float(ensemble)) > 1e-4  # the two differ: the test tells them apart


def test_a_member_trains_as_it_would_alone(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """A review: the members' gradients were clipped by one norm over all of them (and scaled by 1/members), so a
    member's update depended on the others'. Without dropout, member 0 of a 2-member run trains exactly as a single
    classifier of the same seed does, with clipping active."""
    args = ["task=sentiment", "data=local", f"data.path={toy_csv}", f"model.pretrained_lm={bilm_run}", *FEATURES]
    args += [*NO_DROPOUT, "data.batch_size=16", "trainer.max_steps=6", "trainer.gradient_clip_val=0.05", *QUIET]
    states = {}
    for members in (1, 2):
        textgru.train([*args, f"model.members={members}"], run_dir=tmp_path / str(members))
        ckpt = torch.load(tmp_path / str(members) / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)
        states[members] = model_state_dict(ckpt)
    start = build_classification(classifier_config(toy_csv, bilm_run, *FEATURES))[1].model.state_dict()
    for name, alone in states[1].items():
        assert torch.allclose(states[2][name], alone, rtol=0, atol=1e-6), name
        assert name.startswith("lm.") or not torch.equal(alone, start[name]), name  # trained


def test_sharded_strategies_keep_lightnings_clipping(bilm_run: Path, toy_csv: Path, monkeypatch) -> None:
    """A review: per-member clipping calls torch's clip on parameters FSDP shards (Lightning refuses norm clipping
    there); under FSDP and DeepSpeed the task leaves clipping to Lightning."""
    _, task = build_classification(classifier_config(toy_csv, bilm_run, *FEATURES, "model.members=2"))
    calls = []
    monkeypatch.setattr(L.LightningModule, "configure_gradient_clipping", lambda self, *a: calls.append(a))
    for name, lightnings in (("DDPStrategy", 0), ("FSDPStrategy", 1), ("DeepSpeedStrategy", 1)):
        task._trainer = SimpleNamespace(strategy=type(name, (), {})())
        task.configure_gradient_clipping(None, 1.0, "norm")
        assert len(calls) == lightnings, name
        calls.clear()


def test_every_member_starts_from_the_pretrained_weights(bilm_run: Path, toy_csv: Path) -> None:
    """Fine-tuned with members: the LM's embedding and GRU are copied into each member (heads start apart); every
    member's parameters are in the layer groups, once."""
    lm_state = load_lm(bilm_run)[0].state_dict()
    model = build_classification(classifier_config(toy_csv, bilm_run, "model.members=3"))[1].model
    for member in model.members:
        own = member.state_dict()
        assert all(torch.equal(own[k], v) for k, v in lm_state.items() if k.startswith(TRANSFERRED))
    assert not torch.equal(model.others[1].head.weight, model.head.weight)
    grouped = [id(p) for g in layer_groups(model) for p in g]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters()) and len(model.others) == 2


def test_a_run_of_members_trains_each_and_predicts_their_mean(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """A real run (Trainer, weight average on) of 2 members over the frozen LM: one checkpoint holds both and the LM
    once, unchanged; both members trained; it loads, predicts their mean probability; bf16 refuses in one line."""
    run_dir = tmp_path / "clf"
    args = ["task=sentiment", "data=local", f"data.path={toy_csv}", f"model.pretrained_lm={bilm_run}", *FEATURES]
    args += ["model.members=2", "data.batch_size=16", "trainer.max_steps=4", "trainer.val_check_interval=2", *QUIET]
    textgru.train(args, run_dir=run_dir)
    state = model_state_dict(torch.load(run_dir / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True))
    lm_state = load_lm(bilm_run)[0].state_dict()
    assert all(torch.equal(v, lm_state[k[3:]]) for k, v in state.items() if k.startswith("lm."))
    assert not any(k.startswith("others.0.lm.") for k in state) and "others.0.head.weight" in state
    start = build_classification(classifier_config(toy_csv, bilm_run, *FEATURES, "model.members=2"))[1].model
    for name in ("head.weight", "others.0.head.weight", "others.0.rnn.forward_layers.0.weight_hh_l0"):
        assert not torch.equal(state[name], start.state_dict()[name]), name  # the same start, trained
    clf = textgru.load(run_dir)
    assert len(clf.model.members) == 2
    texts = ["a1 b5 a3 b12", "b2 a4"]
    batch = pad_collate([{"input_ids": ids} for ids in clf.encode(texts)])
    with torch.no_grad():
        mean = clf.model.member_logits(batch["input_ids"], batch["lengths"]).softmax(-1).mean(0)
    torch.testing.assert_close(clf.predict_proba(texts), mean, atol=1e-6, rtol=1e-5)
    assert not torch.allclose(mean, clf.model.member_logits(batch["input_ids"], batch["lengths"])[0].softmax(-1))
    with pytest.raises(
        TextgruError, match=r"^precision=bf16 runs a single classifier .*; this one is 2 in one \(model.members\)"
    ):
        clf.with_precision("bf16")


def test_features_without_a_language_model_give_one_line(toy_csv: Path, tmp_path: Path) -> None:
    cfg = classifier_config(toy_csv, tmp_path / "lm", "model.transfer=features", "model.pretrained_lm=null")
    with pytest.raises(TextgruError, match=r"^model.transfer=features reads a pretrained language model; give model"):
        build_classification(cfg)


def test_size_mismatch_and_wrong_checkpoint_give_one_line(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    with pytest.raises(TextgruError) as e:
        build_classification(classifier_config(toy_csv, bilm_run, "model.hidden_size=32", "model.num_layers=1"))
    assert "\n" not in str(e.value)
    assert str(e.value).endswith("set model.hidden_size=24 model.num_layers=2"), e.value
    # another tokenizer= than the LM's: the classifier takes the LM's tokenizer, config.yaml must say so; one line
    # names every override needed (a review: three refusals in turn, one fix each), from the LM's record
    from tokenizers import Tokenizer

    size = Tokenizer.from_file(str(bilm_run / "tokenizer.json")).get_vocab_size()
    recorded = load_checkpoint(bilm_run)["textgru"]["tokenizer_config"]
    assert (recorded["kind"], recorded["min_frequency"], recorded["vocab_size"]) == ("word", 2, 20000)
    said = f"^model.pretrained_lm: the classifier takes the language model's word tokenizer \\({size} tokens\\), which "
    for given, now, fix in (
        ("tokenizer.lowercase=false", "tokenizer.lowercase=false", "tokenizer.lowercase=true"),
        ("tokenizer.unicode_form=null", "tokenizer.unicode_form=null", "tokenizer.unicode_form='NFKC'"),  # not nfkc
        ("tokenizer.min_frequency=3", "tokenizer.min_frequency=3", "tokenizer.min_frequency=2"),
        ("tokenizer.vocab_size=5", "tokenizer.vocab_size=5", "tokenizer.vocab_size=20000"),
        (f"tokenizer.vocab_size={size + 1}", f"tokenizer.vocab_size={size + 1}", "tokenizer.vocab_size=20000"),
        (
            "tokenizer.min_frequency=3 tokenizer.lowercase=false",
            "tokenizer.min_frequency=3 tokenizer.lowercase=false",
            "tokenizer.min_frequency=2 tokenizer.lowercase=true",
        ),
        (
            "tokenizer=bpe",
            "tokenizer=bpe tokenizer.vocab_size=8000",
            "tokenizer=word tokenizer.vocab_size=20000 tokenizer.min_frequency=2 tokenizer.lowercase=true "
            "tokenizer.strip_accents=false tokenizer.unicode_form='NFKC' tokenizer.replace_urls=true "
            "tokenizer.replace_mentions=true",
        ),
    ):
        with pytest.raises(
            TextgruError, match=f"{said}tokenizer= describes otherwise \\({re.escape(now)}\\); pass {re.escape(fix)}$"
        ):
            build_classification(classifier_config(toy_csv, bilm_run, *given.split()))
    # an LM checkpoint from before the record: what its tokenizer shows is checked (kind, normalisation, a vocab_size
    # not below its size), min_frequency cannot be
    old = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    del old["textgru"]["tokenizer_config"]
    torch.save(old, tmp_path / "old.ckpt")
    for given, fix in (
        ("tokenizer.vocab_size=5", f"tokenizer.vocab_size={size}"),
        ("tokenizer.lowercase=false", "tokenizer.lowercase=true"),
    ):
        with pytest.raises(TextgruError, match=f"pass {re.escape(fix)}$"):
            build_classification(classifier_config(toy_csv, tmp_path / "old.ckpt", given))
    build_classification(classifier_config(toy_csv, tmp_path / "old.ckpt", "tokenizer.min_frequency=3"))
    build_classification(classifier_config(toy_csv, tmp_path / "old.ckpt", f"tokenizer.vocab_size={size + 1}"))
    # an edited record: one line, not an AttributeError (a review)
    shell = {"kind": "word $(touch pwned)"}  # a review: shown unquoted in the advice line, to be pasted
    secret = {"kind": "word", "vocab_size": "${oc.env:SECRETX}"}  # another: shown in a line to paste, which would
    for edited in ("word", ["kind"], {"kind": "word", "vocab_size": [1]}, {"nope": 1}, shell, secret):  # read it
        old["textgru"]["tokenizer_config"] = edited
        torch.save(old, tmp_path / "edited.ckpt")
        with pytest.raises(TextgruError, match=r"holds a tokenizer_config that is not its tokenizer= settings"):
            build_classification(classifier_config(toy_csv, tmp_path / "edited.ckpt"))
    del old["textgru"]["tokenizer_config"]
    for key, value in (("split_seed", "${oc.env:SECRETX}"), ("split_seed", 7.0), ("val_fraction", "0.1")):
        edited = copy.deepcopy(old)
        edited["textgru"]["data_config"][key] = value
        torch.save(edited, tmp_path / "edited.ckpt")
        with pytest.raises(TextgruError, match=r"holds a data_config that is not a data= config \(an edited file\?\)"):
            build_classification(classifier_config(toy_csv, tmp_path / "edited.ckpt"))
    # a checkpoint of another kind: the biLM's own file relabelled as a task=lm one
    ckpt = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    ckpt["textgru"]["task"] = "lm"
    torch.save(ckpt, tmp_path / "lm.ckpt")
    with pytest.raises(TextgruError) as e:
        build_classification(classifier_config(toy_csv, tmp_path / "lm.ckpt"))
    assert "\n" not in str(e.value)
    assert "is a language-model (task=lm) checkpoint, but this needs a bidirectional" in str(e.value)
    with pytest.raises(TextgruError, match=r"cannot export; fine-tune a classifier from it: textgru train task=sent"):
        textgru.export(bilm_run, tmp_path / "exported")  # what a biLM is for, where a command refuses it
    assert not (tmp_path / "exported").exists()
    # a model class textgru does not have: refused by name, nothing imported
    ckpt["textgru"].update(task="bilm", model_class="os.system")
    torch.save(ckpt, tmp_path / "evil.ckpt")
    with pytest.raises(TextgruError, match=r"^model.pretrained_lm: .*refused model class 'os.system'"):
        build_classification(classifier_config(toy_csv, tmp_path / "evil.ckpt"))


def test_lm_of_another_split_of_the_data_gives_one_line(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """A review: a classifier with data.split_seed=7 fine-tuned from a biLM pretrained on the split of seed 42 of the
    same tweets, silently: 79% of its test texts had been pretrained on."""
    for override, theirs in [
        ("data.split_seed=7", "data.split_seed=42"),
        ("data.test_fraction=0.2", "data.test_fraction=0.1"),
    ]:
        with pytest.raises(TextgruError) as e:
            build_classification(classifier_config(toy_csv, bilm_run, override))
        assert "\n" not in str(e.value) and str(e.value).startswith(
            "model.pretrained_lm was pretrained on another split"
        )
        assert f"; pass {theirs}, or pretrain a language model on this split" in str(e.value)
    # a review: the same split through a link, rows left out otherwise (ignore_labels), the file read as a corpus
    (tmp_path / "link.csv").symlink_to(toy_csv)
    with pytest.raises(TextgruError, match=r"^model.pretrained_lm was pretrained on another split .*split_seed=42"):
        build_classification(classifier_config(tmp_path / "link.csv", bilm_run, "data.split_seed=7"))
    with pytest.raises(TextgruError, match=r"^model.pretrained_lm was pretrained on another split .*ignore_labels"):
        build_classification(classifier_config(toy_csv, bilm_run, "data.ignore_labels=[none]"))
    from textgru.data.pretraining_split import check_pretraining_split

    corpus = {"source": "local_text", "path": str(tmp_path / "link.csv"), "text_column": "review"}
    data = {"source": "local", "path": str(toy_csv), "validation_path": None, "test_path": None}
    read_whole = r"^model.pretrained_lm was pretrained on this data's file \(or a copy of it\) read whole"
    with pytest.raises(TextgruError, match=read_whole):
        check_pretraining_split(corpus, data)
    check_pretraining_split(corpus, {**data, "validation_path": "v.csv", "test_path": "t.csv"})  # its own files
    # another review: the same bytes named by a glob, a copy, or a folder holding a copy of a folder of label folders
    copy = tmp_path / "copy.csv"
    shutil.copy(toy_csv, copy)
    (tmp_path / "more.csv").write_text("review\nmore text\n")
    for named in (str(toy_csv)[:-1] + "?", str(copy), [str(tmp_path / "more.csv"), str(copy)]):
        with pytest.raises(TextgruError, match=read_whole):
            check_pretraining_split({**corpus, "path": named}, data)
    with pytest.raises(TextgruError, match=r"^model.pretrained_lm was pretrained on another split .*split_seed=42"):
        build_classification(classifier_config(copy, bilm_run, "data.split_seed=7"))
    (tmp_path / "folders" / "pos").mkdir(parents=True)
    (tmp_path / "folders" / "pos" / "a.txt").write_text("a fine film")
    shutil.copytree(tmp_path / "folders", tmp_path / "corpus" / "copied")
    (tmp_path / "corpus" / "copied" / "notes.md").write_text("not read by either")
    with pytest.raises(TextgruError, match=read_whole):
        check_pretraining_split(
            {**corpus, "path": str(tmp_path / "corpus")}, {**data, "path": str(tmp_path / "folders")}
        )
    check_pretraining_split({**corpus, "path": str(tmp_path / "corpus" / "copied" / "notes.md")}, data)
    other = tmp_path / "other.csv"  # other data (one row less), whose split the configs cannot compare: its held-out
    other.write_text("".join(toy_csv.read_text().splitlines(keepends=True)[:-1]))  # texts the LM read, by content
    with pytest.raises(TextgruError, match=r"trained on \d+ of this run's validation texts \(\d+%\), so"):
        build_classification(classifier_config(other, bilm_run, "data.split_seed=7"))
    build_classification(classifier_config(toy_csv, bilm_run, "data.train_size=40", "data.batch_size=8"))  # same split
    # a review: the LM read the file with its own test file, or with another file beside it, so it carved the file
    # otherwise (28 and 21 of 31 test texts pretrained on), and the configs were simply not "the same data"
    labelled = {"source": "local", "path": str(toy_csv), "validation_path": None, "test_path": None, "split_seed": 42}
    other_paths = r"^model.pretrained_lm read this data's file with other data paths \(data.{} ; this run: data.{}\)"
    for lm, theirs, ours in [
        ({**labelled, "test_path": str(other)}, f"test_path={other}", "test_path=null"),
        ({**labelled, "path": [str(toy_csv), str(other)]}, f"path=[{toy_csv},{other}]", f"path={toy_csv}"),
    ]:
        with pytest.raises(
            TextgruError, match=other_paths.format(re.escape(theirs), re.escape(ours)).replace(" ;", ";")
        ):
            check_pretraining_split(lm, labelled)
        check_pretraining_split(lm, {**labelled, "validation_path": str(copy), "test_path": str(other)})  # its own
    check_pretraining_split(labelled, dict(labelled))  # the same split
    # a review of the change: a validation file of this run's own leaks nothing (test is carved first, alike); an LM
    # with a validation file of its own carved no validation rows, so only those are named
    check_pretraining_split(labelled, {**labelled, "validation_path": str(copy)})
    with pytest.raises(TextgruError, match=r"include this run's validation texts; pass data.validation_path="):
        check_pretraining_split({**labelled, "validation_path": str(copy)}, labelled)


def test_an_older_bilm_of_this_runs_file_is_warned_of(
    bilm_run: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An upgrade review: a biLM of an older textgru (no digests of its training texts) pretrained on the labelled
    file with today's settings passed unwarned, though it carved the file by the rule of its day: 25 of 31 validation
    texts and 24 of 30 test texts were its training texts. Its checkpoint cannot tell its rule, so this warns."""
    from textgru.data.pretraining_split import check_pretraining_split
    from textgru.models.transfer import PretrainedLM

    ckpt = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    for key in ("trained_texts", "split_rule", "tokenizer_config", "data_digest"):  # what an older textgru lacked
        del ckpt["textgru"][key]
    shutil.copytree(bilm_run, tmp_path / "lm")
    torch.save(ckpt, tmp_path / "lm" / "checkpoints" / "best.ckpt")
    lm = PretrainedLM(tmp_path / "lm")
    with caplog.at_level("WARNING"):
        lm.check_split(dict(lm.data_config))  # the same file, settings and paths: carved alike today
    assert f"model.pretrained_lm was pretrained on {lm.data_config['path']} by an older textgru" in caplog.text
    caplog.clear()

    toy = write_csv(tmp_path / "toy.csv", make_rows(40))
    labelled = {"source": "local", "path": str(toy), "validation_path": None, "test_path": None, "split_seed": 42}
    warned = f"model.pretrained_lm was pretrained on {toy} by an older textgru, which kept no digests"
    with caplog.at_level("WARNING"):
        check_pretraining_split(labelled, dict(labelled))  # a biLM with digests: `report_on` counts the leak
    assert warned not in caplog.text
    with caplog.at_level("WARNING"):
        check_pretraining_split(labelled, dict(labelled), checked=False)
    assert f"{warned} of its training texts and may have carved that file otherwise" in caplog.text
    assert "this run's validation and test texts, which cannot be checked; pretrain it again" in caplog.text
    caplog.clear()
    own = {**labelled, "validation_path": str(toy), "test_path": str(toy)}  # this run carves nothing
    other = write_csv(tmp_path / "other.csv", make_rows(40, seed=1))
    with caplog.at_level("WARNING"):
        check_pretraining_split(labelled, own, checked=False)
        check_pretraining_split({**labelled, "path": str(other)}, labelled, checked=False)  # another file
    assert warned not in caplog.text


def test_the_lm_fine_tuned_from_is_logged_with_its_digest(bilm_run: Path, caplog) -> None:
    """config.yaml names the LM by path only, and a path can later hold another LM (a review): train.log records the
    checkpoint's SHA-256."""
    import hashlib

    from textgru.models.transfer import PretrainedLM

    with caplog.at_level(logging.INFO, logger="textgru.models.transfer"):
        PretrainedLM(bilm_run)
    ckpt = bilm_run / "checkpoints" / "best.ckpt"
    digest = hashlib.sha256(ckpt.read_bytes()).hexdigest()
    assert f"the language model: {ckpt} (sha256 {digest})" in caplog.text


def test_unused_or_unfinished_starts_are_warned_of(bilm_run: Path, toy_csv: Path, tmp_path: Path, caplog) -> None:
    """A review: task.finetune options without model.pretrained_lm were ignored without a word, and an LM run still
    training (no metrics.json) was fine-tuned from as if finished."""
    unfinished = tmp_path / "unfinished"
    shutil.copytree(bilm_run, unfinished)
    (unfinished / "metrics.json").unlink()
    with caplog.at_level(logging.WARNING):
        build_classification(classifier_config(toy_csv, unfinished))
        overrides = ["model.pretrained_lm=null", "task.finetune.lr_decay=2.6", "task.finetune.gradual_unfreezing=true"]
        build_classification(classifier_config(toy_csv, bilm_run, *overrides))
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(f"{unfinished} has not finished (no metrics.json)" in m for m in said), said
    assert any(m.startswith("task.finetune (lr_decay=2.6, gradual_unfreezing=true) applies only with") for m in said)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        build_classification(classifier_config(toy_csv, bilm_run))  # finished, and the recipe applies: nothing said
    assert not [r for r in caplog.records if r.levelno == logging.WARNING and "finetune" in r.getMessage()]
    assert not [r for r in caplog.records if "has not finished" in r.getMessage()]


def test_gradual_unfreezing_and_discriminative_lrs(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """Epoch 1 trains the head only, epoch 2 the top GRU layer too, epoch 3 everything; each layer group's lr is
    the one above's / lr_decay."""
    lm, _ = load_lm(bilm_run)
    lm_state = lm.state_dict()
    ulmfit = [f"task.finetune.{k}={str(v).lower()}" for k, v in RECIPE.items()]
    cfg = classifier_config(toy_csv, bilm_run, "task.ema_decay=null", *ulmfit)
    seen = []
    for epochs in (1, 2, 3):
        L.seed_everything(0)
        dm, task = build_classification(cfg)
        head_before = task.model.head.weight.detach().clone()
        trainer = L.Trainer(
            max_epochs=epochs,
            limit_train_batches=3,
            limit_val_batches=0,
            logger=False,
            enable_checkpointing=False,
            enable_progress_bar=False,
            enable_model_summary=False,
            default_root_dir=tmp_path,
        )
        trainer.fit(task, datamodule=dm)
        state = task.model.state_dict()

        def same(prefix: str) -> bool:
            return all(torch.equal(state[k], v) for k, v in lm_state.items() if k.startswith(prefix))  # noqa: B023

        seen.append(
            (
                same("embedding."),
                same("rnn.forward_layers.0."),
                same("rnn.forward_layers.1."),
                same("rnn.backward_layers.1."),
                torch.equal(task.model.head.weight, head_before),
            )
        )
        if epochs == 1:
            lrs = [g["initial_lr"] for g in trainer.optimizers[0].param_groups]
            assert len(lrs) == 4  # embedding, GRU layer 0, GRU layer 1, pooling + head
            for low, high in zip(lrs, lrs[1:], strict=False):
                assert high / low == pytest.approx(2.6)
            assert lrs[-1] == pytest.approx(cfg.optimizer.lr)
    assert seen[0] == (True, True, True, True, False)  # head only
    assert seen[1] == (True, True, False, False, False)  # + the top GRU layer (both directions)
    assert seen[2] == (False, False, False, False, False)  # everything


def test_a_run_resumed_mid_epoch_freezes_what_its_epoch_freezes(bilm_run: Path, toy_csv: Path) -> None:
    """A review: Lightning (2.6) calls no on_train_epoch_start for an epoch resumed in its middle, so gradual
    unfreezing never ran and every layer trained for the rest of it (not the run never stopped); training's start
    sets the stage of the epoch it starts in."""
    ulmfit = [f"task.finetune.{k}={str(v).lower()}" for k, v in RECIPE.items()]
    _, task = build_classification(classifier_config(toy_csv, bilm_run, "task.ema_decay=null", *ulmfit))
    for p in task.model.parameters():
        p.requires_grad_(True)  # as a resumed run's model is built, before any epoch starts
    task.on_train_start()  # epoch 0 (no trainer): the head alone trains
    assert task.model.head.weight.requires_grad and not task.model.embedding.weight.requires_grad


def test_a_run_resumed_mid_epoch_keeps_the_stages_that_min_steps_stretched(
    bilm_run: Path, toy_csv: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A review: trainer.min_steps made 1 planned epoch 4 short ones (each stage 4 of them); a run resumed in short
    epoch 1 set its stage with 1 epoch a stage and trained the GRU, which the run never stopped did not."""
    ulmfit = [f"task.finetune.{k}={str(v).lower()}" for k, v in RECIPE.items()]
    cfg = classifier_config(toy_csv, bilm_run, "task.ema_decay=null", "trainer.max_epochs=1", *ulmfit)
    _, task = build_classification(cfg)
    for epoch in (1, 0):
        for p in task.model.parameters():
            p.requires_grad_(True)  # as a resumed run's model is built, before any epoch starts
        stretched = dict(max_epochs=4, max_steps=-1, num_training_batches=8, accumulate_grad_batches=1)
        task._trainer = SimpleNamespace(current_epoch=epoch, **stretched)
        caplog.clear()
        task.on_train_start()
        assert task.model.head.weight.requires_grad
        assert not any(p.requires_grad for p in task.model.rnn.parameters()), epoch  # the head alone, 4 epochs
        assert "will not train" not in caplog.text  # epoch 0's warning is on_train_epoch_start's, said once


def test_trainable_groups_schedule() -> None:
    recipe = FineTuning(**{**RECIPE, "unfreeze_epochs": 2})
    assert [trainable_groups(e, 4, recipe) for e in range(7)] == [1, 1, 2, 2, 4, 4, 4]
    assert trainable_groups(0, 4, FineTuning(**{**RECIPE, "gradual_unfreezing": False})) == 4
    default = FineTuning(**OmegaConf.to_container(compose_config("train", ["task=sentiment"]).task.finetune))
    assert trainable_groups(0, 4, default) == 4 and default.lr_decay == 1  # plain fine-tuning unless asked
    with pytest.raises(TextgruError, match="lr_decay"):
        FineTuning(**{**RECIPE, "lr_decay": 0.5})


def test_too_few_epochs_for_gradual_unfreezing_are_warned_of(caplog: pytest.LogCaptureFixture) -> None:
    """A review: 1-4 epochs with unfreeze_epochs=2 never trained the pretrained embedding, silently; so did
    trainer.max_steps ending the run in the head-only stage (another review: every LM weight unmoved)."""
    from textgru.tasks.finetuning import unfreeze_for_epoch

    model, recipe = GRUClassifier(30, 3, embedding_dim=8, hidden_size=6), FineTuning(**{**RECIPE, "unfreeze_epochs": 2})
    cases = [
        ((4, -1), "raise trainer.max_epochs to at least 5"),
        ((5, -1), None),
        ((None, -1), None),
        ((10, 8), "trainer.max_steps=8 ends the run first"),  # 8 batches an epoch: every layer trains from step 33
        ((10, 32), "raise trainer.max_steps above 32 (8 steps an epoch)"),
        ((10, 33), None),
    ]
    for (max_epochs, max_steps), said in cases:
        caplog.clear()
        trainer = SimpleNamespace(
            max_epochs=max_epochs, max_steps=max_steps, num_training_batches=8, accumulate_grad_batches=1
        )
        unfreeze_for_epoch(model, 0, recipe, trainer)
        assert (said in caplog.text) if said else "will not train" not in caplog.text, (max_epochs, caplog.text)
    # trainer.min_steps stretched 2 planned epochs into 150 of 2 steps (a review: the warning named max_epochs=150,
    # a value the user never gave, when max_steps=10 ended the run)
    stretched = FineTuning(**{**RECIPE, "unfreeze_epochs": 1, "planned_epochs": 2})
    for max_steps, said in [
        (
            10,
            "but trainer.max_steps=10 ends the run first: the embedding (and lower GRU layers) will not train; "
            "raise trainer.max_steps above 300 (2 steps an epoch)",
        ),
        (
            -1,
            "from epoch 2 on (short epoch 150: trainer.min_steps made the epochs 75x shorter), but "
            "trainer.max_epochs=2 ends the run first: the embedding (and lower GRU layers) will not train; raise "
            "trainer.max_epochs to at least 3",
        ),
    ]:
        caplog.clear()
        trainer = SimpleNamespace(
            max_epochs=150, max_steps=max_steps, num_training_batches=2, accumulate_grad_batches=1
        )
        unfreeze_for_epoch(model, 0, stretched, trainer)
        assert said in caplog.text, caplog.text


def test_gradual_unfreezing_stages_follow_epochs_that_min_steps_made_shorter() -> None:
    """A review: trainer.min_steps ran 150 epochs of 2 steps instead of 3, and the head trained alone for one of
    them (2 steps of 300). A stage now lasts as many short epochs as make `unfreeze_epochs` planned ones."""
    from textgru.tasks.finetuning import stage_epochs

    recipe = FineTuning(**{**RECIPE, "unfreeze_epochs": 1, "planned_epochs": 3})
    assert stage_epochs(recipe, 150) == 50 and stage_epochs(recipe, 3) == 1 and stage_epochs(recipe, -1) == 1
    stages = [trainable_groups(e, 4, recipe, stage_epochs(recipe, 150)) for e in (0, 49, 50, 99, 100, 149)]
    assert stages == [1, 1, 2, 2, 4, 4]
    assert stage_epochs(FineTuning(**{**RECIPE, "unfreeze_epochs": 2}), 150) == 2  # no plan known: as asked


def test_layer_groups_cover_every_parameter_once() -> None:
    model = GRUClassifier(30, 3, embedding_dim=8, hidden_size=6, num_layers=3, pooling="attention")
    groups = layer_groups(model)
    assert len(groups) == 5
    ids = [id(p) for g in groups for p in g]
    assert len(ids) == len(set(ids)) == len(list(model.parameters()))


def test_slanted_triangular_shape() -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = slanted_triangular(opt, 100, cut_frac=0.1, ratio=32)
    lrs = []
    for _ in range(100):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    assert lrs[0] == pytest.approx(1 / 32)
    assert max(lrs) == pytest.approx(1.0) and lrs.index(max(lrs)) == 10
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:11], strict=False)) and all(
        a > b for a, b in zip(lrs[10:-1], lrs[11:], strict=False)
    )
    assert lrs[-1] == pytest.approx(1 / 32 + (1 - 1 / 32) / 90, rel=1e-6)
    for steps in (15, 5):  # the decay lasts to the last step where cut_frac of them is not whole (a review: at 15
        sched = slanted_triangular(opt := torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0), steps)
        lrs = []  # steps it reached the floor at step 10; at 5 it ended at 0.68 of the peak)
        for _ in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert all(a > b for a, b in zip(lrs[1:-1], lrs[2:], strict=False)), lrs
        assert lrs[-1] == pytest.approx(1 / 32 + (1 - 1 / 32) / (steps - 1), rel=1e-6)


def test_one_cycle_keeps_discriminative_lr_ratios() -> None:
    """A review: scheduler=one_cycle peaked every layer group at the first group's lr (the embedding's, 0.002 /
    2.6^2), cancelling task.finetune.lr_decay; each group peaks at its own lr, an explicit max_lr keeps the ratios."""
    model = GRUClassifier(30, 3, embedding_dim=8, hidden_size=6, num_layers=2)
    for max_lr, top in [(None, 0.002), (0.01, 0.01)]:
        opt = torch.optim.AdamW(discriminative_groups(model, FineTuning(**RECIPE)), lr=0.002)
        for group in opt.param_groups:
            group["lr"] = group["lr"] * group.pop("lr_scale")  # as TextgruTask.configure_optimizers
        sched, peaks = one_cycle(opt, 10, max_lr=max_lr), []
        for _ in range(10):
            peaks = [max(a, g["lr"]) for a, g in zip(peaks or [0.0] * 4, opt.param_groups, strict=True)]
            opt.step()
            sched.step()
        assert peaks == pytest.approx([top / 2.6**3, top / 2.6**2, top / 2.6, top])


def test_stratified_sample_is_stratified_and_seeded() -> None:
    labels = [0] * 600 + [1] * 300 + [2] * 100
    picked = stratified_indices(labels, 100, seed=1)
    assert len(picked) == len(set(picked)) == 100
    assert [sum(labels[i] == c for i in picked) for c in range(3)] == [60, 30, 10]
    assert picked == stratified_indices(labels, 100, seed=1)
    assert picked != stratified_indices(labels, 100, seed=2)
    tiny = stratified_indices(labels, 3, seed=0)
    assert sorted(labels[i] for i in tiny) == [0, 1, 2]  # every label kept when the size allows
    # the minimum of one is not taken back from the small labels it raised (98/1/1 at 3 kept only two labels)
    for counts, size, want in (([98, 1, 1], 3, [1, 1, 1]), ([900, 50, 30, 20], 6, [3, 1, 1, 1])):
        skewed = [c for c, n in enumerate(counts) for _ in range(n)]
        picked = stratified_indices(skewed, size, seed=0)
        assert [sum(skewed[i] == c for i in picked) for c in range(len(counts))] == want


def test_limit_training_examples_sizes_and_errors() -> None:
    from datasets import ClassLabel, Dataset, Features, Value

    features = Features({"text": Value("string"), "label": ClassLabel(names=["a", "b"])})
    ds = Dataset.from_dict({"text": [f"t{i}" for i in range(50)], "label": [i % 2 for i in range(50)]}, features)
    assert len(limit_training_examples(ds, None, 0.2, seed=0)) == 10
    assert limit_training_examples(ds, None, None, seed=0) is ds
    cases = ((51, None, "only 50"), (0, None, "at least 1"), (None, 1.5, r"\(0, 1\]"), (10, 0.1, "not both"))
    cases += ((1, None, "data.train_size=1 keeps examples of one label only; a classifier needs two or more"),)
    cases += ((None, 0.01, r"data.train_fraction=0.01 \(1\) keeps examples of one label only"),)
    for size, fraction, match in cases:
        with pytest.raises(TextgruError, match=match):
            limit_training_examples(ds, size, fraction, seed=0)


def test_few_label_datamodule_keeps_the_tokenizer_of_all_texts(toy_csv: Path) -> None:
    from conftest import data_cfg, tok_cfg

    from textgru.data.classification_datamodule import ClassificationDataModule

    data = data_cfg("local", path=str(toy_csv))
    full = ClassificationDataModule(data, tok_cfg("word"), seed=3)
    few = ClassificationDataModule(data, tok_cfg("word"), seed=3, train_size=30)
    other = ClassificationDataModule(data, tok_cfg("word"), seed=4, train_size=30)
    for dm in (full, few, other):
        dm.setup("fit")
    assert len(few.raw["train"]) == 30 and len(full.raw["train"]) > 300
    assert few.tokenizer.to_str() == full.tokenizer.to_str()  # trained on every training text, labels unused
    assert few.raw["train"]["text"] != other.raw["train"]["text"]  # the sample follows the seed
    assert len(few.examples["validation"]) == len(full.examples["validation"])  # evaluation splits untouched


def test_min_steps_adds_epochs_validated_every_kth() -> None:
    cfg = OmegaConf.create(
        {
            "trainer": {
                "min_steps": 300,
                "max_epochs": 6,
                "check_val_every_n_epoch": 1,
                "val_check_interval": None,
                "fast_dev_run": False,
            }
        }
    )
    dm = SimpleNamespace(train_dataloader=lambda: range(8))  # 8 steps per epoch (500 labels, batch 64)
    fit_epochs_to_min_steps(cfg, dm)
    assert (cfg.trainer.max_epochs, cfg.trainer.check_val_every_n_epoch) == (42, 6)  # 38 needed, rounded to 6s
    cfg.trainer.min_steps, cfg.trainer.max_epochs = 10, 6
    fit_epochs_to_min_steps(cfg, dm)
    assert cfg.trainer.max_epochs == 6  # long enough already
    cfg.trainer.min_steps, cfg.trainer.max_epochs, cfg.trainer.check_val_every_n_epoch = 300, 6, 1
    cfg.trainer.accumulate_grad_batches = (
        3  # 3 optimizer steps an epoch (the last of 2 batches): min_steps counts steps
    )
    fit_epochs_to_min_steps(cfg, dm)
    assert (cfg.trainer.max_epochs, cfg.trainer.check_val_every_n_epoch) == (112, 16)  # 100 needed, rounded to 16s


def test_max_steps_below_min_steps_is_warned_of_and_ends_the_run(caplog: pytest.LogCaptureFixture) -> None:
    """A review: experiment=tweets_ulmfit (min_steps 300) with trainer.max_steps=20 stopped at 20 without a word;
    and, planned for 300 steps (42 epochs validated every 6th), its last step was neither validated nor saved as
    best.ckpt: Lightning ignores a stop below min_steps. min_steps now follows max_steps, and the plan with it."""
    trainer = {"min_steps": 300, "max_epochs": 6, "check_val_every_n_epoch": 1, "val_check_interval": None}
    dm = SimpleNamespace(train_dataloader=lambda: range(8))
    for max_steps, warned, plan in ((20, True, (20, 6, 1)), (300, False, (300, 42, 6)), (-1, False, (300, 42, 6))):
        caplog.clear()
        cfg = OmegaConf.create({"trainer": {**trainer, "max_steps": max_steps, "fast_dev_run": False}})
        with caplog.at_level(logging.WARNING):
            fit_epochs_to_min_steps(cfg, dm)
        said = "trainer.max_steps=20 ends the run before trainer.min_steps=300" in caplog.text
        assert said == warned, caplog.text
        assert (cfg.trainer.min_steps, cfg.trainer.max_epochs, cfg.trainer.check_val_every_n_epoch) == plan
    unlimited = OmegaConf.create({"trainer": {**trainer, "max_epochs": -1, "max_steps": 20, "fast_dev_run": False}})
    fit_epochs_to_min_steps(unlimited, dm)  # no epoch limit (a review: min_steps was kept, the last step unvalidated)
    assert (unlimited.trainer.min_steps, unlimited.trainer.max_epochs) == (20, -1)


def test_finetune_run_few_labels_self_contained(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """scripts/train.py fine-tunes from the LM run with 60 labels and ULMFiT's whole schedule; the
    checkpoint loads and predicts alone, with the LM's tokenizer and without any reference to the LM's files."""
    run_dir = tmp_path / "clf"
    shutil.copytree(bilm_run, tmp_path / "lm")
    r = run_script(
        "train",
        "task=sentiment",
        "data=local",
        f"data.path={toy_csv}",
        "model.pretrained_lm=lm",  # relative to the folder it runs in
        *SIZES,
        "data.train_size=60",
        "scheduler=slanted_triangular",  # with the rest of ULMFiT's schedule (options; the default is plain)
        "task.finetune.lr_decay=2.6",
        "task.finetune.gradual_unfreezing=true",
        "trainer.max_epochs=3",
        "data.batch_size=16",
        *QUIET,
        f"hydra.run.dir={run_dir}",
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    ckpt = torch.load(run_dir / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    assert str(bilm_run) not in json.dumps(ckpt["textgru"]) and "lm" not in ckpt["textgru"]["model_args"].values()
    # recorded where it was; a resume needs it no more (it needed the LM's folder, as reached from the first cwd)
    assert OmegaConf.load(run_dir / "config.yaml").model.pretrained_lm == str(tmp_path / "lm")
    shutil.rmtree(tmp_path / "lm")
    # with early stopping on (it failed: the metric it reads is not there when Lightning re-enters the last epoch end)
    r = run_script("train", f"resume={run_dir}", "trainer.max_epochs=4", *QUIET)
    assert r.returncode == 0, r.stderr[-3000:]
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 4
    assert not re.search(r"epoch \d+ \(step \d+\): *$", (run_dir / "train.log").read_text(), re.M)  # no empty line
    lm_meta = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)["textgru"]
    assert ckpt["textgru"]["tokenizer"] == lm_meta["tokenizer"]
    assert "few-label run: 60 of" in (run_dir / "train.log").read_text()
    clf = textgru.load(run_dir)
    assert clf.predict("a1 b5 a3 b12").label in ("x", "y", "z")
    assert model_state_dict(ckpt).keys() == clf.model.state_dict().keys()


@pytest.mark.slow
def test_script_size_mismatch_is_one_line(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """The command: one `error:` line (after the run's own log lines), exit code 2, no run folder left."""
    r = run_script(
        "train",
        "task=sentiment",
        "data=local",
        f"data.path={toy_csv}",
        f"model.pretrained_lm={bilm_run}",
        "model.embedding_dim=16",
        "model.hidden_size=32",
        f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-2000:]
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith("error: the classifier's sizes"), r.stderr
    assert errors[0].endswith("set model.hidden_size=24 model.num_layers=2")
    assert not (tmp_path / "run").exists()  # the refused run leaves no folder behind


def test_loading_a_bilm_says_what_it_is_for(bilm_run: Path) -> None:
    """A review: `textgru eval` of a biLM run named the readable kinds and no fix; it now says, as predict does."""
    import textgru

    with pytest.raises(
        TextgruError,
        match=r"task=bilm\) checkpoint; textgru.load \(and textgru eval\) reads .*; fine-tune a classifier",
    ):
        textgru.load(bilm_run)


def test_texts_without_labels_for_a_bilm_are_pointed_to_a_text_corpus(tmp_path: Path) -> None:
    """A review: `task=bilm data=local` on a CSV of texts alone said to set data.label_column=, which no value can
    satisfy; the fix that works is data=local_text, and its command works."""
    from textgru.data.bilm_datamodule import load_texts
    from textgru.errors import TextgruError

    path = tmp_path / "texts.csv"
    path.write_text("text\n" + "".join(f"a text of its own number {i}\n" for i in range(60)))
    local = OmegaConf.to_container(compose_config("train", ["task=bilm", "data=local", f"data.path={path}"]).data)
    with pytest.raises(
        TextgruError, match=r"texts without labels are a text corpus: data=local_text data.path=\S+ \(data.text_column="
    ):
        load_texts(local)
    corpus = OmegaConf.to_container(compose_config("train", ["task=bilm", "data=local_text", f"data.path={path}"]).data)
    assert sum(len(split) for split in load_texts(corpus).values()) == 60


def test_an_lm_that_read_this_runs_held_out_texts_is_refused(bilm_run: Path, toy_csv: Path, tmp_path: Path) -> None:
    """A review: a biLM pretrained on a copy of the labelled texts (a CSV of the text column) was fine-tuned from
    without a word, its test scores those of texts it had read. A biLM keeps digests of its training texts (its
    training split's only, here), and fine-tuning counts the held-out texts among them."""
    from textgru.data.bilm_datamodule import load_texts
    from textgru.data.columns import column_values
    from textgru.data.repeated_texts import text_digests

    ckpt = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    split = load_texts(OmegaConf.to_container(OmegaConf.load(bilm_run / "config.yaml").data))
    kept = ckpt["textgru"]["trained_texts"].tolist()
    assert kept == text_digests(column_values(split["train"], "text")) and len(kept) > 100
    with open(toy_csv, encoding="utf-8") as f:  # as a biLM of the whole file's texts would keep
        ckpt["textgru"]["trained_texts"] = torch.tensor(text_digests(row["text"] for row in csv.DictReader(f)))
    shutil.copytree(bilm_run, tmp_path / "lm")
    torch.save(ckpt, tmp_path / "lm" / "checkpoints" / "best.ckpt")
    with pytest.raises(
        TextgruError, match=r"trained on \d+ of this run's validation texts \(100%\), so its validation"
    ):
        build_classification(classifier_config(toy_csv, tmp_path / "lm"))


def test_an_lm_that_read_this_runs_held_out_texts_as_lines_of_a_txt_is_refused(
    bilm_run: Path, toy_csv: Path, tmp_path: Path
) -> None:
    """A review: a biLM pretrained on a .txt of the labelled texts one per line (the text column dumped) kept the
    digest of the one document, which no held-out text has; it was fine-tuned from without a word while 75% of the
    held-out texts were lines of its training text. Each line of its training documents is digested too."""
    from textgru.data.bilm_datamodule import BiLMDataModule

    with open(toy_csv, encoding="utf-8") as f:
        lines = [row["text"] for row in csv.DictReader(f)]
    (tmp_path / "texts.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    cfg = compose_config("train", ["task=bilm", "data=local_text", f"data.path={tmp_path / 'texts.txt'}"])
    dm = BiLMDataModule(OmegaConf.to_container(cfg.data), OmegaConf.to_container(cfg.tokenizer), seed=0)
    dm.setup("fit")  # one document, carved contiguously: its first lines train
    ckpt = torch.load(bilm_run / "checkpoints" / "best.ckpt", map_location="cpu", weights_only=True)
    ckpt["textgru"]["trained_texts"] = torch.tensor(dm.train_digests)  # as `task=bilm` on that .txt keeps
    shutil.copytree(bilm_run, tmp_path / "lm")
    torch.save(ckpt, tmp_path / "lm" / "checkpoints" / "best.ckpt")
    with pytest.raises(
        TextgruError, match=r"trained on \d+ of this run's validation texts \(\d+%\), so its validation"
    ):
        build_classification(classifier_config(toy_csv, tmp_path / "lm"))


def test_a_huge_corpus_keeps_a_sample_of_its_digests_said_in_the_log(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Past KEPT_DIGESTS distinct texts and lines, a biLM keeps the smallest digests (the same sample for the same
    corpus, whatever its order), and the log says the check is partial."""
    from textgru.data import repeated_texts

    docs = ["one line\ntwo Lines", "Two  lines", "three\n\nfour"]
    every = repeated_texts.corpus_digests(docs)
    lines = ["one line", "two lines", "three", "four"]  # a blank line is none; case and spacing aside
    assert every == repeated_texts.text_digests([docs[0], docs[2], *lines]) and len(every) == 6
    monkeypatch.setattr(repeated_texts, "KEPT_DIGESTS", 4)
    with caplog.at_level(logging.INFO, logger="textgru.data.repeated_texts"):
        assert repeated_texts.corpus_digests(docs[::-1]) == every[:4]
    assert "6 distinct training texts and lines: the checkpoint keeps the digests of 4" in caplog.text
    assert "is partial" in caplog.text


def test_a_split_line_shows_dollar_braces_as_text(tmp_path: Path) -> None:
    """A review: an LM pretrained on a file whose name holds `${` was refused as an edited checkpoint; the line to
    paste must keep such a value as text (Hydra's `\\${`, in the shell's quotes), not an interpolation."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from textgru.data.pretraining_split import _overrides, check_pretraining_split

    odd = str(tmp_path / "a${x}.txt")
    check_pretraining_split({"source": "local_text", "path": odd, "split_seed": 42}, {"source": "local", "path": "b"})
    said = _overrides({"path": odd, "split_seed": 7}, ["path", "split_seed"])
    path_arg, seed_arg = shlex.split(said)
    assert seed_arg == "data.split_seed=7"
    assert OmegaConf.create({"v": OverridesParser.create().parse_override(path_arg).value()}).v == odd
