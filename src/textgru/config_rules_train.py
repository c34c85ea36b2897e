"""The rules for the keys of `textgru train` and `textgru tune` (`textgru/conf/train.yaml` and its groups: data,
tokenizer, model, optimizer, scheduler, trainer, callbacks, logger, paths, hparams_search): what a valid value is,
key by key. They state what is valid, never a default (every default lives once, in the YAML); keys the composed
config lacks are not checked. `textgru.config_checks` applies them."""

from __future__ import annotations

from textgru.config_path_rules import ArtifactLocation, Existing, File, Folder, StoreUri
from textgru.config_rules import AnyOf, Bool, Duration, Int, ListOf, MapOf, Named, Num, OneOf, Rule, Text, When
from textgru.inference.sampling_options import LARGEST_KNOB, MOST_SAMPLES, MOST_TOKENS, SMALLEST_KNOB
from textgru.tasks import TASKS

SHARE = Num(0, 1, lo_open=True, hi_open=True, what="a share of the data")
DROPOUT = Num(0, 1, hi_open=True, what="a dropout probability")
POSITIVE = Int(1)
# data.max_length and data.bptt at most (no run reads a million tokens of one text): what a checkpoint's max_length
# may be (checkpoint_weights.LONGEST_TEXT; a test keeps them equal)
LONGEST_TEXT = 1_000_000
SEED = Int(0, 2**32 - 1, what="the random seed")  # what Lightning's seed_everything and numpy accept
POOLINGS = ("last", "mean", "max", "meanmax", "attention")  # textgru.models.pooling.POOLINGS (a test keeps them equal)
# Lightning's precision names (lightning.fabric.connector; a test keeps them equal); Hydra reads 16, 32, 64 as numbers
PRECISIONS = (
    *("16-mixed", "bf16-mixed", "32-true", "16-true", "bf16-true", "64-true", "transformer-engine"),
    *("transformer-engine-float16", "16", "32", "64", "bf16", 16, 32, 64),
)
# Lightning's strategy names (its StrategyRegistry, and auto; a test keeps them equal): a typo refused before the
# tokenizer trains, without loading Lightning (7 s here)
_DDP = tuple(
    f"{d}{u}"
    for d in ("ddp", "ddp_spawn", "ddp_fork", "ddp_notebook")
    for u in ("", "_find_unused_parameters_false", "_find_unused_parameters_true")
)
STRATEGIES = (
    "auto",
    *_DDP,
    *("deepspeed", "deepspeed_stage_1", "deepspeed_stage_2", "deepspeed_stage_2_offload", "deepspeed_stage_3"),
    *("deepspeed_stage_3_offload", "deepspeed_stage_3_offload_nvme", "fsdp", "fsdp_cpu_offload", "single_device"),
    *("single_xla", "xla_debug", "xla", "single_tpu"),
)
DATA_PATH = "a data file (CSV, TSV, JSON/JSONL, Parquet), a glob or a folder"
SPLIT_FILE = "a data file (CSV, TSV, JSON/JSONL, Parquet) or a glob of them, as data.path's files"

