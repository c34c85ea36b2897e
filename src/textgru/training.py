"""`train(cfg)`: compose data, tokenizer, model, Lightning task and Trainer from a config; write the run folder."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import lightning as L
import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from lightning.pytorch.callbacks import Callback
from lightning.pytorch.loggers import CSVLogger, Logger
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict
from tokenizers import Tokenizer

from textgru.callbacks import RunArtifacts, RunProgress, SameConfigOnAllRanks, TokensPerSecond
from textgru.checkpoint import checkpoint_extras
from textgru.checkpoint_io import AtomicCheckpointIO
from textgru.cli import FINISHED_RUN_MARKERS
from textgru.data.classification_datamodule import ClassificationDataModule
from textgru.data.forecast_datamodule import ForecastDataModule
from textgru.data.lm_datamodule import LanguageModelDataModule
from textgru.errors import TextgruError
from textgru.generation import SamplingOptions, generate
from textgru.models.forecast_baselines import LinearAR
from textgru.models.pretrained import init_from_glove
from textgru.plots import plot_confusion_matrix, plot_forecast, plot_learning_curves
from textgru.resume import ExactResume, ResumedCSVLogger, trim_metrics_log
from textgru.tasks.classification import ClassificationTask
from textgru.tasks.forecasting import ForecastTask
from textgru.tasks.language_modeling import LanguageModelTask

log = logging.getLogger(__name__)
ArtifactWriter = Callable[[Any, Any, Path], None]  # (tested task, datamodule, run folder): written by rank zero


def _plain(cfg: Any) -> Any:
    return OmegaConf.to_container(cfg, resolve=True) if isinstance(cfg, DictConfig) else cfg


def build_loggers(cfg: DictConfig, run_dir: Path, resuming: bool = False) -> list[Logger]:
    loggers: list[Logger] = []
    if cfg.logger.get("csv", True):  # rows written as they come, so a kill loses none before the last checkpoint
        csv_logger = ResumedCSVLogger if resuming else CSVLogger
        loggers.append(csv_logger(save_dir=str(run_dir), name="logs", version="", flush_logs_every_n_steps=1))
    if cfg.logger.get("tensorboard", False):
        try:
            import tensorboard  # noqa: F401
            from lightning.pytorch.loggers import TensorBoardLogger

            loggers.append(TensorBoardLogger(save_dir=str(run_dir), name="tensorboard", version=""))
        except ImportError:
            log.info("tensorboard is not installed; logging to CSV only")
    return loggers


def class_weights(spec: Any, counts: list[int]) -> list[float] | None:
    if spec in (None, "none"):
        return None
    if spec == "balanced":
        total = sum(counts)
        return [total / (len(counts) * max(c, 1)) for c in counts]
    weights = [float(w) for w in spec]
    if len(weights) != len(counts):
        raise TextgruError(f"task.class_weights has {len(weights)} values but there are {len(counts)} labels")
    return weights


def _refuse_finished_run(run_dir: Path) -> None:
    for name in FINISHED_RUN_MARKERS:
        if (run_dir / name).exists():
            raise TextgruError(
                f"{run_dir} already holds a run ({name}); choose another hydra.run.dir= so nothing is overwritten"
            )


def write_classification_artifacts(task: ClassificationTask, dm: ClassificationDataModule, run_dir: Path) -> None:
    """The test confusion matrix and the learning curves, as PNGs."""
    plot_confusion_matrix(
        task.test_confusion_result, dm.label_names, run_dir / "confusion_matrix.png", title="test confusion matrix"
    )
    plot_learning_curves(run_dir / "logs" / "metrics.csv", run_dir / "learning_curves.png")


def build_classification(cfg: DictConfig) -> tuple[L.LightningDataModule, L.LightningModule, ArtifactWriter]:
    """The sentiment task: tweets/Hub/local labelled data, a BiGRU classifier; a confusion matrix after testing."""
    data_cfg = _plain(cfg.data)
    dm = ClassificationDataModule(
        data_cfg,
        _plain(cfg.tokenizer),
        batch_size=cfg.data.batch_size,
        eval_batch_size=cfg.data.eval_batch_size,
        max_length=cfg.data.max_length,
        num_workers=cfg.data.num_workers,
        seed=cfg.seed,
    )
    dm.setup("fit")
    labels = dm.label_names
    model_cfg = _plain(cfg.model)
    pretrained = model_cfg.pop("pretrained_embeddings", None)
    model_cfg.update(
        vocab_size=dm.tokenizer.get_vocab_size(),
        num_classes=len(labels),
        padding_idx=dm.pad_id,
        unk_idx=dm.tokenizer.token_to_id("[UNK]"),
    )
    model = _instantiate_model(model_cfg)
    if pretrained == "glove-6b-50d":
        init_from_glove(model.embedding, dm.tokenizer)
    elif pretrained:
        raise TextgruError(f"unknown model.pretrained_embeddings {pretrained!r}; use glove-6b-50d or null")
    extras = checkpoint_extras("sentiment", model_cfg, dm.tokenizer.to_str(), labels, data_cfg, cfg.data.max_length)
    task = ClassificationTask(
        model,
        num_classes=len(labels),
        optimizer=instantiate(cfg.optimizer),
        scheduler=build_scheduler(cfg),
        class_weights=class_weights(cfg.task.get("class_weights"), dm.label_counts()),
        label_smoothing=cfg.task.get("label_smoothing", 0.0),
        ema_decay=cfg.task.get("ema_decay"),
        checkpoint_extras=extras,
    )
    log.info("model: %s parameters; labels %s; vocabulary %d", _count(model), labels, dm.tokenizer.get_vocab_size())

    return dm, task, write_classification_artifacts


def write_lm_artifacts(
    task: LanguageModelTask,
    dm: LanguageModelDataModule,
    run_dir: Path,
    char_level: bool,
    samples: int,
    prompt: str | None,
    options: SamplingOptions,
) -> None:
    """The learning curves against steps, and `samples` samples from the tested model in samples.txt."""
    plot_learning_curves(
        run_dir / "logs" / "metrics.csv",
        run_dir / "learning_curves.png",
        metrics=("loss", "bpc" if char_level else "ppl"),
        x="step",
    )
    if not samples:
        return
    if prompt is None:
        prompt = dm.first_line("test")
    try:
        texts = generate(task.model, dm.tokenizer, prompt, options, allow_unknown=True)
    except TextgruError as e:  # a finished run stays finished: samples are a bonus
        log.warning("no samples.txt: %s", e)
        return
    head = f"# {samples} samples, temperature {options.temperature}, seed {options.seed}, prompt {prompt!r}\n"
    body = "".join(f"\n===== sample {i + 1} =====\n{prompt}{t}\n" for i, t in enumerate(texts))
    (run_dir / "samples.txt").write_text(head + body, encoding="utf-8")


def build_language_model(cfg: DictConfig) -> tuple[L.LightningDataModule, L.LightningModule, ArtifactWriter]:
    """The lm task: a text corpus as TBPTT windows, a GRU language model; samples.txt after testing."""
    data_cfg = _plain(cfg.data)
    dm = LanguageModelDataModule(
        data_cfg,
        _plain(cfg.tokenizer),
        batch_size=cfg.data.batch_size,
        eval_batch_size=cfg.data.eval_batch_size,
        bptt=cfg.data.bptt,
        num_workers=cfg.data.num_workers,
    )
    dm.setup("fit")
    model_cfg = _plain(cfg.model)
    model_cfg.update(vocab_size=dm.tokenizer.get_vocab_size(), padding_idx=dm.pad_id)
    model = _instantiate_model(model_cfg)
    char_level = cfg.tokenizer.kind == "char"
    extras = checkpoint_extras("lm", model_cfg, dm.tokenizer.to_str(), None, data_cfg, cfg.data.bptt)
    task = LanguageModelTask(
        model,
        optimizer=instantiate(cfg.optimizer),
        scheduler=build_scheduler(cfg),
        char_level=char_level,
        checkpoint_extras=extras,
    )
    log.info("model: %s parameters; vocabulary %d", _count(model), dm.tokenizer.get_vocab_size())
    n = int(cfg.task.get("samples", 0))
    options = SamplingOptions(
        max_new_tokens=int(cfg.task.get("sample_tokens", 400)),
        num_samples=max(n, 1),
        temperature=float(cfg.task.get("sample_temperature", 0.8)),
        seed=int(cfg.seed),
    ).check()
    write = partial(
        write_lm_artifacts, char_level=char_level, samples=n, prompt=cfg.task.get("sample_prompt"), options=options
    )

    return dm, task, write


@torch.no_grad()
def write_forecast_artifacts(task: ForecastTask, dm: ForecastDataModule, run_dir: Path) -> None:
    """Learning curves, and forecast.png: the test span against the model's, the AR's and the naive roll-outs,
    one `horizon`-step roll-out every `horizon` steps (so each test value is forecast once)."""
    import numpy as np

    plot_learning_curves(
        run_dir / "logs" / "metrics.csv", run_dir / "learning_curves.png", metrics=("loss", "mse", "mae")
    )
    ds, h = dm.datasets["test"], dm.horizon
    lo, hi = dm.spans["test"]
    picks = list(range(0, len(ds), h))
    window = torch.stack([ds[i]["inputs"] for i in picks]).to(task.device)  # (n, window, features)
    was_training = task.model.training
    task.model.eval()
    runs = {"GRU": task.model.rollout(window, h), "linear AR": task.ar.rollout(window, h)}
    task.model.train(was_training)
    runs["last value"] = window[:, -1:].expand(-1, h, -1)
    forecasts = {}
    for name, pred in runs.items():  # (n, horizon, features) -> (test rows, features), NaN past the last roll-out
        flat = dm.denormalise(pred.reshape(-1, pred.shape[-1]))
        full = np.full((hi - lo, flat.shape[1]), np.nan)
        full[: len(flat)] = flat[: hi - lo]
        forecasts[name] = full
    what = "one step ahead" if h == 1 else f"{h}-step roll-outs from every {h}th step"
    plot_forecast(
        dm.series.values[lo:hi],
        forecasts,
        run_dir / "forecast.png",
        dm.series.columns,
        title=f"test span ({hi - lo} steps), {what}: test MSE {float(task.trainer.callback_metrics.get('test/mse', float('nan'))):.4g}",
    )


def build_forecast(cfg: DictConfig) -> tuple[L.LightningDataModule, L.LightningModule, ArtifactWriter]:
    """The forecast task: a time series cut into windows, a stacked GRU forecaster; the naive and linear-AR
    baselines scored on the same test windows; a forecast-against-truth PNG after testing."""
    data_cfg = _plain(cfg.data)
    dm = ForecastDataModule(
        data_cfg,
        window=cfg.data.window,
        horizon=cfg.data.horizon,
        batch_size=cfg.data.batch_size,
        eval_batch_size=cfg.data.eval_batch_size,
        num_workers=cfg.data.num_workers,
        val_fraction=cfg.data.val_fraction,
        test_fraction=cfg.data.test_fraction,
    )
    dm.setup("fit")
    model_cfg = _plain(cfg.model)
    model_cfg.update(num_features=dm.num_features)
    model = _instantiate_model(model_cfg)
    norm = dm.normalisation()
    extras = checkpoint_extras("forecast", model_cfg, None, None, data_cfg, dm.window)
    extras.update(normalisation=norm, window=dm.window, horizon=dm.horizon)  # no tokenizer: the stats read the units
    ar = LinearAR().fit(*dm.training_windows())
    task = ForecastTask(
        model,
        optimizer=instantiate(cfg.optimizer),
        horizon=dm.horizon,
        mean=norm["mean"],
        std=norm["std"],
        scheduler=build_scheduler(cfg),
        ar=ar,
        checkpoint_extras=extras,
    )
    log.info("model: %s parameters; series columns %s", _count(model), norm["columns"])
    return dm, task, write_forecast_artifacts


BUILDERS = {"sentiment": build_classification, "lm": build_language_model, "forecast": build_forecast}


def build_scheduler(cfg: DictConfig) -> Callable[..., Any] | None:
    """The `_partial_` schedule factory of `cfg.scheduler`, or None for `scheduler=none`."""
    if not cfg.get("scheduler"):
        return None
    factory = instantiate(cfg.scheduler)
    if not callable(factory):
        raise TextgruError("scheduler config has no _target_; choose one with scheduler=warmup_cosine|one_cycle|none")
    return factory


def _instantiate_model(model_cfg: dict) -> torch.nn.Module:
    try:
        return instantiate(model_cfg)
    except InstantiationException as e:
        cause = e.__cause__ or e
        if isinstance(cause, TextgruError):
            raise cause from e
        raise TextgruError(f"model config: {str(cause).splitlines()[-1]}") from e


def _count(model: torch.nn.Module) -> str:
    return f"{sum(p.numel() for p in model.parameters()):,}"


def _fit_validation_to_run(cfg: DictConfig, dm: L.LightningDataModule) -> None:
    """A run that would end before its first validation (a step interval longer than the run, or
    `max_steps` inside the first epoch of an epoch-validated run) would have no best checkpoint and no
    metric for early stopping: validate at the run's end instead."""
    interval = cfg.trainer.get("val_check_interval")
    per_epoch = interval is None and cfg.trainer.get("check_val_every_n_epoch") is not None
    if cfg.trainer.get("fast_dev_run") or not (
        per_epoch or (isinstance(interval, int) and cfg.trainer.get("check_val_every_n_epoch") is None)
    ):
        return
    steps_per_epoch = len(dm.train_dataloader())
    limit = cfg.trainer.get("limit_train_batches")
    if isinstance(limit, int):
        steps_per_epoch = min(steps_per_epoch, limit)
    elif isinstance(limit, float):
        steps_per_epoch = max(1, int(steps_per_epoch * limit))
    max_steps, max_epochs = cfg.trainer.get("max_steps", -1) or -1, cfg.trainer.get("max_epochs", -1) or -1
    if per_epoch:
        if 0 < max_steps < steps_per_epoch:
            log.info("validating after %d steps (trainer.max_steps ends the run inside the first epoch)", max_steps)
            with open_dict(cfg):
                cfg.trainer.val_check_interval, cfg.trainer.check_val_every_n_epoch = max_steps, None
        return
    candidates = [s for s in (max_steps, max_epochs * steps_per_epoch) if s > 0]
    total = min(candidates) if candidates else interval
    if total < interval:
        log.info("validating every %d steps (the run is shorter than trainer.val_check_interval=%d)", total, interval)
        with open_dict(cfg):
            cfg.trainer.val_check_interval = total


