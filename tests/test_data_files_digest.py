"""The digest a checkpoint keeps of every data file a run reads (data.path, data.validation_path, data.test_path),
and the warnings a resumed run gives where one of them changed."""

from __future__ import annotations

import logging
from pathlib import Path
from types import SimpleNamespace

from conftest import data_cfg, make_rows, write_csv

from textgru.data.file_digest import changed_files, digest_parts, files_digest
from textgru.resumed_data import check_same_data


def _files(tmp_path: Path) -> dict:
    rows = make_rows(30)
    paths = {k: write_csv(tmp_path / f"{k}.csv", rows[i::3]) for i, k in enumerate(("tr", "va", "te"))}
    return data_cfg("local", path=str(paths["tr"]), validation_path=str(paths["va"]), test_path=str(paths["te"]))


def _resume(then: dict, now: dict, caplog) -> str:
    caplog.clear()
    module = SimpleNamespace(checkpoint_extras={"data_digest": files_digest(now), "data_config": now})
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_same_data({"textgru": {"data_digest": then}}, module)
    return caplog.text


def test_a_resumed_run_names_the_validation_or_test_file_that_changed(tmp_path: Path, caplog) -> None:
    """A review: a run resumed after every label of its data.validation_path was flipped went on unwarned (val accuracy
    0.5 -> 0, the best checkpoint chosen across two validation sets); only data.path's edits were warned of."""
    cfg = _files(tmp_path)
    then = files_digest(cfg)
    assert set(digest_parts(then)) == {"path", "validation_path", "test_path"}
    assert _resume(then, cfg, caplog) == ""
    va = Path(cfg["validation_path"])
    va.write_text(va.read_text().replace(",pos", ",X").replace(",neg", ",pos").replace(",X", ",neg"))
    warned = _resume(then, cfg, caplog)
    assert f"resume: data.validation_path {va} changed since the run started" in warned
    assert "two validation sets, and the best checkpoint is chosen across both" in warned
    assert "data.path" not in warned and "data.test_path" not in warned
    then = files_digest(cfg)
    Path(cfg["test_path"]).write_text(Path(cfg["test_path"]).read_text() + "one more,pos\n")
    assert changed_files(then, files_digest(cfg)) == ["test_path"]
    assert f"resume: data.test_path {cfg['test_path']} changed since the run started" in _resume(then, cfg, caplog)


def test_an_older_checkpoints_digest_of_data_path_alone_is_compared_for_that_file_only(tmp_path: Path, caplog) -> None:
    """A checkpoint saved before the validation and test files were digested holds data.path's part alone: it
    resumes without a false warning, and an edited data.path is still warned of."""
    cfg = _files(tmp_path)
    old = files_digest({**cfg, "validation_path": None, "test_path": None})  # what textgru wrote before
    assert old is not None and " " not in old and digest_parts(files_digest(cfg))["path"] == old
    Path(cfg["validation_path"]).write_text(Path(cfg["validation_path"]).read_text() + "one more,pos\n")
    assert _resume(old, cfg, caplog) == ""  # its validation file was not digested: not compared
    Path(cfg["path"]).write_text(Path(cfg["path"]).read_text() + "one more,pos\n")
    assert f"resume: data.path {cfg['path']} changed since the run started" in _resume(old, cfg, caplog)