LM_WITHOUT_WORDS = (
    "task=lm: a word tokenizer drops the newline that separates documents, which the model reads before each text; "
    "tokenizer=byte_bpe (or bpe) with a large tokenizer.vocab_size keeps most words whole"
)
DATA: dict[str, Rule] = {
    "data.source": OneOf(tuple(dict.fromkeys(s for info in TASKS.values() for s in info.sources))),
    "data.path": When(
        "data.source",
        {
            "local": Existing(DATA_PATH + " of label sub-folders", many=True),
            "local_text": Existing("a text file, a glob or a folder of .txt files (or a CSV/JSONL/Parquet file)"),
            "local_csv": File("a CSV file", null=True),
        },
    ),
    "data.validation_path": Existing(SPLIT_FILE, many=True, null=True),  # not a folder (a review: it was offered)
    "data.test_path": Existing(SPLIT_FILE, many=True, null=True),
    "data.text_column": Text(what="the column holding the text"),
    "data.label_column": Text(what="the column holding the label"),
    "data.ignore_labels": ListOf(AnyOf((Text(), Num()), shape="a label"), null=True),  # [2], [2.0] too (reviews)
    "data.label_names": ListOf(Text(), null=True),
    "data.split_seed": Int(0),
    "data.val_fraction": SHARE,
    "data.test_fraction": SHARE,
    "data.max_length": Int(1, LONGEST_TEXT, what="the most tokens kept per text"),
    "data.batch_size": Int(1, what="examples per training batch; lanes for task=lm"),
    "data.eval_batch_size": Int(1),
    "data.num_workers": Int(0, what="data-loading processes; 0 loads in the main process"),
    "data.cache_dir": Folder(),
    "data.hub_name": Text(),
    "data.hub_config": Text(null=True),
    "data.val_plays": POSITIVE,
    "data.test_plays": POSITIVE,
    "data.bptt": Int(1, LONGEST_TEXT, what="tokens per truncated-BPTT window"),
    "data.length": Int(2, what="time steps of the generated series"),
    "data.period": Num(0, lo_open=True),
    "data.noise": Num(0),
    "data.amplitude_drift": Num(0),
    "data.period_drift": Num(0),
    "data.features": POSITIVE,
    "data.series_seed": Int(0),
    "data.window": Int(1, what="past steps the model reads"),
    "data.horizon": Int(1, what="steps forecast"),
    "data.package_file": Text(null=True, pattern=r"[^:\s]+:.+", shape="dist:path/in/package"),
    "data.columns": AnyOf(
        (Text(), ListOf(Text())),
        shape="a column name or a list of them (quote names that are numbers: 'data.columns=[\"2019\"]')",
        null=True,
    ),
    "data.time_column": Text(null=True),
    "data.fill_missing": OneOf(("error", "interpolate")),
    "data.train_size": Int(1, null=True, what="labelled training examples kept (a stratified sample); null: all"),
    "data.train_fraction": Num(0, 1, lo_open=True, null=True, what="share of the labelled training examples kept"),
    "data.subset_seed": Int(0, 2**32 - 1, null=True, what="the few-label sample's seed; null: the run's seed"),
}

