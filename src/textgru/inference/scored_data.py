"""The labelled texts an evaluation scores, from what a caller gives: the checkpoint's own data config, a data config
name or mapping, a path (read as `data=local`), a `datasets.Dataset`/`DatasetDict` or a pandas DataFrame."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from datasets import ClassLabel, Dataset, DatasetDict, concatenate_datasets

from textgru.data.columns import column_values
from textgru.data.ignored_labels import ignored_labels
from textgru.data.labelled import datasets_quiet, load_classification_data, without_ignored
from textgru.data.labels import label_key
from textgru.data.splitting import SPLIT_RULE
from textgru.delimited_texts import header_hint
from textgru.errors import TextgruError, a_kind
from textgru.inference.data_keys import SOURCE_CONFIGS, check_data_keys
from textgru.inference.trained_split import as_trained, same_data, warn_if_changed, warn_if_split_file_changed

log = logging.getLogger(__name__)


def labelled_texts(
    data: Any,
    split: str | None,
    trained_on: Mapping[str, Any],
    text_column: str = "text",
    label_column: str = "label",
    trained_digest: str | None = None,
    split_rule: int | None = SPLIT_RULE,
) -> tuple[list[str], list[str], str]:
    """Texts and their label names from what the data sources accept: None (`trained_on`, the checkpoint's data
    config), a data config name, a path read as `data=local`, a data config mapping, a `datasets.Dataset`
    (`DatasetDict`: one split of it) or a pandas DataFrame. `split` "all" joins every split; its default is "test"
    for configs and "all" for a path, a Dataset or a DataFrame. Returns the texts, the labels and the split's name.
    `trained_digest`: the checkpoint's digest of its data files (a warning where a split is carved from them changed);
    `split_rule`: how training carved its splits (a warning where it is not today's: a split carved now may differ)."""
    with datasets_quiet():
        if isinstance(data, pd.DataFrame):
            data = _from_pandas(data, text_column, label_column)
        given_dict = isinstance(data, DatasetDict)
        if given_dict:
            split = _check_split(split or "test", list(data))
            data = data[split]
        if isinstance(data, Dataset):  # scored as given, every row with a text and a label
            if split not in (None, "all") and not given_dict:
                raise TextgruError(
                    f"split={split!r}: a DataFrame or Dataset is scored whole (split='all'); pass only the rows "
                    "to score, or a DatasetDict to pick a split from"
                )
            return _given_rows(data, text_column, label_column) + (split or "all",)
        if isinstance(data, Mapping):
            check_data_keys(data, trained_on)
        if _whole_local_files(data, split):  # `textgru eval data=local data.path=... split=all`: as a path is read
            text_column, label_column = data.get("text_column", text_column), data.get("label_column", label_column)
            return _every_row(data["path"], data.get("ignore_labels"), text_column, label_column)
        if isinstance(data, (str, os.PathLike)) and (split or "all") == "all" and Path(data).expanduser().exists():
            return _every_row(data, None, text_column, label_column)
        ds, split = _labelled_split(data, split, trained_on, text_column, label_column, trained_digest, split_rule)
        names = ds.features["label"].names
        return column_values(ds, "text"), [names[y] for y in column_values(ds, "label")], split


def _from_pandas(frame: pd.DataFrame, text_column: str, label_column: str) -> Dataset:
    """A DataFrame as a Dataset; a text or label column mixing strings with numbers (which Arrow refuses) is one
    line naming it."""
    import pyarrow as pa

    if twice := [c for c in dict.fromkeys((text_column, label_column)) if (frame.columns == c).sum() > 1]:
        raise TextgruError(f"the DataFrame has more than one column named {twice[0]!r}; keep one (a review: the first "
                           "was scored, unsaid): df.loc[:, ~df.columns.duplicated(keep='last')] keeps the last")  # fmt: skip
    frame = frame.loc[:, ~frame.columns.duplicated()]  # other columns of one name: the first, as a CSV is read
    try:
        return Dataset.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:
        bad = next((c for c in (text_column, label_column, *frame.columns) if f"column {c} " in str(e)), None)
        where = f"column {bad!r}" if bad is not None else "a column"
        raise TextgruError(
            f"the DataFrame's {where} mixes strings with other values (Arrow cannot read it: {e.args[0]}); make "
            f"it strings, e.g. df[{bad if bad is not None else 'column'!r}].astype(str)"
        ) from None


def _whole_local_files(data: Any, split: str | None) -> bool:
    """A `data=local` config (or a dict without a source, read as one) with a path, a glob or a list of them and no
    validation or test files, scored whole (`split=all`; a review: a hand-written dict was carved into splits, a 4-row
    file refused, and a list's or glob's files deduplicated and carved, then joined)."""
    path = data.get("path") if isinstance(data, Mapping) else None
    paths = [path] if isinstance(path, str) else path
    return (
        isinstance(data, Mapping)
        and data.get("source", "local") == "local"
        and split == "all"
        and isinstance(paths, Sequence)
        and bool(paths)
        and all(isinstance(p, str) and p.strip() for p in paths)
        and not data.get("validation_path")
        and not data.get("test_path")
    )


def _every_row(path: Any, ignore: Any, text_column: str, label_column: str) -> tuple[list[str], list[str], str]:
    """Your own files, every row: nothing is carved into splits or dropped as a repeat (a 4-row file, a label seen
    once, is fine)."""
    from textgru.data.local import load_local

    paths = [str(Path(p).expanduser()) for p in ([path] if isinstance(path, (str, os.PathLike)) else path)]
    ignore = ignored_labels(ignore)  # one for folders and rows: what matched nothing is named once
    files = without_ignored(
        load_local(paths if len(paths) > 1 else paths[0], ignore_labels=ignore, columns=(text_column, label_column)),
        label_column,
        ignore,
    )
    rows = _given_rows(concatenate_datasets([files[s] for s in files]), text_column, label_column)
    ignore.warn_unmatched(", ".join(paths))
    return rows + ("all",)


def _given_rows(ds: Dataset, text_column: str, label_column: str) -> tuple[list[str], list[str]]:
    missing = [c for c in (text_column, label_column) if c not in ds.column_names]
    if missing:
        raise TextgruError(
            f"column {missing[0]!r} not in the dataset; columns are {ds.column_names}; "
            "pass text_column= / label_column= (data.text_column= / data.label_column= to textgru eval)."
            + header_hint(ds.column_names, wanted=(text_column, label_column), table=False)
        )
    for column in (text_column, label_column):  # Arrow reads a column with any bytes in it as bytes (a review: every
        if getattr(ds.features[column], "dtype", None) in ("binary", "large_binary"):  # row skipped "without a text")
            raise TextgruError(
                f"column {column!r} holds bytes, not strings; decode them first, e.g. in pandas df[{column!r}] = "
                f"df[{column!r}].map(lambda v: v.decode('utf-8') if isinstance(v, bytes) else v)"
            )
    feature = ds.features[label_column]
    texts, labels = [], []
    for text, label in zip(column_values(ds, text_column), column_values(ds, label_column), strict=True):
        if isinstance(text, (int, float)) and not isinstance(text, bool):  # a JSON number: a text, as training reads
            text = str(text)  # it (a review: such rows were skipped "without a text")
        if isinstance(text, str) and text.strip() and label is not None and label_key(label):  # as training: a
            # label of a zero-width space alone is none (a review: training dropped the row, eval refused it)
            texts.append(text)
            labels.append(feature.int2str(label) if isinstance(feature, ClassLabel) else label_key(label))
    if len(texts) < len(ds):
        log.warning("the given rows: skipped %d without a text or a label (n counts the rest)", len(ds) - len(texts))
    if not texts:
        raise TextgruError("the given dataset has no rows with both a text and a label")
    return texts, labels


def _labelled_split(
    data: Any,
    split: str | None,
    trained_on: Mapping[str, Any],
    text_column: str,
    label_column: str,
    trained_digest: str | None,
    split_rule: int | None,
) -> tuple[Dataset, str]:
    if data is None:  # the checkpoint's data config is data: its sources are read, its cache folder is not used
        from textgru.config import local_cache_dir

        cfg = {**trained_on, "cache_dir": local_cache_dir()} if "cache_dir" in trained_on else dict(trained_on)
    elif isinstance(data, Mapping):  # a hand-written config: the YAML of its source fills what it leaves out
        from textgru.config import data_config

        base = SOURCE_CONFIGS.get(str(data.get("source")), "local")
        cfg = {**data_config(base), "label_names": None, **data}
    elif isinstance(data, (str, os.PathLike)) and Path(data).expanduser().exists():
        from textgru.config import data_config

        cfg = {
            **data_config("local"),
            "source": "local",
            "path": str(Path(data).expanduser()),
            "text_column": text_column,
            "label_column": label_column,
            "label_names": None,
        }
        split = split or "all"
    elif isinstance(data, str) and "/" not in data and "." not in data:
        from textgru.config import data_config

        cfg = {**data_config(data), "label_names": None}
    else:
        shown = repr(data) if isinstance(data, (str, os.PathLike)) else a_kind(data)  # not 100k texts
        raise TextgruError(
            f"data={shown[:200]} is neither an existing file or folder nor a data config name (conf/data/); pass a "
            "path, a name such as 'tweets', a dict, a datasets.Dataset or a pandas DataFrame with text and label columns"
        )
    own = data is None or same_data(cfg, trained_on, trained_digest)
    if data is not None:  # the model's own data: carved as training carved it
        given = [k for k, v in data.items() if v is not None] if isinstance(data, Mapping) else ()
        cfg = as_trained(cfg, trained_on, trained_digest, given)
    try:
        dd = load_classification_data(cfg)
    except (ValueError, TypeError) as e:  # an edited checkpoint's data config, e.g. split_seed "abc" (a review)
        first = (str(e).splitlines() or [type(e).__name__])[0][:120]
        whose = "the model's data config (an edited checkpoint?)" if data is None else "the data config"
        raise TextgruError(f"{whose} cannot be read ({first}); pass data= a file or a data config name") from None
    except TextgruError as e:  # a review: a 4-row file given as {"path": ...} was refused for its "training rows"
        carving = ("too few to split", "no training examples after splitting", "only one label")  # not a path error
        if split == "all" or cfg.get("source") != "local" or not any(c in str(e) for c in carving):
            raise
        hint = f"to score every row of the file, not a carved {split or 'test'} split: set split to 'all'"
        raise TextgruError(f"{e} ({hint})") from None
    split = split or "test"
    if split == "all":  # e.g. a single file of your own: score every row, not a carved 10%
        ds = concatenate_datasets([dd[s] for s in dd])
    else:
        ds = dd[_check_split(split, list(dd))]
    carved = split != "all" and cfg.get("source") == "local" and not cfg.get("test_path")
    older = own and split_rule != SPLIT_RULE  # saved before the rule was kept (its digest too, before 12-05)
    how = "as training carved it" if own else f"by data.split_seed={cfg.get('split_seed')}: not the model's data"
    how = "by today's rule, which an older textgru's training may not have used" if older else how
    note = f", carved from {cfg['path']} {how}; split=all scores every row" if carved else ""  # was "as training"
    sample = {k: trained_on[k] for k in ("train_size", "train_fraction") if trained_on.get(k) is not None}
    if split == "train" and own and sample:  # a review: read as the examples the model learnt from
        note += f"; the model trained on a sample of it ({', '.join(f'data.{k}={v}' for k, v in sample.items())})"

    log.info("scoring %d examples (%s split%s)", len(ds), split, note)  # a review took the 10% for the whole file
    if carved and older:  # a review: an old checkpoint's "test split, as training carved it" held 24 of 30 of its
        log.warning(  # training texts (repeated rows are dropped before carving since); edits of its file unwarned
            "this checkpoint was saved by an older textgru, before it recorded its carving rule%s: the %s split carved "
            "from %s now may differ from training's and hold texts it trained on; split=all scores every row, or "
            "score a test file of your own (data.path=<file> split=all)",
            "" if trained_digest else " and a digest of its data (an edit of the file since is not seen)",
            split,
            cfg["path"],
        )
    if carved:  # a review: a re-sorted file's "test split" held 20 of its 26 texts from training (accuracy 1.0)
        warn_if_changed(cfg, trained_on, trained_digest, split, "texts")
    warn_if_split_file_changed(cfg, trained_on, trained_digest, split)
    return ds, split


def _check_split(split: str, splits: list[str]) -> str:
    if split not in splits:
        raise TextgruError(f"unknown split {split!r}; use one of {splits + ['all']}")
    return split
