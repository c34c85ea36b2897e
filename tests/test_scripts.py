"""The real scripts end to end: train (fast_dev_run and a tiny real run), eval, predict; checkpoints; seeds."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import lightning as L
import pytest
import torch
import yaml
from conftest import TINY_MODEL, data_cfg, make_rows, run_script, run_scripts, run_textgru, tok_cfg, write_csv
from torch.utils.data import DataLoader

from textgru.checkpoint import checkpoint_extras
from textgru.checkpointing import AtomicCheckpointIO
from textgru.data.batching import pad_collate
from textgru.data.tokenization import train_tokenizer
from textgru.inference.classifier import Classifier
from textgru.models.gru_classifier import GRUClassifier
from textgru.tasks.sentiment import ClassificationTask


def test_train_fast_dev_run_on_default_tweets(tmp_path: Path) -> None:
    r = run_script(
        "train",
        "task=sentiment",
        "trainer.fast_dev_run=true",
        f"hydra.run.dir={tmp_path / 'run'}",
        "logger.tensorboard=false",
    )
    assert r.returncode == 0, r.stderr[-3000:]
    # the terminal: textgru's own lines once each, no library notices or warnings (they are in train.log), and a
    # closing summary naming the run folder and the next commands with the real checkpoint path
    out = r.stdout + r.stderr
    for noise in ("INFO:", "Total FLOPs", "litlogger", "Warning", "warn(", "_pytree", "not writable"):
        assert noise not in out, noise
    ours = [line for line in r.stderr.splitlines() if line.startswith("[")]
    assert ours and len(ours) == len(set(ours)), r.stderr
    assert "litlogger" in (tmp_path / "run" / "train.log").read_text()  # kept in the log file
    # stdout is not a terminal (a batch job's log): no live bar, so each epoch is a line, as in train.log
    epoch = re.compile(r"epoch 0 \(step 1\): train/accuracy .*train/loss [0-9.]+ .*val/macro_f1 [0-9.]+")
    assert epoch.search(r.stderr) and epoch.search((tmp_path / "run" / "train.log").read_text()), r.stderr
    assert "━" not in out and "Epoch 0/" not in out, r.stdout[-500:]  # in place of the bar, not beside it (a review)
    best = tmp_path / "run" / "checkpoints" / "best.ckpt"
    assert f"run folder: {tmp_path / 'run'}" in r.stdout
    assert not best.exists() and "textgru eval" not in r.stdout  # fast_dev_run writes no checkpoint to point at
    assert "test/macro_f1" in r.stdout.split("run folder:")[0]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert {"val/accuracy", "val/macro_f1", "test/accuracy", "test/macro_f1", "test/loss", "train_seconds"} <= set(
        metrics
    )
    assert metrics["train_tokens_per_sec"] is None  # one batch, inside the warm-up: null (the key was missing)


def test_an_epoch_too_short_to_time_shows_no_speed(small_csv: Path, tmp_path: Path) -> None:
    """A review: an epoch of 3 batches or fewer (the speed's warm-up) repeated the last epoch's tokens/s in its line."""
    data = ["data=local", f"data.path={small_csv}", "data.text_column=review", "data.label_column=sentiment"]
    r = run_script("train", *data, *TINY_MODEL, "trainer.max_steps=17", f"hydra.run.dir={tmp_path / 'run'}")
    assert r.returncode == 0, r.stderr[-2000:]
    lines = re.findall(r"epoch (\d) \(step (\d+)\): (.*)", (tmp_path / "run" / "train.log").read_text())
    assert [(e, s) for e, s, _ in lines] == [("0", "15"), ("1", "17")], lines  # 15 batches, then 2
    assert "train/tokens_per_sec" in lines[0][2] and "train/tokens_per_sec" not in lines[1][2]
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["train_tokens_per_sec"] > 0  # epoch 0's


def test_run_folder_contents(tiny_run: Path) -> None:
    for name in (
        "config.yaml",
        "tokenizer.json",
        "metrics.json",
        "checkpoints/best.ckpt",
        "checkpoints/last.ckpt",
        "logs/metrics.csv",
        "learning_curves.png",
        "confusion_matrix.png",
        "train.log",
    ):
        assert (tiny_run / name).is_file(), name
    metrics = json.loads((tiny_run / "metrics.json").read_text())
    assert metrics["test/macro_f1"] > 0.8  # the synthetic sentiment words are easy to learn
    assert "reviews.csv" in (tiny_run / "config.yaml").read_text()  # the resolved config is saved
    assert not list((tiny_run / "checkpoints").glob("*.tmp"))


def test_checkpoint_is_self_contained_and_loads_weights_only(tiny_run: Path) -> None:
    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    meta = ckpt["textgru"]
    assert meta["task"] == "sentiment" and meta["label_names"] == ["neg", "neutral", "pos"]
    assert "[PAD]" in meta["tokenizer"] and meta["model_class"] == "GRUClassifier"
    assert meta["model_args"]["hidden_size"] == 16 and "_target_" not in meta["model_args"]


def test_checkpoint_round_trip_gives_identical_predictions(tmp_path: Path) -> None:
    """Logits of the in-memory model equal those of the model rebuilt from the saved file (weights_only)."""
    L.seed_everything(0)
    rows = make_rows(64)
    tok = train_tokenizer([t for t, _ in rows], tok_cfg("word", min_frequency=1))
    labels = ["neg", "neutral", "pos"]
    model_cfg = {
        "_target_": "textgru.models.gru_classifier.GRUClassifier",
        "vocab_size": tok.get_vocab_size(),
        "num_classes": 3,
        "embedding_dim": 16,
        "hidden_size": 16,
        "pooling": "attention",
    }
    model = GRUClassifier(**{k: v for k, v in model_cfg.items() if k != "_target_"})
    extras = checkpoint_extras("sentiment", model, model_cfg, tok.to_str(), labels, data_cfg("local"), 64)
    task = ClassificationTask(
        model, 3, optimizer=lambda params: torch.optim.Adam(params, lr=0.01), ema_decay=0.9, checkpoint_extras=extras
    )
    examples = [{"input_ids": tok.encode(t).ids, "label": labels.index(y)} for t, y in rows]
    loader = DataLoader(examples, batch_size=16, collate_fn=pad_collate)
    trainer = L.Trainer(
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        plugins=[AtomicCheckpointIO()],
    )
    trainer.fit(task, loader)
    trainer.save_checkpoint(tmp_path / "m.ckpt")
    texts = [t for t, _ in make_rows(40, seed=5)]
    clf = Classifier.load(tmp_path / "m.ckpt")
    task.eval()
    batch = pad_collate([{"input_ids": tok.encode(t).ids[:64]} for t in texts])
    with torch.no_grad():
        expected = torch.softmax(task(batch["input_ids"], batch["lengths"]), -1)  # the EMA weights in eval mode
    torch.testing.assert_close(clf.predict_proba(texts), expected, atol=1e-6, rtol=1e-5)


def test_eval_script(tiny_run: Path, tmp_path: Path) -> None:
    shared, tiny_run = tiny_run, tmp_path / "tiny"  # a copy: the shared run is read by tests running meanwhile, one
    shutil.copytree(shared, tiny_run)  # of which checks that nothing in it changes
    r = run_script("eval", f"ckpt_path={tiny_run / 'checkpoints' / 'best.ckpt'}", "split=test")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "precision" in r.stdout and "macro avg" in r.stdout
    out = json.loads((tiny_run / "eval" / "test_metrics.json").read_text())
    trained = json.loads((tiny_run / "metrics.json").read_text())
    assert abs(out["macro_f1"] - trained["test/macro_f1"]) < 1e-6  # same split, same best checkpoint
    assert (tiny_run / "eval" / "test_confusion_matrix.png").is_file()
    again = run_script("eval", f"ckpt_path={tiny_run / 'checkpoints' / 'best.ckpt'}", "split=test")
    assert again.returncode != 0 and "overwrite=true" in again.stderr  # never overwrites without asking
    # a review: a report on your own file took the model's own report's name (eval/test_metrics.json) and blocked it
    mine = tmp_path / "mine.csv"
    mine.write_text("review,sentiment\n" + "".join(f"good day {i},pos\nbad day {i},neg\n" for i in range(10)))
    data = ["data=local", f"data.path={mine}", "data.text_column=review", "data.label_column=sentiment", "split=all"]
    other = run_script("eval", f"ckpt_path={tiny_run}", *data)
    assert other.returncode == 0, other.stderr[-3000:]
    report = json.loads((tiny_run / "eval" / "mine" / "all_metrics.json").read_text())
    assert report["n"] == 20 and report["data"] == f"data=local {mine}"
    assert json.loads((tiny_run / "eval" / "test_metrics.json").read_text()) == out  # the model's own report stays


def test_predict_text_file_stdin(tiny_run: Path, tmp_path: Path) -> None:
    ckpt = f"ckpt_path={tiny_run / 'checkpoints' / 'best.ckpt'}"
    texts = ["bad awful terrible", "good great happy", "the table today"]
    (tmp_path / "in.txt").write_text("\n".join(texts) + "\n")
    write_csv(tmp_path / "in.csv", [(t, "?") for t in texts], text_col="body")
    out = tmp_path / "out.jsonl"
    tricky = "don't, won't; true = 1e3 'quoted' #tag"
    one, to_file, free_text, from_csv = run_scripts(  # two at a time
        ("predict", ckpt, "text=good great wonderful love"),
        ("predict", ckpt, f"input={tmp_path / 'in.txt'}", f"output={out}"),
        ("predict", ckpt, f"text={tricky}"),  # Hydra must not parse free text
        ("predict", ckpt, f"input={tmp_path / 'in.csv'}", "text_column=body"),
    )
    assert one.returncode == 0, one.stderr[-3000:]
    rec = json.loads(one.stdout.strip().splitlines()[0])
    assert rec["label"] == "pos" and abs(sum(rec["probs"].values()) - 1) < 1e-5
    assert to_file.returncode == 0, to_file.stderr[-3000:]
    recs = [json.loads(x) for x in out.read_text().splitlines()]
    assert [x["text"] for x in recs] == texts
    assert [x["label"] for x in recs] == ["neg", "pos", "neutral"]
    assert free_text.returncode == 0, free_text.stderr[-2000:]
    assert json.loads(free_text.stdout)["text"] == tricky
    assert [json.loads(x)["text"] for x in from_csv.stdout.splitlines()] == texts
    piped = run_script("predict", ckpt, stdin="\n".join(texts) + "\n")
    assert [json.loads(x)["label"] for x in piped.stdout.splitlines()] == ["neg", "pos", "neutral"]


def test_tilde_outputs_go_home_and_text_column_on_a_text_file_is_refused(tiny_run: Path, tmp_path: Path) -> None:
    """A review: `output="~/p.jsonl"` and eval's `output_dir="~/rep"` (zsh passes ~ after = as it is, and Hydra asks
    for the quotes) wrote into a folder named ~ in the current folder, while input= read ~ as the home folder; and
    `text_column=` on a tab-separated .txt classified its header and ids (rc 0)."""
    home, here = tmp_path / "home", tmp_path / "here"
    home.mkdir()
    here.mkdir()
    (here / "lab.csv").write_text("review,sentiment\ngood day,pos\nbad day,neg\n")
    (here / "export.txt").write_text("id\treview\n1\tgreat product\n")
    data = ["data=local", "data.path=lab.csv", "data.text_column=review", "data.label_column=sentiment", "split=all"]
    predicted, scored, refused, unquoted = run_scripts(
        ("predict", f"ckpt_path={tiny_run}", "text=good", 'output="~/p.jsonl"'),
        ("eval", f"ckpt_path={tiny_run}", *data, 'output_dir="~/rep"'),
        ("predict", f"ckpt_path={tiny_run}", "input=export.txt", "text_column=review"),
        ("predict", f"ckpt_path={tiny_run}", "text=~/as typed", "output=~/q.jsonl"),  # unquoted: Hydra refused ~
        cwd=here,
        env={"HOME": str(home)},
    )
    assert predicted.returncode == 0, predicted.stderr[-3000:]
    assert json.loads((home / "p.jsonl").read_text())["text"] == "good"
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert json.loads((home / "rep" / "all_metrics.json").read_text())["n"] == 2
    assert f"metrics: {home / 'rep' / 'all_metrics.json'}" in scored.stdout
    assert not (here / "~").exists()
    assert refused.returncode == 2 and refused.stdout == ""
    said = refused.stderr.strip().splitlines()[-1]
    assert said.startswith("error: input export.txt is read as plain text, a text a line, so text_column=review"), said
    assert unquoted.returncode == 0, unquoted.stderr[-2000:]
    assert json.loads((home / "q.jsonl").read_text())["text"] == "~/as typed"  # a free text stays as typed
    # hydra.run.dir and hydra.sweep.dir likewise (the review of the change: a folder named ~ still made there)
    shown = run_script("train", "--cfg", "hydra", 'hydra.run.dir="~/my run"', "hydra.sweep.dir=~/sweeps", cwd=here,
                       env={"HOME": str(home)})  # fmt: skip
    assert shown.returncode == 0, shown.stderr[-2000:]
    dirs = yaml.safe_load(shown.stdout)["hydra"]  # (YAML may wrap a long path over lines)
    assert (dirs["run"]["dir"], dirs["sweep"]["dir"]) == (f"{home}/my run", f"{home}/sweeps"), shown.stdout[:1500]


def test_tilde_is_expanded_in_paths_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """The review of expanding `~` on the command line: generate's stop='~' became stop=/root (a sample ran past its
    stop); a quoted folder holding a comma, the items of a list and `--config-dir=~/conf` were left to Hydra or quoted
    into a name that does not exist."""
    from textgru.command_line_checks import home_folders_expanded

    monkeypatch.setenv("HOME", "/h")
    typed = ["stop='~'", "prompt=~/x", "seed=~", "output=~/o.jsonl"]
    assert home_folders_expanded(typed, ("prompt",), "generate") == [*typed[:3], 'output="/h/o.jsonl"']
    typed = ["data.test_path=~/d.csv", "data.path=[~/a.csv,b.csv]", "hydra.run.dir='~/a,b'", "--config-dir=~/conf"]
    assert home_folders_expanded([*typed, "model.x=~/y", "data.path=~/a.csv,~/b.csv"]) == [
        'data.test_path="/h/d.csv"', 'data.path=["/h/a.csv",b.csv]', 'hydra.run.dir="/h/a,b"', "--config-dir=/h/conf",
        "model.x=~/y", "data.path=~/a.csv,~/b.csv",  # not a path's key; a sweep, left to Hydra
    ]  # fmt: skip
    assert home_folders_expanded(["ckpt_paths=[~/a,~/b]"], (), "ensemble") == ['ckpt_paths=["/h/a","/h/b"]']
    typed = ["logger.mlflow.artifact_location=~/art", "callbacks.model_checkpoint.dirpath=~/c"]  # (the review of the
    assert home_folders_expanded([*typed, "trainer.default_root_dir=~/r"]) == [  # change: these were left as typed)
        'logger.mlflow.artifact_location="/h/art"', 'callbacks.model_checkpoint.dirpath="/h/c"',
        'trainer.default_root_dir="/h/r"',
    ]  # fmt: skip


@pytest.mark.slow  # over a minute on 2 cores; run with -m slow
def test_same_seed_same_metrics(small_csv: Path, tmp_path: Path) -> None:
    args = [
        "data=local",
        f"data.path={small_csv}",
        "data.text_column=review",
        "data.label_column=sentiment",
        *TINY_MODEL,
        "trainer.max_epochs=2",
        "seed=7",
    ]
    for name in ("a", "b"):
        r = run_script("train", *args, f"hydra.run.dir={tmp_path / name}")
        assert r.returncode == 0, r.stderr[-3000:]
    a, b = (json.loads((tmp_path / n / "metrics.json").read_text()) for n in ("a", "b"))
    for timing in ("train_seconds", "train_tokens_per_sec"):
        a.pop(timing), b.pop(timing)
    assert a == b


def test_epoch_lines_stay_in_the_log_file_where_a_live_bar_is_drawn() -> None:
    """On a terminal the progress bar shows each epoch; the epoch lines then go to train.log only (a line written
    under a live bar would break it)."""
    import logging

    from textgru.console import ConsoleFilter

    def record(**extra: bool) -> logging.LogRecord:
        made = logging.LogRecord("textgru.callbacks", logging.INFO, __file__, 1, "epoch 0 (step 4): ...", None, None)
        made.__dict__.update(extra)
        return made

    console = ConsoleFilter()
    assert (
        console.filter(record()) and console.filter(record(console=True)) and not console.filter(record(console=False))
    )


def test_an_epoch_line_shows_validation_metrics_only_where_one_ran(caplog) -> None:
    """A review: an LM validating every 100 steps in 4-step epochs repeated val/loss of step 100 on every later
    epoch's line, as if new."""
    import logging
    from types import SimpleNamespace

    import torch

    from textgru.callbacks import EpochLines

    lines = EpochLines(console=False)
    metrics = {"train/loss_epoch": torch.tensor(0.9), "val/loss": torch.tensor(0.99)}
    trainer = SimpleNamespace(is_global_zero=True, callback_metrics=metrics, callbacks=[], current_epoch=24,
                              global_step=100, sanity_checking=True)  # fmt: skip
    with caplog.at_level(logging.INFO, logger="textgru.callbacks"):
        lines.on_validation_end(trainer, None)  # the sanity check's: no validation of the run
        trainer.sanity_checking = False
        lines.on_validation_end(trainer, None)
        lines.on_train_epoch_end(trainer, None)
        trainer.current_epoch, trainer.global_step = 25, 104
        lines.on_train_epoch_end(trainer, None)
    said = [r.getMessage() for r in caplog.records]
    assert said == ["epoch 24 (step 100): train/loss 0.9  val/loss 0.99", "epoch 25 (step 104): train/loss 0.9"]


