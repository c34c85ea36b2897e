"""The rules for the keys of `textgru eval`, `predict`, `generate`, `export`, `ensemble`, `gradient-flow` and `serve`
(`textgru/conf/<command>.yaml`), and `RULES`: every config's table by config name (train's is
in `textgru.config_rules_train`). They state what is valid, never a default; `textgru.config_checks` applies them."""

from __future__ import annotations

from textgru.config_path_rules import Existing, File, Folder, NewFile
from textgru.config_rules import AnyOf, Bool, Int, IPAddress, ListOf, MapOf, Num, OneOf, Rule, Text, When
from textgru.config_rules_train import DATA, POSITIVE, TRAIN
from textgru.distributed import DEVICE_PATTERN
from textgru.inference.sampling_options import LARGEST_KNOB, MOST_SAMPLES, SMALLEST_KNOB
from textgru.serving.browser_guard import HOST_PATTERN, HOST_SHAPE

LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")  # uvicorn's (serve's log_level)

TORCH_SEED = (-(2**63), 2**64 - 1)  # what torch.Generator.manual_seed accepts
CHECKPOINT = Existing("a checkpoint: a run folder or its checkpoints/best.ckpt")
PRECISION = OneOf(("fp32", "bf16"))  # a classifier's: `Classifier.with_precision`
DEVICE = Text(pattern=DEVICE_PATTERN, shape="cpu, cuda, cuda:N or mps")  # `textgru.load(device=)`

EVAL: dict[str, Rule] = {
    "ckpt_path": CHECKPOINT,
    "split": OneOf(("train", "validation", "test", "all")),
    "output_dir": Folder(null=True),
    "batch_size": POSITIVE,
    "precision": PRECISION,
    "device": DEVICE,
    "overwrite": Bool(),
    **DATA,
    "paths.cache_dir": Folder(),
}

PREDICT: dict[str, Rule] = {
    "ckpt_path": CHECKPOINT,
    "input": File("a text file (.txt: a text a line, .csv, .tsv, .jsonl or .ndjson)", null=True),
    "text_column": Text(null=True),
    "output": NewFile(null=True),
    "overwrite": Bool(),
    "batch_size": POSITIVE,
    "top_k": Int(1, null=True, what="null: every label's probability"),
    "precision": PRECISION,
    "device": DEVICE,
}

GENERATE: dict[str, Rule] = {
    "ckpt_path": CHECKPOINT,
    "prompt_file": File("a text file", null=True),
    "max_new_tokens": Int(0),
    "temperature": When(  # the bounds SamplingOptions checks (the Python API's), so both say the same
        "greedy",
        {False: Num(SMALLEST_KNOB, LARGEST_KNOB, what="for the most likely token every time use greedy=true")},
    ),
    "top_k": Int(0, what="0 turns it off"),
    "top_p": Num(SMALLEST_KNOB, 1, what="1 turns it off"),
    "repetition_penalty": Num(SMALLEST_KNOB, LARGEST_KNOB, what="1 turns it off"),
    "num_samples": Int(1, MOST_SAMPLES, what="they run as one batch; for more, call again with other seeds"),
    "seed": Int(*TORCH_SEED, null=True),
    "stop": AnyOf(  # " " (a word) and "\n" (a line) are stops; "" would end every sample before it starts
        (Text(empty=True, pattern=r"(?s).+"), ListOf(Text(empty=True, pattern=r"(?s).+"))),
        shape="a non-empty text or a list of them (a number or true as text is quoted: 'stop=\"5\"')",
        null=True,
    ),
    "greedy": Bool(),
    "allow_unknown": Bool(),
    "output": NewFile(null=True),
    "overwrite": Bool(),
    "device": DEVICE,
}

EXPORT: dict[str, Rule] = {
    "ckpt_path": CHECKPOINT,
    "format": OneOf(("onnx",)),
    "output": Folder(),
    "overwrite": Bool(),
}

ENSEMBLE: dict[str, Rule] = {
    "ckpt_paths": Existing("classifier checkpoints: run folders or .ckpt files", many=True),
    "output": NewFile(example="ensemble.ckpt"),
    "overwrite": Bool(),
}

