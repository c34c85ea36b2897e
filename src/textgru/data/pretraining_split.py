"""Whether a language model's pretraining texts can hold a classifier's validation or test texts: the same labelled
file split otherwise (another seed or fractions, other rows left out or another label column stratifying it), or read
whole as a text corpus. Scores on texts the model was pretrained on would not be what they claim."""

from __future__ import annotations

import logging
import os
import shlex
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from textgru.console import hydra_literal
from textgru.data.file_digest import bytes_digest
from textgru.errors import TextgruError

log = logging.getLogger(__name__)

# what decides which rows of a labelled file become validation and test: the carving (a review: 79% of the test
# texts pretrained on, for another seed), and the rows and labels it stratifies (a review: other ignore_labels)
SPLIT_KEYS = ("split_seed", "val_fraction", "test_fraction", "ignore_labels", "label_column")
# what does not make a labelled dataset another one (loading, batching, the few-label sample); the split keys apart
NOT_THE_DATA = (*SPLIT_KEYS, "cache_dir", "max_length", "batch_size", "eval_batch_size", "num_workers")
NOT_THE_DATA += ("train_size", "train_fraction", "subset_seed")
PATH_KEYS = ("path", "validation_path", "test_path")


def _files(path: Any) -> list[str]:
    """The files a data path names now: a glob expanded, a folder's .txt files (what both a text corpus and a folder of
    label folders read), links followed; none where it names none."""
    from textgru.data.data_paths import expand_paths, text_files

    if not path or not isinstance(path, (str, Sequence)):
        return []
    try:
        found = expand_paths(path, "data.path")
    except (TextgruError, TypeError):
        return []
    files: list[str] = []
    for name in map(Path, found):
        files += [str(f.resolve()) for f in text_files(name)[0]] if name.is_dir() else [str(name.resolve())]
    return files


def _same_file(a: Any, b: Any) -> bool:
    """Whether two data paths name the same bytes: one file (a link is its target: a review went through one), or
    copies of the same files, however named (a glob: another review)."""
    if a == b or (
        isinstance(a, str)
        and isinstance(b, str)
        and os.path.realpath(os.path.expanduser(a)) == os.path.realpath(os.path.expanduser(b))
    ):
        return True
    ours, theirs = _files(a), _files(b)
    if not ours or len(ours) != len(theirs):
        return False
    sizes_match = [os.path.getsize(f) for f in ours] == [os.path.getsize(f) for f in theirs]
    return ours == theirs or (sizes_match and bytes_digest(ours) == bytes_digest(theirs))


def _holds_a_file_of(corpus: Any, data: Any) -> bool:
    """Whether a text corpus's files include one of the labelled data's files, or a copy of one (a glob or a copy of
    the labelled file read whole got past a comparison of paths: a review)."""
    ours, theirs = _files(data), _files(corpus)
    if set(ours) & set(theirs):
        return True
    sizes = {os.path.getsize(f) for f in ours}
    digests = {bytes_digest([f]) for f in ours}
    return any(os.path.getsize(f) in sizes and bytes_digest([f]) in digests for f in theirs)


def _overrides(data: Mapping[str, Any], keys: Sequence[str]) -> str:
    """`data.k=v ...` for `keys` of a data config, as the command line takes them: null, a path, [a,b], a number."""

    def typed(value: Any) -> str:  # `${` as Hydra takes it literally: a path may hold it (an edited file, too)
        if value is None:
            return "null"
        text = f"[{','.join(map(str, value))}]" if isinstance(value, (list, tuple)) else str(value)
        return hydra_literal(text)

    args = [f"data.{k}={typed(data.get(k))}" for k in keys]
    return " ".join(shlex.quote(a) if "$" in a else a for a in args)  # the shell's `$` too


