"""Adding a task as README "Adding a task" says: the config rules and checks ask the task's `TaskInfo` (not a list of
their own), a task's missing piece is one line before training, `textgru eval` asks the loaded model (a review of the
guide followed literally with a toy `task=length`: each of these was refused wrongly or a traceback)."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest
import torch
from conftest import run_python

from textgru.errors import TextgruError
from textgru.tasks import TASKS, TaskInfo, task_module

# a contributor's new task: one entry in TASKS, made before anything reads the table (as an edited tasks/__init__.py)
NEW_TASK = """
import textgru.tasks as t
from textgru.errors import TextgruError
t.TASKS["free"] = t.TaskInfo("textgru.tasks.sentiment", "free (task=free)", "")  # names no sources, no model
try:
    t.TASKS["length"] = t.TaskInfo("textgru.tasks.sentiment", "length (task=length)", "", sources=("tweets",))
except TypeError as e:  # (no sources in TaskInfo: said last)
    said = str(e)
else:
    said = ""
from textgru.config import compose_config
from textgru.config_checks import check_config
for task, data in (("free", "shakespeare"), ("length", "tweets"), ("length", "shakespeare"), ("nosuch", "tweets")):
    try:
        check_config(compose_config("train", [f"task.name={task}", f"data={data}"]), "train")
        print(task, data, "ok")
    except TextgruError as e:
        print(task, data, e)
print(said)
"""


def test_a_task_added_to_tasks_is_taken_and_its_sources_come_from_its_task_info() -> None:
    r = run_python(["-c", NEW_TASK], fresh=True)  # fresh: the rules read TASKS when first imported
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert lines[0] == "free shakespeare ok"  # was: task.name=free: must be one of sentiment, lm, forecast, bilm
    assert lines[1] == "length tweets ok"  # a task that names no sources (free) takes any of textgru's; length:
    assert lines[2].startswith("length shakespeare data.source=shakespeare is not data for task=length: use a data ")
    assert "source is one of tweets (" in lines[2]
    assert lines[3].startswith("nosuch tweets task.name=nosuch: must be one of sentiment, lm, forecast, bilm, free")


def _fake_task(monkeypatch: pytest.MonkeyPatch, **functions: object) -> str:
    module = types.ModuleType("fake_task_module")
    for name, value in functions.items():
        setattr(module, name, value)
    monkeypatch.setitem(sys.modules, "fake_task_module", module)
    monkeypatch.setitem(TASKS, "fake", TaskInfo("fake_task_module", "fake (task=fake)", ""))
    return "fake"


def test_a_task_module_missing_a_function_or_misspelt_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    name = _fake_task(monkeypatch, build=lambda cfg: None)
    with pytest.raises(TextgruError) as missing:
        task_module(name)
    assert str(missing.value) == (
        "task=fake: fake_task_module has no validation_metrics, next_commands; a task module defines build(cfg), "
        'validation_metrics(cfg) and next_commands(run) (README "Adding a task")'
    )
    monkeypatch.setitem(TASKS, "typo", TaskInfo("textgru.tasks.lenght", "typo (task=typo)", ""))
    with pytest.raises(TextgruError, match=r"^task=typo: no module textgru\.tasks\.lenght \(textgru\.tasks\.TASKS\); "):
        task_module("typo")


def test_what_build_returned_is_checked_before_training() -> None:
    from textgru.checkpoint import checkpoint_extras
    from textgru.models.gru_forecaster import GRUForecaster
    from textgru.tasks.base import TaskModule
    from textgru.tasks.built import check_built

    class Uncounted(TaskModule):  # no count_tokens: was a NotImplementedError mid-run (callbacks.py)
        pass

    class Counted(TaskModule):
        def count_tokens(self, batch: dict) -> torch.Tensor:
            return batch["lengths"].sum()

    with pytest.raises(TextgruError, match=r"^task=fake: Uncounted does not define count_tokens\(batch\) "):
        check_built("fake", Uncounted(GRUForecaster(), torch.optim.SGD))
    with pytest.raises(TextgruError) as unloadable:  # was refused by textgru.load only after training
        check_built("fake", Counted(torch.nn.Linear(1, 1), torch.optim.SGD))
    assert str(unloadable.value) == (
        "task=fake: its model class Linear is not in textgru.models.MODEL_CLASSES, so its checkpoints would not load; "
        "add it there"
    )
    model = GRUForecaster()
    check_built(
        "fake",
        Counted(model, torch.optim.SGD, checkpoint_extras=checkpoint_extras("fake", model, {}, "{}", None, {}, 8)),
    )


def test_what_build_stores_in_its_checkpoints_is_checked_before_training() -> None:
    """README: build stores checkpoint_extras("X", model, ...) in its module; a build that stored none, another task's,
    or another model's trained to its end, and its checkpoints were refused only when loaded (a review)."""
    from textgru.checkpoint import checkpoint_extras
    from textgru.models.gru_forecaster import GRUForecaster
    from textgru.models.gru_lm import GRULanguageModel
    from textgru.tasks.base import TaskModule
    from textgru.tasks.built import check_built

    class Counted(TaskModule):
        def count_tokens(self, batch: dict) -> torch.Tensor:
            return batch["lengths"].sum()

    def refusal(extras: dict | None, model: torch.nn.Module | None = None) -> str:
        with pytest.raises(TextgruError) as refused:
            check_built("fake", Counted(model or GRUForecaster(), torch.optim.SGD, checkpoint_extras=extras))
        return str(refused.value)

    model, fix = GRUForecaster(), 'store textgru.checkpoint.checkpoint_extras("fake", model, ...) in its module'
    assert refusal(None) == (
        f"task=fake: its module stores no checkpoint_extras, so its checkpoints would not load; {fix}"
    )
    copied = checkpoint_extras("sentiment", model, {}, "{}", ["a", "b"], {}, 8)  # a shipped task's build, copied
    assert refusal(copied) == (
        f"task=fake: its checkpoint_extras name task=sentiment, so its checkpoints would be read as that task's; {fix}"
    )
    no_tokenizer = checkpoint_extras("fake", model, {}, None, None, {}, 8)  # every task but forecast stores one
    assert refusal(no_tokenizer) == (
        "task=fake: its checkpoint_extras' tokenizer is not what textgru.load reads, so its checkpoints would not load; "
        + fix
    )
    lm = GRULanguageModel(vocab_size=8, hidden_size=4)  # extras of the model built before another
    assert refusal(checkpoint_extras("fake", lm, {"vocab_size": 8}, "{}", None, {}, 8), model) == (
        f"task=fake: its checkpoint_extras name model class GRULanguageModel, not its model's GRUForecaster; {fix}"
    )
    other_size = checkpoint_extras("fake", model, {"hidden_size": 32}, "{}", None, {}, 8)  # args of another config
    assert refusal(other_size, model) == (
        "task=fake: its checkpoint_extras' model_args build another model than the one it trains (its gru.weight_ih_l0 "
        "[96, 1], where the model trained has [192, 1]), so its checkpoints would not load; pass the arguments its "
        "model was built with"
    )


