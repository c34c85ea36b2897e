"""Every option of every config group composes with Hydra's compose API, and key values land where expected."""

from __future__ import annotations

import pytest
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from textgru.config import CONF_DIR as CONF
from textgru.tasks import TASKS

GROUPS = {
    g.name: sorted(p.stem for p in g.glob("*.yaml"))
    for g in CONF.iterdir()
    if g.is_dir() and g.name not in ("hydra", "experiment", "hparams_search")
}
CASES = [(g, o) for g, opts in GROUPS.items() for o in opts]


@pytest.mark.parametrize("group,option", CASES, ids=[f"{g}={o}" for g, o in CASES])
def test_every_group_option_composes(group: str, option: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"{group}={option}"])
    assert cfg.task.name == (option if group == "task" else "sentiment")
    # everything but run-time paths resolves
    OmegaConf.to_container(cfg.data, resolve=True)
    OmegaConf.to_container(cfg.model, resolve=True)


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_states_its_metric_and_mode_and_its_config_passes(task: str) -> None:
    """conf/train.yaml leaves both `???`: each task's yaml states them, the metric one the task logs."""
    from textgru.config_checks import check_config
    from textgru.optimized_metric import check_optimized_metric
    from textgru.tasks import task_module

    assert {"optimized_metric", "optimized_mode"} <= set(OmegaConf.load(CONF / "task" / f"{task}.yaml"))
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"task={task}"])
    assert cfg.task.name == task
    check_config(cfg, "train")
    check_optimized_metric(cfg, task_module(task).validation_metrics(cfg))


@pytest.mark.parametrize("config_name", ["eval", "predict", "generate"])
def test_entry_configs_compose(config_name: str) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name=config_name, overrides=["ckpt_path=x.ckpt"])
    assert cfg.ckpt_path == "x.ckpt" and cfg.overwrite is False


@pytest.mark.parametrize(
    "override,key,expected",
    [
        ("trainer=cpu", "trainer.accelerator", "cpu"),
        ("trainer=gpu", "trainer.accelerator", "gpu"),
        ("scheduler=none", "scheduler", None),
        ("scheduler=one_cycle", "scheduler._target_", "textgru.optim.one_cycle"),
        ("tokenizer=bpe", "tokenizer.kind", "bpe"),
        ("tokenizer=char", "tokenizer.kind", "char"),
        ("data=local", "data.source", "local"),
        ("data=sst2", "data.hub_name", "stanfordnlp/sst2"),
        ("optimizer=adam", "optimizer._target_", "torch.optim.Adam"),
    ],
)
def test_group_choice_takes_effect(override: str, key: str, expected: object) -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[override])
    assert OmegaConf.select(cfg, key) == expected


def test_defaults_are_the_documented_main_job() -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["task=sentiment"])
    assert cfg.data.source == "tweets"
    assert cfg.model._target_ == "textgru.models.gru_classifier.GRUClassifier"
    assert cfg.model.bidirectional is True
    assert cfg.optimizer._partial_ and cfg.scheduler._partial_
    assert cfg.callbacks.model_checkpoint.monitor == "val/macro_f1"
    assert cfg.optimized_metric == "val/macro_f1"


def test_lm_task_sets_its_own_defaults_and_command_line_wins() -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["task=lm"])
        mine = compose(
            config_name="train",
            overrides=["task=lm", "data=local_text", "tokenizer=byte_bpe", "trainer.max_steps=7", "optimized_mode=max"],
        )
    assert (cfg.data.source, cfg.tokenizer.kind, cfg.model._target_) == (
        "shakespeare",
        "char",
        "textgru.models.gru_lm.GRULanguageModel",
    )
    assert cfg.optimized_metric == "val/loss" and cfg.callbacks.model_checkpoint.mode == "min"
    assert cfg.callbacks.early_stopping.mode == "min" and cfg.trainer.check_val_every_n_epoch is None
    assert (mine.data.source, mine.tokenizer.kind, mine.trainer.max_steps) == ("local_text", "byte_bpe", 7)
    assert mine.callbacks.model_checkpoint.mode == "max"


@pytest.mark.parametrize("task", list(TASKS))
@pytest.mark.parametrize("scheduler", GROUPS["scheduler"])
def test_every_scheduler_builds_for_every_task(task: str, scheduler: str) -> None:
    import torch

    from textgru.tasks.base import build_scheduler

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"task={task}", f"scheduler={scheduler}"])
    factory = build_scheduler(cfg)
    if scheduler == "none":
        assert factory is None
    else:
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        factory(optimizer=optimizer, num_training_steps=10).step()


EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def test_the_named_experiments_exist() -> None:
    assert {
        "tweets_bigru",
        "tweets_bigru_large",
        "shakespeare_char",
        "imdb_bigru",
        "sst2_bigru",
        "wikitext2_bpe",
    } <= set(EXPERIMENTS)


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_composes_and_states_its_purpose_and_figure(name: str) -> None:
    text = (CONF / "experiment" / f"{name}.yaml").read_text()
    assert (
        text.startswith("# @package _global_") and "Reached:" in text and "python scripts/train.py experiment=" in text
    )
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"experiment={name}"])
    tasks = {"shakespeare_char": "lm", "wikitext2_bpe": "lm", "sunspots_gru": "forecast", "tweets_bilm": "bilm"}
    expected_task = tasks.get(name, "sentiment")
    assert cfg.task.name == expected_task
    metric = {"lm": "val/loss", "forecast": "val/mse", "bilm": "val/loss"}.get(expected_task, "val/macro_f1")
    assert cfg.optimized_metric == metric
    OmegaConf.to_container(cfg.model, resolve=True)


def test_forecast_task_sets_its_own_defaults() -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["task=forecast"])
        csv = compose(
            config_name="train", overrides=["task=forecast", "data=local_csv", "data.path=x.csv", "model.rnn=reference"]
        )
    assert (cfg.data.source, cfg.model._target_, cfg.model.rnn) == (
        "synthetic_sine",
        "textgru.models.gru_forecaster.GRUForecaster",
        "native",
    )
    assert cfg.optimized_metric == "val/mse" and cfg.callbacks.model_checkpoint.mode == "min"
    assert (csv.data.source, csv.data.path, csv.model.rnn) == ("local_csv", "x.csv", "reference")


def test_experiment_values_win_over_task_defaults() -> None:
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=["experiment=wikitext2_bpe"])
    assert (cfg.data.hub_config, cfg.tokenizer.kind, cfg.model.tie_weights) == ("wikitext-2-raw-v1", "byte_bpe", True)
    assert cfg.trainer.max_steps == 6000  # the experiment's, not task=lm's 1200


@pytest.mark.parametrize("name,task", [("sentiment", "sentiment"), ("lm", "lm")])
def test_search_spaces_compose_and_name_real_keys(name: str, task: str) -> None:
    from textgru.search_space import parse_search_space

    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"hparams_search={name}"])
    assert cfg.task.name == task
    space = parse_search_space(OmegaConf.to_container(cfg.hparams_search.params))
    assert {"optimizer.lr", "model.hidden_size", "model.num_layers", "model.dropout"} <= set(space)
    for key in space:
        assert OmegaConf.select(cfg, key, default="missing") != "missing", key


class _Batches:
    """A stand-in datamodule whose training loader has `n` batches."""

    def __init__(self, n: int) -> None:
        self.n = n

    def train_dataloader(self) -> list[int]:
        return [0] * self.n


@pytest.mark.parametrize(
    "trainer,expected",
    [
        # epoch-validated, max_steps ends the run inside epoch 1: validate at the run's end
        ({"val_check_interval": None, "check_val_every_n_epoch": 1, "max_steps": 150, "max_epochs": 1}, (150, None)),
        # max_steps past the first epoch: epoch-end validation happens, nothing changes
        ({"val_check_interval": None, "check_val_every_n_epoch": 1, "max_steps": 700, "max_epochs": 3}, (None, 1)),
        # a step interval longer than the run is shortened to the run
        ({"val_check_interval": 300, "check_val_every_n_epoch": None, "max_steps": 120, "max_epochs": -1}, (120, None)),
        (
            {"val_check_interval": 300, "check_val_every_n_epoch": None, "max_steps": 1200, "max_epochs": -1},
            (300, None),
        ),
        # 4 batches an optimizer step: max_steps counts steps, val_check_interval batches (a review: "validating
        # after 150 steps" came after 150 batches, step 37, and the run trained on to step 150 unvalidated)
        (
            {
                "val_check_interval": None,
                "check_val_every_n_epoch": 1,
                "max_steps": 100,
                "max_epochs": 1,
                "accumulate_grad_batches": 4,
            },
            (400, None),
        ),
        (
            {
                "val_check_interval": None,
                "check_val_every_n_epoch": 1,
                "max_steps": 150,
                "max_epochs": 3,
                "accumulate_grad_batches": 4,
            },
            (None, 1),  # 150 steps of 4 batches: past the first epoch's 465 batches (117 steps)
        ),
        (
            {
                "val_check_interval": 300,
                "check_val_every_n_epoch": None,
                "max_steps": 50,
                "max_epochs": -1,
                "accumulate_grad_batches": 4,
            },
            (200, None),
        ),
    ],
)
def test_every_run_validates_before_it_ends(trainer: dict, expected: tuple) -> None:
    from textgru.run_schedule import fit_validation_to_run

    cfg = OmegaConf.create({"trainer": {**trainer, "fast_dev_run": False, "limit_train_batches": None}})
    fit_validation_to_run(cfg, _Batches(465))
    assert (cfg.trainer.val_check_interval, cfg.trainer.check_val_every_n_epoch) == expected


