"""The benchmarks compare what they claim to compare: the hand-written loop does the pipeline's arithmetic, and the
batching variants differ only in how the bidirectional GRU treats padding. (No timings are asserted.)"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import ROOT, run_python

import textgru
from textgru.optim import warmup_cosine

sys.path.insert(0, str(ROOT / "bench"))
import batching_throughput
import serve_load
import training_throughput
from _common import summary


@pytest.mark.parametrize("total", [7, 100, 2790])
def test_hand_schedule_is_the_pipelines(total: int) -> None:
    """The plain loop's warm-up + cosine factor gives the learning rate textgru.optim.warmup_cosine gives, every step."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=2e-3)
    sched = warmup_cosine(opt, total, warmup_ratio=0.05, min_lr_ratio=0.1)
    for step in range(total):
        assert opt.param_groups[0]["lr"] == pytest.approx(
            2e-3 * training_throughput.warmup_cosine_factor(step, total, 0.05, 0.1), rel=1e-12
        )
        opt.step()
        sched.step()


def test_batching_variants_differ_only_in_padding() -> None:
    """Same weights; packed nn.GRU and textgru's BiGRU give the same logits on padded batches; the padded nn.GRU does
    not (padding enters its backward direction), but does on a batch without padding."""
    torch.manual_seed(0)
    reference = batching_throughput.GRUClassifier(50, 3, **batching_throughput.MODEL)
    models = {k: batching_throughput.build(k, reference, 50, 3).eval() for k in batching_throughput.LAYERS}
    counts = {k: sum(p.numel() for p in m.parameters()) for k, m in models.items()}
    assert len(set(counts.values())) == 1, counts
    lengths = torch.tensor([9, 3, 6, 1])
    ids = torch.randint(2, 50, (4, 9)) * (torch.arange(9)[None, :] < lengths[:, None])  # right-padded with 0
    with torch.no_grad():
        logits = {k: m(ids, lengths) for k, m in models.items()}
        full = {k: m(ids[:1], lengths[:1]) for k, m in models.items()}  # one text: no padding at all
    torch.testing.assert_close(logits["packed"], logits["textgru"], atol=1e-5, rtol=1e-5)
    assert (logits["padded"] - logits["textgru"]).abs().max() > 1e-4
    torch.testing.assert_close(full["padded"], full["textgru"], atol=1e-5, rtol=1e-5)


def test_summary() -> None:
    s = summary([3.0, 1.0, 2.0, 10.0, 4.0])
    assert (s["min"], s["median"], s["max"], s["n"]) == (1.0, 3.0, 10.0, 5)


@pytest.mark.slow  # ~7 s
def test_training_throughput_runs_the_same_steps_both_ways(small_csv, tmp_path) -> None:
    """End to end on a tiny config: the pipeline and the plain loop see the same batches and compute the same losses
    (the script exits with an error otherwise), and the JSON records the machine."""
    out = tmp_path / "tt.json"
    r = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "training_throughput.py"),
            "--steps=4",
            "--warmup=2",
            "--repeats=1",
            "--threads=1",
            f"--out={out}",
            "data=local",
            f"data.path={small_csv}",
            "data.text_column=review",
            "data.label_column=sentiment",
            "data.batch_size=16",
            "model.embedding_dim=16",
            "model.hidden_size=16",
            "model.pretrained_embeddings=null",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:] + r.stdout[-2000:]
    assert "--- Logging error ---" not in r.stderr, r.stderr[-3000:]  # the pipeline's handlers left (a review)
    result = json.loads(out.read_text())
    assert result["same_batches"] is True
    assert result["max_loss_difference"] < 1e-6
    losses = result["losses_first_repeat"]
    assert len(losses["pipeline"]) == 6 and len(set(losses["pipeline"])) > 1  # a training run, not a constant
    assert result["machine"]["torch_threads"] == 1 and result["machine"]["usable_cores"] >= 1


