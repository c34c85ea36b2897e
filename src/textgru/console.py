"""What the terminal shows: one `error:` line for bad input, textgru's own log lines (library notices and warnings
stay in the run's `train.log`), and the closing summary of a run."""

from __future__ import annotations

import logging
import os
import re
import shlex
import signal
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from textgru.terminal_text import escaped_controls

CONSOLE_FORMAT = "[%(asctime)s] %(message)s"
FILE_FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"
# loggers whose INFO lines are library notices (model summaries, device notices, tips): the log file keeps them
LIBRARY_LOGGERS = tuple(
    "lightning lightning.pytorch lightning.fabric lightning_fabric pytorch_lightning optuna".split()
)


def exit_now(code: int = 0) -> NoReturn:
    """End the process at once, its logs and output flushed: once a server has shut down, the interpreter's teardown
    (torch, the tokenizers) took 1-2.5 s more (a review measured Ctrl+C's exit at 1.3-2.6 s, SIGTERM's at 0.2 s)."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe; a stream the shell closed (None)
            pass
    os._exit(code)


def fail(message: str, code: int = 2, say: bool = True) -> NoReturn:
    """One line on stderr (a file's control characters escaped) and a non-zero exit: the house style for bad input.
    `say=False`: the exit only (a rank but zero of a data-parallel run, stopped as every rank was: zero says it)."""
    if say:
        print(f"error: {escaped_controls(message)}", file=sys.stderr, flush=True)
    sys.exit(code)


def live_output() -> str | None:
    """Where a live progress bar is drawn: "terminal" (stdout is one), "notebook" (a Jupyter kernel: its stdout is no
    terminal, yet a text bar updated in place shows; `textgru.train` there showed nothing until the run ended), or
    None (a file or pipe, or a dumb terminal: a batch job's log, an Emacs shell get epoch lines instead)."""
    # TERM dumb or unknown: rich's dumb terminal, where its bar is never redrawn (a review: TERM=dumb on a terminal
    # showed nothing while training, then one bar wrapped over 9 lines)
    dumb = os.environ.get("TERM", "").lower() in ("dumb", "unknown")
    if sys.stdout is not None and sys.stdout.isatty() and not dumb:
        return "terminal"
    ipython = sys.modules.get("IPython")  # never imported here: only a session that runs in IPython has it
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return "notebook" if type(shell).__name__ == "ZMQInteractiveShell" else None  # a kernel, not IPython's terminal


def utf8_output() -> None:
    """Output to a file or pipe is UTF-8 whatever the locale says (a Windows redirect is cp1252: a tweet's emoji
    stopped `textgru predict > out.jsonl` after its first lines with a traceback); a terminal that cannot show a
    character shows a replacement instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        if stream is None or not hasattr(stream, "reconfigure"):
            continue
        if stream.isatty():
            stream.reconfigure(errors="replace")
        elif (stream.encoding or "").lower().replace("-", "").replace("_", "") != "utf8":
            stream.reconfigure(encoding="utf-8")


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def sigterm_as_ctrl_c() -> None:
    """From now on SIGTERM raises KeyboardInterrupt, as Ctrl+C does, so that a command's `finally` blocks remove
    what it was writing aside (by default SIGTERM ends the process at once and leaves it behind)."""
    signal.signal(signal.SIGTERM, _interrupt)


PLAIN_VALUE = re.compile(r"[A-Za-z0-9_./-]+")


def command_arg(key: str, value: object, literal: bool = True) -> str:
    """`key=value` as the line a command prints for the user to run: as it is for a plain path; otherwise in Hydra's
    double quotes (a space, a non-ASCII letter, a comma or `=` would stop Hydra's parser) and then the shell's.
    `literal`: a `${` in it is text (a path's, a file's: a review), not an interpolation (one the user typed)."""
    text = str(value)
    if PLAIN_VALUE.fullmatch(text):
        return f"{key}={text}"
    text = hydra_literal(text) if literal else text
    return shlex.quote(f"{key}={hydra_quoted(text)}")


def hydra_literal(text: str) -> str:
    """`text` with each `${` written `\\${`, which Hydra reads as text, not as an interpolation."""
    return text.replace("${", "\\${")


def hydra_quoted(text: str) -> str:
    """`text` in Hydra's double quotes, with Hydra's escapes: a quote gets a backslash, and backslashes are doubled
    only before a quote (or the closing one)."""
    escaped = re.sub(r'(\\*)("|$)', lambda m: m.group(1) * 2 + ("\\" + m.group(2) if m.group(2) else ""), text)
    return f'"{escaped}"'


class ConsoleFilter(logging.Filter):
    """textgru's own lines, and other libraries' from `library_level` up: errors in a training run (its log file
    keeps their warnings, Python's through `logging.captureWarnings`, and notices), warnings too where stderr is all
    (conf/hydra/job_logging/stderr.yaml); never a library's notice (datasets' "JAX version ... available.")."""

    def __init__(self, library_level: int = logging.ERROR) -> None:
        super().__init__()
        self.library_level = library_level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name == "textgru" or record.name.startswith("textgru."):
            return getattr(record, "console", True)  # `extra={"console": False}`: the log file only
        return record.levelno >= self.library_level


def route_library_logs() -> None:
    """Each line once: libraries' loggers hand their lines to the root handlers (console filter, log file) instead
    of printing them through handlers of their own; Python warnings become log records (file only)."""
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")  # MLflow, imported later, gives its own handler none
    for name in LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        for handler in list(logger.handlers):
            if isinstance(handler, logging.StreamHandler) and not isinstance(handler, logging.FileHandler):
                logger.removeHandler(handler)
        logger.propagate = True
    logging.captureWarnings(True)


def log_to(console: bool, file: Path | None, level: int = logging.INFO) -> None:
    """Root logging for runs started without Hydra's logging config (`resume=`): the filtered console on stderr
    and every line in `file` (appended)."""
    handlers: list[logging.Handler] = []
    if console:
        stream = logging.StreamHandler(sys.stderr)
        stream.setFormatter(logging.Formatter(CONSOLE_FORMAT, datefmt="%H:%M:%S"))
        stream.addFilter(ConsoleFilter())
        handlers.append(stream)
    if file is not None:
        to_file = logging.FileHandler(file, encoding="utf-8")
        to_file.setFormatter(logging.Formatter(FILE_FORMAT))
        handlers.append(to_file)
    logging.basicConfig(level=level, handlers=handlers, force=True)
    route_library_logs()


def run_summary(task: str, metrics: Mapping[str, Any], run_dir: Path, next_commands: Sequence[str]) -> str:
    """The closing lines of a run: its test metrics as a small table, where it is, and what to run next."""
    rows = [(k, v) for k, v in metrics.items() if k.startswith("test/")]
    width = max((len(k) for k, _ in rows), default=8)
    took = f"{metrics.get('train_seconds', float('nan')):.0f} s of training"
    if metrics.get("stopped_by") == "max_time":  # the default config caps training time: say the run was cut short
        head = f"task={task} stopped by trainer.max_time after {took} (step {metrics.get('global_step')}), short of its plan"
        next_commands = [
            f"textgru train {command_arg('resume', run_dir)} trainer.max_time=null   # train on",
            *next_commands,
        ]
    else:
        head = f"task={task} finished in {took}"
    lines = [head, ""]
    lines += [f"  {k:<{width}}  {v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"  {k:<{width}}  {v:.4g}" for k, v in rows]
    lines += ["", f"run folder: {run_dir}"]
    if next_commands:
        lines += ["next:", *(f"  {c}" for c in next_commands)]
    return "\n".join(lines)


def command_usage(commands: Mapping[str, str]) -> str:
    """`textgru --help`: the commands (name: what it does), how to call them, examples."""
    from textgru import __version__

    width = max(map(len, commands))
    lines = [
        f"textgru {__version__}: GRU text models (classification, language models, forecasting)",
        "",
        "usage: textgru <command> [key=value ...]     (Hydra overrides; -m for sweeps)",
        "       textgru <command> --help              (the command's config groups and options)",
        "       textgru <command> --cfg job           (the composed config, without running)",
        "",
        "commands:",
        *(f"  {name:<{width}}  {what}" for name, what in commands.items()),
        "",
        "examples:",
        "  textgru train task=sentiment",
        "  textgru train task=lm trainer.max_steps=600",
        "  textgru predict ckpt_path=outputs/sentiment/<date>/<time> text='what a lovely day'",
        "",
        "Your own configs: put conf/<group>/<name>.yaml beside you (or pass --config-dir DIR), e.g. "
        "conf/experiment/mine.yaml, then textgru train experiment=mine.",
    ]
    return "\n".join(lines)


def print_run_summary(task: str, metrics: dict[str, Any], run: Any) -> None:
    """A finished run's closing lines: its test metrics, its folder and what to run next with its best checkpoint
    (none where `callbacks.model_checkpoint=null` kept none: a review's resume named a stale one)."""
    from textgru.tasks import task_module

    after = task_module(task).next_commands(run) if run.best_checkpoint.exists() else []
    print(run_summary(task, metrics, run.path, after), flush=True)