def test_eval_of_a_task_without_eval_says_so_and_names_those_with_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """It called any checkpoint neither a classifier's nor a forecaster's "a language model"."""
    import textgru.inference.loading as loading
    from textgru.commands import eval_command
    from textgru.config import compose_config
    from textgru.inference.loaded_model import LoadedModel

    class LengthRegressor(LoadedModel):  # a new task's inference class, without an eval
        task = "length"

        def __init__(self, path: Path) -> None:
            self.model, self.meta = torch.nn.Linear(1, 1), {"path": str(path)}

    ckpt = tmp_path / "run" / "checkpoints" / "best.ckpt"
    ckpt.parent.mkdir(parents=True)
    ckpt.write_bytes(b"")
    monkeypatch.setattr(loading, "load", lambda path, device=None: LengthRegressor(Path(path)))
    with pytest.raises(TextgruError) as refused:
        eval_command(compose_config("eval", [f"ckpt_path={ckpt}"]))
    assert str(refused.value) == (
        f"{ckpt}: task=length has no eval; textgru eval scores classifier (task=sentiment) and forecaster "
        "(task=forecast) checkpoints"
    )


def test_gradient_flow_given_a_task_says_it_takes_none() -> None:
    """It said "no config key task: did you mean task?"."""
    from textgru.config import check_override_keys

    with pytest.raises(TextgruError) as refused:
        check_override_keys(["task=sentiment"], "gradient_flow")
    assert str(refused.value) == (
        "task=sentiment: textgru gradient-flow takes no task (task= is an option of textgru train and tune); "
        "textgru gradient-flow --help lists its options"
    )