def _curve_run(
    folder,
    method: str,
    labels: int,
    seed: int,
    f1: float | None,
    data: str = "a.csv",
    batch_size: int = 64,
    min_steps: int | None = None,
) -> None:
    """A run folder as bench/learning_curve.py reads it: config.yaml (and metrics.json where `f1` is given)."""
    import yaml

    folder.mkdir(parents=True)
    cfg = {
        "task": {"name": "sentiment", "finetune": {"gradual_unfreezing": False, "lr_decay": 1}},
        "seed": seed,
        "paths": {"run_dir": str(folder)},
        "trainer": {"default_root_dir": str(folder), "min_steps": min_steps},
        "data": {"path": data, "train_size": labels, "batch_size": batch_size},
        "model": {"pretrained_lm": "/lm" if method != "scratch" else None},
    }
    if method.startswith("features"):
        cfg["model"]["transfer"] = "features"
    if method == "features x2":
        cfg["model"]["members"] = 2
    (folder / "config.yaml").write_text(yaml.safe_dump(cfg))
    if f1 is not None:
        (folder / "metrics.json").write_text(json.dumps({"test/macro_f1": f1} if f1 >= 0 else {"val/loss": 1.0}))


def test_learning_curve_reads_runs_truthfully(tmp_path) -> None:
    """A review: runs of other data were pooled into one curve, one seed showed sd 0.0000, unfinished runs were left
    out unsaid, and a metrics.json without test/macro_f1 was a KeyError traceback."""
    for seed, (scratch, tuned) in enumerate([(0.5, 0.6), (0.7, 0.8)], 1):
        _curve_run(tmp_path / "runs" / f"s{seed}", "scratch", 100, seed, scratch)
        _curve_run(tmp_path / "runs" / f"f{seed}", "fine-tuned", 100, seed, tuned)
    _curve_run(tmp_path / "runs" / "one", "fine-tuned", 500, 1, 0.9, batch_size=32)  # a setting, not other data
    _curve_run(tmp_path / "runs" / "stopped", "fine-tuned", 500, 2, None)
    _curve_run(tmp_path / "runs" / "untested", "fine-tuned", 500, 3, -1)
    script = [str(ROOT / "bench" / "learning_curve.py"), "--overwrite"]  # one --out, written again
    out = str(tmp_path / "curve.json")
    r = run_python([*script, str(tmp_path / "runs"), "--out", out])
    assert r.returncode == 0, r.stderr
    assert "left out 1 unfinished run(s)" in r.stdout and "stopped" in r.stdout
    assert "untested has no test/macro_f1" in r.stdout and "fine-tuned runs differ in data.batch_size" in r.stdout
    assert "note: the methods also differ in data.batch_size (scratch: 64; fine-tuned: 32, 64)" in r.stdout
    assert "also differ in trainer" not in r.stdout
    for seed in (1, 2):  # a review: 300 fine-tuning steps against 2 from scratch, compared without a word
        _curve_run(tmp_path / "runs" / f"long{seed}", "fine-tuned", 2000, seed, 0.7, min_steps=300)
        _curve_run(tmp_path / "runs" / f"short{seed}", "scratch", 2000, seed, 0.6)
    r = run_python([*script, str(tmp_path / "runs"), "--out", out])
    assert "note: the methods also differ in trainer.min_steps (scratch: null; fine-tuned: 300, null)" in r.stdout
    for seed in (1, 2):  # scratch runs of as many steps are their own method, the fair baseline
        _curve_run(tmp_path / "runs" / f"fair{seed}", "scratch", 2000, seed, 0.65, min_steps=300)
    r = run_python([*script, str(tmp_path / "runs"), "--out", out])
    row = next(line.split() for line in r.stdout.splitlines() if line.split()[:2] == ["2000", "fine-tuned"])
    assert row[-2:] == ["+0.1000", "+0.0500"], r.stdout  # minus scratch, minus scratch of as many steps
    summary = {(c["method"], c["labels"]): c for c in json.loads((tmp_path / "curve.json").read_text())["summary"]}
    assert summary[("scratch, min_steps", 2000)]["n"] == 2 and summary[("scratch", 2000)]["n"] == 2
    twice = [str(tmp_path / "runs"), f"{tmp_path}/runs/../runs/fair1"]  # one run reached twice: counted once (a review)
    r = run_python([*script, *twice, "--out", out])
    summary = {(c["method"], c["labels"]): c for c in json.loads((tmp_path / "curve.json").read_text())["summary"]}
    assert summary[("scratch, min_steps", 2000)]["n"] == 2, r.stdout
    (tmp_path / "linked").mkdir()  # a link to a run inside a folder given beside it: once too (a review)
    (tmp_path / "linked" / "fair1").symlink_to(tmp_path / "runs" / "fair1")
    r = run_python([*script, str(tmp_path / "runs"), str(tmp_path / "linked"), "--out", out])
    summary = {(c["method"], c["labels"]): c for c in json.loads((tmp_path / "curve.json").read_text())["summary"]}
    assert summary[("scratch, min_steps", 2000)]["n"] == 2, r.stdout
    shutil.rmtree(tmp_path / "linked")
    _curve_run(tmp_path / "runs" / "frozen", "features", 2000, 1, 0.75, min_steps=300)  # its own recipe, not pooled
    r = run_python([*script, str(tmp_path / "runs"), "--out", out])
    summary = {(c["method"], c["labels"]): c for c in json.loads((tmp_path / "curve.json").read_text())["summary"]}
    assert summary[("frozen biLM features", 2000)]["mean"] == 0.75 and summary[("fine-tuned", 2000)]["n"] == 2
    _curve_run(tmp_path / "runs" / "ensemble", "features x2", 2000, 1, 0.79, min_steps=300)  # not one model
    r = run_python([*script, str(tmp_path / "runs"), "--out", out])
    assert "ensemble is an ensemble (model.members=2), not one model: left out" in r.stdout
    summary = {(c["method"], c["labels"]): c for c in json.loads((tmp_path / "curve.json").read_text())["summary"]}
    assert summary[("frozen biLM features", 2000)]["mean"] == 0.75
    shutil.rmtree(tmp_path / "runs" / "frozen")
    shutil.rmtree(tmp_path / "runs" / "ensemble")
    for seed in (1, 2):
        shutil.rmtree(tmp_path / "runs" / f"long{seed}")
        shutil.rmtree(tmp_path / "runs" / f"short{seed}")
        shutil.rmtree(tmp_path / "runs" / f"fair{seed}")
    summary = {(c["method"], c["labels"]): c for c in json.loads((tmp_path / "curve.json").read_text())["summary"]}
    assert summary[("fine-tuned", 100)]["mean"] == pytest.approx(0.7) and summary[("scratch", 100)]["n"] == 2
    assert summary[("fine-tuned", 500)]["std"] is None  # one run: no spread
    _curve_run(tmp_path / "runs" / "other", "scratch", 100, 3, 0.4, data="b.csv")
    r = run_python([*script, str(tmp_path / "runs"), "--out", out])
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].startswith(
        "error: the runs were trained on different data (data.path differ)"
    )