def test_resuming_a_run_an_older_textgru_carved_names_that_cause(tiny_run: Path, tmp_path: Path, caplog) -> None:
    """An upgrade review: a killed run of an older textgru, whose splits today's rule carves otherwise (repeated rows
    dropped first), was refused as "the data changed since the run started", which it had not; with a tokenizer that
    came out equal it went on silently on other splits. A checkpoint without split_rule is told as what it is."""
    import pytest
    import torch

    from textgru.data.tokenization import read_tokenizer_file
    from textgru.errors import TextgruError
    from textgru.resumed_data import check_same_tokenizer
    from textgru.run_folder import RunFolder

    new = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    old = {**new, "textgru": {k: v for k, v in new["textgru"].items() if k not in ("split_rule", "data_digest")}}
    run, tokenizer = RunFolder(tiny_run), read_tokenizer_file(tiny_run / "tokenizer.json")
    other = RunFolder(tmp_path)  # a tokenizer.json other than the one built now
    (tmp_path / "tokenizer.json").write_text(tokenizer.to_str().replace('"[UNK]"', '"[UNKNOWN]"', 1))
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_same_tokenizer(tokenizer, run, new)
    assert caplog.text == ""
    with pytest.raises(TextgruError, match=r"the data changed since the run started"):
        check_same_tokenizer(tokenizer, other, new)
    with pytest.raises(TextgruError) as refused:
        check_same_tokenizer(tokenizer, other, old)
    assert str(refused.value).startswith("resume: the run was started by an older textgru, which may have carved its")
    assert "(or its data changed since: it kept no digest of it)" in str(refused.value)
    assert str(refused.value).endswith("start a new run, or finish this one with the textgru that started it")
    assert "the data changed since the run started" not in str(refused.value)
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_same_tokenizer(tokenizer, run, old)  # the same tokenizer: the splits may still differ
    assert "resume: the run was started by an older textgru" in caplog.text
    assert f"its splits of {new['textgru']['data_config']['path']} carved now may not be those" in caplog.text


def test_resuming_an_older_lm_or_forecaster_checkpoint_warns_where_it_cannot_go_on_as_it_started(
    tmp_path: Path, caplog
) -> None:
    """An upgrade review: an older LM run resumed now reads its validation in fewer lanes (since 12-05), so its
    losses before and after span two definitions; an older forecaster's checkpoint inside an epoch has no training
    loader place, so that epoch does not go on as it would have. Both went on unwarned; each is a warning now."""
    from textgru.data.resumable_loader import ResumableDataLoader
    from textgru.resumed_data import check_resumed_data
    from textgru.run_folder import RunFolder

    class Streams(SimpleNamespace):  # what an LM datamodule shows: its validation lanes, as lm_datamodule counts them
        def setup(self, stage: str) -> None:
            pass

        def eval_lanes(self, split: str) -> int:
            return self.lanes

    inside = {"current": {"completed": 6}, "is_last_batch": False}
    lm = {"textgru": {"task": "lm"}, "train_loader_position": {"served": 0}}
    run = RunFolder(tmp_path)
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_resumed_data(Streams(tokenizer=None, lanes=1, eval_batch_size=64), run, lm)
        check_resumed_data(Streams(tokenizer=None, lanes=64, eval_batch_size=64), run, lm)  # read alike
        check_resumed_data(
            Streams(tokenizer=None, lanes=1, eval_batch_size=64), run, {**lm, "textgru": {"data_digest": "x"}}
        )
    assert caplog.text.count("resume: the run was started by an older textgru") == 1
    assert "validation text in 64 lanes (data.eval_batch_size), not the 1 it reads now" in caplog.text
    caplog.clear()
    fc = {"textgru": {"task": "forecast"}, "loops": {"fit_loop": {"epoch_loop.batch_progress": inside}}}
    series = SimpleNamespace(tokenizer=None, train_dataloader=lambda: ResumableDataLoader([1.0]))  # as today's
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_resumed_data(series, run, fc)
    assert "resume: the checkpoint was saved 6 batches into an epoch by an older textgru" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textgru"):
        check_resumed_data(SimpleNamespace(tokenizer=None), run, {**fc, "train_loader_position": {"served": 6}})
        ended = {"loops": {"fit_loop": {"epoch_loop.batch_progress": {**inside, "is_last_batch": True}}}}
        check_resumed_data(SimpleNamespace(tokenizer=None), run, {**fc, **ended})  # at an epoch's end
    assert caplog.text == ""
