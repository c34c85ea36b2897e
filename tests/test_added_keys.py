"""The command line's keys a command has not: the hints a missing or added key gets, flags, misspelt commands (the
hostile review of the added-key check)."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from textgru.config import check_override_keys, compose_config
from textgru.config_checks import check_config
from textgru.errors import TextgruError


def test_a_classs_own_argument_is_added_with_plus_not_steered_to_a_close_key() -> None:
    """`optimizer.eps=1e-6` said "did you mean optimizer.lr?" and no longer how to add it with +."""
    for given, target in (
        ("optimizer.eps=1e-6", "torch.optim.AdamW"),
        ("trainer.gradient_clip_algorithm=norm", "lightning.pytorch.Trainer"),
        ("trainer.limit_predict_batches=2", "lightning.pytorch.Trainer"),
        ("callbacks.early_stopping.check_finite=false", "lightning.pytorch.callbacks.EarlyStopping"),
    ):
        key, _, value = given.partition("=")
        said = rf"^no config key {re.escape(key)}: {re.escape(target)} takes it, add it with \+{re.escape(given)}$"
        with pytest.raises(TextgruError, match=said):
            check_override_keys([given], "train")
    # not an argument of the class: the close key, never the + way (a review: it advised +optimizer.amsgrd=true); a
    # close argument the config lacks, with its + way; a fixed section: the close key only
    not_taken = r"^no config key trainer\.max_epoch: lightning\.pytorch\.Trainer takes no argument max_epoch; "
    with pytest.raises(TextgruError, match=not_taken + r"did you mean trainer\.max_epochs\? [^+]*$"):
        check_override_keys(["trainer.max_epoch=1"], "train")
    for typo, fix in (("optimizer.amsgrd=true", "+optimizer.amsgrad=true"), ("optimizer.beta=1", "+optimizer.betas=1")):
        with pytest.raises(TextgruError, match=rf"did you mean {re.escape(fix)}\? [^+]*$"):
            check_override_keys([typo], "train")
    with pytest.raises(TextgruError, match=r"^no config key data\.max_lenght: did you mean data\.max_length\? [^+]*$"):
        check_override_keys(["data.max_lenght=8"], "train")


def test_an_added_key_a_class_does_not_take_is_refused_and_its_own_ones_pass() -> None:
    """`+optimizer.epss=1e-6` failed once the data was loaded, `+trainer.foo=1` once the model was built (a review);
    checked last before the run, the class imported then: a config key the class lacks is named without +."""
    from textgru.command_line_checks import check_command_line

    for added, said in (
        (
            "+optimizer.epss=1e-6",
            r"^\+optimizer\.epss: torch\.optim\.AdamW takes no argument epss; did you mean \+optim",
        ),
        ("++optimizer.lrr=1", r"^\+\+optimizer\.lrr: torch\.optim\.AdamW takes no argument lrr; did you mean optimiz"),
        ("+trainer.foo=1", r"^\+trainer\.foo: lightning\.pytorch\.Trainer takes no argument foo; check the spelling$"),
        ("+callbacks.early_stopping.patiense=2", r"did you mean callbacks\.early_stopping\.patience\?$"),
    ):
        with pytest.raises(TextgruError, match=said):
            check_command_line([added], "train", check_override_keys([added], "train"))
    fine = ["+optimizer.eps=1e-6", "++trainer.max_epochs=2", "+trainer.accumulate_grad_batches=2", "+model.foo=1"]
    check_command_line(fine, "train", check_override_keys(fine, "train"))
    check_command_line([*fine, "+trainer.foo=1", "--cfg", "job"], "train", check_override_keys(fine, "train"))


def test_an_added_argument_is_checked_against_each_class_a_sweep_chooses() -> None:
    """A review: `-m optimizer=adam,adamw +optimizer.decoupled_weight_decay=true` was checked against Adam, the first
    option, only; the adamw job failed after the adam job had trained. Each option's class is asked, and named."""
    from textgru.command_line_checks import check_command_line

    for args in (["optimizer=adam,adamw"], ["optimizer=adamw,adam"]):
        added = ["-m", *args, "+optimizer.decoupled_weight_decay=true"]
        said = r"^\+optimizer\.decoupled_weight_decay: torch\.optim\.AdamW takes no argument decoupled_weight_decay; "
        with pytest.raises(TextgruError, match=said + r".* \(in the optimizer=adamw runs of this sweep\)$"):
            check_command_line(added, "train", check_override_keys(added, "train"))
    both = ["-m", "optimizer=adam,adamw", "+optimizer.amsgrad=true"]  # an argument both classes take
    check_command_line(both, "train", check_override_keys(both, "train"))


