"""The tasks textgru trains: `task=<name>` is one module here that says everything special about that task (how its
datamodule and model are built, its LightningModule, metrics, run artifacts and how its batches count tokens).

Adding a task: a module `tasks/<name>.py` with `build(cfg) -> (datamodule, TaskModule)`, `validation_metrics(cfg)`
and `next_commands(run)`, a config `conf/task/<name>.yaml`, and its `TaskInfo` in `TASKS` below (README "Adding a
task")."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from textgru.errors import TextgruError


@dataclass(frozen=True)
class TaskInfo:
    module: str  # the task's module, fixed here (a checkpoint's task name is only ever looked up in this table)
    title: str  # how messages name its checkpoints
    use: str  # what its checkpoints are for, where a command that needs another kind is given one
    sources: tuple[str, ...] = ()  # the `data.source`s it reads (textgru.data.*.SOURCES); (): any textgru has
    model: str | None = None  # the model class its config must build (a `MODEL_CLASSES` name); None: any of them


TASKS = {
    "sentiment": TaskInfo(
        "textgru.tasks.sentiment",
        "classifier (task=sentiment)",
        "use it with textgru predict, eval, export or serve classifier=",
        sources=("tweets", "hub", "local"),
        model="GRUClassifier",
    ),
    "lm": TaskInfo(
        "textgru.tasks.lm",
        "language-model (task=lm)",
        "use it with textgru generate, export or serve lm=",
        sources=("shakespeare", "local_text", "hub"),
        model="GRULanguageModel",
    ),
    "forecast": TaskInfo(
        "textgru.tasks.forecast",
        "forecaster (task=forecast)",
        "use it with textgru eval or export, or textgru.load(...).predict(series)",
        sources=("synthetic_sine", "local_csv"),
        model="GRUForecaster",
    ),
    "bilm": TaskInfo(
        "textgru.tasks.bilm",
        "bidirectional language-model (task=bilm)",
        "fine-tune a classifier from it: textgru train task=sentiment model.pretrained_lm=<its run>",
        sources=("tweets", "hub", "local", "shakespeare", "local_text"),  # texts of labelled data, or a text corpus
        model="BiGRULanguageModel",
    ),
}


def task_title(name: str) -> str:
    """`classifier (task=sentiment)` ...; an unknown name as it is (for messages about a foreign checkpoint)."""
    return TASKS[name].title if name in TASKS else repr(name)[:60]


def task_use(name: str, exported: bool = False) -> str:
    """What a checkpoint (or, `exported`, an export) of task `name` is for: the fix in a message that refuses it;
    "" for an unknown name."""
    if name not in TASKS:
        return ""
    use = TASKS[name].use
    return "; " + (use.replace(", export or ", " or ").replace(" or export,", ",") if exported else use)


def check_task_model(task: str, model: str, where: str) -> None:
    """One line where a checkpoint of `task` holds the model another task builds (`TaskInfo.model`): its task or
    model class was edited, and each command would fail in use with a traceback (a review: an LM relabelled
    task=sentiment, every /predict a 500). A class no task builds is left to the allowlist's refusal."""
    need = TASKS[task].model if task in TASKS else None
    if need and model != need and model in {info.model for info in TASKS.values()}:
        raise TextgruError(
            f"checkpoint {where!r}: its task {task} needs a {need}, but it holds a {model}; the file is damaged or "
            "was edited"
        )


TASK_FUNCTIONS = ("build", "validation_metrics", "next_commands")  # what training and its summary call


def task_module(name: str) -> ModuleType:
    """The module of task `name` (imports Lightning); one line for a task textgru does not have, a module path in
    `TASKS` that does not import, or a module without the functions a task defines (`TASK_FUNCTIONS`)."""
    if name not in TASKS:
        raise TextgruError(f"unknown task {name!r}; use one of {', '.join(TASKS)}")
    path = TASKS[name].module
    try:
        module = importlib.import_module(path)
    except ModuleNotFoundError as e:
        if e.name is None or not (path == e.name or path.startswith(f"{e.name}.")):
            raise  # a module it imports is missing: its own traceback says which
        raise TextgruError(f"task={name}: no module {path} (textgru.tasks.TASKS); fix the module path there") from None
    missing = [f for f in TASK_FUNCTIONS if not callable(getattr(module, f, None))]
    if missing:
        raise TextgruError(
            f"task={name}: {path} has no {', '.join(missing)}; a task module defines build(cfg), "
            'validation_metrics(cfg) and next_commands(run) (README "Adding a task")'
        )
    return module
