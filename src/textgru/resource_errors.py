"""The machine failing under a command (a full disk, a file-size limit, a read-only file system, memory) said in one
line with what to do, as a `TextgruError`, instead of a traceback: these are neither bugs nor bad input. Files being
written when it happened are written aside and renamed into place (`atomic_files`), so none is left half-written.
Standard output failing has its own line (`standard_output.pipe_closed_quietly`); a permission refused is left to the checks
that know whether a file was read or written."""

from __future__ import annotations

import contextlib
import errno
import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError
from textgru.standard_output import StdoutFailed

NO_ROOM = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "a file grew past the file-size limit (ulimit -f)",
}
NOT_WRITABLE = {errno.EROFS: "the file system is read-only"}
OS_ERROR_IN_TEXT = re.compile(r"\(os error (\d+)\)")  # how the tokenizers library (Rust) reports one
CHECKPOINT_WRITE = re.compile(r"PytorchStreamWriter|unexpected pos \d+ vs \d+")  # torch.save's write failing
TORCH_OUT_OF_MEMORY = re.compile(r"DefaultCPUAllocator: can't allocate memory|CUDA out of memory|OutOfMemoryError")


def resource_problem(e: BaseException) -> str | None:
    """One line for `e` (or an error it was raised `from`) when the machine's resources failed, else None. An error
    raised while handling one (`__context__`) is not followed: that is a bug's, with its own traceback."""
    seen: set[int] = set()
    while e is not None and id(e) not in seen and not isinstance(e, StdoutFailed):
        seen.add(id(e))
        if isinstance(e, MemoryError) or (
            isinstance(e, RuntimeError) and TORCH_OUT_OF_MEMORY.search(f"{type(e).__name__}: {e}")
        ):
            return "out of memory; free memory, or use less data or a smaller batch_size, and run again"
        code = e.errno if isinstance(e, OSError) else None
        found = OS_ERROR_IN_TEXT.search(str(e)) if code is None else None
        code = int(found.group(1)) if found else code
        where = f" ({e.filename})" if isinstance(e, OSError) and e.filename else ""
        if code in NO_ROOM:
            return f"{NO_ROOM[code]}{where}; free space (or raise the limit) and run again"
        if code in NOT_WRITABLE:
            return f"{NOT_WRITABLE[code]}{where}; choose a folder you can write to"
        if (
            isinstance(e, RuntimeError)
            and CHECKPOINT_WRITE.search(str(e))
            and not isinstance(e.__context__, KeyboardInterrupt)
        ):
            return "a checkpoint could not be written whole (a full disk or a file-size limit?); free space, run again"
        e = e.__cause__  # type: ignore[assignment]
    return None


def run_naming_hydra_writes(app: Callable[[], Any]) -> Any:
    """`app()`, Hydra's app for a command, where Hydra's own writes as the run starts (`.hydra/*.yaml`) failing for
    the machine's resources are one line naming the file (exit 2), and the run folder made for them is taken away (a
    review: a full disk was Hydra's traceback, exit 1, leaving an empty .hydra/config.yaml and train.log)."""
    import hydra.core.utils as hydra_utils

    from textgru.console import fail
    from textgru.unstarted_runs import remove_unstarted_hydra_run

    save = getattr(hydra_utils, "_save_config", None)  # Hydra's private helper: where it is gone, Hydra's own way
    if save is None:
        return app()

    def saved(cfg: Any, filename: str, output_dir: Path) -> None:
        try:
            save(cfg, filename, output_dir)
        except OSError as e:  # (raised on, Hydra's app prints its traceback, exit 1; its write at close names no file)
            e.filename = e.filename or str(output_dir / filename)
            if (problem := resource_problem(e)) is None or os.environ.get("HYDRA_FULL_ERROR") == "1":
                raise
            remove_unstarted_hydra_run()
            fail(problem)

    hydra_utils._save_config = saved
    try:
        return app()
    finally:
        hydra_utils._save_config = save


PATCHED: set[logging.Handler] = set()  # log files whose write failures a `resource_failures_named` block handles


class ResourceFailure(TextgruError):
    """The one line for a failure of the machine's resources (said once: an outer block keeps an inner one's)."""


@contextlib.contextmanager
def resource_failures_named(then: Callable[[], str] = str) -> Iterator[None]:
    """Within the block, an error of the machine's resources becomes a `TextgruError` of one line, with `then()`
    added (what to run once it is mended, as things stand when it failed)."""
    loggers = (logging.getLogger(), logging.getLogger("textgru"))  # train.log, tune.log; the Python API's train.log
    files = [h for lg in loggers for h in lg.handlers if isinstance(h, logging.FileHandler) and h not in PATCHED]
    own = {h: vars(h)["handleError"] for h in files if "handleError" in vars(h)}  # a user's own, put back after
    for handler in files:  # an outer block's (the command's) stays until that block ends
        PATCHED.add(handler)
        handler.handleError = functools.partial(_log_file_failed, handler, own.get(handler))  # type: ignore
    try:
        yield
    except ResourceFailure:
        raise
    except Exception as e:  # also a TextgruError raised from one ("could not read x.csv: [Errno 27] File too large")
        problem = resource_problem(e)
        if problem is None:
            raise
        raise ResourceFailure(problem + then()) from e
    finally:
        for handler in files:
            PATCHED.discard(handler)
            vars(handler).pop("handleError", None)
            if handler in own:
                handler.handleError = own[handler]  # type: ignore[method-assign]


def _log_file_failed(
    handler: logging.FileHandler, own: Callable[[logging.LogRecord], None] | None, record: logging.LogRecord
) -> None:
    """A log file that cannot be written (a full disk, `ulimit -f` reached by tune.log) stops the command at that log
    call, naming the file, and is written no more (`logging` printed a traceback for each of its lines, and the
    command went on to exit 0 without them); any other failure is `logging`'s to report."""
    e = sys.exc_info()[1]
    if not isinstance(e, OSError) or resource_problem(e) is None:  # the handler's own way (a user's hook too)
        (own or functools.partial(logging.FileHandler.handleError, handler))(record)
        return
    for lg in (logging.getLogger(), logging.getLogger("textgru")):
        lg.removeHandler(handler)
    with contextlib.suppress(OSError):
        handler.close()
    raise OSError(e.errno, e.strerror, handler.baseFilename) from e
