"""`textgru ensemble` / `textgru.ensemble`: classifiers trained apart joined into one checkpoint. Its output is the log
of the mean probability of all their members, each source's weights (its weight average where it kept one) move
exactly, the frozen LM is kept once, and what cannot join (other tokens, labels, sizes, data, LM, kind) is one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from conftest import run_script, run_textgru, tiny_run_args

import textgru
from textgru.checkpoint import checkpoint_extras, load_checkpoint, rebuild_model
from textgru.errors import TextgruError
from textgru.models.gru_classifier import GRUClassifier

LABELS = ["negative", "neutral", "positive"]
ARGS = {"vocab_size": 40, "num_classes": 3, "embedding_dim": 8, "hidden_size": 6, "lm_features": [8, 5, 1]}


def tokenizer_json(extra: str = "") -> str:
    vocab = {"[PAD]": 0, "[UNK]": 1, **{f"w{i}{extra}": i for i in range(2, ARGS["vocab_size"])}}
    return json.dumps({"version": "1.0", "model": {"type": "WordLevel", "vocab": vocab, "unk_token": "[UNK]"}})


def source(path: Path, seed: int, lm: dict | None = None, ema: bool = False, **change) -> Path:
    """A classifier checkpoint of random weights (seed `seed`), its frozen LM's weights `lm` where given; `ema`: the
    file also holds a weight average (other weights), which is what inference reads; `change`: model args or meta."""
    metas = ("label_names", "tokenizer", "data_config", "data_digest", "max_length", "split_rule")
    meta_change = {k: change.pop(k) for k in metas if k in change}
    args = {**ARGS, **change}
    torch.manual_seed(seed)
    model = GRUClassifier(**args)
    if lm is not None:
        model.load_state_dict({**model.state_dict(), **lm})
    meta = checkpoint_extras(
        "sentiment", model, args, tokenizer_json(), LABELS, {"source": "local", "path": "a.csv"}, 16
    )
    meta.update(meta_change)
    state = {f"model.{k}": v for k, v in model.state_dict().items()}
    if ema:
        average = {k: v if k.startswith("lm.") else v + 0.5 for k, v in model.state_dict().items()}  # the LM kept
        state |= {f"ema.module.{k}": v for k, v in average.items()} | {"ema.n_averaged": torch.tensor(3)}
    torch.save({"state_dict": state, "textgru": meta}, path)
    return path


def lm_weights(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return {k: v for k, v in GRUClassifier(**ARGS).state_dict().items() if k.startswith("lm.")}


def probabilities(path: Path, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    model, _ = rebuild_model(load_checkpoint(path))
    with torch.no_grad():
        return model(ids, lengths).softmax(-1)  # (batch, classes)


def test_the_joined_classifier_is_the_mean_of_every_members_probability(tmp_path: Path) -> None:
    lm = lm_weights(0)
    a = source(tmp_path / "a.ckpt", 1, lm)
    b = source(tmp_path / "b.ckpt", 2, lm, members=2, ema=True)  # two members, and a weight average
    c = source(tmp_path / "c.ckpt", 3, lm, feature_dropout=0.5)  # the default, named: the same config as a's
    out = textgru.ensemble([a, b, c], tmp_path / "joined.ckpt")
    joined = load_checkpoint(out)  # weights_only=True
    assert (
        joined["textgru"]["model_args"] == {**ARGS, "members": 4} and joined["textgru"]["tokenizer"] == tokenizer_json()
    )
    assert joined["textgru"]["joined_from"] == [str(p.absolute()) for p in (a, b, c)]
    ids = torch.randint(2, ARGS["vocab_size"], (5, 7))
    lengths = torch.tensor([7, 3, 1, 5, 7])
    ids[1, 3:], ids[2, 1:], ids[3, 5:] = 0, 0, 0
    mean = sum(n * probabilities(p, ids, lengths) for n, p in ((1, a), (2, b), (1, c))) / 4
    assert torch.allclose(probabilities(out, ids, lengths), mean, atol=1e-6)
    state, sources = joined["state_dict"], [torch.load(p, weights_only=True)["state_dict"] for p in (a, b, c)]
    assert torch.equal(state["model.head.weight"], sources[0]["model.head.weight"])
    assert torch.equal(state["model.others.0.head.weight"], sources[1]["ema.module.head.weight"])  # the average
    assert torch.equal(
        state["model.others.1.rnn.forward_layers.0.weight_hh_l0"],
        sources[1]["ema.module.others.0.rnn.forward_layers.0.weight_hh_l0"],
    )
    assert torch.equal(state["model.others.2.embedding.weight"], sources[2]["model.embedding.weight"])
    assert torch.equal(state["model.lm.embedding.weight"], lm["lm.embedding.weight"])
    assert not any(k.startswith("model.others.3") for k in state)
    # runs of few-label samples join, as runs of other seeds do: their validation and test splits are the same (a
    # review: subset_seed=1 and the seed 1 run's sample, the same 30 examples, were refused as "other data")
    few = {"source": "local", "path": "a.csv", "train_size": 30}
    d = source(tmp_path / "d.ckpt", 4, lm, data_config={**few, "subset_seed": 1})
    e = source(tmp_path / "e.ckpt", 5, lm, data_config={**few, "subset_seed": None, "train_fraction": None})
    assert load_checkpoint(textgru.ensemble([d, e], tmp_path / "few.ckpt"))["textgru"]["model_args"]["members"] == 2
    from textgru.data.splitting import SPLIT_RULE

    assert load_checkpoint(out)["textgru"]["split_rule"] == SPLIT_RULE  # how its data was split: eval reads it
    old = source(tmp_path / "old.ckpt", 6, lm, split_rule=None)  # saved before it was kept: unknown, in any order (a
    for order in ([a, old], [old, a]):  # review: the first's, so eval's warning of an older source came and went)
        assert (
            load_checkpoint(textgru.ensemble(order, tmp_path / "o.ckpt", overwrite=True))["textgru"]["split_rule"]
            is None
        )


@pytest.mark.parametrize(
    "change,needle",
    [
        ({"label_names": ["neg", "neu", "pos"]}, "has the labels ['neg', 'neu', 'pos'], the first"),
        ({"tokenizer": tokenizer_json("x")}, "has another tokenizer than the first (other token ids)"),
        ({"max_length": 32}, "reads 32 tokens a text, the first 16"),
        ({"hidden_size": 7}, "model config differs from the first's (hidden_size: 7 there, 6 in the first)"),
        (
            {"data_config": {"source": "local", "path": "b.csv"}},
            "trained on other data than the first (path: 'b.csv' there, 'a.csv' in the first",
        ),
        ({"lm": "other"}, "reads another frozen language model than the first (lm."),
    ],
)
def test_what_cannot_join_is_one_line_and_writes_nothing(tmp_path: Path, change: dict, needle: str) -> None:
    lm = lm_weights(0)
    first = source(tmp_path / "a.ckpt", 1, lm)
    other = lm_weights(9) if change.pop("lm", None) else lm
    second = source(tmp_path / "b.ckpt", 2, other, **change)
    with pytest.raises(
        TextgruError, match="^checkpoint 2 .*" + needle.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")
    ):
        textgru.ensemble([first, second], tmp_path / "joined.ckpt")
    assert not (tmp_path / "joined.ckpt").exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.ckpt",
        "b.ckpt",
    ]


def test_too_few_another_kind_and_the_output_are_one_line(tmp_path: Path, lm_run: Path) -> None:
    a, b = source(tmp_path / "a.ckpt", 1, lm_weights(0)), source(tmp_path / "b.ckpt", 2, lm_weights(0))
    with pytest.raises(TextgruError, match="^give at least two classifier checkpoints to join"):
        textgru.ensemble([a], tmp_path / "j.ckpt")
    with pytest.raises(TextgruError, match=r"is a language-model \(task=lm\) checkpoint, but this needs a classifier"):
        textgru.ensemble([a, lm_run], tmp_path / "j.ckpt")
    mine = tmp_path / "mine.ckpt"
    mine.write_text("my notes")
    with pytest.raises(
        TextgruError, match=r"mine.ckpt exists; pass overwrite=true \(in Python, overwrite=True\) to replace"
    ):
        textgru.ensemble([a, b], mine)
    assert mine.read_text() == "my notes"
    with pytest.raises(TextgruError, match="is a folder; give a file name"):
        textgru.ensemble([a, b], tmp_path)
    assert (
        textgru.ensemble([a, b], mine, overwrite=True) == mine
        and load_checkpoint(mine)["textgru"]["model_args"]["members"] == 2
    )
    # found by a review: each of these overwrote a file, wrote what eval could not read, or was a Python error
    with pytest.raises(TextgruError, match="^overwrite='false' must be true or false"):
        textgru.ensemble([a, b], mine, overwrite="false")  # type: ignore[arg-type]
    with pytest.raises(TextgruError, match=r"out.onnx: give a .ckpt file name \(for ONNX, textgru export"):
        textgru.ensemble([a, b], tmp_path / "out.onnx")
    before = a.read_bytes()
    with pytest.raises(TextgruError, match="a.ckpt is one of the checkpoints joined; write the joined one elsewhere"):
        textgru.ensemble([a, b], a, overwrite=True)
    assert a.read_bytes() == before
    with pytest.raises(TextgruError, match="a.ckpt is given twice; give each checkpoint once"):
        textgru.ensemble([a, b, tmp_path / "." / "a.ckpt"], tmp_path / "j.ckpt")
    for nothing in (None, []):
        with pytest.raises(TextgruError, match="^give at least two classifier checkpoints"):
            textgru.ensemble(nothing, tmp_path / "j.ckpt")  # type: ignore[arg-type]
    with pytest.raises(TextgruError, match="^output= takes a file name"):
        textgru.ensemble([a, b], None)  # type: ignore[arg-type]
    with pytest.raises(TextgruError, match="^checkpoints holds None; give run folders or .ckpt files"):
        textgru.ensemble([a, None], tmp_path / "j.ckpt")  # type: ignore[list-item]  (a review: "no checkpoint given")
    with pytest.raises(TextgruError, match=r"cannot be written: .*mine.ckpt is a file"):
        textgru.ensemble([a, b], mine / "j.ckpt")
    assert textgru.ensemble((p for p in (a, b)), tmp_path / "from_a_generator.ckpt").is_file()


def test_runs_of_one_data_file_reached_another_way_join(tmp_path: Path) -> None:
    """A review: runs of tiny.csv and of tinylink.csv (a symbolic link to it) were refused as "trained on other data";
    the same file (however reached) joins, and so do equal contents where the checkpoints' digests say so."""
    lm = lm_weights(0)
    (tmp_path / "tiny.csv").write_text("text,label\na,b\n")
    (tmp_path / "link.csv").symlink_to(tmp_path / "tiny.csv")
    shutil.copy(tmp_path / "tiny.csv", tmp_path / "copy.csv")
    data = lambda name: {"source": "local", "path": str(tmp_path / name)}
    a = source(tmp_path / "a.ckpt", 1, lm, data_config=data("tiny.csv"), data_digest=None)
    b = source(tmp_path / "b.ckpt", 2, lm, data_config=data("link.csv"), data_digest=None)
    assert load_checkpoint(textgru.ensemble([a, b], tmp_path / "j.ckpt"))["textgru"]["model_args"]["members"] == 2
    c = source(tmp_path / "c.ckpt", 3, lm, data_config=data("copy.csv"), data_digest=None)
    with pytest.raises(TextgruError, match="trained on other data than the first \\(path: "):  # nothing says same
        textgru.ensemble([a, c], tmp_path / "j2.ckpt")
    a2, c2 = (
        source(p, s, lm, data_config=data(n), data_digest="0123")
        for p, s, n in ((a, 1, "tiny.csv"), (c, 3, "copy.csv"))
    )
    assert textgru.ensemble([a2, c2], tmp_path / "j2.ckpt").is_file()
    b2 = source(
        tmp_path / "b2.ckpt", 2, lm, data_config=data("link.csv"), data_digest="0123"
    )  # the link, same contents: joins
    assert textgru.ensemble([a2, b2], tmp_path / "j3.ckpt").is_file()
    a3 = source(
        tmp_path / "a3.ckpt", 4, lm, data_config=data("tiny.csv"), data_digest="4567"
    )  # a review: tiny.csv edited between
    with pytest.raises(TextgruError, match=r"trained on the file path=.*tiny.csv as it was then: its data digest"):
        textgru.ensemble([a2, a3], tmp_path / "j4.ckpt")
    assert not (tmp_path / "j4.ckpt").exists()


