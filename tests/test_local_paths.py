"""Paths as the OS resolves them, and what is no local path: `..` after a linked folder, a `${` in a file name, URIs
and Windows paths, a path longer than the system takes, `--config-dir ~/...` given apart (a review of paths)."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_rows, write_csv
from omegaconf import OmegaConf

from textgru.config_path_rules import Existing, File, Folder, NewFile, absolute_data_paths
from textgru.errors import TextgruError


@pytest.fixture
def linked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """far/x.csv (60 rows), linkdir -> far/d, and an unrelated ./x.csv (30 rows) in the current folder."""
    (tmp_path / "far" / "d").mkdir(parents=True)
    write_csv(tmp_path / "far" / "x.csv", make_rows(60))
    write_csv(tmp_path / "x.csv", make_rows(30, seed=1))
    (tmp_path / "linkdir").symlink_to("far/d")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_dotdot_after_a_linked_folder_is_where_the_os_goes(linked: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: data.path=linkdir/../x.csv trained on ./x.csv (the OS opens far/x.csv), config.yaml named it, eval
    read it too, and export output=linkdir/../e wrote ./e."""
    import textgru.onnx_export
    from textgru.data.local import load_local

    cfg = OmegaConf.create({"data": {"path": "linkdir/../x.csv", "validation_path": ["linkdir/../x.csv"]}})
    absolute_data_paths(cfg)
    assert cfg.data.path == str(linked / "far" / "x.csv") and cfg.data.validation_path == [cfg.data.path]
    cfg = OmegaConf.create({"data": {"path": "x.csv", "test_path": str(linked / "linkdir")}})
    absolute_data_paths(cfg)  # without `..`: as given, a link keeps its name
    assert (cfg.data.path, cfg.data.test_path) == (str(linked / "x.csv"), str(linked / "linkdir"))
    assert len(load_local("linkdir/../x.csv")["train"]) == 60  # eval's data.path, relative: not ./x.csv's 30

    def stop(out: Path, overwrite: bool) -> None:
        raise TextgruError(str(out))

    monkeypatch.setattr(textgru.onnx_export, "check_export_output", stop)
    with pytest.raises(TextgruError) as e:
        textgru.onnx_export.export("none.ckpt", "linkdir/../e")
    assert str(e.value) == str(linked / "far" / "e")


def test_a_dollar_brace_in_a_data_path_stays_a_name(tmp_path: Path) -> None:
    """A review: data.path='sp/a\\${x}.csv' made absolute became an interpolation again: InterpolationKeyError and a
    half-made run folder; config.yaml must read back as that name (eval, resume)."""
    name = str(tmp_path / "a${x}.csv")
    cfg = OmegaConf.create({"data": {"path": name.replace("${", "\\${"), "test_path": [name.replace("${", "\\${")]}})
    absolute_data_paths(cfg)
    assert cfg.data.path == name and list(cfg.data.test_path) == [name]
    from textgru.command_line_checks import check_command_line
    from textgru.config_literals import resolved_yaml
    from textgru.saved_config import check_config_targets

    saved = OmegaConf.create(resolved_yaml(cfg))
    assert saved.data.path == name and saved.data.test_path[0] == name
    check_config_targets(saved, tmp_path / "config.yaml")  # a literal ${ is no interpolation
    with pytest.raises(TextgruError, match="refused interpolation"):
        check_config_targets(OmegaConf.create({"data": {"path": "${oops}"}}), tmp_path / "config.yaml")
    with pytest.raises(TextgruError, match="run folder's name cannot hold"):  # Hydra's traceback, a folder made
        check_command_line([f"hydra.run.dir={tmp_path}/r/a\\${{y}}"], "train")
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    "value, why",
    [
        ("s3://b/x.jsonl", "is a URI; textgru reads and writes local paths only"),
        ("hf://me/model", "is a URI"),
        ("file:///tmp/x", "give the path itself, /tmp/x"),
        ("C:\\out\\p.jsonl", "use / to separate folders"),
        ("sub\\exp", "use / to separate folders"),
        ("C:/out/p.jsonl", "use / to separate folders"),
    ],
)
def test_uris_and_windows_paths_are_no_outputs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value, why) -> None:
    """A review: output=s3://b/x.jsonl wrote ./s3:/b/x.jsonl, output='C:\\out\\p.jsonl' a file of that name, exit 0."""
    from textgru.command_line_checks import check_command_line

    monkeypatch.chdir(tmp_path)
    for rule in (Folder(), NewFile()):
        assert why in (rule.problem(value) or ""), rule
    with pytest.raises(TextgruError, match=why.replace("(", r"\(").replace("/", "/")):
        check_command_line([f"hydra.run.dir='{value}'"], "train")
    assert not any(tmp_path.iterdir())