TASK_METRICS = {
    "sentiment": ("loss", "accuracy", "macro_f1"),
    "lm": ("loss", "ppl", "bpc"),
    "forecast": ("loss", "mse", "mae"),
}


def check_optimized_metric(cfg: DictConfig) -> None:
    """`optimized_metric` picks the best checkpoint, stops early and is what sweeps optimise: it must be a
    validation metric the task logs."""
    names = [m for m in TASK_METRICS[cfg.task.name] if m != "bpc" or cfg.tokenizer.get("kind") == "char"]
    logged = [f"val/{m}" for m in names]
    if cfg.optimized_metric not in logged:
        raise TextgruError(
            f"optimized_metric={cfg.optimized_metric} is not a validation metric task={cfg.task.name} "
            f"logs; use one of: {', '.join(logged)}"
        )
    if cfg.optimized_mode not in ("min", "max"):
        raise TextgruError(f"optimized_mode={cfg.optimized_mode} must be min or max")


def check_devices(trainer_cfg: DictConfig) -> None:
    """One line, before any work, for an accelerator the machine lacks or more devices than it has."""
    accelerator = str(trainer_cfg.get("accelerator", "auto"))
    devices = trainer_cfg.get("devices", 1)
    if accelerator in ("gpu", "cuda"):
        have, unit = torch.cuda.device_count(), "GPU(s)"
        if have == 0:
            raise TextgruError(
                f"trainer.accelerator={accelerator} (trainer=gpu or trainer=ddp) needs a GPU and torch "
                "finds none; on CPU use trainer=cpu, or trainer=ddp_cpu for data-parallel processes"
            )
    elif accelerator == "cpu":
        have, unit = os.cpu_count() or 1, "CPU cores (one process each)"
    else:
        return
    wanted = len(devices) if isinstance(devices, (list, ListConfig)) else devices
    if isinstance(wanted, int) and wanted > have:
        raise TextgruError(
            f"trainer.devices={devices} but this machine has {have} {unit}; use trainer.devices={have} or fewer"
        )