def test_the_output_is_never_in_a_runs_checkpoints_folder_a_folder_name_or_another_suffix(tmp_path: Path) -> None:
    """A review: output=run0/checkpoints/last.ckpt overwrite=true replaced the run's resume checkpoint; output=new.ckpt/
    wrote a file new.ckpt; output=E.CKPT was refused as not a .ckpt name."""
    a, b = source(tmp_path / "a.ckpt", 1, lm_weights(0)), source(tmp_path / "b.ckpt", 2, lm_weights(0))
    run = tmp_path / "run0"
    (run / "checkpoints").mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 1\n")
    (run / "checkpoints" / "last.ckpt").write_text("the run's own")
    for name in ("last.ckpt", "joined.ckpt"):
        with pytest.raises(
            TextgruError,
            match=r"is in the checkpoints folder of the run .*run0 \(its resume and best checkpoints\); write",
        ):
            textgru.ensemble([a, b], run / "checkpoints" / name, overwrite=True)
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == ["last.ckpt"]
    assert (run / "checkpoints" / "last.ckpt").read_text() == "the run's own"
    with pytest.raises(TextgruError, match="new.ckpt/ names a folder; give a file name"):
        textgru.ensemble([a, b], f"{tmp_path}/new.ckpt/")
    assert not (tmp_path / "new.ckpt").exists()
    assert load_checkpoint(textgru.ensemble([a, b], tmp_path / "E.CKPT"))["textgru"]["model_args"]["members"] == 2
    (tmp_path / "checkpoints").mkdir()  # a folder named so that no run owns: written
    assert textgru.ensemble([a, b], tmp_path / "checkpoints" / "j.ckpt").is_file()
    proj = tmp_path / "proj"  # a review: a project's own config.yaml beside checkpoints/ was taken for a run
    (proj / "checkpoints").mkdir(parents=True)
    (proj / "config.yaml").write_text("lr: 1\n")
    assert textgru.ensemble([a, b], proj / "checkpoints" / "ens.ckpt").is_file()
    (proj / ".hydra").mkdir()  # a started run (config.yaml with Hydra's), stopped before its first checkpoint
    (proj / ".hydra" / "hydra.yaml").write_text("hydra: {}\n")
    with pytest.raises(TextgruError, match="is in the checkpoints folder of the run"):
        textgru.ensemble([a, b], proj / "checkpoints" / "ens2.ckpt")