def test_the_inference_commands_show_no_library_notices(tiny_run: Path) -> None:
    """Found on a GPU machine: where JAX is installed, `datasets` logs "JAX version ... available." at import, and
    every command but train printed it on stderr (9 tests that expect one error line failed). USE_JAX=0 makes
    `datasets` log a notice of the same kind here ("Disabling JAX ..."). Libraries' warnings still show."""
    import logging

    from textgru.console import ConsoleFilter

    r = run_textgru("predict", f"ckpt_path={tiny_run}", "text=a fine film", env={"USE_JAX": "0"}, fresh=True)
    assert r.returncode == 0 and '"label"' in r.stdout, r.stderr[-2000:]
    assert r.stderr == "", r.stderr
    stderr_only = ConsoleFilter(library_level=logging.WARNING)  # conf/hydra/job_logging/stderr.yaml's

    def record(name: str, level: int) -> logging.LogRecord:
        return logging.LogRecord(name, level, __file__, 1, "a line", None, None)

    assert stderr_only.filter(record("datasets", logging.WARNING)) and stderr_only.filter(record("textgru.x", 20))
    assert not stderr_only.filter(record("datasets", logging.INFO))


def test_printed_commands_quote_paths_that_hydra_or_the_shell_would_split(tmp_path: Path) -> None:
    """Found by a review: a run under /tmp/josé printed `textgru eval ckpt_path=/tmp/josé/...`, which Hydra refused
    (token recognition error at 'é'); a space split it in the shell. resume= reads the quoted form too."""
    import shlex

    from hydra.core.override_parser.overrides_parser import OverridesParser
    from omegaconf import OmegaConf

    from textgru.console import command_arg
    from textgru.run_folder import resume_target

    assert command_arg("ckpt_path", "/tmp/a-1/b_2.ckpt") == "ckpt_path=/tmp/a-1/b_2.ckpt"  # plain: as it is
    for path in ("/tmp/josé/run", "/tmp/my runs/a=b,c", '/tmp/it\'s "odd"', "C:\\runs\\x", "/tmp/a${oc.env:HOME}"):
        (arg,) = shlex.split(command_arg("ckpt_path", path))  # the shell's reading of the printed line
        value = OverridesParser.create().parse_override(arg).value()  # and Hydra's, resolved as a config is
        assert OmegaConf.create({"v": value}).v == path, arg  # a review: `${` was an interpolation
    run = tmp_path / "jo sé, run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes(b"")
    (arg,) = shlex.split(command_arg("resume", run))
    assert resume_target([arg]) == (resume_target([f"resume={run}"]) or ())
    odd = tmp_path / "p${x}" / "run"  # a review: read by textgru, `\${` was kept: "no such run folder"
    shutil.copytree(run, odd)
    (arg,) = shlex.split(command_arg("resume", odd))
    assert resume_target([arg]) == resume_target([f"resume={odd}"]) and resume_target([arg])[0].path == odd
    typed = command_arg("data.path", "${paths.output_dir}/été.csv", literal=False)  # another: a hint of the user's
    assert shlex.split(typed) == ['data.path="${paths.output_dir}/été.csv"']  # own line keeps its interpolation