def test_a_task_config_without_optimized_mode_is_one_line_naming_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """conf/train.yaml's `max` was inherited: a loss-like metric of a name textgru does not know kept the worst
    checkpoint, with no word."""
    from textgru.config import compose_config
    from textgru.config_checks import check_config
    from textgru.config_rules import OneOf
    from textgru.config_rules_train import TRAIN

    (tmp_path / "conf" / "task").mkdir(parents=True)
    (tmp_path / "conf" / "task" / "length.yaml").write_text(
        "# @package _global_\ntask:\n  name: length\noptimized_metric: val/abs_err\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)  # ./conf extends the package's configs
    monkeypatch.setitem(TRAIN, "task.name", OneOf((*TASKS, "length")))  # as if length were in TASKS at import
    with pytest.raises(TextgruError) as refused:
        check_config(compose_config("train", ["task=length"]), "train")
    assert str(refused.value) == (
        "optimized_mode is not set: task=length's config (conf/task/length.yaml) must state optimized_metric (a "
        "validation metric it logs) and optimized_mode (min or max: which way that metric is better), and no "
        "override may set it to ???; or pass optimized_mode=..."
    )


def test_every_exported_task_is_in_each_table_an_export_is_read_by() -> None:
    """README "Adding a task": a task textgru exports (a plan in `onnx_graphs.PLANS`) needs an entry in each table an
    export is checked and run by (a review: the guide named PLANS alone; its export then failed to load, a KeyError in
    `check_ops` and `RUNNERS`, and config.json's task refused by `read_config` as unknown)."""
    from textgru.inference.loading import LOADABLE
    from textgru.inference.onnx_runtime import RUNNERS
    from textgru.onnx_format import KEYS
    from textgru.onnx_graphs import PLANS
    from textgru.onnx_ops import ALLOWED_OPS

    tables = {"onnx_ops.ALLOWED_OPS": ALLOWED_OPS, "onnx_format.KEYS": KEYS, "inference.onnx_runtime.RUNNERS": RUNNERS}
    tables |= {"inference.loading.LOADABLE": {c.task: c for c in LOADABLE}, "tasks.TASKS": TASKS}
    missing = {name: sorted(set(PLANS) - set(table)) for name, table in tables.items() if set(PLANS) - set(table)}
    assert missing == {}
    assert set(ALLOWED_OPS) == set(KEYS) == set(RUNNERS) == set(PLANS)  # and no table holds a task without a plan


def test_a_task_whose_loader_cannot_resume_mid_epoch_is_named_so_on_resume(tmp_path: Path, caplog) -> None:
    """ExactResume records the training loader's place only for a ResumableDataLoader: a new task's plain DataLoader
    resumed mid-epoch was told its checkpoint came from "an older textgru" (a review of README "Adding a task")."""
    import logging
    from types import SimpleNamespace

    from torch.utils.data import DataLoader

    from textgru.data.resumable_loader import ResumableDataLoader
    from textgru.resumed_data import check_resumed_data
    from textgru.run_folder import RunFolder

    inside = {"current": {"completed": 6}, "is_last_batch": False}
    ckpt = {"textgru": {"task": "length"}, "loops": {"fit_loop": {"epoch_loop.batch_progress": inside}}}
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_resumed_data(
            SimpleNamespace(tokenizer=None, train_dataloader=lambda: DataLoader([1])), RunFolder(tmp_path), ckpt
        )
    assert "older textgru" not in caplog.text
    assert (
        "resume: the checkpoint was saved 6 batches into an epoch, and task=length's training loader is a DataLoader, "
        "not a ResumableDataLoader (textgru.data.resumable_loader), which records its place in an epoch: the rest of "
        "that epoch is not the batches of a run never stopped"
    ) in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textgru"):  # resumable now: the checkpoint is an older textgru's
        loader = ResumableDataLoader([1])
        check_resumed_data(SimpleNamespace(tokenizer=None, train_dataloader=lambda: loader), RunFolder(tmp_path), ckpt)
    assert "resume: the checkpoint was saved 6 batches into an epoch by an older textgru" in caplog.text