def test_a_validation_interval_longer_than_a_ranks_epoch_is_one_line() -> None:
    """Reviews: the check is against a rank's batches an epoch. textgru's samplers take the global batch and give
    each rank its share of every batch, so a rank has as many batches as the whole (counted as half of them, a DDP
    run of max_steps=6 ended without validating, and an interval of 8 of 10 batches was refused); Lightning's own
    sampler (`trainer.use_distributed_sampler=true`) gives each 1/world of them. GPU ids "0,1" are counted (int()'s
    traceback before)."""
    from textgru.errors import TextgruError
    from textgru.run_schedule import fit_validation_to_run

    trainer = {"val_check_interval": 300, "check_val_every_n_epoch": 1, "max_steps": -1, "max_epochs": 3}
    trainer |= {"fast_dev_run": False, "limit_train_batches": None, "num_nodes": 1, "accelerator": "cpu"}
    for devices in (1, 2, [0, 1], "0,1"):
        fit_validation_to_run(OmegaConf.create({"trainer": {**trainer, "devices": devices}}), _Batches(465))  # <= 465
        with pytest.raises(TextgruError, match=r"^trainer.val_check_interval=500 is more than an epoch's 465 training"):
            cfg = OmegaConf.create({"trainer": {**trainer, "devices": devices, "val_check_interval": 500}})
            fit_validation_to_run(cfg, _Batches(465))
    sharded = {**trainer, "use_distributed_sampler": True}
    for devices in (2, [0, 1], "0,1"):
        with pytest.raises(TextgruError, match=r"^trainer.val_check_interval=300 is more than an epoch's 233 training"):
            fit_validation_to_run(OmegaConf.create({"trainer": {**sharded, "devices": devices}}), _Batches(465))
    across = {**trainer, "devices": 2, "val_check_interval": 1000, "check_val_every_n_epoch": None, "max_epochs": 2}
    cfg = OmegaConf.create({"trainer": across})  # 2 x 465 batches a rank: validated at the run's end, not never
    fit_validation_to_run(cfg, _Batches(465))
    assert cfg.trainer.val_check_interval == 930
    cfg = OmegaConf.create({"trainer": {**across, "use_distributed_sampler": True, "val_check_interval": 500}})
    fit_validation_to_run(cfg, _Batches(465))
    assert cfg.trainer.val_check_interval == 466


def test_the_readme_config_table_lists_every_option_of_each_group() -> None:
    """README "Configuration (Hydra)" names each group's options; it had fallen behind conf/ (bilm, slanted_triangular,
    the few-label presets were missing)."""
    import re

    from conftest import ROOT

    readme = (ROOT / "README.md").read_text()
    table = readme.split("## Configuration (Hydra)", 1)[1].split("Examples:", 1)[0]
    listed: dict[str, set[str]] = {}
    for row in table.splitlines():
        cells = row.split(" | ")
        if row.startswith("| `") and len(cells) >= 2:
            for group in re.findall(r"`(\w+)`", cells[0]):
                listed.setdefault(group, set()).update(re.findall(r"`(\w+)`", cells[1]))
    for group in ("task", "data", "tokenizer", "model", "optimizer", "scheduler", "trainer", "experiment", "logger"):
        options = {p.stem for p in (CONF / group).glob("*.yaml")}
        assert options <= listed.get(group, set()), (group, sorted(options - listed.get(group, set())))