def test_an_argument_textgru_gives_its_class_itself_is_never_suggested_and_refused_added() -> None:
    """A review: `trainer.logger=false` was told "add it with +trainer.logger=false" (then refused), and
    `scheduler.num_training_steps=1000` told to add it with +, which every check passed and textgru's own value won."""
    from textgru.command_line_checks import check_command_line

    for key, whom in (
        ("trainer.logger", "Trainer"),
        ("trainer.callbacks", "Trainer"),
        ("trainer.plugins", "Trainer"),
        ("scheduler.num_training_steps", "scheduler"),
    ):
        name = key.partition(".")[2]
        for given in (f"{key}=1", f"+{key}=1"):
            said = rf"^(no config key )?{re.escape(key)}: textgru gives the {whom} its {name} itself; remove it \("
            with pytest.raises(TextgruError, match=said):
                check_command_line([given], "train", check_override_keys([given], "train"))
    with pytest.raises(TextgruError, match=r"^optimizer\.params: textgru gives the optimizer its params itself; "):
        check_command_line(["+optimizer.params=1"], "train", check_override_keys(["+optimizer.params=1"], "train"))
    with pytest.raises(TextgruError, match=r"^no config key optimizer\.params: textgru gives the optimizer its params"):
        check_override_keys(["optimizer.params=1"], "train")


def test_a_loggers_added_key_is_taken_only_as_a_tag() -> None:
    """`+logger.mlflow.experiment_nme=foo` was taken and ignored (the run went to the task's experiment)."""
    mlflow = ["logger=mlflow", "logger.mlflow.tracking_uri=sqlite:///x.db"]
    with pytest.raises(TextgruError, match=r"reads no key logger\.mlflow\.experiment_nme; did you mean "):
        check_override_keys([*mlflow, "+logger.mlflow.experiment_nme=foo"], "train")
    with pytest.raises(TextgruError, match=r"reads no key logger\.wandb\.projekt; did you mean logger\.wandb\.project"):
        check_override_keys(["logger=wandb", "+logger.wandb.projekt=x"], "train")
    assert check_override_keys([*mlflow, "+logger.mlflow.tags.team=nlp"], "train") is not None


def test_a_search_key_is_added_only_with_a_search() -> None:
    """`+hparams_search.n_trials=3` with no search chosen was a plain run, n_trials read by nothing."""
    with pytest.raises(TextgruError, match=r"reads no key hparams_search\.n_trials"):
        check_override_keys(["+hparams_search.n_trials=3"], "train")
    assert check_override_keys(["hparams_search=sentiment", "++hparams_search.n_trials=3"], "train") is not None


