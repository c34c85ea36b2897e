"""The tasks textgru trains: `task=<name>` is one module here that says everything special about that task (how its
datamodule and model are built, its LightningModule, metrics, run artifacts and how its batches count tokens).

Adding a task: a module `tasks/<name>.py` with `build(cfg) -> (datamodule, TaskModule)`, a config
`conf/task/<name>.yaml`, and one line in `TASKS` below."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from textgru.errors import TextgruError


@dataclass(frozen=True)
class TaskInfo:
    module: str  # the task's module, fixed here (a checkpoint's task name is only ever looked up in this table)
    title: str  # how messages name its checkpoints


TASKS = {
    "sentiment": TaskInfo("textgru.tasks.sentiment", "classifier (task=sentiment)"),
    "lm": TaskInfo("textgru.tasks.lm", "language-model (task=lm)"),
    "forecast": TaskInfo("textgru.tasks.forecast", "forecaster (task=forecast)"),
    "bilm": TaskInfo("textgru.tasks.bilm", "bidirectional language-model (task=bilm)"),
}


def task_title(name: str) -> str:
    """`classifier (task=sentiment)` ...; an unknown name as it is (for messages about a foreign checkpoint)."""
    return TASKS[name].title if name in TASKS else repr(name)[:60]


def task_module(name: str) -> ModuleType:
    """The module of task `name` (imports Lightning); one line for a task textgru does not have."""
    if name not in TASKS:
        raise TextgruError(f"unknown task {name!r}; use one of {', '.join(TASKS)}")
    return importlib.import_module(TASKS[name].module)