# read when the process starts: Lightning's own launcher later sets LOCAL_RANK in the launching process too
_STARTED_FOR_ONE_RANK = (
    "LOCAL_RANK" in os.environ or "TORCHELASTIC_RUN_ID" in os.environ or int(os.environ.get("SLURM_NTASKS", "1")) > 1
)


def launched_externally() -> bool:
    """True inside a process that torchrun, SLURM or Lightning's own launcher started for one rank."""
    return _STARTED_FOR_ONE_RANK


def _several_processes(trainer_cfg: DictConfig) -> bool:
    """Whether Lightning's `auto` strategy would start several processes for this trainer config."""
    devices, nodes = trainer_cfg.get("devices", 1), trainer_cfg.get("num_nodes", 1) or 1
    if nodes > 1:
        return True
    if isinstance(devices, (list, ListConfig)):
        return len(devices) > 1
    if str(devices) in ("-1", "auto"):  # all of them: several only where there are several GPUs
        return str(trainer_cfg.get("accelerator", "auto")) in ("gpu", "cuda", "auto") and torch.cuda.device_count() > 1
    return int(devices) > 1


def one_config_per_trial(cfg: DictConfig, in_sweep: bool) -> None:
    """Lightning's `ddp` launcher re-executes the command line in every rank; inside a sweep that re-runs the
    whole sweep per rank. Data-parallel trials of a sweep therefore spawn their ranks from the trial
    (`ddp_spawn`), whatever `ddp` variant or `auto` strategy would have been used."""
    strategy = cfg.trainer.get("strategy", "auto")
    if (
        not in_sweep
        or launched_externally()
        or not isinstance(strategy, str)
        or any(k in strategy for k in ("spawn", "fork", "notebook"))
    ):  # these start their ranks from this process
        return
    if strategy.startswith("ddp") or (strategy == "auto" and _several_processes(cfg.trainer)):
        spawn = "ddp_spawn" + strategy[3:] if strategy.startswith("ddp") else "ddp_spawn"
        log.info("sweep trial: trainer.strategy=%s so that every rank trains this trial's config", spawn)
        with open_dict(cfg):
            cfg.trainer.strategy = spawn