def test_the_command_joins_two_trained_runs_that_eval_and_predict_take(
    tmp_path: Path, tiny_run: Path, caplog: pytest.LogCaptureFixture
) -> None:
    other = tmp_path / "runs" / "seed7"
    trained_on = Path(load_checkpoint(tiny_run)["textgru"]["data_config"]["path"])  # under xdist, perhaps not this
    r = run_script("train", *tiny_run_args(trained_on), "seed=7", f"hydra.run.dir={other}")  # worker's small_csv
    assert r.returncode == 0, r.stderr[-2000:]
    (tmp_path / "runs" / "seed0").symlink_to(tiny_run)
    out = tmp_path / "ens" / "joined.ckpt"
    r = run_textgru("ensemble", f"ckpt_paths={tmp_path / 'runs' / 'seed*'}", f"output={out}")  # a glob: expanded
    assert r.returncode == 0, r.stderr[-2000:]
    assert f"joined 2 classifiers (2 members) into {out}" in r.stdout and f"textgru eval ckpt_path={out}" in r.stdout
    texts = ["good great day", "bad awful", "the table"]
    probs = [textgru.load(p).predict(texts) for p in (tiny_run, other, out)]
    for i in range(len(texts)):
        for label, p in probs[2][i].probs.items():
            assert abs(p - (probs[0][i].probs[label] + probs[1][i].probs[label]) / 2) < 1e-6
    r = run_textgru("eval", f"ckpt_path={out}", f"output_dir={tmp_path / 'report'}")
    assert r.returncode == 0, r.stderr[-2000:]
    assert json.loads((tmp_path / "report" / "test_metrics.json").read_text())["accuracy"] >= 0
    r = run_textgru("eval", f"ckpt_path={out}")  # a review: a second joined file in ens/ would share ens/eval/
    assert r.returncode == 0 and (tmp_path / "ens" / "eval" / "joined" / "test_metrics.json").is_file(), r.stderr
    r = run_textgru("ensemble", f"ckpt_paths=[{tiny_run},{other}]", f"output={out}")  # again: refused, kept
    assert r.returncode == 2 and r.stderr.strip().splitlines()[-1].startswith(f"error: output={out} exists")
    shutil.copytree(other, tmp_path / "running")  # a run still training (no metrics.json): joined, and said so (a
    (tmp_path / "running" / "metrics.json").unlink()  # review: without a word, where model.pretrained_lm warns)
    textgru.ensemble([tiny_run, tmp_path / "running"], tmp_path / "u.ckpt")
    assert (
        f"{tmp_path / 'running'} has not finished (no metrics.json): its best checkpoint so far (best.ckpt) is joined"
        in caplog.text
    )


