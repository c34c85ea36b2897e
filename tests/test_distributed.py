"""Data-parallel training on CPU (trainer=ddp_cpu: two gloo processes) through the real script: it trains
exactly what one process trains on the same global batch, and only rank zero writes the run folder."""

from __future__ import annotations

import csv
import io
import json
import re
import statistics
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from conftest import TINY_LM, TINY_MODEL, make_rows, run_python, run_script, write_csv, write_play

SPAWN = ["trainer=ddp_cpu", "trainer.strategy=ddp_spawn"]  # as a sweep's data-parallel trials run
NO_DROPOUT = {"sentiment": ["model.dropout=0", "model.embedding_dropout=0"], "lm": []}


def _train_args(task: str, data_file: Path) -> list[str]:
    if task == "sentiment":
        return [
            "task=sentiment",
            "data=local",
            f"data.path={data_file}",
            "data.text_column=review",
            "data.label_column=sentiment",
            *TINY_MODEL,
            "trainer.max_epochs=2",
            *NO_DROPOUT[task],
        ]
    if task == "forecast":  # a review: every rank read every window (no sharing), unlike one process
        return ["task=forecast", "data.length=600", "data.batch_size=32", "model.hidden_size=8", "model.num_layers=1",
                "trainer.max_epochs=2"]  # fmt: skip
    return [
        "task=lm",
        "data=local_text",
        f"data.path={data_file}",
        *TINY_LM,
        "trainer.max_steps=30",
        "trainer.val_check_interval=15",
        "task.samples=1",
        "task.sample_tokens=20",
    ]