def _prepare_resume(run_dir: Path, ckpt: Path) -> None:
    """Refuse a finished run; put back a best checkpoint an interrupted run set aside; cut the CSV log back to the
    checkpoint's step (later rows are kept aside, never deleted)."""
    if (run_dir / "metrics.json").exists():
        raise TextgruError(f"{run_dir} holds a finished run (metrics.json); there is nothing to resume")
    step = int(torch.load(ckpt, map_location="cpu", weights_only=True).get("global_step", 0))
    log.info("resuming %s from %s (step %d)", run_dir, ckpt, step)
    if int(os.environ.get("RANK", os.environ.get("LOCAL_RANK", "0"))) > 0:
        return  # the files are rank zero's to touch (Lightning's ddp launcher runs this command in every rank)
    best, unfinished = run_dir / "checkpoints" / "best.ckpt", run_dir / "checkpoints" / "best-unfinished.ckpt"
    if unfinished.exists() and not best.exists():
        unfinished.replace(best)
    trim_metrics_log(run_dir / "logs" / "metrics.csv", step)


def _check_same_tokenizer(dm: L.LightningDataModule, run_dir: Path) -> None:
    saved = run_dir / "tokenizer.json"
    tokenizer = getattr(dm, "tokenizer", None)
    if tokenizer is not None and saved.is_file() and tokenizer.to_str() != Tokenizer.from_file(str(saved)).to_str():
        raise TextgruError(
            f"the tokenizer built from the data now differs from {saved}: the data changed since the run "
            "started, so it cannot be resumed; start a new run"
        )


