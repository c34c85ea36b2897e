"""The test helper that runs commands as forks of a preloaded Python (tests/forked_commands.py) answers as a fresh
Python does: the same exit code, standard output and error, standard input, folder and PYTHONPATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, forked_commands


def test_a_forked_command_answers_as_a_fresh_python(tmp_path: Path) -> None:
    preloader = forked_commands()
    if preloader is None or not preloader.usable:
        pytest.skip("commands run as fresh Pythons here (TEXTGRU_TEST_FORK=0, or a library wrote while loading)")
    (tmp_path / "shout.py").write_text("import sys\nprint(sys.stdin.read().upper(), end='')\nsys.exit(3)\n")
    (tmp_path / "fail.py").write_text("def f():\n    raise ValueError('no')\n\nf()\n")
    (tmp_path / "interrupted.py").write_text("raise KeyboardInterrupt\n")
    (tmp_path / "hooked.py").write_text("import sys\nsys.excepthook = lambda *a: print('hook', a[1])\n1 / 0\n")
    (tmp_path / "exits.py").write_text("import sys\nprint('a', file=sys.stderr)\nsys.exit(2**40 + 7)\n")
    (tmp_path / "broken.py").write_text("def f(:\n")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "__main__.py").write_text("import sys\nprint('mine', sys.argv[1:])\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    assert preloader.takes(env) and not preloader.takes({**env, "HF_ENDPOINT": "http://127.0.0.1:9"})
    cases = [  # (argv, stdin, folder)
        ([str(ROOT / "scripts" / "train.py"), "data=nonexist"], None, ROOT),
        ([str(ROOT / "scripts" / "predict.py"), "ckpt_path=missing.ckpt"], "a text\n", tmp_path),
        ([str(tmp_path / "shout.py")], "héllo\r\nworld", tmp_path),
        ([str(tmp_path / "fail.py")], None, tmp_path),
        ([str(tmp_path / "interrupted.py")], None, tmp_path),
        ([str(tmp_path / "hooked.py")], None, tmp_path),
        ([str(tmp_path / "exits.py")], None, tmp_path),
        ([str(tmp_path / "broken.py")], None, tmp_path),
        (["-m", "mine", "x=1"], None, ROOT),  # found on PYTHONPATH
        ([str(ROOT / "scripts" / "train.py"), "--help"], None, tmp_path),
    ]
    for argv, stdin, folder in cases:
        fresh = subprocess.run(
            [sys.executable, *argv], cwd=folder, input=stdin, capture_output=True, text=True, env=env, timeout=120
        )
        forked = preloader.run(argv, str(folder), env, stdin, timeout=120)
        assert (forked.returncode, forked.stdout, forked.stderr) == (fresh.returncode, fresh.stdout, fresh.stderr)
    assert forked.returncode == 0 and "textgru train" in forked.stdout  # the last case; the others exit non-zero
    shout = preloader.run([str(tmp_path / "shout.py")], str(tmp_path), env, "abc", timeout=60)
    assert (shout.returncode, shout.stdout) == (3, "ABC")
    # a timeout kills the command (and what it started) and leaves the preloader serving the next one
    (tmp_path / "slow.py").write_text("import subprocess, time\nsubprocess.Popen(['sleep', '60'])\ntime.sleep(60)\n")
    with pytest.raises(subprocess.TimeoutExpired):
        preloader.run([str(tmp_path / "slow.py")], str(tmp_path), env, "x" * 1_000_000, timeout=2)
    assert preloader.run([str(tmp_path / "shout.py")], str(tmp_path), env, "b", timeout=60).stdout == "B"


def test_a_command_whose_path_would_import_other_code_runs_as_a_fresh_python(tmp_path: Path) -> None:
    """A module on the command's PYTHONPATH with the name of one the preloader holds (a stub that stands for a missing
    library), or a site hook there, would be ignored by a fork: such a command runs as a fresh Python."""
    preloader = forked_commands()
    if preloader is None or not preloader.usable:
        pytest.skip("commands run as fresh Pythons here (TEXTGRU_TEST_FORK=0, or a library wrote while loading)")
    for name, forked in (("optuna", False), ("sitecustomize", False), ("mine", True)):
        (tmp_path / name / name).mkdir(parents=True)  # a package of that name on the path
        assert preloader.takes({**os.environ, "PYTHONPATH": str(tmp_path / name)}) == forked, name
