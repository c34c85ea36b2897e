"""The language model through the real scripts: train.py task=lm, then generate.py, and their bad input."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY_LM, lm_run_args, run_script, run_scripts, write_play

import textgru


def test_lm_run_writes_metrics_samples_and_a_self_contained_checkpoint(lm_run: Path) -> None:
    metrics = json.loads((lm_run / "metrics.json").read_text())
    for key in ("val/loss", "val/ppl", "test/loss", "test/ppl", "test/bpc", "train_seconds"):
        assert key in metrics
    assert metrics["test/ppl"] == pytest.approx(torch.tensor(metrics["test/loss"]).exp().item(), rel=1e-4)
    assert metrics["test/bpc"] == pytest.approx(metrics["test/loss"] / 0.6931471805599453, rel=1e-5)
    assert metrics["test/loss"] < 2.2  # a uniform guess over ~30 characters would be ~3.4 nats; it learned
    assert metrics["global_step"] == 150
    samples = (lm_run / "samples.txt").read_text(encoding="utf-8")
    assert samples.count("===== sample") == 2
    assert (lm_run / "learning_curves.png").stat().st_size > 1000
    ckpt = torch.load(lm_run / "checkpoints" / "best.ckpt", weights_only=True)
    assert ckpt["textgru"]["task"] == "lm" and "tokenizer" in ckpt["textgru"]


def test_train_lm_fast_dev_run_on_builtin_shakespeare(tmp_path: Path) -> None:
    r = run_script(
        "train",
        "task=lm",
        "trainer.fast_dev_run=true",
        "task.samples=1",
        "task.sample_tokens=20",
        f"hydra.run.dir={tmp_path / 'run'}",
        *TINY_LM,
        "trainer.enable_progress_bar=true",
        "+callbacks.bar._target_=lightning.pytorch.callbacks.TQDMProgressBar",  # a bar of the user's own replaces ours
    )
    assert r.returncode == 0, r.stderr[-3000:]
    log = (tmp_path / "run" / "train.log").read_text()
    assert "token streams" in log and "'test': ['" in log  # the built-in plays went to their splits
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["test/bpc"] > 0


def test_generate_fast_run_streams_and_reproduces(lm_run: Path) -> None:
    ckpt = lm_run / "checkpoints" / "best.ckpt"
    args = (f"ckpt_path={ckpt}", "prompt=ROMEO:", "max_new_tokens=60", "seed=1")
    first = run_script("generate", *args, stdin="")
    again = run_script("generate", *args, stdin="")
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout == again.stdout and first.stdout.startswith("ROMEO:")
    assert len(first.stdout) >= len("ROMEO:") + 50


def test_generate_several_samples_to_jsonl(lm_run: Path, tmp_path: Path) -> None:
    out = tmp_path / "samples.jsonl"
    args = (
        f"ckpt_path={lm_run}",
        "prompt=KING: say, 'true'",
        "num_samples=3",
        "seed=5",
        "max_new_tokens=40",
        "stop=[XYZ]",
        f"output={out}",
    )
    r = run_script("generate", *args, stdin="")
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [row["sample"] for row in rows] == [1, 2, 3] and len({row["text"] for row in rows}) == 3
    assert rows[0]["prompt"] == "KING: say, 'true'"  # the prompt is taken verbatim
    options = {k: v for k, v in rows[1].items() if k not in ("sample", "prompt", "text")}
    assert (
        options["seed"] == 5 and options["num_samples"] == 3 and options["stop"] == ["XYZ"]
    )  # seed alone: not sample 2
    assert options["allow_unknown"] is False
    assert textgru.load(lm_run).generate(rows[1]["prompt"], **options)[1] == rows[1]["text"]  # the record redraws it
    assert r.stdout.count("===== sample") == 3
    out.write_text("the user's own file\n", encoding="utf-8")
    refused = run_script("generate", *args, stdin="")
    assert refused.returncode == 2 and "exists; pass overwrite=true" in refused.stderr
    assert out.read_text(encoding="utf-8") == "the user's own file\n"  # untouched
    assert run_script("generate", *args, "overwrite=true", stdin="").returncode == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 3


def test_generate_stops_at_whitespace_and_refuses_an_empty_stop(lm_run: Path) -> None:
    """A review: stop=' ' (one word) was refused as "must be a text", while the API took it; stop='' was dropped by
    the API and the server without a word."""
    args = (f"ckpt_path={lm_run}", "prompt=KING:", "max_new_tokens=60", "seed=1")
    word, empty = run_scripts(("generate", *args, "stop=[' ']"), ("generate", *args, "stop=[x,'']"), stdin="")
    assert word.returncode == 0, word.stderr[-2000:]
    assert (
        word.stdout.rstrip("\n")
        == "KING:" + textgru.load(lm_run).generate("KING:", max_new_tokens=60, seed=1, stop=" ")[0]
    )
    assert " " not in word.stdout[len("KING:") :].strip("\n")
    assert empty.returncode == 2 and "stop=['x', '']: must be a non-empty text or a list of them" in empty.stderr


def test_generate_output_records_the_sample_cut_before_a_stop(lm_run: Path, tmp_path: Path) -> None:
    """A review: with one sample, output= recorded the start of a stop string ("\\n" of "\\n\\n") that the streamed
    text left out, so the record did not redraw its sample."""
    out = tmp_path / "one.jsonl"
    args = (f"ckpt_path={lm_run}", "prompt=KING:", "max_new_tokens=200", "seed=2", "stop=['\\n\\n']", f"output={out}")
    r = run_script("generate", *args, stdin="")
    assert r.returncode == 0, r.stderr[-2000:]
    row = json.loads(out.read_text(encoding="utf-8"))
    lm, options = textgru.load(lm_run), {k: v for k, v in row.items() if k not in ("sample", "prompt", "text")}
    assert row["text"] == lm.generate("KING:", **options)[0] and r.stdout == f"KING:{row['text']}\n"
    assert lm.generate("KING:", max_new_tokens=200, seed=2)[0].startswith(row["text"] + "\n\n")  # the stop was hit


def test_generate_prompt_from_file_and_stdin(lm_run: Path, tmp_path: Path) -> None:
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("JULIET:\nThe king", encoding="utf-8")
    args = (f"ckpt_path={lm_run}", "max_new_tokens=5", "greedy=true")
    from_file, no_prompt = run_scripts(  # two at a time; no_prompt: nothing given, it starts a new document
        ("generate", *args, f"prompt_file={prompt}"), ("generate", *args), stdin=""
    )
    from_stdin = run_script("generate", *args, stdin="JULIET:\nThe king")
    assert from_file.returncode == 0, from_file.stderr[-2000:]
    assert from_file.stdout == from_stdin.stdout and from_file.stdout.startswith("JULIET:\nThe king")
    assert no_prompt.returncode == 0 and len(no_prompt.stdout.strip()) > 0, no_prompt.stderr[-2000:]


@pytest.mark.parametrize(
    "args,message",
    [
        (["temperature=0"], "use greedy=true"),
        (["top_p=0"], "top_p=0: must be a number in [1e-06, 1]"),
        (["top_p=1.5"], "top_p=1.5: must be a number in [1e-06, 1]"),
        (["top_k=-1"], "top_k=-1: must be an integer >= 0 (0 turns it off)"),
        (["max_new_tokens=-3"], "max_new_tokens=-3: must be an integer >= 0"),
        (["prompt=ROMEO: Ωμέγα"], "has no token for: 'Ω', 'μ', 'έ', 'γ', 'α'; remove them, or pass allow_unknown=true"),
        (["top_k=many"], "top_k=many: must be an integer >= 0"),
        pytest.param(
            ["device=cuda"],
            "no CUDA GPU is available here; use device=cpu",
            marks=pytest.mark.skipif(torch.cuda.is_available(), reason="the error for a machine without a GPU"),
        ),
        (["output=."], "is a folder; give a file name"),
        (["output=samples.csv"], "the output is JSON lines, one object a line; name it samples.jsonl"),
        # a name the file system takes, but not with the temporary name's additions: a traceback after sampling
        ([f"output={'b' * 240}.jsonl"], "holds a name of 246 bytes (bbbbbbbbbbbbbbbbbbbb...), and this file system"),
        ([f"output={'a' * 300}/x.jsonl"], "holds a name of 300 bytes"),
    ],
)
def test_generate_bad_input(lm_run: Path, args: list[str], message: str) -> None:
    r = run_script("generate", f"ckpt_path={lm_run}", *args, stdin="")
    assert r.returncode == 2, r.stderr[-2000:]
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert r.stdout == ""


def test_a_long_output_name_that_fits_is_written(lm_run: Path, tmp_path: Path) -> None:
    """233 bytes and its temporary name (22 more) fit in 255: a review found 224-242-byte names refused."""
    out = tmp_path / f"{'b' * 227}.jsonl"
    r = run_script("generate", f"ckpt_path={lm_run}", "prompt=KING", "max_new_tokens=3", "seed=1", f"output={out}")
    assert r.returncode == 0 and out.is_file(), r.stderr[-2000:]


def test_generate_refuses_a_classifier_checkpoint(tiny_run: Path) -> None:
    r = run_script("generate", f"ckpt_path={tiny_run}", "prompt=hi", stdin="")
    assert r.returncode == 2
    assert "is a classifier (task=sentiment) checkpoint, but this needs a language-model (task=lm) one" in r.stderr
    assert "; use it with textgru predict, eval, export or serve classifier=" in r.stderr  # the fix, too


def test_unknown_characters_allowed_on_request(lm_run: Path) -> None:
    r = run_script(
        "generate",
        f"ckpt_path={lm_run}",
        "prompt=ROMEO: Ω",
        "allow_unknown=true",
        "max_new_tokens=5",
        "seed=0",
        stdin="",
    )
    assert r.returncode == 0 and r.stdout.startswith("ROMEO: Ω"), r.stderr[-2000:]


@pytest.mark.parametrize(
    "content,message",
    [
        ("\n \n", "the corpus is empty"),
        ("To be, or not to be.\n" * 20, "shorter than one window"),
    ],
)
def test_train_lm_bad_corpus(tmp_path: Path, content: str, message: str) -> None:
    text = tmp_path / "corpus.txt"
    text.write_text(content, encoding="utf-8")
    run_dir = tmp_path / "run"
    r = run_script(
        "train",
        "task=lm",
        "data=local_text",
        f"data.path={text}",
        f"hydra.run.dir={run_dir}",
        *TINY_LM[:3],
        "data.bptt=512",
    )
    assert r.returncode == 2 and message in r.stderr.strip().splitlines()[-1], r.stderr[-2000:]
    assert not (run_dir / "checkpoints").exists() and not (run_dir / "metrics.json").exists()


@pytest.mark.parametrize(
    "args,message",
    [
        (["tokenizer.vocab_size=3"], "the char tokenizer has no token for the newline, the separator between documents: "
         "tokenizer.vocab_size=3 keeps only the 1 commonest; raise it"),
        (["task.sample_prompt=KING ZX"], "task.sample_prompt holds text this model's tokenizer has no token for: 'Z', "
         "'X'; remove them"),
    ],
)  # fmt: skip
def test_train_lm_refusals_once_the_tokenizer_is_trained(tmp_path: Path, args: list[str], message: str) -> None:
    """A review: a newline left out of a char tokenizer, and a sample_prompt it cannot read (samples.txt showed it as if
    read), trained on: one line before the first epoch, and no run folder."""
    run_dir = tmp_path / "run"
    r = run_script("train", *lm_run_args(write_play(tmp_path / "play.txt")), f"hydra.run.dir={run_dir}", *args)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error: ")]
    assert r.returncode == 2 and errors == [f"error: {message}"], r.stderr[-2000:]
    assert not run_dir.exists()


def test_progress_bar_of_a_run_measured_in_steps() -> None:
    """task=lm trains with max_epochs=-1 (max_steps decides): Lightning's bar said "Epoch 3/-2"."""
    from types import SimpleNamespace

    from textgru.callbacks import ProgressBar

    bar = ProgressBar()
    bar._trainer = SimpleNamespace(max_epochs=-1)
    assert bar._get_train_description(3).strip() == "Epoch 3"
    bar._trainer = SimpleNamespace(max_epochs=5)
    assert bar._get_train_description(3).strip() == "Epoch 3/4"


