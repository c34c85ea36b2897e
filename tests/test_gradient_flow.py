"""scripts/gradient_flow.py's library side on a tiny budget: the adding problem, the PNG, the JSON and the table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from omegaconf import OmegaConf

from textgru.errors import TextgruError
from textgru.gradient_flow import adding_problem, run_gradient_flow


def test_adding_problem_marks_one_value_in_each_half() -> None:
    x, y = adding_problem(8, 10, torch.Generator().manual_seed(0))
    assert x.shape == (8, 10, 2) and (x[..., 1].sum(1) == 2).all()
    assert (x[:, :5, 1].sum(1) == 1).all()
    torch.testing.assert_close(y, (x[..., 0] * x[..., 1]).sum(1))


def test_gradient_flow_writes_png_and_json(tmp_path: Path) -> None:
    cfg = OmegaConf.create(
        {
            "seq_len": 12,
            "hidden_size": 4,
            "steps": 3,
            "batch_size": 8,
            "lr": 0.01,
            "eval_size": 32,
            "tolerance": 0.04,
            "seed": 0,
        }
    )
    results = run_gradient_flow(cfg, tmp_path)
    assert (tmp_path / "gradient_flow.png").stat().st_size > 0
    saved = json.loads((tmp_path / "gradient_flow.json").read_text())
    for cell in ("gru", "rnn"):
        r = saved["cells"][cell]
        assert len(r["grad_norm_init"]) == 12 and r["grad_ratio_init"] == results["cells"][cell]["grad_ratio_init"]
        assert 0 <= r["test_accuracy"] <= 1 and r["grad_ratio_trained"] > 0
    (mine := tmp_path / "mine").mkdir()  # a review: a figure of the user's own by that name was replaced
    (mine / "gradient_flow.png").write_bytes(b"my own figure")
    with pytest.raises(
        TextgruError, match=r"already holds gradient_flow.png, which this would overwrite; give another"
    ):
        run_gradient_flow(cfg, mine)
    assert (mine / "gradient_flow.png").read_bytes() == b"my own figure" and not (mine / "gradient_flow.json").exists()


def test_a_folder_holding_a_gradient_flow_result_is_refused(tmp_path: Path) -> None:
    """A review: `textgru gradient-flow hydra.run.dir=X` twice replaced the first result without a word (and appended
    to its log); a folder holding its JSON is a run's, refused before Hydra writes there, as training's are."""
    import pytest

    from textgru.errors import TextgruError
    from textgru.run_folder import check_explicit_run_dir

    check_explicit_run_dir([f"hydra.run.dir={tmp_path}"])  # an empty folder is fine
    (tmp_path / "gradient_flow.json").write_text("{}")
    with pytest.raises(TextgruError, match=r"already holds a run \(gradient_flow\.json\); choose another hydra"):
        check_explicit_run_dir([f"hydra.run.dir={tmp_path}", "steps=3"])
    mine = tmp_path / "figures"  # a review of the change: a figure of the user's own there was refused only after
    mine.mkdir()  # Hydra had written its .hydra/ into the folder
    (mine / "gradient_flow.png").write_bytes(b"my own figure")
    check_explicit_run_dir([f"hydra.run.dir={mine}"], command="train")  # what train does not write
    with pytest.raises(TextgruError, match=r"already holds gradient_flow.png, which this would overwrite; choose"):
        check_explicit_run_dir([f"hydra.run.dir={mine}"], command="gradient_flow")
    hydra = tmp_path / "hydra_files"  # a review: Hydra's .hydra/ files of another run there were replaced
    (hydra / ".hydra").mkdir(parents=True)
    (hydra / ".hydra" / "config.yaml").write_text("mine: 1\n")
    with pytest.raises(TextgruError, match=r"already holds .hydra/config.yaml, which this would overwrite"):
        check_explicit_run_dir([f"hydra.run.dir={hydra}"], command="gradient_flow")
    check_explicit_run_dir([f"hydra.run.dir={hydra}", "--cfg", "job"], command="gradient_flow")  # writes nothing
    notes = tmp_path / "notes"  # a file of the user's that training writes, gradient-flow not (a review of the change)
    notes.mkdir()
    (notes / "config.yaml").write_text("lr: 0.1\n")
    check_explicit_run_dir([f"hydra.run.dir={notes}"], command="gradient_flow")


def test_the_run_folder_name_is_gradient_flow_only(tmp_path: Path) -> None:
    """A review: task.name=../../escape put the run outside paths.output_dir."""
    from conftest import run_textgru

    r = run_textgru("gradient-flow", "task.name=../../escape", f"paths.output_dir={tmp_path / 'out'}", "steps=1")
    assert r.returncode == 2 and "task.name=../../escape: must be one of gradient_flow" in r.stderr, r.stderr[-2000:]
    assert not (tmp_path.parent / "escape").exists() and not (tmp_path / "out").exists()  # out/../../escape
