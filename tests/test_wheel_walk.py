"""A new user's walk (slow: a fresh venv and real training runs, ~10 minutes on 2 cores): the wheel built from the
repository, installed non-editable in a fresh venv, used from an empty folder outside the clone.

    python -m pytest -m slow tests/test_wheel_walk.py -s
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, source_copy

TORCH = "torch==2.13.0"  # the CPU build (see README); the venv gets what the user's pip gets otherwise


def _run(cmd: list[str], cwd: Path, stdin: str | None = None, timeout: int = 1200) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    start = time.time()
    r = subprocess.run(cmd, cwd=cwd, input=stdin, capture_output=True, text=True, timeout=timeout, env=env)
    print(f"[{time.time() - start:6.1f} s] rc={r.returncode} {' '.join(cmd)[:150]}", flush=True)
    assert r.returncode == 0, f"{cmd}\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
    return r


@pytest.mark.slow
def test_wheel_in_a_fresh_venv_from_an_empty_folder(tmp_path: Path) -> None:
    wheels, venv, work = tmp_path / "wheels", tmp_path / "venv", tmp_path / "work"
    work.mkdir()
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-q",
            "-w",
            str(wheels),
            str(source_copy(tmp_path / "src")),
        ],
        tmp_path,
    )
    (wheel,) = wheels.glob("textgru-*.whl")
    _run([sys.executable, "-m", "venv", str(venv)], tmp_path)
    py, textgru = str(venv / "bin" / "python"), str(venv / "bin" / "textgru")
    _run([py, "-m", "pip", "install", "-q", TORCH, str(wheel)], tmp_path, timeout=1800)
    out = work / "outputs"

    # the classifier: train one epoch, then eval, predict (text, file, stdin) on its checkpoint
    _run([textgru, "train", "task=sentiment", "trainer.max_epochs=1", f"hydra.run.dir={out}/s"], work)
    assert json.loads((out / "s" / "metrics.json").read_text())["test/macro_f1"] > 0.5
    ckpt = f"ckpt_path={out}/s/checkpoints/best.ckpt"
    _run([textgru, "eval", ckpt], work)
    assert (out / "s" / "eval" / "test_metrics.json").is_file()
    one = _run([textgru, "predict", ckpt, "text=what a lovely day"], work)
    assert json.loads(one.stdout.splitlines()[0])["label"] in ("negative", "neutral", "positive")
    (work / "texts.txt").write_text("the train is late again\nbest concert of my life\n")
    _run([textgru, "predict", ckpt, "input=texts.txt", "output=preds.jsonl"], work)
    assert len((work / "preds.jsonl").read_text().splitlines()) == 2
    piped = _run([textgru, "predict", ckpt], work, stdin="so happy\nso sad\n")
    assert len(piped.stdout.splitlines()) == 2

    # the language model and sampling; the forecaster
    _run([textgru, "train", "task=lm", "trainer.max_steps=50", f"hydra.run.dir={out}/lm"], work)
    sample = _run([textgru, "generate", f"ckpt_path={out}/lm", "prompt=ROMEO:", "max_new_tokens=40", "seed=1"], work)
    assert sample.stdout.startswith("ROMEO:")
    _run([textgru, "train", "task=forecast", "trainer.max_epochs=1", f"hydra.run.dir={out}/f"], work)
    assert "test/mse" in json.loads((out / "f" / "metrics.json").read_text())

    # textgru.train from Python, and a user's own experiment in ./conf
    code = (
        "import textgru; r = textgru.train(['task=forecast', 'trainer.max_epochs=1', 'data.length=800'], "
        f"run_dir='{out}/py'); print(r.metrics['test/mse'])"
    )
    _run([py, "-c", code], work)
    (work / "conf" / "experiment").mkdir(parents=True)
    (work / "conf" / "experiment" / "mine.yaml").write_text(
        "# @package _global_\ndefaults:\n  - override /task: forecast\nmodel:\n  hidden_size: 12\n"
        "trainer:\n  max_epochs: 1\n"
    )
    _run([textgru, "train", "experiment=mine", f"hydra.run.dir={out}/mine"], work)
    assert "hidden_size: 12" in (out / "mine" / "config.yaml").read_text()
    assert not (work / "src").exists() and str(ROOT) not in (out / "s" / "config.yaml").read_text()