def test_generate_records_its_seed_exactly_so_a_sample_can_be_drawn_again(lm_run: Path, tmp_path: Path) -> None:
    """A seed above 2**53 went through a float (the server's 63-bit seeds gave other texts on the command line), and
    a run without a seed wrote "seed": null: now the seed given, or one drawn, is used exactly and written."""
    from textgru.inference.language_model import LanguageModel

    big, common = 4938616139797510780, (f"ckpt_path={lm_run}", "prompt=KING:", "max_new_tokens=30")
    given, drawn = tmp_path / "given.jsonl", tmp_path / "drawn.jsonl"
    results = run_scripts(
        ("generate", *common, f"seed={big}", f"output={given}"),
        ("generate", *common, f"output={drawn}"),
        ("generate", *common, "greedy=true"),  # draws nothing: no seed said (a review: as if it mattered)
        stdin="",
    )
    assert all(r.returncode == 0 for r in results), results[0].stderr[-2000:] + results[1].stderr[-2000:]
    lm = LanguageModel.load(lm_run)
    for path in (given, drawn):
        row = json.loads(path.read_text(encoding="utf-8"))
        assert (
            isinstance(row["seed"], int) and row["text"] == lm.generate("KING:", max_new_tokens=30, seed=row["seed"])[0]
        )
    assert json.loads(given.read_text(encoding="utf-8"))["seed"] == big
    assert 0 <= json.loads(drawn.read_text(encoding="utf-8"))["seed"] < 2**32  # all a CPU generator reads of a seed
    assert lm.generate("KING:", max_new_tokens=30, seed=big) != lm.generate("KING:", max_new_tokens=30, seed=big + 1)
    # the drawn seed is said on stderr (without output= it was nowhere): the one output= recorded; none when given
    said = [line for r in results for line in r.stderr.splitlines() if line.startswith("seed=")]
    assert said == [
        f"seed={json.loads(drawn.read_text(encoding='utf-8'))['seed']} (drawn; pass it to draw these samples again)"
    ]