def test_a_key_below_a_swept_group_is_checked_in_each_option(caplog: pytest.LogCaptureFixture) -> None:
    """`-m task=sentiment,lm ++task.samples=0` was refused: task.samples is lm's, and only sentiment was composed;
    then it was taken for the sentiment run too, unsaid (a review). A key no option has is one line."""
    with caplog.at_level(logging.WARNING):
        assert check_override_keys(["task=sentiment,lm", "++task.samples=0", "hydra.sweep.dir=x"], "train") is not None
    assert "++task.samples: the task=sentiment runs read no key task.samples; it is set in the others only" in (
        caplog.text
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # read by both: nothing said
        assert check_override_keys(["task=sentiment,lm", "++task.name=sentiment", "hydra.sweep.dir=x"], "train")
    assert "reads no key" not in caplog.text and "read no key" not in caplog.text
    with pytest.raises(
        TextgruError,
        match=r"^\+\+task\.sampels: no task of this sweep has a key task\.sampels "
        r"\(sentiment, lm\); did you mean task\.samples\?",
    ):
        check_override_keys(["task=sentiment,lm", "++task.sampels=0"], "train")
    assert (
        check_override_keys(["model=bigru_classifier,gru_lm", "++model.anything=0"], "train") is not None
    )  # the class's
    for tasks in ("sentiment,lm", "lm,sentiment"):  # another: the hint was the first option's nearest key
        with pytest.raises(TextgruError, match=r"did you mean task\.samples\?$"):
            check_override_keys([f"task={tasks}", "++task.sample=0"], "train")
    uri = "++logger.mlflow.tracking_uri=sqlite:////tmp/x.db"  # another: the default logger's run crashed on the
    with pytest.raises(  # section this key alone made (KeyError: 'experiment_name')
        TextgruError,
        match=r"^\+\+logger\.mlflow\.tracking_uri: the logger=default runs have no logger\.mlflow section, and this "
        "key alone would make one that they cannot read; sweep those options apart$",
    ):
        check_override_keys(["logger=mlflow,default", uri], "train")


def test_a_flag_is_shown_as_key_value_only_for_a_key_there_is() -> None:
    """`--temp 0.5` was "temp=0.5" (no such key), `--ckpt_paths a b` was ckpt_paths=a, and `--experiment mine` was
    taken for Hydra's --experimental-rerun."""
    from textgru.dashed_flags import dashed_option, is_flag

    no_key = lambda: {"temperature": 1.0, "ckpt_paths": None, "text": None}
    for args in (["ckpt_path=X", "--temp", "0.5"], ["--batch", "4"], ["--experiment", "mine"]):
        said = dashed_option(args, "generate", no_key)
        assert said is not None and said.endswith(
            "options are key=value, not --flags (textgru generate --help lists them)"
        )
    assert "ckpt_paths=[a,b]" in (dashed_option(["--ckpt_paths", "a", "b"], "ensemble", no_key) or "")
    assert "text='hello world'" in (dashed_option(["--text", "hello", "world"], "predict", no_key) or "")
    assert not is_flag("--experiment", "--experimental-rerun", "--experimental-rerun")
    assert is_flag("--experimental", "--experimental-rerun", "--experimental-rerun")
    assert is_flag("--multi", "-m", "--multirun")


def test_another_tools_command_is_named_as_textgru_does_it() -> None:
    """`textgru sweep` said "did you mean serve?", `textgru plot` "export?", `textgru resume` nothing."""
    from textgru.command_help import unknown_command

    commands = ["train", "tune", "eval", "predict", "generate", "export", "ensemble", "gradient-flow", "serve"]
    assert "did you mean textgru train -m " in unknown_command("sweep", commands)
    assert "did you mean textgru train resume=<run folder>? " in unknown_command("resume", commands)
    assert "did you mean tune? " in unknown_command("optuna", commands)
    assert "did you mean eval? " in unknown_command("evaluate", commands)
    assert "did you mean predict? " in unknown_command("infer", commands)
    assert "did you mean generate? " in unknown_command("sample", commands)
    assert "did you mean" not in unknown_command("plot", commands)
    assert "did you mean predict? " in unknown_command("predcit", commands)


def test_a_run_folder_is_refused_where_a_command_reads_none() -> None:
    """`textgru eval ckpt_path=X hydra.run.dir=zzz` was taken and wrote nothing there (predict, export too)."""
    for command, instead in (
        ("eval", "output_dir=<folder>"),
        ("predict", "output=<file>.jsonl"),
        ("export", "output="),
    ):
        with pytest.raises(
            TextgruError, match=rf"^hydra\.run\.dir: textgru {command} does not read it; give {instead}"
        ):
            check_override_keys(["ckpt_path=X", "hydra.run.dir=zzz"], command)
    with pytest.raises(TextgruError, match=r"^hydra\.run\.dir: textgru serve does not read it; .* writes no files"):
        check_override_keys(["lm=X", "hydra.run.dir=zzz"], "serve")


def test_a_key_textgru_reads_by_name_cannot_be_removed() -> None:
    """`~task.label_smoothing` in train was a Hydra traceback and a half-made run folder."""
    for key in ("task.label_smoothing", "data.max_length"):
        with pytest.raises(TextgruError, match=rf"^~{re.escape(key)}: textgru train needs every key it has; give "):
            check_override_keys([f"~{key}"], "train")
    assert check_override_keys(["~callbacks.early_stopping"], "train") is not None
    search = [
        "hparams_search=sentiment",
        "~hparams_search.params",
        "+hparams_search.params={optimizer.lr: 'interval(1e-4, 1e-2)'}",
    ]
    assert check_override_keys(search, "train") is not None


def test_a_key_of_your_own_config_file_that_textgru_does_not_read_is_one_line(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: an experiment file without `# @package _global_` trained (exit 0) with its settings under
    `experiment:`, and a file's `batch_sise: 8` under data: or a top-level `foo: 1` were ignored, while the command
    line's `+data.foo=1` is refused. Keys of a class's section (model, trainer ...) are the class's to take."""
    from textgru.config import compose_config
    from textgru.config_checks import check_config

    files = {
        "nopkg": ("model:\n  hidden_size: 12\n", r"^your experiment file's settings landed under experiment: \(its first"),
        "typo": ("data:\n  batch_sise: 8\n", r"^data\.batch_sise is set by a config file of yours, .*did you mean data\.batch_size\?"),
        "top": ("foo: 1\n", r"^foo is set by a config file of yours, but textgru reads no such key; fix or remove it"),
        "fine": ("data:\n  batch_size: 8\n  label_names: [a, b]\nmodel:\n  hidden_size: 12\nn_trials: 3\n", None),
        # a key read through an interpolation is read (a review of the change: lightning-hydra-template's layout)
        "named": ("name: tiny\npaths:\n  data_dir: /d\n  run_dir: ${paths.output_dir}/${name}/r\ndata:\n  batch_size: 8\n"
                  "  cache_dir: ${oc.select:paths.data_dir,x}/cache\nmodel:\n  hidden_size: 12\n", None),
        "relative": ("roots:\n  a: /r\nwhich: a\npaths:\n  output_dir: ${roots.${which}}/out\ndata:\n  batch_size: 8\n"
                     "  my_root: /m\n  cache_dir: ${.my_root}/c\nmodel:\n  hidden_size: 12\n", None),  # (and its review)
    }  # fmt: skip
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)  # ./conf extends the package's configs
    for name, (text, needle) in files.items():
        header = "" if name == "nopkg" else "# @package _global_\n# mine\n"
        (tmp_path / "conf" / "experiment" / f"{name}.yaml").write_text(header + text, encoding="utf-8")
        cfg = compose_config("train", [f"experiment={name}"])
        if needle is None:
            check_config(cfg, "train")
            assert cfg.data.batch_size == 8 and cfg.model.hidden_size == 12
            continue
        with pytest.raises(TextgruError, match=needle):
            check_config(cfg, "train")
        check_config(cfg, "train", resumed=True)  # a run's saved config: taken when it started (a review of the change)
    (tmp_path / "conf" / "data").mkdir()  # a data source textgru does not ship: its keys are its code's to read
    (tmp_path / "conf" / "data" / "mine.yaml").write_text("source: mine\nmy_option: 1\n", encoding="utf-8")
    from textgru.config_file_keys import check_file_keys

    check_file_keys(compose_config("train", ["data=mine"]))


def test_a_partial_data_config_of_yours_is_one_line_naming_every_missing_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: `source: local` and `path:` alone were refused after ~15 s and a run folder, three keys a time
    (train_size, train_fraction, subset_seed; then batch_size, ...). Now every key at once, before anything starts,
    with the fix in the file's own terms: a defaults list taking textgru's data config, which then trains."""
    from conftest import run_textgru

    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "d.csv").write_text("text,label\n" + "".join(f"t {i},{'ab'[i % 2]}\n" for i in range(40)))
    partial = tmp_path / "conf" / "data" / "partial.yaml"
    partial.write_text(f"source: local\npath: {tmp_path / 'd.csv'}\n", encoding="utf-8")
    run = tmp_path / "run"
    r = run_textgru(
        "train", "--config-dir", str(tmp_path / "conf"), "data=partial", f"hydra.run.dir={run}", cwd=tmp_path
    )
    lacks = (
        "validation_path, test_path, text_column, label_column, ignore_labels, split_seed, val_fraction, test_fraction, "
        "max_length, batch_size, eval_batch_size, num_workers, train_size, train_fraction, subset_seed"
    )
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr[-2000:]
    assert (
        f"error: the data config (data.source=local) lacks {lacks}, which task=sentiment reads;" in r.stderr
        and "'defaults: [local, _self_]'" in r.stderr
    ), r.stderr
    assert not run.exists()  # refused before the run folder
    partial.write_text(f"defaults: [local, _self_]\nsource: local\npath: {tmp_path / 'd.csv'}\n", encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # ./conf extends the package's configs
    cfg = compose_config("train", ["data=partial"])
    assert cfg.data.path == str(tmp_path / "d.csv") and cfg.data.batch_size == 64  # the fix named: composes whole
    check_config(cfg, "train")
    for task, keys, data in (
        ("lm", "val_fraction, test_fraction, batch_size, eval_batch_size, bptt, num_workers", "local_text"),
        ("forecast", "package_file, columns, time_column, fill_missing, window, horizon, val_fraction", "local_csv"),
        ("bilm", "hub_name, hub_config, splits, eval_batch_size, num_workers", "tiny_shakespeare"),  # a Hub corpus
    ):  # fmt: skip
        source = {"lm": "local_text", "forecast": "local_csv", "bilm": "hub"}[task]
        path = "" if source == "hub" else f"path: {tmp_path / 'd.csv'}\n"
        partial.write_text(f"source: {source}\n{path}text_column: t\nsplit_seed: 1\n", encoding="utf-8")
        cfg = compose_config("train", [f"task={task}", "data=partial"])
        with pytest.raises(
            TextgruError, match=rf"^the data config \(data\.source=\w+\) lacks {keys}\b.*'defaults: \[{data}, _self_\]'"
        ):
            check_config(cfg, "train")
        check_config(cfg, "train", resumed=True)  # a run's saved config: its data module says what it lacks


def test_no_data_config_textgru_ships_lacks_a_key_its_tasks_read() -> None:
    """The keys data_keys asks (`data_config_checks.TASK_DATA`) refuse no data config textgru ships for a task that
    reads it (a Hub corpus for task=lm, labelled Hub data for task=sentiment), with the task's own data values."""
    import yaml
    from omegaconf import OmegaConf

    from textgru.conf import CONF_DIR
    from textgru.data_config_checks import data_keys, shipped_data_configs
    from textgru.tasks import TASKS

    for task, info in TASKS.items():
        own = yaml.safe_load((CONF_DIR / "task" / f"{task}.yaml").read_text(encoding="utf-8")).get("data", {})
        for config in shipped_data_configs().values():
            kind = config["source"] != "hub" or task == "bilm" or ("label_column" in config) == (task == "sentiment")
            if config["source"] in info.sources and kind:
                data_keys(OmegaConf.create({"task": {"name": task}, "data": {**config, **own}}))


def test_a_key_naming_the_run_folder_is_set_with_plus_plus_as_without(tmp_path: Path) -> None:
    """A review: `++trainer.default_root_dir=x`, `++callbacks.model_checkpoint.dirpath=x` and `++paths.run_dir=x`
    were a 40-line "HydraConfig was not set" traceback (their values name Hydra's run folder). `++key=` sets a key as
    `key=` does: the Trainer and the checkpoint callback take their folders as given; paths.run_dir is refused."""
    from textgru.command_line_checks import check_command_line

    args = [f"++trainer.default_root_dir={tmp_path / 'x'}", f"++callbacks.model_checkpoint.dirpath={tmp_path / 'ck'}"]
    cfg = check_override_keys([*args, f"++callbacks.checkpoint.dirpath={tmp_path / 'ck'}"], "train")
    check_command_line(args, "train", cfg)  # no TextgruError
    assert cfg.trainer.default_root_dir == str(tmp_path / "x") and cfg.callbacks.checkpoint.dirpath == str(
        tmp_path / "ck"
    )
    args = [f"++paths.run_dir={tmp_path / 'x'}"]
    with pytest.raises(
        TextgruError, match=r"^\+\+paths\.run_dir=\S+: paths\.run_dir follows the run folder, which hydra"
    ):
        check_command_line(args, "train", check_override_keys(args, "train"))


def test_a_shipped_data_config_of_another_kind_is_named_not_sent_to_a_data_file() -> None:
    """A review: `textgru train data=wikitext2` (task=sentiment) was told to start "your data file" with
    'defaults: [ag_news, _self_]', which gave a corpus a label_column; `task=lm data=imdb` likewise. A data config
    textgru ships is named, with the tasks that read it and the data the task reads."""
    for overrides, said in (
        (["data=wikitext2"], r"^data=wikitext2 is a text corpus without labels: use it with task=lm or task=bilm, "),
        (["data=tiny_shakespeare", "data.batch_size=8"], r"^data=tiny_shakespeare is a text corpus without labels"),
        (["data=wikitext103"], r"or give task=sentiment labelled texts \(data=ag_news, data=imdb, data=local, "),
        (["task=lm", "data=imdb"], r"^data=imdb is labelled texts: use it with task=sentiment or task=bilm "),
        (["task=lm", "data=sst2"], r"give task=lm a text corpus \(data=local_text, data=shakespeare, "),
    ):
        with pytest.raises(TextgruError, match=said) as e:
            check_config(compose_config("train", overrides), "train")
        assert "your data file" not in str(e.value) and "defaults" not in str(e.value)
    for overrides in (["task=bilm", "data=wikitext2"], ["task=bilm", "data=imdb"], ["task=lm", "data=wikitext2"]):
        check_config(compose_config("train", overrides), "train")  # bilm reads labelled data's texts, or a corpus


def test_an_experiment_file_without_its_header_overriding_a_group_is_one_line_naming_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A review: README's experiment example less its `# @package _global_` line was Hydra's "In 'experiment/nohdr':
    Could not override 'model@experiment.model'.", where a file without a defaults list is told to add the line."""
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    text = "defaults:\n  - override /model: bigru_classifier\nmodel:\n  hidden_size: 12\n"
    (tmp_path / "conf" / "experiment" / "nohdr.yaml").write_text(text, encoding="utf-8")
    said = r"^your experiment file experiment/nohdr overrides /model, .*first line is not '# @package _global_'.*make that its first line$"
    with pytest.raises(TextgruError, match=said):
        check_override_keys(["experiment=nohdr"], "train")
    (tmp_path / "conf" / "experiment" / "nohdr.yaml").write_text("# @package _global_\n" + text, encoding="utf-8")
    assert check_override_keys(["experiment=nohdr"], "train").model.hidden_size == 12  # the fix named works