def test_a_stopped_write_leaves_neither_file_nor_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from textgru import ensembling

    a, b = source(tmp_path / "a.ckpt", 1, lm_weights(0)), source(tmp_path / "b.ckpt", 2, lm_weights(0))

    def stopped(*_: object, **__: object) -> None:
        raise KeyboardInterrupt  # Ctrl+C or SIGTERM while the file is written

    monkeypatch.setattr(ensembling.torch, "save", stopped)
    with pytest.raises(KeyboardInterrupt):
        textgru.ensemble([a, b], tmp_path / "new" / "deep" / "j.ckpt")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.ckpt", "b.ckpt"]  # a review: new/deep/ was left


def test_an_output_that_appears_while_joining_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A concurrency review: a file put at output= while the checkpoints were joined was replaced (overwrite=false)."""
    from textgru import ensembling

    a, b = source(tmp_path / "a.ckpt", 1, lm_weights(0)), source(tmp_path / "b.ckpt", 2, lm_weights(0))
    out, real = tmp_path / "j.ckpt", ensembling.joined_checkpoint

    def another_command_writes(*args: object) -> dict:
        out.write_bytes(b"theirs")  # after the check that output= is free, before the file is put in place
        return real(*args)

    monkeypatch.setattr(ensembling, "joined_checkpoint", another_command_writes)
    with pytest.raises(TextgruError, match=r"j.ckpt appeared while this command ran .* and is kept; run again"):
        textgru.ensemble([a, b], out)
    assert out.read_bytes() == b"theirs" and sorted(p.name for p in tmp_path.iterdir()) == [
        "a.ckpt",
        "b.ckpt",
        "j.ckpt",
    ]
    textgru.ensemble([a, b], out, overwrite=True)  # asked: replaced
    assert load_checkpoint(out)["textgru"]["model_args"]["members"] == 2


def test_one_model_is_never_counted_twice(tmp_path: Path) -> None:
    """A review: a hard link of a source, or a joined checkpoint joined again with one of its sources, weighed a
    model twice unsaid; joined again with others, the record names the runs, not the joined file."""
    from textgru.ensembling import _expanded

    lm = lm_weights(0)
    a, b, c = (source(tmp_path / f"{n}.ckpt", i, lm) for i, n in enumerate("abc", 1))
    (tmp_path / "link.ckpt").hardlink_to(a)
    with pytest.raises(TextgruError, match="link.ckpt is given twice"):
        textgru.ensemble([a, tmp_path / "link.ckpt"], tmp_path / "j.ckpt")
    ab = textgru.ensemble([a, b], tmp_path / "ab.ckpt")
    with pytest.raises(TextgruError, match=r"b.ckpt is in two of the checkpoints given \(one joined from it\)"):
        textgru.ensemble([ab, b], tmp_path / "j.ckpt")
    import shutil

    copy = Path(shutil.copy(b, tmp_path / "copy.ckpt"))  # a review: a copied run folder counted its model twice
    with pytest.raises(TextgruError, match=r"^member 2 of .*ab.ckpt and .*copy.ckpt hold the same weights \(one"):
        textgru.ensemble([ab, copy], tmp_path / "j.ckpt")
    with pytest.raises(TextgruError, match=r"b.ckpt and .*copy.ckpt hold the same weights"):
        textgru.ensemble([c, b, copy], tmp_path / "j.ckpt")
    assert not (tmp_path / "j.ckpt").exists()
    abc = load_checkpoint(textgru.ensemble([ab, c], tmp_path / "abc.ckpt"))
    assert abc["textgru"]["joined_from"] == [str(p) for p in (a, b, c)]
    assert abc["textgru"]["model_args"]["members"] == 3
    (tmp_path / "run[1]").mkdir()  # a path that exists as written is not a glob (run1 would have been taken)
    assert _expanded(str(tmp_path / "run[1]")) == [str(tmp_path / "run[1]")]
    assert _expanded(str(tmp_path / "[ab].ckpt")) == [str(a), str(b)]


def test_weights_no_classifier_has_are_one_line(tmp_path: Path) -> None:
    a, b = source(tmp_path / "a.ckpt", 1, lm_weights(0)), source(tmp_path / "b.ckpt", 2, lm_weights(0))
    edited = torch.load(b, weights_only=True)
    edited["state_dict"]["model.others.x.weight"] = torch.zeros(1)  # an edited file: was int()'s ValueError
    torch.save(edited, b)
    with pytest.raises(TextgruError, match=r"weights hold 'others.x.weight', which no classifier has"):
        textgru.ensemble([a, b], tmp_path / "j.ckpt")


def test_a_nan_weight_is_named_by_its_source_file(tmp_path: Path) -> None:
    a, b = source(tmp_path / "a.ckpt", 1, lm_weights(0)), source(tmp_path / "b.ckpt", 2, lm_weights(0))
    diverged = torch.load(b, weights_only=True)
    diverged["state_dict"]["model.head.weight"][0, 0] = float("nan")  # a review: named 'others.0.head.weight'
    torch.save(diverged, b)
    with pytest.raises(TextgruError, match=r"^checkpoint 2 \(.*b\.ckpt\): its tensor 'head\.weight' holds NaN"):
        textgru.ensemble([a, b], tmp_path / "j.ckpt")
    assert not (tmp_path / "j.ckpt").exists()
