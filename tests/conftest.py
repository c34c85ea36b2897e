"""Shared fixtures: offline Hub, a private cache, a small labelled CSV, and one tiny trained checkpoint."""

from __future__ import annotations

import copy
import csv
import functools
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from forked_commands import SAFE_ENV, Preloader

ROOT = Path(__file__).resolve().parents[1]
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
# One OpenMP thread for torch in the tests and the commands they run (before torch is imported here or in the
# preloader): the suite runs two workers on two cores, and each command's torch otherwise took a thread per core, so
# four busy threads shared two cores (tests/test_resume.py with -n 2: 117-125 s, 91-92 s so; the models are tiny).
os.environ.setdefault("OMP_NUM_THREADS", "1")

POSITIVE = "good great love wonderful happy excellent nice".split()
NEGATIVE = "bad awful hate terrible sad horrible poor".split()
NEUTRAL = "the a table today weather train paper".split()


def make_rows(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Learnable synthetic reviews: the label follows the sentiment words, lengths vary from 3 to 30 words."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        label = ["pos", "neg", "neutral"][i % 3]
        words = {"pos": POSITIVE, "neg": NEGATIVE, "neutral": NEUTRAL}[label]
        k = rng.randint(3, 30)
        text = " ".join(rng.choice(words) if rng.random() < 0.5 else rng.choice(NEUTRAL) for _ in range(k))
        if label != "neutral":
            text = rng.choice(words) + " " + text
        rows.append((text, label))
    return rows


@functools.cache
def _composed(group: str, name: str) -> dict:
    from textgru import config

    return config.data_config(name) if group == "data" else config.tokenizer_config(name)


def data_cfg(name: str, **overrides) -> dict:
    """The complete data config `conf/data/<name>.yaml` with `overrides` (the code never fills in defaults)."""
    return {**copy.deepcopy(_composed("data", name)), **overrides}


def tok_cfg(kind: str, **overrides) -> dict:
    """The complete tokenizer config `conf/tokenizer/<kind>.yaml` with `overrides`."""
    return {**_composed("tokenizer", kind), **overrides}


def write_csv(
    path: Path,
    rows: list[tuple[str, str]],
    text_col: str = "review",
    label_col: str = "sentiment",
    delimiter: str = ",",
) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, delimiter=delimiter)
        w.writerow([text_col, label_col])
        w.writerows(rows)
    return path