def _in_hydra_multirun() -> bool:
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN


def train(
    cfg: DictConfig,
    extra_callbacks: Sequence[Callback] = (),
    in_sweep: bool | None = None,
    resume_from: Path | None = None,
) -> dict[str, Any]:
    """Train and test the model `cfg` describes; returns the metrics written to `metrics.json`.

    `extra_callbacks` join the configured ones (a tuner's pruning callback); `in_sweep` (default: whether
    Hydra runs a multirun) makes a data-parallel trial spawn its ranks; `resume_from` (a checkpoint in
    `<run_dir>/checkpoints/`) continues that run where the checkpoint left it."""
    run_dir = Path(cfg.paths.run_dir)
    if resume_from is None:
        _refuse_finished_run(run_dir)
    else:
        _prepare_resume(run_dir, resume_from)
    name = cfg.task.name
    if name not in BUILDERS:
        raise TextgruError(f"unknown task.name {name!r}; use one of {sorted(BUILDERS)}")
    check_optimized_metric(cfg)
    check_devices(cfg.trainer)
    one_config_per_trial(cfg, _in_hydra_multirun() if in_sweep is None else in_sweep)
    L.seed_everything(cfg.seed, workers=True, verbose=False)  # logged below, not printed to stderr
    log.info("seed %d", cfg.seed)
    dm, task, write_artifacts = BUILDERS[name](cfg)
    config_yaml = OmegaConf.to_yaml(cfg, resolve=True)  # as asked: a resumed run with a new length refits below
    _fit_validation_to_run(cfg, dm)
    callbacks = [instantiate(c) for c in cfg.callbacks.values() if c is not None]
    callbacks += [
        RunArtifacts(write_artifacts, run_dir),
        SameConfigOnAllRanks(run_dir),
        TokensPerSecond(),
        RunProgress(),
        ExactResume(),
        *extra_callbacks,
    ]
    loggers = build_loggers(cfg, run_dir, resuming=resume_from is not None)
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=loggers or False, plugins=[AtomicCheckpointIO()]
    )
    finished = False
    try:
        if trainer.is_global_zero and resume_from is None:
            run_dir.mkdir(parents=True, exist_ok=True)
            (run_dir / "config.yaml").write_text(config_yaml)
            if getattr(dm, "tokenizer", None) is not None:  # a forecast run has none
                dm.tokenizer.save(str(run_dir / "tokenizer.json"))
        if resume_from is not None:
            _check_same_tokenizer(dm, run_dir)
        start = time.time()
        trainer.fit(task, datamodule=dm, ckpt_path=str(resume_from) if resume_from is not None else None)
        train_seconds = time.time() - start
        progress = dict(trainer.callback_metrics)  # read before validate/test replace them
        tokens_per_sec = progress.get("train/tokens_per_sec")
        if trainer.interrupted:
            raise TextgruError("training was interrupted; checkpoints/last.ckpt holds the latest state")
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        ckpt = best if best and not cfg.trainer.get("fast_dev_run") else None
        if ckpt:
            log.info("best checkpoint: %s", ckpt)
        val = trainer.validate(task, datamodule=dm, ckpt_path=ckpt, verbose=False)[0]
        test = trainer.test(task, datamodule=dm, ckpt_path=ckpt, verbose=False)[0]
        metrics = {k: float(v) for k, v in {**val, **test}.items() if "/" in k}
        metrics["train_seconds"] = round(train_seconds, 1)
        if tokens_per_sec is not None:
            metrics["train_tokens_per_sec"] = round(float(tokens_per_sec), 1)
        metrics["epochs"] = int(progress.get("run/epochs", trainer.current_epoch))
        metrics["global_step"] = int(progress.get("run/global_step", trainer.global_step))
        if trainer.is_global_zero:
            (run_dir / "metrics.json").write_text(json.dumps(metrics, indent=2))  # written last: marks a finished run
            log.info("metrics: %s", json.dumps(metrics))
        finished = True
        return metrics
    finally:
        best_file = run_dir / "checkpoints" / "best.ckpt"
        if not finished and trainer.is_global_zero and best_file.exists():
            # a failed run must not leave a best.ckpt that looks like a finished one
            best_file.replace(best_file.with_name("best-unfinished.ckpt"))
            log.warning(
                "run did not finish; its best checkpoint so far is %s", best_file.with_name("best-unfinished.ckpt")
            )
        for lg in loggers:
            lg.finalize("success")


def train_command(cfg: DictConfig) -> float:
    """`scripts/train.py`: train, and return the value of `optimized_metric` (what Hydra sweepers read)."""
    return train(cfg)[cfg.optimized_metric]