def test_hydra_job_chdir_keeps_relative_paths_from_where_the_command_ran(tmp_path: Path) -> None:
    """Known unfixed until now: with hydra.job.chdir=true a relative data.path passed the up-front check and the
    run then looked for it in the run folder ("does not exist")."""
    write_csv(tmp_path / "reviews.csv", make_rows(60))
    data = ["data=local", "data.path=reviews.csv", "data.text_column=review", "data.label_column=sentiment"]
    more = [
        "hydra.job.chdir=true",
        "hydra.run.dir=runs/a",
        "trainer.fast_dev_run=true",
        "model.pretrained_embeddings=null",
    ]
    r = run_script("train", *data, *TINY_MODEL, *more, cwd=tmp_path)
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"\n  path: {tmp_path / 'reviews.csv'}\n" in (tmp_path / "runs" / "a" / "config.yaml").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["reviews.csv", "runs"]  # nothing written beside them


def test_a_notebook_gets_the_live_progress_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    """A notebook's stdout is no terminal, so `textgru.train` there drew no bar and logged its epoch lines where a
    notebook shows nothing: it showed nothing until the run ended. A Jupyter kernel draws the bar; IPython's
    terminal shell and plain pipes go by the terminal test as before."""
    import sys
    import types

    from textgru.console import live_output

    class ZMQInteractiveShell:  # what IPython.get_ipython() returns in a Jupyter kernel
        pass

    class TerminalInteractiveShell:
        pass

    assert live_output() is None  # pytest captures stdout: a pipe
    for shell, live in ((ZMQInteractiveShell(), "notebook"), (TerminalInteractiveShell(), None), (None, None)):
        monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda s=shell: s))
        assert live_output() == live, shell