def test_ensemble_scores_average_probabilities(tiny_run, tmp_path) -> None:
    """A two-model ensemble scores the mean of its members' probabilities (checked against the API), every subset is
    scored, and runs of other data are refused in one line."""
    from textgru.inference.evaluation import classification_metrics
    from textgru.inference.scored_data import labelled_texts

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    for key in ("model.head.bias", "ema.module.head.bias"):  # another member: its answers lean to the first label
        ckpt["state_dict"][key] = ckpt["state_dict"][key] + torch.tensor(
            [1.0] + [0.0] * (len(ckpt["state_dict"][key]) - 1)
        )
    (tmp_path / "leaning").mkdir()
    torch.save(ckpt, tmp_path / "leaning" / "best.ckpt")
    members = [str(tiny_run), str(tmp_path / "leaning")]
    script = [str(ROOT / "bench" / "ensemble_scores.py"), "--overwrite"]  # one --out, written again
    out = tmp_path / "ens.json"
    r = run_python([*script, *members, "--out", str(out)])
    assert r.returncode == 0, r.stderr
    subsets = json.loads(out.read_text())["subsets"]
    assert [x["runs"] for x in subsets] == [members[:1], members[1:], members]
    clfs = [textgru.load(m) for m in members]
    texts, names, _ = labelled_texts(None, "test", clfs[0].meta["data_config"])
    labels = [clfs[0].label_names.index(n) for n in names]
    scores = [
        classification_metrics(p, labels, clfs[0].label_names)["macro_f1"]
        for p in (
            clfs[0].predict_proba(texts),
            clfs[1].predict_proba(texts),
            (clfs[0].predict_proba(texts) + clfs[1].predict_proba(texts)) / 2,
        )
    ]
    assert len(set(scores)) > 1  # the members differ, so the test can tell an average from either member
    assert [x["test"] for x in subsets] == pytest.approx(scores)
    ckpt["textgru"]["data_config"] = {**ckpt["textgru"]["data_config"], "split_seed": 7}
    torch.save(ckpt, tmp_path / "leaning" / "best.ckpt")
    r = run_python([*script, *members, "--out", str(out)])
    assert r.returncode == 1 and r.stderr.strip().splitlines()[-1].endswith("give runs trained on the same data")
    for again in (members[0] + "/", f"{members[0]}/checkpoints/best.ckpt"):  # the file loaded is what counts (a review)
        r = run_python([*script, members[0], again, "--out", str(out)])
        assert r.returncode == 2 and r.stderr.strip().endswith(
            "load one checkpoint "
            f"({tiny_run.resolve() / 'checkpoints' / 'best.ckpt'}); give each run once (an ensemble of a model with "
            "itself is that model)"
        ), r.stderr
    shutil.copytree(tiny_run, tmp_path / "copy")  # a review: scored as a 2-model ensemble of one model
    r = run_python([*script, members[0], str(tmp_path / "copy"), "--out", str(out)])
    assert r.returncode == 1 and r.stderr.strip().endswith(
        "give the same probabilities for every text (one model, copied?); give each once"
    ), r.stderr
    r = run_python([*script, members[0], str(tmp_path / "nope"), "--out", str(out)])
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'nope'}: checkpoint '{tmp_path / 'nope'}' does not exist; give a run folder or a .ckpt file"
    ]