@pytest.fixture(scope="module")
def play(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # 600 lines: validation holds ~2,300 tokens, read in two lanes of 1,024+ (one a process) by one process or two
    return write_play(tmp_path_factory.mktemp("play") / "play.txt", lines=600)


@pytest.mark.parametrize(  # slow: sentiment ~50 s, lm 65-100 s on a 2-core VM; forecast keeps DDP in the default run
    "task", [pytest.param("sentiment", marks=pytest.mark.slow), pytest.param("lm", marks=pytest.mark.slow), "forecast"]
)
def test_two_process_ddp_cpu_equals_one_process_over_the_same_global_batch(
    task: str, tmp_path: Path, small_csv: Path, play: Path
) -> None:
    data_file = small_csv if task == "sentiment" else play
    runs = {}
    trainers = {"cpu": ["trainer=cpu"], "ddp_cpu": ["trainer=ddp_cpu"], "spawn": SPAWN}
    for trainer, args in trainers.items():
        run_dir = tmp_path / trainer
        r = run_script("train", *_train_args(task, data_file), *args, f"hydra.run.dir={run_dir}", timeout=400)
        assert r.returncode == 0, r.stderr[-3000:]
        runs[trainer] = run_dir
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(trainers)  # one run folder each, nothing else
    ddp = runs["ddp_cpu"]
    assert sorted(p.name for p in (ddp / "checkpoints").iterdir()) == ["best.ckpt", "last.ckpt"]
    ranks = json.loads((ddp / "ranks.json").read_text())
    assert ranks["world_size"] == 2 and ranks["setups"][0] == ranks["setups"][1]
    assert not (runs["cpu"] / "ranks.json").exists()
    single = json.loads((runs["cpu"] / "metrics.json").read_text())
    double = json.loads((ddp / "metrics.json").read_text())
    assert single["global_step"] == double["global_step"] > 0  # the same optimizer steps
    assert single["train_tokens_per_sec"] > 0 and double["train_tokens_per_sec"] > 0
    for key in [k for k in single if k.startswith("val/")]:
        assert double[key] == pytest.approx(single[key], abs=1e-4), key

    # the logged training loss too (the sentiment task's was halved: its count, summed in place over the ranks): the
    # step and epoch values are the global batch's (a review: rank zero's half; later the classifier's epoch values)
    def mean_train_loss(run: Path) -> float:
        rows = list(csv.DictReader((run / "logs" / "metrics.csv").open()))
        key = "train/loss_epoch" if "train/loss_epoch" in rows[0] else "train/loss"
        return statistics.mean(float(r[key]) for r in rows if r[key])

    assert mean_train_loss(ddp) == pytest.approx(mean_train_loss(runs["cpu"]), rel=1e-4)
    # the test split was scored once, over all its examples: same metric as one process
    assert double["test/loss"] == pytest.approx(single["test/loss"], abs=1e-4)
    artifact = {"sentiment": "confusion_matrix.png", "lm": "samples.txt", "forecast": "forecast.png"}[task]
    assert (ddp / artifact).exists() and (ddp / "learning_curves.png").exists()
    # rank 1 wrote nothing into the run folder (no log file of its own): rank zero reports for the run
    assert not (ddp / "train_ddp_process_1.log").exists()
    assert sorted(p.name for p in ddp.glob("*.log")) == ["train.log"]
    # ranks spawned (a sweep's data-parallel trials): the same run folder (a review: val/loss counted the last
    # validation twice, metrics.csv held the test row only, no learning curves, no epoch lines in train.log)
    spawned = runs["spawn"]
    scored = json.loads((spawned / "metrics.json").read_text())
    for key in [k for k in double if "/" in k or k in ("epochs", "global_step", "stopped_by")]:  # timings apart
        assert scored[key] == (pytest.approx(double[key], abs=1e-4) if "/" in key else double[key]), key
    assert len(csv_rows(spawned)) == len(csv_rows(ddp)) and (spawned / "learning_curves.png").exists()
    at = [(r["epoch"], r["step"]) for r in csv_rows(ddp)]  # the best checkpoint's scores too: not at step 0
    assert [(r["epoch"], r["step"]) for r in csv_rows(spawned)] == at
    assert epoch_lines(spawned) == epoch_lines(ddp) > 0 and (spawned / artifact).exists()
    assert sorted(p.name for p in spawned.glob("*.log")) == ["train.log"]


def csv_rows(run: Path) -> list[dict[str, str]]:
    return list(csv.DictReader((run / "logs" / "metrics.csv").open()))


def epoch_lines(run: Path) -> int:
    return len(re.findall(r"- epoch \d+ \(step \d+\):", (run / "train.log").read_text()))


def test_throughput_counts_real_tokens_only() -> None:
    import torch

    from textgru.tasks.forecast import ForecastTask
    from textgru.tasks.lm import LanguageModelTask
    from textgru.tasks.sentiment import ClassificationTask

    batch = {"input_ids": torch.zeros(3, 9), "lengths": torch.tensor([9, 4, 1])}
    assert ClassificationTask.count_tokens(None, batch) == 14
    assert LanguageModelTask.count_tokens(None, {"targets": torch.tensor([[1, 2, -100], [3, -100, -100]])}) == 3
    assert ForecastTask.count_tokens(None, {"inputs": torch.zeros(4, 12, 2)}) == 48  # time steps read


def test_only_srun_tasks_count_as_ranks_of_a_slurm_job() -> None:
    """Found by a review: inside `salloc -n 2` (or an sbatch script with 2 tasks) every command was taken for one
    rank of an srun launch, so two runs started in the same second shared one folder and `textgru tune` was refused."""
    from textgru.distributed import _srun_task

    allocation = {"SLURM_NTASKS": "2", "SLURM_JOB_ID": "7", "SLURM_PROCID": "0", "SLURM_JOB_NAME": "bash"}
    assert not _srun_task(allocation)  # the allocation's shell: a single process
    assert not _srun_task({**allocation, "SLURM_STEP_ID": str(0xFFFFFFFB)})  # the batch step of an sbatch script
    assert _srun_task({**allocation, "SLURM_STEP_ID": "0"}) and _srun_task({**allocation, "SLURM_STEPID": "3"})
    assert not _srun_task({**allocation, "SLURM_NTASKS": "1", "SLURM_STEP_ID": "0"})  # srun of one task


def test_another_rank_leaves_rank_zeros_log_file(tmp_path: Path) -> None:
    """Found by a review: under torchrun every rank opens the shared run folder's train.log; rank 1 removed it while
    it was still empty, and rank zero went on writing into a deleted file (no train.log in 3 runs of 3)."""
    import logging

    from textgru.distributed import quiet_other_ranks

    root = logging.getLogger()
    before = root.handlers
    shared = logging.FileHandler(tmp_path / "train.log")  # rank zero's, not yet written to
    own = logging.FileHandler(tmp_path / "train_ddp_process_1.log")  # Lightning's launcher: the rank's own
    root.handlers = [shared, own]  # this process's own handlers (pytest's among them) are left out of it
    try:
        quiet_other_ranks()
        assert shared not in root.handlers and (tmp_path / "train.log").exists()
        assert own not in root.handlers and not (tmp_path / "train_ddp_process_1.log").exists()
    finally:
        root.handlers = before


def test_global_mean_leaves_the_callers_count_alone() -> None:
    """Lightning's DDP all-reduces in place: the count given to `global_mean` must not become the global count (the
    sentiment task then logged its training loss divided by the number of ranks; tests above, marked slow)."""
    from types import SimpleNamespace

    import torch

    from textgru.tasks.base import TaskModule

    task = TaskModule(torch.nn.Linear(1, 1), torch.optim.SGD)
    strategy = SimpleNamespace(reduce=lambda t, reduce_op: t.mul_(2))  # two ranks of equal count, summed in place
    task._trainer = SimpleNamespace(world_size=2, strategy=strategy)
    count = torch.tensor(16.0)
    assert task.global_mean(torch.tensor(8.0), count).item() == 0.5 and count.item() == 16.0


RANK_KILLER = """
import os
import lightning as L


class KillRank1(L.Callback):  # rank 1 dies abruptly (as the OOM killer ends a process) after training step `step`
    def __init__(self, step: int) -> None:
        self.step = step

    def on_train_batch_end(self, trainer, *args) -> None:
        if trainer.global_rank == 1 and trainer.global_step == self.step:
            os._exit(9)
"""


@pytest.mark.slow  # ~30 s on 2 cores
def test_a_rank_that_dies_is_one_line_naming_resume(tmp_path: Path, play: Path) -> None:
    """Rank 0 ended with gloo's 100-line traceback ('Connection reset by peer'), naming neither what happened nor
    how to go on (a review)."""
    (tmp_path / "killer.py").write_text(RANK_KILLER)
    run_dir = tmp_path / "run"
    args = [*_train_args("lm", play), "trainer=ddp_cpu", "trainer.max_steps=60", "callbacks.checkpoint.every_n_steps=5"]
    killer = ["+callbacks.killer._target_=killer.KillRank1", "+callbacks.killer.step=12"]
    r = run_script("train", *args, *killer, f"hydra.run.dir={run_dir}", env={"PYTHONPATH": str(tmp_path)}, timeout=400)
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr[-3000:]
    assert len(errors) == 1 and "another process of this 2-process run ended (" in errors[0], errors
    from textgru.stopping import PEER_LOST  # the backend's line that says so, not its advice (a review: "GLHF! 🏖️")

    assert any(f"ended ({phrase}" in errors[0] or phrase in errors[0].split("ended (")[1][:160] for phrase in PEER_LOST)
    assert "GLHF" not in errors[0] and "before reporting" not in errors[0]
    assert f"continue from its last checkpoint: textgru train resume={run_dir}" in errors[0]


@pytest.mark.parametrize(
    ("given", "in_sweep", "want"),
    [
        (["trainer=ddp_cpu"], False, "ddp_find_unused_parameters_true"),
        (["trainer=ddp_cpu"], True, "ddp_spawn_find_unused_parameters_true"),  # a sweep trial spawns its ranks
        (["trainer=ddp_cpu", "trainer.strategy=ddp_spawn"], False, "ddp_spawn_find_unused_parameters_true"),
        (["trainer=ddp_cpu", "task.finetune.gradual_unfreezing=false"], False, "ddp"),  # every layer has gradients
        (["trainer=cpu"], False, "auto"),  # one process
    ],
)
def test_gradual_unfreezing_under_ddp_lets_frozen_layers_go_without_gradients(
    given: list[str], in_sweep: bool, want: str
) -> None:
    """A review: `trainer=ddp_cpu` with gradual unfreezing failed at the second step with a traceback per rank
    (DDP: parameters that were not used in producing the loss), leaving a run folder without checkpoints."""
    from textgru.config import compose_config
    from textgru.distributed import one_config_per_trial, unused_parameters_allowed

    finetune = ["model.pretrained_lm=/lm", "task.finetune.gradual_unfreezing=true"]
    cfg = compose_config("train", ["task=sentiment", *finetune, *given])
    unused_parameters_allowed(cfg)
    one_config_per_trial(cfg, in_sweep)
    assert cfg.trainer.strategy == want


@pytest.mark.slow  # ~40 s: two data-parallel runs
def test_a_python_resume_of_a_ddp_run_spawns_its_ranks(small_csv: Path, tmp_path: Path) -> None:
    """A review: `textgru.train(['resume=<a ddp run>'])` let Lightning's ddp launcher re-run the caller's script
    for rank 1 (twice every side effect; in a notebook, the kernel launcher); as a new Python run does, the ranks of
    a resumed one are spawned."""
    run = tmp_path / "run"
    first = [a for a in _train_args("sentiment", small_csv) if not a.startswith("trainer.max_epochs=")]
    r = run_script("train", *first, "trainer.max_epochs=1", "trainer=ddp_cpu", f"hydra.run.dir={run}")
    assert r.returncode == 0, r.stderr[-3000:]
    marks = tmp_path / "ran.txt"
    script = tmp_path / "resume.py"
    script.write_text(
        "import textgru\n"
        "if __name__ == '__main__':  # as any script that starts processes (spawned ranks import it)\n"
        f"    open({str(marks)!r}, 'a').write('ran\\n')\n"
        f"    textgru.train([{f'resume={run}'!r}, 'trainer.max_epochs=2'])\n"
    )
    r = run_python([str(script)], timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert marks.read_text() == "ran\n"  # once, not once per rank
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2


def test_a_ddp_cpu_run_in_an_interactive_session_forks_its_ranks(small_csv: Path, tmp_path: Path) -> None:
    """A review: in a Jupyter kernel (`sys.ps1` set, Lightning's `_IS_INTERACTIVE`) `textgru.train([...,
    "trainer=ddp_cpu"])` was refused (Lightning: ddp_spawn is not compatible with an interactive environment),
    though the README said it works in notebooks; its ranks are forked there (ddp_notebook)."""
    run = tmp_path / "run"
    args = [*_train_args("sentiment", small_csv), "trainer.max_steps=3", "trainer.max_epochs=1", "trainer=ddp_cpu"]
    script = tmp_path / "kernel.py"
    script.write_text(
        "import sys\n"
        "sys.ps1 = '>>> '  # as in every Jupyter kernel and Python prompt\n"
        "import textgru\n"
        f"textgru.train({args!r}, run_dir={str(run)!r})\n"
    )
    r = run_python([str(script)], timeout=120, fresh=True)  # Lightning reads sys.ps1 when imported
    assert r.returncode == 0, r.stderr[-3000:]
    assert (run / "metrics.json").exists()
    log = (run / "train.log").read_text()
    assert "trainer.strategy=ddp_notebook" in log and log.count("all 2 ranks train the same config") == 1


def test_a_rank_forked_from_a_kernel_writes_to_its_file_descriptors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A review: a ddp_notebook run in Jupyter drew no progress bar, and the kernel logged 72 "attempted to send
    message from fork" (its streams, and tqdm's widget, are kernel messages, which a fork cannot send). A forked rank
    writes to the descriptors the kernel forwards to the notebook, its bar as text."""
    import logging

    from lightning.pytorch.callbacks.progress import tqdm_progress
    from tqdm.notebook import tqdm as notebook_tqdm
    from tqdm.std import tqdm

    from textgru.forked_ranks import ForkedRank

    class OutStream(io.StringIO):  # as ipykernel's
        pass

    OutStream.__module__ = "ipykernel.iostream"
    kernel_out, kernel_err = OutStream(), OutStream()
    monkeypatch.setattr(sys, "stdout", kernel_out)
    monkeypatch.setattr(sys, "stderr", kernel_err)

    class WidgetBar(notebook_tqdm):  # Lightning's Tqdm where ipywidgets is installed (tqdm.auto: a widget)
        format_num = staticmethod(tqdm_progress.Tqdm.format_num)

    monkeypatch.setattr(tqdm_progress, "Tqdm", WidgetBar)
    handler = logging.StreamHandler(kernel_err)  # the caller's logging.basicConfig()
    log_file = logging.FileHandler(tmp_path / "train.log")  # the run's, which a forked rank inherits
    logging.getLogger().addHandler(handler)
    try:
        streams = ForkedRank()
        streams.setup(SimpleNamespace(is_global_zero=True), None, "fit")  # in the kernel's own process: left alone
        assert sys.stdout is kernel_out and tqdm_progress.Tqdm is WidgetBar
        streams.pid = -1  # as in a forked rank
        streams.setup(SimpleNamespace(is_global_zero=True), None, "fit")
        assert sys.stdout.fileno() == 1 and sys.stderr.fileno() == 2 and handler.stream is sys.stderr
        assert tqdm_progress.Tqdm.__mro__[1] is tqdm and tqdm_progress.Tqdm.format_num(0.0001) == "0.0001"
        logging.getLogger("textgru").addHandler(log_file)
        streams.setup(SimpleNamespace(is_global_zero=False), None, "fit")
        assert log_file not in logging.getLogger("textgru").handlers  # rank zero writes it
    finally:
        logging.getLogger().removeHandler(handler)
        logging.getLogger("textgru").removeHandler(log_file)
        log_file.close()


def test_a_forked_run_after_cuda_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """Forked ranks cannot use CUDA once the kernel has: one line before anything loads (Lightning's own check comes
    after the data loaded, in several lines, and asks for a restart all the same)."""
    import torch

    from textgru.errors import TextgruError
    from textgru.forked_ranks import rank_starter

    assert rank_starter() == "ddp_spawn"  # a script (pytest: no prompt)
    monkeypatch.setattr(sys, "ps1", ">>> ", raising=False)
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: False)
    assert rank_starter() == "ddp_notebook"
    monkeypatch.setattr(torch.cuda, "is_initialized", lambda: True)
    with pytest.raises(TextgruError, match="already used CUDA .* restart the kernel and train first"):
        rank_starter()


@pytest.mark.parametrize(
    ("trainer", "count"),
    [
        ({"accelerator": "cpu", "devices": "auto"}, 1),  # Lightning's CPUAccelerator counts "auto" as one process
        ({"accelerator": "cpu", "devices": "auto", "num_nodes": 2}, 2),
        ({"accelerator": "cpu", "devices": 3, "num_nodes": 2}, 6),
        ({"accelerator": "gpu", "devices": "0,1"}, 2),
        ({"accelerator": "gpu", "devices": [0, 1, 2]}, 3),
        ({"accelerator": "cpu", "devices": -1}, None),  # refused on CPU before it counts
    ],
)
def test_world_size_counts_processes_as_lightning_does(trainer: dict, count: int | None) -> None:
    from textgru.distributed import world_size

    assert world_size(trainer) == count


def test_a_ddp_run_inside_its_first_epoch_validates_at_its_end(small_csv: Path, tmp_path: Path) -> None:
    """A review: each rank's batches were counted as 1/world of the epoch's, though textgru's sampler gives every rank
    its share of each global batch (as many batches as the whole): a two-process run of max_steps=6, inside its
    first epoch of 8 batches a rank, ended without validating, without best.ckpt; one that validates at step 6, and writes it, is expected."""
    run = tmp_path / "run"
    args = [a for a in _train_args("sentiment", small_csv) if not a.startswith("trainer.max_epochs=")]
    r = run_script(
        "train", *args, "trainer=ddp_cpu", "data.batch_size=32", "trainer.max_steps=6", f"hydra.run.dir={run}"
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert "validating after 6 steps" in r.stderr + r.stdout
    assert (run / "checkpoints" / "best.ckpt").is_file()
    assert json.loads((run / "metrics.json").read_text())["global_step"] == 6


def _rank_trace(error: Exception) -> str:
    """What torch sends back of a spawned rank that raised `error` (from a ValueError): its traceback, as text."""
    import traceback

    try:
        try:
            raise ValueError("textgru.errors.TextgruError: a message inside another error's, not the raised one")
        except ValueError as e:
            raise error from e
    except Exception:
        return "\n\n-- Process 1 terminated with the following error:\n" + traceback.format_exc()


def test_a_spawned_ranks_textgru_error_comes_back_as_itself() -> None:
    """A review: under ddp_spawn (every sweep and tune trial) a rank's TextgruError was torch's
    ProcessRaisedException, whose message is the rank's traceback as text: a 90-line traceback, exit 1."""
    from torch.multiprocessing.spawn import ProcessRaisedException

    from textgru.errors import EveryRankError, raised_in_rank, spawned_rank_errors
    from textgru.resource_errors import ResourceFailure

    said = "the training loss is nan at step 3 (epoch 0): training diverged; lower optimizer.lr"
    with pytest.raises(EveryRankError, match=re.escape(said)) as caught:
        with spawned_rank_errors():
            raise ProcessRaisedException(_rank_trace(EveryRankError(said)), 1, 123)
    assert str(caught.value) == said and isinstance(caught.value.__cause__, ProcessRaisedException)  # kept: the trace
    two_lines = raised_in_rank(_rank_trace(ResourceFailure("no space left: a\nsecond line")))
    assert type(two_lines) is ResourceFailure and str(two_lines) == "no space left: a\nsecond line"
    assert raised_in_rank(_rank_trace(RuntimeError("textgru.errors.TextgruError: x"))) is None  # a bug: its trace
    with pytest.raises(ProcessRaisedException):
        with spawned_rank_errors():
            raise ProcessRaisedException(_rank_trace(KeyError("textgru")), 1, 123)


@pytest.mark.slow  # ~30 s on 2 cores
def test_a_spawned_rank_that_diverges_is_a_textgru_error_in_python(small_csv: Path, tmp_path: Path) -> None:
    """A review: `textgru.train([..., 'trainer=ddp_cpu', 'trainer.strategy=ddp_spawn', 'optimizer.lr=1e30'])` raised
    ProcessRaisedException, which `except TextgruError` missed (a sweep job's line was its traceback)."""
    args = [a for a in _train_args("sentiment", small_csv) if not a.startswith("trainer.max_epochs=")]
    args += [*SPAWN, "optimizer.lr=1e30", "scheduler=none", "trainer.max_epochs=1", f"hydra.run.dir={tmp_path / 'run'}"]
    script = tmp_path / "diverge.py"
    script.write_text(
        "import textgru\n"
        "if __name__ == '__main__':  # spawned ranks import it\n"
        "    try:\n"
        f"        textgru.train({args!r})\n"
        "    except textgru.TextgruError as e:\n"
        "        print('caught:', e)\n"
    )
    r = run_python([str(script)], timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "caught: the training loss is nan at step" in r.stdout and "lower optimizer.lr" in r.stdout, r.stdout


@pytest.mark.parametrize("split", ["test", "validation"])
def test_a_split_smaller_than_the_processes_is_one_line_before_training(
    small_csv: Path, tmp_path: Path, split: str
) -> None:
    """A review: a 1-example test split of a 2-process run was refused by each rank after the whole of training
    (no metrics.json, best-unfinished.ckpt left); the split's size is known before, and so is the refusal."""
    one = write_csv(tmp_path / "one.csv", make_rows(1))
    run = tmp_path / "run"
    args = [*_train_args("sentiment", small_csv), f"data.{split}_path={one}", "trainer=ddp_cpu"]
    r = run_script("train", *args, "trainer.max_steps=2", f"hydra.run.dir={run}")
    assert r.returncode == 2, r.stderr[-3000:]
    said = f"error: the {split} split has 1 examples, fewer than the 2 processes; use fewer devices or more data"
    assert r.stderr.count(said) == 1 and "Traceback" not in r.stderr
    assert not run.exists()


@pytest.mark.parametrize(
    "args,said",
    [
        (["data.eval_batch_size=256", "trainer.limit_val_batches=0.5"], "limit_val_batches=0.5 of 1 validation"),
        (["data.eval_batch_size=256", "trainer.limit_test_batches=0.5"], "limit_test_batches=0.5 of 1 test"),
        (["data.batch_size=512", "trainer.limit_train_batches=0.5"], "limit_train_batches=0.5 of 1 training"),
        # 9 validation examples in batches of 8 and 1: process 1 has no share of the second, 1 batch to rank 0's 2
        (["data.eval_batch_size=8", "trainer.limit_val_batches=0.5", "trainer=ddp_cpu"], "process 1's 1 validation"),
    ],
)
def test_a_fraction_of_less_than_one_batch_is_one_line_before_training(
    small_csv: Path, tmp_path: Path, args: list[str], said: str
) -> None:
    """Reviews: trainer.limit_val_batches=0.5 of a 1-batch split was Lightning's MisconfigurationException traceback,
    exit 1, config.yaml and tokenizer.json left (the folder then refused for a new run); under DDP, where only rank 1
    had a single batch, rank zero's line blamed a lost process (an out-of-memory kill?)."""
    nine = write_csv(tmp_path / "nine.csv", make_rows(9))
    run = tmp_path / "run"
    args = [*_train_args("sentiment", small_csv), *args, f"data.validation_path={nine}", "trainer.max_steps=2"]
    r = run_script("train", *args, f"hydra.run.dir={run}")
    assert r.returncode == 2, r.stderr[-3000:]
    fix = "batch(es) is less than one batch; use a whole number of batches, a larger fraction, or a smaller data."
    assert r.stderr.count(f"{said} {fix}") == 1 and "error: trainer.limit_" in r.stderr, r.stderr[-3000:]
    assert "Traceback" not in r.stderr and not run.exists()


@pytest.mark.parametrize("grown_by", ["same_words", pytest.param("new_words", marks=pytest.mark.slow)])
def test_ranks_that_read_other_data_stop_before_training(grown_by: str, tmp_path: Path) -> None:
    """Found by a review: each rank reads and splits the data itself, and a file that grew while the ranks started
    (the `ddp` launcher re-runs the command in rank 1 seconds after rank 0 read it) trained rank 0 on 720 texts and
    rank 1 on 880, exit 0 and "all 2 ranks train the same config" (a full epoch hung). Here rank 1 reads a longer
    file than rank 0 (its LOCAL_RANK picks it): one line naming the split sizes, before any training step. Rows of
    new words train rank 1 a larger vocabulary: stopped as well, before DDP's check of the weights' shapes (its traceback)."""
    rows = make_rows(400)
    more = [(text if grown_by == "same_words" else f"{text} fresh words", y) for text, y in rows[300:]]
    write_csv(tmp_path / "data_0.csv", rows[:300])
    write_csv(tmp_path / "data_1.csv", rows[:300] + more)  # the same file, grown by 100 rows
    run_dir = tmp_path / "run"
    data = f"data.path={tmp_path}/data_${{oc.env:LOCAL_RANK,0}}.csv"  # rank 0 has no LOCAL_RANK
    args = ["task=sentiment", "data=local", data, "data.text_column=review", "data.label_column=sentiment", *TINY_MODEL]
    # a few steps: before the fix, the run ended with exit 0 rather than hanging in a full epoch
    r = run_script("train", *args, "trainer.max_steps=5", "trainer=ddp_cpu", f"hydra.run.dir={run_dir}")
    assert r.returncode != 0
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "rank 1 read other data than rank 0 (split sizes " in errors[0], r.stderr[-3000:]
    found = re.search(r"split sizes (\d+)/(\d+)/(\d+) vs (\d+)/(\d+)/(\d+)\)", errors[0])
    assert found and sum(map(int, found.groups()[:3])) == 400 and sum(map(int, found.groups()[3:])) == 300
    assert "each node has another copy" in errors[0] and "all 2 ranks train the same config" not in r.stdout + r.stderr
    assert not (run_dir / "checkpoints" / "last.ckpt").exists() and "Traceback" not in r.stderr  # before training
    read = [s["data_read"] for s in json.loads((run_dir / "ranks.json").read_text())["setups"]]
    assert read[0]["data_digest"] != read[1]["data_digest"] and read[0]["tokenizer"]


def test_rank_setups_name_the_data_a_rank_read_before_its_config() -> None:
    from textgru.rank_setups import data_read, differing_ranks

    dm = SimpleNamespace(examples={"train": [0] * 720, "validation": [0] * 90, "test": [0] * 90})
    read = data_read(dm, {"data_digest": "abc", "tokenizer": '{"model": {}}'})
    assert read["split_sizes"] == {"train": 720, "validation": 90, "test": 90} and read["data_digest"] == "abc"
    assert len(read["tokenizer"]) == 16 and data_read(SimpleNamespace(), {})["tokenizer"] is None  # forecast: none
    setup = {"seed": 42, "model": {"vocab_size": 29}, "data_read": read}
    assert differing_ranks([setup, dict(setup)]) is None
    grown = {**read, "split_sizes": {"train": 880, "validation": 110, "test": 110}, "data_digest": "def"}
    line = differing_ranks([setup, setup, {**setup, "model": {"vocab_size": 31}, "data_read": grown}])
    assert line.startswith("rank 2 read other data than rank 0 (split sizes 880/110/110 vs 720/90/90): the data ")
    edited = differing_ranks([setup, {**setup, "data_read": {**read, "data_digest": "def"}}])  # same sizes
    assert edited.startswith("rank 1 read other data than rank 0 (data digest def vs abc)")
    tokenizer = differing_ranks([setup, {**setup, "data_read": {**read, "tokenizer": "0" * 16}}])
    assert tokenizer.startswith(f"rank 1 read other data than rank 0 (tokenizer {'0' * 16} vs {read['tokenizer']})")
    config = differing_ranks([setup, {**setup, "seed": 7}])  # the same data, another config: a sweep's re-run
    assert config.startswith("ranks [1] would train a different config from rank 0")