def test_a_dumb_terminal_gets_the_epoch_lines(monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: on a terminal with TERM=dumb (an Emacs shell, some CI ptys) nothing showed while a run trained: rich
    redraws no bar there, and the epoch lines were left out as on any terminal; at the end one bar was printed, wrapped
    over 9 lines. A dumb terminal (as rich tells one: TERM dumb or unknown) gets the epoch lines, as a pipe does."""
    import io
    import sys

    from textgru.console import live_output

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdout", Terminal())
    for term, live in (("xterm-256color", "terminal"), ("dumb", None), ("unknown", None), ("DUMB", None)):
        monkeypatch.setenv("TERM", term)
        assert live_output() == live, term
    monkeypatch.delenv("TERM")
    assert live_output() == "terminal"  # rich draws its bar where TERM is not set


def test_the_notebook_bar_draws_no_validation_bars() -> None:
    """A review in Jupyter (no ipywidgets): each validation and sanity-check bar left a line behind per batch, 250
    lines in a cell for a 12-epoch run. The notebook's bar is the training bar alone."""
    from textgru.callbacks import NotebookBar

    bar = NotebookBar()
    assert bar.init_validation_tqdm().disable and bar.init_sanity_tqdm().disable


def test_library_notices_of_an_in_process_run_go_to_its_log_file_only(tmp_path: Path) -> None:
    """`textgru.train` in a notebook printed Lightning's notices (GPU available, the model summary, tips) and Python
    warnings under the progress bar; the command line sends them to train.log only, and now so does the call, putting
    the caller's handlers and warning display back afterwards."""
    import io
    import logging
    import warnings

    from textgru.library_notices import library_notices_to

    console = io.StringIO()
    own = logging.StreamHandler(console)  # what Lightning adds to its logger at import
    logger = logging.getLogger("lightning.pytorch")
    logger.addHandler(own)
    file = logging.FileHandler(tmp_path / "train.log", encoding="utf-8")
    logger.addHandler(file)  # as the call adds the run's log file
    try:
        before = warnings.showwarning
        with library_notices_to(file):
            logging.getLogger("lightning.pytorch.utilities.rank_zero").warning("GPU available: False")
            warnings.warn("`weights_only` was not set", RuntimeWarning, stacklevel=1)
            logging.getLogger("lightning.pytorch").error("a real error")
        assert warnings.showwarning is before and own.level == logging.NOTSET
        logging.getLogger("lightning.pytorch").warning("after the call")
    finally:
        logger.removeHandler(own)
        logger.removeHandler(file)
        file.close()
    assert console.getvalue().splitlines() == ["a real error", "after the call"]
    log = (tmp_path / "train.log").read_text()
    assert "GPU available: False" in log and "`weights_only` was not set" in log