@pytest.mark.parametrize("script", sorted(p.name for p in (ROOT / "bench").glob("*.py") if not p.name.startswith("_")))
def test_every_bench_script_loads_and_answers_help(script: str) -> None:
    """A review: two benchmarks named in the README failed on import after a function moved (nothing imported
    them); each answers --help."""
    r = run_python([str(ROOT / "bench" / script), "--help"])
    assert r.returncode == 0 and "usage" in r.stdout.lower(), r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    # a review: eleven descriptions were the first line of a wrapped docstring ("...; never the"): each is now a
    # whole paragraph, the text between argparse's usage and its first list of arguments
    if r.stdout.startswith("usage:"):
        described = re.split(r"\n\n(?:positional arguments|options):", r.stdout)[0].split("\n\n", 1)[1:]
        assert described and described[0].rstrip().endswith((".", ")")), (script, described)


def test_bad_arguments_are_one_line_before_anything_runs(tmp_path) -> None:
    """A review: a folder as --out, --max-seconds 0, --timeout nan, --out X.png, a missing --ckpt, an earlier run in
    --runs-dir, --tokens 0, an --output folder that does not exist were found after the measurement (or the first
    sample), or as a traceback; each is now one `error:` line and exit code 2 (1 for the CSV example's own checks)."""
    (tmp_path / "runs" / "lm").mkdir(parents=True)
    (tmp_path / "runs" / "lm" / "metrics.json").write_text("{}")
    (tmp_path / "in.csv").write_text("text\nhello\n")
    bench, examples = ROOT / "bench", ROOT / "examples"
    cases = [
        ([bench / "reference_gru_speed.py", "--out", tmp_path], 2, "argument --out: "),
        ([bench / "reference_gru_speed.py", "--out", f"{tmp_path / 'new'}/"], 2, "new/ ends in /, a folder; give"),
        ([bench / "serve_load.py", "--classifier", tmp_path, "--max-seconds", "0"], 2, "must be a number above 0"),
        ([bench / "stream_exactness.py", "--timeout", "nan"], 2, "argument --timeout: must be a number above 0"),
        ([bench / "learning_curve.py", tmp_path, "--out", tmp_path / "c.png"], 2, "give the JSON's name"),
        ([bench / "learning_curve.py", tmp_path / "nope"], 2, f"{tmp_path / 'nope'}: no such file or folder"),
        ([bench / "learning_curve.py", tmp_path, "--out", "/proc/textgru-bench.json"], 2, "cannot write /proc/"),
        ([bench / "predict_throughput.py", "--ckpt", tmp_path / "nope"], 2, "does not exist"),
        ([bench / "training_runs.py", "--runs", "default", "lm", "--runs-dir", tmp_path / "runs"], 2, "lm exist"),
        ([bench / "report.py", "--results", tmp_path / "nope"], 2, "no benchmark results"),
        ([examples / "sample.py", tmp_path, "--tokens", "0"], 2, "argument --tokens: must be at least 1"),
        (
            [examples / "classify_csv.py", tmp_path, tmp_path / "in.csv", "--output", tmp_path / "no/x.csv"],
            1,
            "does not exist; make it",
        ),
    ]
    for argv, code, says in cases:
        r = run_python([str(a) for a in argv])
        last = r.stderr.strip().splitlines()[-1]
        assert r.returncode == code and "Traceback" not in r.stderr and last.count("error: ") == 1, (argv, r.stderr)
        assert says in last, (argv, last)
    assert not (tmp_path / "runs" / "default").exists()  # nothing trained before the refusal