def test_the_greedy_warning_comes_before_the_streamed_sample(lm_run: Path, tmp_path: Path) -> None:
    """A review: `textgru generate greedy=true top_p=0.9` printed the prompt, then the warning that top_p is ignored
    (from inside generate), then the sample: one line of text split by a log line. Both streams in one pipe, in order."""
    import os
    import subprocess
    import sys

    args = ["-m", "textgru", "generate", f"ckpt_path={lm_run}", "prompt=KING:", "max_new_tokens=5", "greedy=true"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    record = tmp_path / "greedy.jsonl"
    out = subprocess.run([sys.executable, *args, "top_p=0.9", f"output={record}"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:]
    assert json.loads(record.read_text())["top_p"] == 0.9  # what was given (the review of the fix: the default, 1.0)
    lines = out.stdout.splitlines()
    warned = next(i for i, line in enumerate(lines) if "greedy=true takes the likeliest token every time" in line)
    assert lines[warned + 1].startswith("KING:") and out.stdout.count("ignored: top_p=0.9") == 1, out.stdout


@pytest.mark.usefixtures("process_restored")  # `textgru generate` runs in this process
def test_generate_shows_a_vocabulary_of_control_characters_escaped_on_a_terminal(
    lm_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A security review: an LM whose tokens start with ANSI sequences wrote them to the terminal as it sampled. On a
    terminal they are shown escaped; into a pipe or file the text is the model's, unchanged."""
    from textgru.cli import main

    ckpt = torch.load(lm_run / "checkpoints" / "best.ckpt", weights_only=True)
    spec = json.loads(ckpt["textgru"]["tokenizer"])
    vocab = spec["model"]["vocab"]
    spec["model"]["vocab"] = {(t if t.startswith("[") else "\x1b[31m" + t): i for t, i in vocab.items()}
    ckpt["textgru"]["tokenizer"] = json.dumps(spec)
    torch.save(ckpt, tmp_path / "ansi.ckpt")
    args = ["generate", f"ckpt_path={tmp_path / 'ansi.ckpt'}", "prompt=a", "allow_unknown=true", "seed=1"]
    outputs = {}
    for terminal in (True, False):
        monkeypatch.setattr(sys.stdout, "isatty", lambda terminal=terminal: terminal)
        main([*args, "max_new_tokens=20"])
        outputs[terminal] = capsys.readouterr().out
    assert "\x1b" not in outputs[True] and outputs[True].count("\\x1b[31m") == 20, outputs[True]
    assert outputs[False].count("\x1b[31m") == 20


def test_terminal_escaping_keeps_the_joiners_of_emoji_and_persian() -> None:
    """The review of the escaping: zero-width joiners (emoji sequences, Persian and Hindi spelling) are text, shown as
    they are; control characters and bidi overrides are escaped."""
    from textgru.terminal_text import escaped_controls

    family, persian = "\U0001f468\u200d\U0001f469", "\u0645\u06cc\u200c\u062e"
    assert escaped_controls(f"{family} {persian}") == f"{family} {persian}"
    assert escaped_controls("a\x1b[2Jb\u202ec\nd", keep="\n") == "a\\x1b[2Jb\\u202ec\nd"