TRAIN: dict[str, Rule] = {
    "seed": SEED,
    "optimized_metric": Text(),
    "optimized_mode": OneOf(("min", "max")),
    "n_trials": Int(1, text=True, what="trials to run now"),  # textgru tune's free-text option
    "task.name": OneOf(tuple(TASKS)),
    "task.class_weights": AnyOf(
        (OneOf(("balanced", "none")), ListOf(Num(0))), shape='"balanced", or a list of weights >= 0', null=True
    ),
    "task.label_smoothing": Num(0, 1, hi_open=True),
    "task.ema_decay": Num(0, 1, lo_open=True, hi_open=True, null=True, what="null turns the moving average off"),
    "task.samples": Int(
        0, MOST_SAMPLES, what="samples.txt's samples, drawn as one batch"
    ),  # a review: named num_samples
    "task.sample_prompt": Text(null=True, empty=True, shape="a text"),
    "task.sample_tokens": Int(0, MOST_TOKENS),
    "task.sample_temperature": Num(SMALLEST_KNOB, LARGEST_KNOB),  # as generate's temperature
    **DATA,
    "tokenizer.kind": When(
        "task.name",
        {"lm": OneOf(("bpe", "byte_bpe", "char"), what=LM_WITHOUT_WORDS)},
        otherwise=OneOf(("word", "bpe", "byte_bpe", "char")),
    ),
    "tokenizer.vocab_size": Int(3, what="the most tokens, [PAD] and [UNK] included"),
    "tokenizer.min_frequency": Int(0),
    "tokenizer.lowercase": Bool(),
    "tokenizer.strip_accents": Bool(),
    "tokenizer.unicode_form": OneOf(("NFC", "NFD", "NFKC", "NFKD"), null=True),
    "tokenizer.replace_urls": Bool(),
    "tokenizer.replace_mentions": Bool(),
    "model.embedding_dim": POSITIVE,
    "model.hidden_size": POSITIVE,
    "model.num_layers": POSITIVE,
    "model.bidirectional": Bool(),
    "model.pooling": OneOf(POOLINGS),
    "model.dropout": DROPOUT,
    "model.embedding_dropout": DROPOUT,
    "model.rnn_dropout": DROPOUT,
    "model.word_dropout": DROPOUT,
    "model.output_dropout": DROPOUT,
    "model.pretrained_embeddings": OneOf(("glove-6b-50d",), null=True),
    "model.rnn": OneOf(("native", "reference")),
    "model.projection_size": Int(1, null=True),
    "model.tie_weights": Bool(),
    "model.predict_change": Bool(),
    "model.pretrained_lm": Existing(
        "a task=bilm run folder or its .ckpt (pretrain one first: textgru train task=bilm; the one experiment=tweets_ulmfit "
        "reads: textgru train experiment=tweets_bilm hydra.run.dir=outputs/bilm/tweets)",
        null=True,
    ),
    "model.transfer": OneOf(("finetune", "features")),
    "model.feature_dropout": DROPOUT,
    "model.members": Int(1, 64, what="more: train runs apart, join them with textgru ensemble"),  # a review: 100000 ran
    "model.softmax": OneOf(("full", "adaptive")),
    "model.cutoffs": ListOf(Int(1), what="frequency-rank cutoffs of the adaptive softmax's clusters"),
    "model.div_value": Num(0, lo_open=True),
    "optimizer.lr": Num(0, lo_open=True, what="the learning rate"),
    "optimizer.weight_decay": Num(0),
    "optimizer.eps": Num(0, lo_open=True),
    "optimizer.betas": ListOf(Num(0, 1, hi_open=True), length=2),
    "optimizer.momentum": Num(0),
    "scheduler.warmup_ratio": Num(0, 1, hi_open=True),
    "scheduler.min_lr_ratio": Num(0, 1),
    "scheduler.pct_start": Num(0, 1, lo_open=True, hi_open=True),
    "scheduler.max_lr": Num(0, lo_open=True, null=True),
    "scheduler.cut_frac": Num(0, 1, lo_open=True, hi_open=True, what="share of the steps the lr rises"),
    "scheduler.ratio": Num(1, what="how many times smaller the lowest lr is than the peak"),
    "task.finetune.lr_decay": Num(1, what="each lower layer group's lr is the one above's / this; 1: one lr"),
    "task.finetune.gradual_unfreezing": Bool(),
    "task.finetune.unfreeze_epochs": Int(1, what="epochs per unfreezing stage"),
    "trainer.accelerator": OneOf(("auto", "cpu", "gpu", "cuda", "mps", "tpu")),
    "trainer.devices": AnyOf(
        (Int(1), OneOf((-1, "auto", "-1")), ListOf(Int(0)), Text(pattern=r"\d+(,\d*)*")),
        shape='a count >= 1, -1 or "auto" (all of them), or a list of device indices',
    ),
    "trainer.num_nodes": POSITIVE,
    "trainer.strategy": Named(STRATEGIES, usual=("auto", "ddp", "ddp_spawn", "fsdp", "deepspeed", "single_device")),
    "trainer.max_epochs": AnyOf((Int(1), OneOf((-1,))), shape="an integer >= 1, or -1 for no epoch limit", null=True),
    "trainer.min_epochs": Int(0, null=True),
    "trainer.min_steps": Int(1, null=True, what="at least this many steps: short epochs get more of them"),
    "trainer.max_steps": AnyOf((Int(1), OneOf((-1,))), shape="an integer >= 1, or -1 for no step limit"),
    "trainer.max_time": Duration(null=True),
    "trainer.val_check_interval": AnyOf(
        (Int(1), Num(0, 1, lo_open=True)), shape="training steps >= 1, or a share of an epoch in (0, 1]", null=True
    ),
    "trainer.gradient_clip_val": Num(0, null=True),
    "trainer.precision": OneOf(PRECISIONS),
    "trainer.log_every_n_steps": POSITIVE,
    "trainer.check_val_every_n_epoch": Int(1, null=True),
    "trainer.deterministic": AnyOf((Bool(), OneOf(("warn",))), shape="true, false or warn"),
    "trainer.use_distributed_sampler": Bool(),
    "trainer.enable_progress_bar": Bool(),
    "trainer.fast_dev_run": AnyOf((Bool(), Int(0)), shape="true, false or a number of batches"),
    "trainer.sync_batchnorm": Bool(),
    # Lightning's own keys, added with +trainer.X= (a review: 0 and abc were tracebacks from inside fit, a folder left)
    "trainer.accumulate_grad_batches": Int(1, what="training batches per optimizer step"),
    "trainer.num_sanity_val_steps": Int(-1, null=True, what="validation batches run before training; -1: all"),
    "trainer.overfit_batches": AnyOf((Int(0), Num(0, 1)), shape="a number of batches >= 0, or a share in [0, 1]"),
    "trainer.reload_dataloaders_every_n_epochs": Int(0),
    "trainer.gradient_clip_algorithm": OneOf(("norm", "value"), null=True),
    **{f"trainer.{k}": Bool(null=True) for k in ("enable_model_summary", "enable_checkpointing", "benchmark")},
    **{f"trainer.{k}": Bool() for k in ("detect_anomaly", "inference_mode", "barebones", "enable_autolog_hparams")},
    **{  # train 0 trains nothing: a "finished" run without a checkpoint; val or test 0, a traceback where the run is
        f"trainer.limit_{split}_batches": AnyOf(  # scored (a review: IndexError); validation picks the best checkpoint
            (Int(1), Num(0, 1, lo_open=True)), shape="a number of batches >= 1, or a share of them in (0, 1]", null=True
        )
        for split in ("train", "val", "test", "predict")
    },
    "callbacks.model_checkpoint.save_top_k": Int(-1),
    "callbacks.early_stopping.patience": Int(0, what="validations without improvement before stopping"),
    "callbacks.early_stopping.min_delta": Num(0),
    "callbacks.lr_monitor.logging_interval": OneOf(("step", "epoch"), null=True),
    "callbacks.checkpoint.every_n_minutes": Num(0, lo_open=True, null=True),
    "callbacks.checkpoint.every_n_steps": Int(1, null=True),
    "callbacks.model_summary.max_depth": Int(-1, what="-1 shows every layer, 0 none"),
    "logger.csv": Bool(),
    "logger.tensorboard": AnyOf((Bool(), OneOf(("auto",))), shape="true (required), false or auto (where installed)"),
    # logger=mlflow (whether a tracking server answers is checked when the run opens the store: textgru.mlflow_store)
    "logger.mlflow.tracking_uri": StoreUri(),
    "logger.mlflow.experiment_name": Text(pattern=r"(?s).{1,500}", shape="a non-empty text of at most 500 characters"),
    "logger.mlflow.run_name": Text(null=True),
    "logger.mlflow.artifact_location": ArtifactLocation(null=True),
    "logger.mlflow.log_checkpoint": Bool(),
    "logger.mlflow.tags": MapOf(
        AnyOf((Text(empty=True), Num(), Bool()), shape="a text, number or true/false"),
        reserved=("textgru.", "mlflow.parentRunId", "mlflow.runName"),  # a review: a parent that is not; run_name=
    ),
    # logger=wandb
    "logger.wandb.project": Text(pattern=r"[^/\\#?%:]+", shape="a project name without / \\ # ? % :"),
    "logger.wandb.entity": Text(null=True),
    "logger.wandb.run_name": Text(null=True),
    "logger.wandb.mode": OneOf(("offline", "online", "disabled")),
    "logger.wandb.tags": ListOf(Text()),
    "paths.output_dir": Folder(),
    "paths.cache_dir": Folder(),
    "hparams_search.study_name": Text(  # a review: 300 characters were OSError tracebacks, an empty folder left
        pattern=r"(?!\.\.?$)[^/\\]+",
        most_bytes=255,
        shape="a folder name of at most 255 bytes, without /, not . or .. (the study's folder)",
    ),
    "hparams_search.n_trials": POSITIVE,
    "hparams_search.direction": OneOf(("maximize", "minimize"), null=True),
    "hparams_search.sampler.seed": Int(0, 2**32 - 1, null=True),
    "hparams_search.sampler.n_startup_trials": Int(0, what="random trials before the sampler models the space"),
    "hparams_search.pruner.n_startup_trials": Int(0, what="trials run in full before any pruning"),
    "hparams_search.pruner.n_warmup_steps": Int(0, what="validations of a trial before it can be pruned"),
}