def test_out_path_is_checked_by_writing(tmp_path) -> None:
    """A review: os.access says yes to root, so `--out /proc/x.json` passed, everything was measured, and writing the
    JSON was a traceback. A file is now made (and removed) in the folder first; nothing is left behind."""
    import argparse

    from _common import out_path

    if Path("/proc/self").is_dir():  # a folder where no file can be made, even by root
        with pytest.raises(argparse.ArgumentTypeError, match="cannot write /proc/x.json: no file can be made in /proc"):
            out_path("/proc/x.json")
    assert out_path(str(tmp_path / "new" / "r.json")) == str(tmp_path / "new" / "r.json")
    (tmp_path / "old.json").write_text("{}")
    assert out_path(str(tmp_path / "old.json")) == str(tmp_path / "old.json")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.json"]  # no probe left, no folder made yet
    assert (tmp_path / "old.json").read_text() == "{}"


def test_generation_speed_reruns_what_generate_reads(tmp_path, monkeypatch) -> None:
    """A review: the re-run way read the prompt alone while `generate` reads the document separator first, so on a
    trained LM the greedy texts differed and the script failed, blaming the carried state. A model whose next token
    is the number of tokens it has read tells the two contexts apart (an untrained GRU forgets the separator)."""
    import generation_speed

    class Counting(torch.nn.Module):
        def __init__(self, vocab: int) -> None:
            super().__init__()
            self.vocab = vocab
            self.anchor = torch.nn.Parameter(torch.zeros(1))  # where its inputs go

        def forward(self, ids: torch.Tensor, hidden: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
            read = torch.zeros(ids.size(0)) if hidden is None else hidden[0, :, 0]  # (batch,) tokens read before
            so_far = read[:, None] + torch.arange(1, ids.size(1) + 1)  # (batch, time)
            best = 2 + so_far.long() % 5  # past [PAD] and [UNK]
            logits = torch.nn.functional.one_hot(best, self.vocab).float()
            return logits, (read + ids.size(1))[None, :, None]

    _, tok = generation_speed.default_model()
    monkeypatch.setattr(generation_speed, "default_model", lambda: (Counting(tok.get_vocab_size()), tok))
    out = tmp_path / "g.json"
    argv = ["generation_speed.py", "--new-tokens=2", "--check-tokens=12", "--warmup-tokens=1", "--repeats=1"]
    monkeypatch.setattr(sys, "argv", [*argv, "--batches=1", f"--out={out}", "--overwrite"])  # written twice
    generation_speed.main()
    result = json.loads(out.read_text())
    assert result["greedy_tokens_identical"] is True and result["greedy_distinct_tokens"] == 5
    monkeypatch.setattr(generation_speed, "PROMPT", "\u6f22\u5b57:\n")  # a model that cannot read the prompt starts
    generation_speed.main()  # from the separator alone (a review: exit 2, advising an allow_unknown it lacks)
    result = json.loads(out.read_text())
    assert result["prompt"] == "" and result["greedy_tokens_identical"] is True


@pytest.mark.parametrize("n_batches,warmup", [(1, 3), (2, 3), (5, 3), (4, 0)])
def test_batching_throughput_times_every_batch_and_only_them(n_batches: int, warmup: int, monkeypatch) -> None:
    """A review: the warm-up batches were taken from the timed list, so with fewer than 2x--warmup batches the clock
    started late (1 of 2 batches timed, both counted) or never (the "seconds" were time.perf_counter() itself). A
    clock that ticks once per training step shows which steps were timed: one per batch, after all warm-up steps."""
    steps = []

    class Tiny(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lin = torch.nn.Linear(4, 3)

        def forward(self, ids: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
            steps.append(len(steps))
            return self.lin(ids.float())

    monkeypatch.setattr(batching_throughput.time, "perf_counter", lambda: float(len(steps)))
    batch = {"input_ids": torch.ones(2, 4, dtype=torch.long), "lengths": torch.tensor([4, 4]), "labels": torch.ones(2)}
    batch["labels"] = batch["labels"].long()
    assert batching_throughput.train_steps(Tiny(), [batch] * n_batches, warmup) == n_batches
    assert len(steps) == warmup + n_batches


def test_ddp_throughput_checks_its_arguments_before_training(tmp_path) -> None:
    """A review: --trainers bogus was found by the first `textgru train` of that name (after the others had trained),
    and runs of 3 or fewer steps (train_tokens_per_sec null: warm-up only) ended in a traceback after the training."""
    script, out = str(ROOT / "bench" / "ddp_throughput.py"), str(tmp_path / "d.json")
    cases = [
        (["--trainers", "cpu", "bogus"], "argument --trainers: invalid choice: 'bogus' (choose from "),
        (["--tasks", "forecast"], "argument --tasks: invalid choice: 'forecast' (choose from sentiment, lm)"),
        (["--sentiment-steps", "3"], "argument --sentiment-steps: must be at least 4, got 3 (the first 3 batches"),
        (["--lm-steps", "1"], "argument --lm-steps: must be at least 4, got 1"),
    ]
    for argv, says in cases:
        r = run_python([script, *argv, "--repeats", "1", "--out", out], timeout=60)
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and "Traceback" not in r.stderr and lines[-1].count("error: ") == 1, (argv, r.stderr)
        assert says.replace("'", "") in lines[-1].replace("'", ""), (argv, lines[-1])
    assert not (tmp_path / "d.json").exists()


def test_training_throughput_refuses_what_the_plain_loop_cannot_do_before_training(monkeypatch, capsys) -> None:
    """A review: optimizer=adam was a bare AssertionError, scheduler=none an AttributeError, each after the pipeline
    arm had trained and been timed; now one argparse `error:` line naming what the plain loop does."""

    def trained(*args, **kwargs):
        raise AssertionError("trained before the refusal")

    monkeypatch.setattr(training_throughput, "pipeline", trained)
    monkeypatch.setattr(training_throughput, "plain_loop", trained)
    for override, said in (
        ("optimizer=adam", "these overrides give optimizer torch.optim.Adam"),
        ("scheduler=none", "these overrides give scheduler none"),
        ("trainer.gradient_clip_val=0.5", "these overrides give trainer.gradient_clip_val=0.5"),
    ):
        monkeypatch.setattr(sys, "argv", ["training_throughput.py", "--repeats=1", override])
        with pytest.raises(SystemExit) as e:
            training_throughput.main()
        last = capsys.readouterr().err.strip().splitlines()[-1]
        assert e.value.code == 2 and last.startswith("training_throughput.py: error: the plain loop does only "), last
        assert "optimizer=adamw, scheduler=warmup_cosine" in last and last.endswith(said), last


def test_training_throughput_refuses_another_task_before_training(monkeypatch, capsys) -> None:
    """A review: task=lm loaded the data and trained for ~80 s, then a KeyError traceback on its batch's "lengths";
    the plain loop is the classifier's step, so another task is one argparse `error:` line before anything loads."""

    def trained(*args, **kwargs):
        raise AssertionError("trained before the refusal")

    monkeypatch.setattr(training_throughput, "pipeline", trained)
    monkeypatch.setattr(training_throughput, "plain_loop", trained)
    monkeypatch.setattr(sys, "argv", ["training_throughput.py", "--repeats=1", "task=lm"])
    with pytest.raises(SystemExit) as e:
        training_throughput.main()
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert e.value.code == 2, last
    said = "training_throughput.py: error: the benchmark measures task=sentiment's training step; these overrides give"
    assert last == f"{said} task=lm", last


def test_tracking_overhead_trains_from_the_callers_folder(tmp_path, monkeypatch) -> None:
    """A review: the runs started in the repository root, so data.path=mine.csv (there, beside the user) was said
    not to exist, or named the root's file of that name. The training command now starts where the script ran."""
    import tracking_overhead

    started_in = []

    def fake_run(cmd, **kwargs):
        started_in.append(Path(kwargs.get("cwd") or Path.cwd()).resolve())
        run_dir = Path(next(a for a in cmd if a.startswith("hydra.run.dir=")).split("=", 1)[1])
        run_dir.mkdir(parents=True)
        (run_dir / "metrics.json").write_text(json.dumps({"train_seconds": 1.0, "global_step": 1}))
        (run_dir / "train.log").write_text("")
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(tracking_overhead.subprocess, "run", fake_run)
    monkeypatch.chdir(tmp_path)
    row = tracking_overhead.run("default", ["data.path=mine.csv"], tmp_path / "work", 0)
    assert row["train_seconds"] == 1.0 and started_in == [tmp_path.resolve()]


def test_out_is_replaced_only_with_overwrite_and_whole(tmp_path, monkeypatch) -> None:
    """A review: every --out (and learning_curve.py's .png beside it) replaced whatever file was there, a user's CSV
    too, and was written in place (a crash mid-write left half a file). An existing one is now one `error:` line
    unless --overwrite is given, and a result is written beside it, then renamed."""
    import argparse

    from _common import add_out_argument, parse_args, write_file, write_result

    (tmp_path / "notes.csv").write_text("a,b\n")
    (tmp_path / "notes.png").write_text("my figure")
    parser = argparse.ArgumentParser(prog="x")
    add_out_argument(parser, "x.json")
    monkeypatch.setattr(sys, "argv", ["x", "--out", str(tmp_path / "notes.csv")])
    with pytest.raises(SystemExit):
        parse_args(parser)
    monkeypatch.setattr(sys, "argv", ["x", "--out", str(tmp_path / "notes.csv"), "--overwrite"])
    assert parse_args(parser).overwrite is True
    with pytest.raises(ZeroDivisionError):  # a crash mid-write: the old file stays whole, nothing is left beside it
        write_file(tmp_path / "notes.csv", lambda tmp: (tmp.write_text("half"), 1 / 0))
    assert (tmp_path / "notes.csv").read_text() == "a,b\n"
    write_result(tmp_path / "notes.csv", {"rows": []})
    assert json.loads((tmp_path / "notes.csv").read_text())["rows"] == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.csv", "notes.png"]
    bench = ROOT / "bench"
    cases = [
        ([bench / "reference_gru_speed.py", "--out", tmp_path / "notes.csv"], "notes.csv exists; pass --overwrite"),
        (
            [bench / "learning_curve.py", tmp_path, "--out", tmp_path / "notes.json"],
            "notes.png exists; pass --overwrite",
        ),
    ]
    for argv, says in cases:
        r = run_python([str(a) for a in argv])
        last = r.stderr.strip().splitlines()[-1]
        assert r.returncode == 2 and "Traceback" not in r.stderr and last.count("error: ") == 1, (argv, r.stderr)
        assert says in last, (argv, last)
    assert (tmp_path / "notes.png").read_text() == "my figure" and not (tmp_path / "notes.json").exists()


def test_the_recorded_command_reproduces_from_where_it_ran(tmp_path, monkeypatch) -> None:
    """A review: the script's path was rewritten relative to the repository root but `--ckpt ../clf --out p.json`
    stayed relative to the caller's folder, so the stored command named other files when run from the root. Run
    elsewhere, the command now starts with `cd <that folder> &&`; run from the root, it is `python bench/...`."""
    from _common import command

    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    script = str(ROOT / "bench" / "predict_throughput.py")
    monkeypatch.setattr(sys, "argv", [script, "--ckpt", "../clf", "--out", "p.json"])
    said = command()
    assert said == f"cd {tmp_path / 'here'} && python {script} --ckpt ../clf --out p.json"
    r = subprocess.run(
        ["bash", "-c", said.replace(" && python ", " && pwd && echo ", 1)], capture_output=True, text=True, cwd=ROOT
    )
    assert r.stdout.splitlines() == [str(tmp_path / "here"), f"{script} --ckpt ../clf --out p.json"]
    monkeypatch.chdir(ROOT)
    assert command() == "python bench/predict_throughput.py --ckpt ../clf --out p.json"


def test_report_reads_the_tfidf_table_alone_and_names_a_damaged_file(tmp_path) -> None:
    """A review: bench/results/ holding only tfidf_baseline.json was "no benchmark results there", though report.py
    prints its table alone; a damaged or wrong-shaped JSON was a traceback (KeyError 'rows', JSONDecodeError). Each
    is now one `error:` line naming the file and the script that writes it, with nothing printed before it."""
    from _common import machine

    about = {"command": "python bench/x.py", "machine": machine()}
    chosen = {"C": 1.0, "val/macro_f1": 0.7, "test/macro_f1": 0.71, "test/accuracy": 0.72, "seconds": 3.0}
    (tmp_path / "tfidf_baseline.json").write_text(json.dumps({**about, "runs": [chosen], "chosen": chosen}))
    report = str(ROOT / "bench" / "report.py")
    r = run_python([report, "--results", str(tmp_path)])
    assert r.returncode == 0 and "| TF-IDF (word 1-2 + char 2-5 grams)" in r.stdout and "| 0.710 | 0.720 |" in r.stdout
    damaged = [
        ("predict_throughput", json.dumps({**about, "runs": []}), "has no 'rows'"),
        ("generation_speed", '{"command": "x", "mach', "is not JSON"),
        ("tfidf_baseline", json.dumps({**about, "runs": []}), "has no 'chosen'"),
        ("ddp_throughput", "[]", "not the JSON"),
    ]
    for name, text, says in damaged:
        (tmp_path / f"{name}.json").write_text(text)
        r = run_python([report, "--results", str(tmp_path)])
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2 and r.stdout == "" and len(lines) == 1, (name, r.stdout, r.stderr)
        assert lines[0].startswith(f"error: {tmp_path / name}.json ") and says in lines[0], (name, lines[0])
        assert lines[0].endswith(f"run python bench/{name}.py again (with --overwrite)"), lines[0]
        (tmp_path / f"{name}.json").unlink()
    assert "where the benchmarks' JSON files are" in run_python([report, "--help"]).stdout


def test_report_writes_the_language_models_line_with_or_without_bits_per_char(tmp_path) -> None:
    """A review: without `test/bpc` the language model's line read "(, perplexity 3.30)"."""
    from _common import machine

    lm = {"test/loss": 1.2, "test/ppl": 3.3, "val/loss": 1.25, "global_step": 600, "train_seconds": 120.0}
    run = {"what": "char LM", "command": "textgru train task=lm", "complete": True, "planned": "", "wall_seconds": 150}
    report = str(ROOT / "bench" / "report.py")
    for metrics, says in (({**lm, "test/bpc": 1.73}, "(1.73 bits/char, perplexity 3.30)"), (lm, "(perplexity 3.30)")):
        runs = {"command": "python bench/training_runs.py", "machine": machine(), "runs": [{**run, "metrics": metrics}]}
        (tmp_path / "training_runs.json").write_text(json.dumps(runs))
        r = run_python([report, "--results", str(tmp_path)])
        assert r.returncode == 0 and f"test 1.200 nats/char {says}, validation 1.250" in r.stdout, r.stdout + r.stderr


def test_serve_load_writes_its_json_with_zero_cpu_readings(tmp_path, monkeypatch, capsys) -> None:
    """A review: a stream round whose server CPU read 0 (under the clock's tick) was a ZeroDivisionError after all the
    measuring, with no JSON; a ratio of a zero reading is now null, printed n/a. And --requests 4 sent 100 per round,
    which --help now says. The server, the clients and the clocks are faked: every CPU reading is 0."""
    counts: list[int] = []

    async def predict_round(port, clients, count, bodies, max_seconds):
        counts.append(count)
        return {"requests": count, "errors": 0, "wall": 1.0, "latencies": [0.01] * count}

    async def stream_round(port, n, tokens, seed0):
        return {"wall": 1.0, "errors": 0, "tokens_per_s": float(n * tokens), "new_tokens": n * tokens, "ttft": [0.01]}

    monkeypatch.setattr(serve_load, "start_server", lambda args, log: (type("Proc", (), {"pid": 1})(), 1))
    monkeypatch.setattr(serve_load, "stop_server", lambda proc: None)
    monkeypatch.setattr(serve_load, "predict_round", predict_round)
    monkeypatch.setattr(serve_load, "stream_round", stream_round)
    monkeypatch.setattr(serve_load, "tree_cpu_s", lambda pid: 0.0)
    monkeypatch.setattr(serve_load, "tree_rss_mb", lambda pid: 100.0)
    monkeypatch.setattr(serve_load, "others", lambda pid: [])
    monkeypatch.setattr(serve_load, "step_bound", lambda lm, rows, threads: {n: 1000.0 * n for n in rows})
    out = tmp_path / "sl.json"
    argv = ["serve_load.py", "--classifier=c", "--lm=l", "--clients", "1", "2", "--requests=4", "--repeats=1"]
    monkeypatch.setattr(sys, "argv", [*argv, "--streams", "1", "2", "--stream-tokens=5", f"--out={out}"])
    serve_load.main()
    printed = capsys.readouterr().out
    result = json.loads(out.read_text())
    assert result["stream_cpu_saving"] == {"1": None, "2": None}, result["stream_cpu_saving"]
    assert result["batching_cpu_saving_at_most_clients"] is None
    assert result["stream_speedup"] == {"1": 1.0, "2": 2.0} and result["batching_speedup_at_most_clients"] == 1.0
    assert "1.00x the requests/s of max_batch_size=1, n/a less server CPU per request" in printed, printed
    assert "one stream's over n streams': 1: n/a, 2: n/a" in printed, printed
    assert counts[2:] == [100] * 4  # after the two warm-up rounds: 100 a round for --requests 4
    monkeypatch.setattr(sys, "argv", ["serve_load.py", "--help"])
    with pytest.raises(SystemExit):
        serve_load.main()
    assert "each round sends at least 100" in " ".join(capsys.readouterr().out.split())