def _carved_otherwise(lm: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    """This run's splits carved from its labelled file that the language model, reading that file with other data
    paths, did not carve alike (test is carved first, then validation from the rest: `splitting.carve_missing_splits`).
    Only `local` data has paths; the same files in `path` with the same carving leak nothing (a review of the change:
    a validation file of this run's own was refused)."""
    if not lm.get("source") == data.get("source") == "local":
        return []
    same = _same_file(lm.get("path"), data.get("path"))
    lm_test, lm_val = not lm.get("test_path"), not lm.get("validation_path")  # carved by the LM
    our_test, our_val = not data.get("test_path"), not data.get("validation_path")
    test_leaks = our_test and not (same and lm_test)
    val_leaks = our_val and not (same and lm_val and lm_test == our_test)
    return [name for name, leaks in (("validation", val_leaks), ("test", test_leaks)) if leaks]


def check_pretraining_split(lm: Mapping[str, Any], data_config: Mapping[str, Any], checked: bool = True) -> None:
    """One line when the language model (its data config `lm`) read the texts of this run's labelled data otherwise
    than this run splits them (`data_config`); a warning where it carved this run's file but keeps no digests of its
    training texts to check the split by (`checked` False: a biLM saved before 2026-12-06)."""
    numbers = {"split_seed": (int,), "val_fraction": (int, float), "test_fraction": (int, float)}
    if any(k in lm and (type(lm[k]) not in kinds) for k, kinds in numbers.items()):  # a review: shown to paste
        raise TextgruError("model.pretrained_lm: its checkpoint holds a data_config that is not a data= config (an "
                           "edited file?); use the checkpoint its task=bilm run wrote")  # fmt: skip
    carved = not data_config.get("validation_path") or not data_config.get("test_path")
    if lm.get("source") == "local_text" and data_config.get("source") == "local" and carved:
        if _holds_a_file_of(lm.get("path"), data_config.get("path")):  # a review: the labelled CSV read as a corpus
            raise TextgruError(
                "model.pretrained_lm was pretrained on this data's file (or a copy of it) read whole as a text "
                "corpus, so its training texts include this run's validation and test texts (carved from that file); "
                "pretrain it on this split's training texts: textgru train task=bilm data=local data.path=<the same file>"
            )
    other_paths = [k for k in PATH_KEYS if not _same_file(lm.get(k), data_config.get(k))]
    leaked = _carved_otherwise(lm, data_config) if other_paths else []  # a review: 28 of 31 test texts pretrained on
    if leaked and _holds_a_file_of(lm.get("path"), data_config.get("path")):
        theirs, ours = _overrides(lm, other_paths), _overrides(data_config, other_paths)
        raise TextgruError(
            f"model.pretrained_lm read this data's file with other data paths ({theirs}; this run: {ours}), so it "
            f"split that file otherwise and its training texts include this run's {' and '.join(leaked)} texts; "
            f"pass {theirs}, or pretrain a language model with this run's (textgru train task=bilm ... {ours})"
        )
    same_data = lm.get("source") == data_config.get("source") and all(
        _same_file(lm[k], data_config[k]) if k in PATH_KEYS else lm[k] == data_config[k]
        for k in lm.keys() & data_config.keys()
        if k not in NOT_THE_DATA
    )
    differ = [k for k in SPLIT_KEYS if k in lm and k in data_config and lm[k] != data_config[k]]
    if same_data and differ:
        theirs, ours = _overrides(lm, differ), _overrides(data_config, differ)
        raise TextgruError(
            f"model.pretrained_lm was pretrained on another split of this data ({theirs}; this run: {ours}), so "
            f"its training texts include this run's validation and test texts; pass {theirs}, or pretrain "
            f"a language model on this split (textgru train task=bilm ... {ours})"
        )
    if not checked:
        _warn_unchecked(lm, data_config)


def _warn_unchecked(lm: Mapping[str, Any], data_config: Mapping[str, Any]) -> None:
    """A review: a biLM of an older textgru, pretrained on this run's file with the same settings, carved it by the
    rule of its day (repeated rows were kept before 2026-12-02, texts under several labels placed otherwise before
    12-06): 25 of 31 validation texts and 24 of 30 test texts were its training texts, unwarned. Whether its rule was
    today's cannot be told from its checkpoint, so this warns (a refusal could refuse an LM that carved alike)."""
    carved = [s for s in ("validation", "test") if not data_config.get(f"{s}_path")]
    if lm.get("source") == data_config.get("source") == "local" and carved:
        if _same_file(lm.get("path"), data_config.get("path")):
            log.warning(
                "model.pretrained_lm was pretrained on %s by an older textgru, which kept no digests of its training "
                "texts and may have carved that file otherwise (its rule changed since): its training texts may hold "
                "this run's %s texts, which cannot be checked; pretrain it again (textgru train task=bilm data=local "
                "data.path=%s)",
                data_config.get("path"),
                " and ".join(carved),
                data_config.get("path"),
            )