GRADIENT_FLOW: dict[str, Rule] = {
    "seq_len": Int(4),
    "hidden_size": POSITIVE,
    "steps": Int(0),
    "batch_size": POSITIVE,
    "lr": Num(0, lo_open=True),
    "eval_size": POSITIVE,
    "tolerance": Num(0, lo_open=True),
    "seed": Int(TORCH_SEED[0], TORCH_SEED[1] - 1),  # the test data's generator takes seed + 1
    "paths.output_dir": Folder(),
    "task.name": OneOf(("gradient_flow",), what="names the run folder under paths.output_dir"),  # a review: ../../x
}

MIN_BODY_BYTES = 1_000  # a smaller limits.max_body_bytes refuses ordinary requests (a review: 10 was accepted)
MOST_THREADS = 1024  # build_server's bound too (a review: threads=100000 was a segfault, from Python too)
SPLIT_ROWS = AnyOf(  # build_server's rule too (a review: 1 cut a 1-row step into 0 and 1 rows; onnxruntime aborted)
    (OneOf((0,)), Int(2)), shape="0 (never split a model call in two halves) or an integer >= 2 (one row has no halves)"
)
ROOT_PATH = r"(/[^/\s?#]+)*"  # a proxy's prefix, no / at its end; serve()'s check too (a review: unchecked there)
ROOT_PATH_SHAPE = '"" or a path prefix such as /textgru (no / at its end)'
SERVE: dict[str, Rule] = {
    "classifier": Existing("a task=sentiment run folder or its .ckpt", null=True),
    "lm": Existing("a task=lm run folder or its .ckpt", null=True),
    "host": IPAddress(what="127.0.0.1 or ::1: this machine only; 0.0.0.0 or ::: every interface"),
    "root_path": Text(empty=True, pattern=ROOT_PATH, shape=ROOT_PATH_SHAPE),
    "port": AnyOf((OneOf((0,)), Int(1024, 65535)), shape="0 (a free port) or an integer in [1024, 65535]"),
    "max_batch_size": Int(1, what="1 turns batching off"),
    "batch_timeout": Num(0, what="seconds a batch waits to fill"),
    "inner_batch_size": POSITIVE,
    "timeout": Num(0, lo_open=True, what="seconds a request may wait"),
    "threads": Int(1, MOST_THREADS, null=True, what="null: torch's default"),
    "split_rows": SPLIT_ROWS,
    "fast_lane": Bool(),
    "precision": PRECISION,
    "device": Text(pattern=r"(?i)cpu(:0)?", shape="cpu (textgru serve runs on the CPU for now)"),
    "log_level": OneOf(LOG_LEVELS),
    "request_read_timeout": Num(0, lo_open=True, what="seconds a request may take to arrive"),
    "limit_concurrency": Int(1, what="connections at once"),
    "allowed_hosts": ListOf(
        Text(pattern=HOST_PATTERN, shape=HOST_SHAPE),
        null=True,
        what="names answered besides 127.0.0.1, localhost, ::1; [*]: any",
    ),
    **{f"limits.{key}": POSITIVE for key in ("max_texts", "max_chars", "max_new_tokens", "max_streams")},
    "limits.max_body_bytes": Int(MIN_BODY_BYTES, what="bytes; fewer refuse ordinary requests"),
    "limits.max_num_samples": Int(1, MOST_SAMPLES, what="the most a request can draw: one batch"),  # a review
    "limits": MapOf(POSITIVE),  # after its keys, which say which one is wrong; a review: limits=5 was a traceback
}

# config name (textgru/conf/<name>.yaml) -> its table; `textgru tune` composes train.yaml
RULES: dict[str, dict[str, Rule]] = {
    "train": TRAIN,
    "eval": EVAL,
    "predict": PREDICT,
    "generate": GENERATE,
    "export": EXPORT,
    "ensemble": ENSEMBLE,
    "gradient_flow": GRADIENT_FLOW,
    "serve": SERVE,
}