def test_inputs_with_a_backslash_are_read_when_they_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backslash is a character of a Linux file name: such a file is read, and written into; a missing one gets the
    hint."""
    monkeypatch.chdir(tmp_path)
    write_csv(tmp_path / "a\\b.csv", make_rows(10))
    for rule in (Existing(), File()):
        assert rule.problem("a\\b.csv") is None
        assert "does not exist" in rule.problem("far\\in.csv") and "to separate folders use /" in rule.problem(
            "far\\in.csv"
        )
        assert "is a URI" in rule.problem("s3://b/x.csv")
    (tmp_path / "x\\y").mkdir()  # an output in a folder that exists: only what is made is named the Windows way
    assert Folder().problem("x\\y/new") is None and NewFile().problem(str(tmp_path / "x\\y" / "p.jsonl")) is None
    assert "use / to separate folders" in Folder().problem("x\\y/new\\z")
    (tmp_path / "runs").mkdir(), (tmp_path / "ens").mkdir()  # a review: a drive letter only where typed first
    for name in ("runs/C:", "ens/C:/x.ckpt", "ens/x://y.ckpt", f"{tmp_path}/runs/C:"):
        assert Folder().problem(name) is None and NewFile().problem(name) is None, name


def test_a_path_longer_than_the_system_takes_is_one_line(tmp_path: Path) -> None:
    """A review: [Errno 36] File name too long tracebacks for output=, data.path=, ckpt_path=, hydra.run.dir=."""
    from textgru.command_line_checks import check_command_line

    long = str(tmp_path / "/".join(["d" * 200] * 22) / "p.jsonl")
    for rule in (Existing(), File(), Folder(), NewFile()):
        assert "use a shorter path" in (rule.problem(long) or ""), rule
    with pytest.raises(TextgruError, match="use a shorter path") as e:
        check_command_line([f"hydra.run.dir={long}"], "train")
    assert len(str(e.value)) < 400 and str(e.value).endswith("use a shorter path")  # the path cut, not 4.5 KB
    from textgru.ensemble_output import checked_output
    from textgru.run_folder import check_explicit_run_dir

    for call in (lambda: check_explicit_run_dir([f"hydra.run.dir={long}"]), lambda: checked_output(long, False, [])):
        with pytest.raises(TextgruError, match="use a shorter path") as e:
            call()
        assert len(str(e.value)) < 400, str(e.value)[:200]  # a review: these two were 4.5 KB


def test_config_dir_given_apart_expands_home(monkeypatch: pytest.MonkeyPatch) -> None:
    """A review: --config-dir "~/my conf" (its own argument) was refused as no such folder; README: quoted or not."""
    from textgru.command_line_checks import home_folders_expanded

    monkeypatch.setenv("HOME", "/h")
    typed = ["--config-dir", "~/my conf", "-cd", "'~/c'", "-cd", "conf", "seed=1"]
    assert home_folders_expanded(typed) == ["--config-dir", "/h/my conf", "-cd", "/h/c", "-cd", "conf", "seed=1"]


@pytest.mark.parametrize("value", ["s3://b/x.ckpt", "C:\\out\\x.ckpt", "ens/sub\\x.ckpt"])
def test_python_api_outputs_refuse_uris_and_windows_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value):
    """A review: load(run).evaluate(output_dir="s3://b/ev") wrote ./s3:/b/ev, export and ensemble likewise, where
    the CLI refused them."""
    from textgru.ensemble_output import checked_output
    from textgru.inference.reports import report_path
    from textgru.onnx_export import export

    monkeypatch.chdir(tmp_path)
    for call in (
        lambda: report_path(value, "test", False, "confusion.png"),
        lambda: export(tmp_path / "missing.ckpt", value),
        lambda: checked_output(value, False, []),
    ):
        with pytest.raises(TextgruError, match="is a URI|use / to separate folders"):
            call()
    assert not any(tmp_path.iterdir())


def test_a_literal_dollar_in_the_output_dir_or_the_current_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: paths.output_dir='o\\${x}', or training in a folder w${x}, gave Hydra's traceback and left empty
    dated folders."""
    from textgru.command_line_checks import check_command_line

    monkeypatch.chdir(tmp_path)
    with pytest.raises(TextgruError, match=r"paths.output_dir=o\\\$\{x\}: a run folder's name cannot hold"):
        check_command_line(["paths.output_dir=o\\${x}"], "train")
    (tmp_path / "w${x}").mkdir()
    monkeypatch.chdir(tmp_path / "w${x}")
    for args in ([], ["hydra.run.dir=run"], [f"paths.output_dir={tmp_path}/o", "hydra.run.dir=run"]):
        with pytest.raises(TextgruError, match=r"holds '\$\{', which Hydra reads as an interpolation"):
            check_command_line(args, "train")
    check_command_line([f"hydra.run.dir={tmp_path}/run"], "train")  # absolute: the current folder is not in it
    check_command_line([f"paths.output_dir={tmp_path}/o"], "train")
    check_command_line([], "eval")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["w${x}"] and not any((tmp_path / "w${x}").iterdir())