def run_script(script: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """Run scripts/<script>.py as a user would, in a subprocess (a fork of a preloaded Python where it can be; a fresh
    Python with `fresh=True`, for a test of what start-up costs); `kwargs` as `run_python` takes them."""
    return run_python([str(ROOT / "scripts" / f"{script}.py"), *args], **kwargs)


def run_textgru(*args: str, **kwargs: Any) -> subprocess.CompletedProcess:
    """`python -m textgru ARGS...` as `run_script` runs a script."""
    return run_python(["-m", "textgru", *args], **kwargs)


def run_python(
    argv: list[str],
    cwd: Path | None = None,
    stdin: str | None = None,
    env: dict | None = None,
    timeout: int | None = None,
    fresh: bool = False,
) -> subprocess.CompletedProcess:
    """`python ARGV...` with its output captured as text: a fork of the preloader (tests/forked_commands.py) when its
    environment allows and `fresh` is not asked, else a fresh Python."""
    full_env = {**_command_env(), **(env or {})}
    timeout = timeout or int(os.environ.get("TEXTGRU_TEST_TIMEOUT", "300"))  # raise it on a crowded machine
    if not fresh and (preloader := forked_commands()) is not None and preloader.takes(full_env):
        return preloader.run(argv, str(cwd or ROOT), full_env, stdin, timeout)
    return subprocess.run(
        [sys.executable, *argv],
        cwd=cwd or ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def _command_env() -> dict[str, str]:
    """The environment a command gets where the test gives it no other."""
    return {k: v for k, v in os.environ.items() if k != "HYDRA_FULL_ERROR"}


_PRELOADER_LOCK = threading.Lock()


def forked_commands() -> Preloader | None:
    """The process that `run_script` forks commands from (tests/forked_commands.py), started on first use (once, also
    when two threads ask at once); None with TEXTGRU_TEST_FORK=0 (every command a fresh Python, as a user runs it)."""
    with _PRELOADER_LOCK:
        return _preloader()


@functools.cache
def _preloader() -> Preloader | None:
    return Preloader() if os.environ.get("TEXTGRU_TEST_FORK", "1") != "0" else None


def timed_together(calls: list[Callable[[], Any]], at_once: int = 2) -> list[tuple[Any, float]]:
    """Each call's result and wall seconds, `at_once` calls at a time, in the order of `calls`. Most of a command's
    time is starting Python and importing torch, one core's work: two at once take about half the time on 2 cores,
    and calls started together see the same machine load, so their times can be compared."""
    from concurrent.futures import ThreadPoolExecutor

    def timed(call: Callable[[], Any]) -> tuple[Any, float]:
        began = time.monotonic()
        return call(), time.monotonic() - began

    with ThreadPoolExecutor(at_once) as pool:
        return list(pool.map(timed, calls))


def run_scripts(*calls: tuple[str, ...], **kwargs) -> list[subprocess.CompletedProcess]:
    """`run_script(*call, **kwargs)` for each call, two at a time; results in the order of `calls`."""
    return [r for r, _ in timed_together([lambda call=call: run_script(*call, **kwargs) for call in calls])]


def source_copy(to: Path) -> Path:
    """The package's sources and build files copied to `to`, to build a wheel from: pip builds in the source tree
    (build/, src/textgru.egg-info), which the suite's other worker imports textgru from at the same time."""
    shutil.copytree(ROOT / "src", to / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, to / name)
    return to


def built_once(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """A folder `build` fills once per test session. Under pytest-xdist the workers share it: the first to ask builds
    it under a file lock and the others wait for it (a session fixture is otherwise built once per worker; the
    trained runs below took ~60 s of the suite twice). Tests only read what is built here."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        root = tmp_path_factory.mktemp(name)
        build(root)
        return root
    from filelock import FileLock

    root = tmp_path_factory.getbasetemp().parent / f"shared-{name}"  # the session's folder above the workers'
    with FileLock(f"{root}.lock"):
        if not (root / ".built").is_file():
            shutil.rmtree(root, ignore_errors=True)  # a worker's failed build: built again, and fails again
            root.mkdir()
            build(root)
            (root / ".built").touch()
    return root


@pytest.fixture(autouse=True)
def forks_kept() -> Iterator[None]:
    """Fails a test that leaves the environment changed so that the commands of later tests can no longer be forked
    (a variable a library may read at import differs from the preloader's): each then ran as a fresh Python, ~7 s
    (an sdist built in the test process set distutils' $PLAT: half a worker's suite ran so, unnoticed)."""
    preloader = _preloader() if _preloader.cache_info().currsize else None
    took = preloader is not None and preloader.takes(_command_env(), logged=False)  # no command: not in the log
    yield
    if took and not preloader.takes(_command_env(), logged=False):
        now, base = _command_env(), {**preloader.env, **preloader.added}
        changed = sorted(k for k in set(now) | set(base) if now.get(k, preloader.added.get(k)) != base.get(k))
        changed = [k for k in changed if not k.startswith(SAFE_ENV)]
        pytest.fail(f"the test left the environment changed ({', '.join(changed)}): keep it, e.g. mock.patch.dict")


@pytest.fixture(autouse=True)
def process_state_kept() -> Iterator[None]:
    """Fails a test that leaves this Python's global state changed, which the same worker's later tests would inherit
    in an order xdist chooses: CI's Python has IPython, whose shell left `sys.ps1` set, so later tests took
    themselves for a notebook (rank_starter() said ddp_notebook; Lightning, if first imported then, refuses spawned
    ranks for the rest of the worker). Also the directory, signal handlers, torch's modes and logging's handlers."""
    before = _process_state()
    yield
    after = _process_state()
    changed = [
        f"{key}: {before[key]!r} -> {now!r}" for key, now in after.items() if key in before and now != before[key]
    ]
    if changed:
        pytest.fail(f"the test left this Python changed ({'; '.join(changed)}): restore it")


@pytest.fixture
def process_restored() -> Iterator[None]:
    """For a test that runs a command's `main` (or a script, or a build tool) in this process, which may change it as
    a command may its own process (a SIGTERM handler, logging's set-up): put back what `process_state_kept` checks."""
    import logging
    import signal

    handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    loggers = {lg: (lg.level, lg.propagate, list(lg.handlers)) for lg in map(logging.getLogger, ("", "textgru"))}
    cwd, excepthook = os.getcwd(), sys.excepthook
    yield
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    for logger, (level, propagate, kept) in loggers.items():
        logger.setLevel(level)
        logger.propagate = propagate
        for handler in [h for h in logger.handlers if h not in kept and not type(h).__module__.startswith("_pytest")]:
            logger.removeHandler(handler)
            handler.close()
    os.chdir(cwd)
    sys.excepthook = excepthook


def _process_state() -> dict[str, Any]:
    import builtins
    import logging
    import signal

    state: dict[str, Any] = {
        "sys.ps1": getattr(sys, "ps1", None),
        "builtins.__IPYTHON__": hasattr(builtins, "__IPYTHON__"),
        "cwd": os.getcwd(),
        "SIGINT handler": signal.getsignal(signal.SIGINT),
        "SIGTERM handler": signal.getsignal(signal.SIGTERM),
        "sys.excepthook": sys.excepthook,
    }
    for name in ("", "textgru"):
        logger = logging.getLogger(name)
        ours = [h for h in logger.handlers if not type(h).__module__.startswith("_pytest")]  # pytest's come and go
        state[f"logger {name or 'root'}"] = (logger.level, logger.propagate, ours)
    if (torch := sys.modules.get("torch")) is not None:
        state["torch modes"] = (torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_num_threads())
    return state


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = tmp_path_factory.mktemp("cache")
    os.environ["TEXTGRU_CACHE"] = str(cache)
    return cache


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The hosts the test's code looks up or connects to, each refused as by a network that is down. A refusal that
    must come at once offline tries none: the network's retries and timeouts are what would make it slow, and a time
    bound for it flaked on a shared 2-core CI machine."""
    tried: list[str] = []
    connect = socket.socket.connect

    def lookup(host: Any, *args: Any, **kwargs: Any) -> Any:
        tried.append(str(host))
        raise socket.gaierror(socket.EAI_NONAME, "the network is refused in this test")

    def connected(sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return connect(sock, address)  # a Unix socket: not the network
        tried.append(str(address))
        raise ConnectionRefusedError("the network is refused in this test")

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(socket.socket, "connect", connected)
    return tried


@pytest.fixture(scope="session")
def small_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_csv(tmp_path_factory.mktemp("data") / "reviews.csv", make_rows(300))


TINY_MODEL = [
    "model.embedding_dim=16",
    "model.hidden_size=16",
    "data.batch_size=16",
    "trainer.max_epochs=3",
    "logger.tensorboard=false",
    "trainer.enable_progress_bar=false",
]


def tiny_run_args(csv: Path) -> list[str]:
    """The `tiny_run` command on a `small_csv`-like file, less its run folder."""
    return [
        "task=sentiment",
        "data=local",
        f"data.path={csv}",
        "data.text_column=review",
        "data.label_column=sentiment",
        *TINY_MODEL,
    ]


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory: pytest.TempPathFactory, small_csv: Path) -> Path:
    """A real training run (local CSV, tiny model, 3 epochs) through scripts/train.py; returns its folder."""

    def train(root: Path) -> None:
        r = run_script("train", *tiny_run_args(small_csv), f"hydra.run.dir={root / 'tiny'}")
        assert r.returncode == 0, r.stderr[-3000:]

    return built_once(tmp_path_factory, "runs", train) / "tiny"


try:  # used by a test through `+callbacks.boom._target_=conftest.FailAtTest` in a subprocess
    import lightning as _L
    import torch as _torch

    class FailAtTest(_L.Callback):
        """Makes a run fail after training (when testing starts), as a crash would."""

        def on_test_start(self, trainer, pl_module) -> None:
            raise RuntimeError("simulated crash at test time")

    class NanWeightsAt(_L.Callback):
        """Makes a run diverge: its first weight NaN after training step `step`, so the next step's loss is NaN (in
        the process of global rank `rank` only, where given)."""

        def __init__(self, step: int, rank: int | None = None) -> None:
            self.step, self.rank = step, rank

        def on_train_batch_end(self, trainer, pl_module, *args) -> None:
            if trainer.global_step == self.step and self.rank in (None, trainer.global_rank):
                with _torch.no_grad():
                    next(pl_module.parameters()).fill_(float("nan"))

    class RecordSaves(_L.Callback):
        """Appends, for every checkpoint a run writes, its step and whether the ModelCheckpoint state it holds has a
        best score yet, to the JSON-lines file `path`."""

        def __init__(self, path: str) -> None:
            self.path = path

        def on_save_checkpoint(self, trainer, pl_module, checkpoint) -> None:
            states = [v for k, v in checkpoint.get("callbacks", {}).items() if str(k).startswith("ModelCheckpoint")]
            best = bool(states) and states[0].get("best_model_score") is not None
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps({"step": trainer.global_step, "best": best}) + "\n")

    class StopOnceAtSeed(_L.Callback):
        """Ctrl+C, as Lightning meets it, at the first training batch of the second epoch (after a checkpoint) of the
        run whose seed is `seed` (a sweep's job), once: the file `marker` is written then, and a run that finds it goes
        on (its resume)."""

        def __init__(self, seed: int, marker: str) -> None:
            self.seed, self.marker = seed, Path(marker)

        def on_train_batch_end(self, trainer, *args) -> None:
            if trainer.current_epoch == 1 and _torch.initial_seed() == self.seed and not self.marker.exists():
                self.marker.write_text("stopped")
                raise KeyboardInterrupt
except ImportError:  # pragma: no cover
    pass


TINY_LM = [
    "model.embedding_dim=16",
    "model.hidden_size=32",
    "model.num_layers=1",
    "data.bptt=32",
    "data.batch_size=8",
    "logger.tensorboard=false",
    "trainer.enable_progress_bar=false",
]


def write_play(path: Path, lines: int = 300, seed: int = 0) -> Path:
    rng = random.Random(seed)
    words = "the king and queen of rome did speak to thee my lord with love and fear 'tis true say".split()
    out = []
    for _ in range(lines):
        out += [
            rng.choice(["ROMEO:", "JULIET:", "KING:"]),
            " ".join(rng.choices(words, k=rng.randint(4, 9))).capitalize() + ",",
            "",
        ]
    path.write_text("\n".join(out), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def lm_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real tiny language-model run on a text file the test writes (data=local_text), via scripts/train.py."""

    def train(root: Path) -> None:
        r = run_script("train", *lm_run_args(write_play(root / "play.txt")), f"hydra.run.dir={root / 'run'}")
        assert r.returncode == 0, r.stderr[-3000:]

    return built_once(tmp_path_factory, "lm", train) / "run"


def lm_run_args(text: Path) -> list[str]:
    """The `lm_run` command (150 steps of 8 lanes x 32 characters; 37 steps an epoch), less its run folder."""
    return [
        "task=lm",
        "data=local_text",
        f"data.path={text}",
        "trainer.max_steps=150",
        "optimizer.lr=0.01",
        "task.samples=2",
        "task.sample_tokens=50",
        *TINY_LM,
    ]
