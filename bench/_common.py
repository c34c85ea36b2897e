"""What every benchmark in bench/ shares: the machine a result was measured on (CPU model, cores, torch version and
threads, Python, load average), min/median/max of repeated measurements, and the JSON writer that stores both with
the command line that reproduces the result (`cd <folder> && ...` when it ran outside the repository root, so that
relative paths in it mean what they meant). `--out` and `--overwrite` (`add_out_argument`, `parse_args`): an existing
file is replaced only with `--overwrite`, and always whole (written beside it, then renamed).

Timings on a shared machine vary with other load: compare ratios measured in one run with the methods interleaved,
and read the load averages stored with each result (`machine.load_average_start` / `_end`).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

RESULTS = Path(__file__).resolve().parent / "results"
_LOAD_AT_START = os.getloadavg() if hasattr(os, "getloadavg") else None
_STARTED = time.time()


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo on Linux, else what `platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def bf16_flags() -> list[str]:
    """The CPU's bfloat16 instruction sets Linux reports (amx_bf16: Intel AMX; avx512_bf16: Intel Cooper Lake on,
    AMD Zen 4 on); empty without them or off Linux. `precision=bf16` pays only with one of them."""
    try:
        flags = next(x for x in Path("/proc/cpuinfo").read_text().splitlines() if x.startswith("flags")).split()
    except (OSError, StopIteration):
        return []
    return sorted({f for f in flags if f in ("amx_bf16", "avx512_bf16")})


def machine() -> dict[str, Any]:
    """The machine and software a result was measured on, and the load average when the benchmark started and now
    (1, 5 and 15 minutes; above the number of cores means other work competed for them)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu_model": cpu_model(),
        "bf16_flags": bf16_flags(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "torch_interop_threads": torch.get_num_interop_threads(),
        "cuda": torch.cuda.is_available(),
        "gpu": torch.cuda.get_device_name() if torch.cuda.is_initialized() else None,  # the one `use_device` set
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_start": list(_LOAD_AT_START) if _LOAD_AT_START else None,
        "load_average_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "wall_seconds": round(time.time() - _STARTED, 1),
    }


def machine_line() -> str:
    """One line for a table's caption."""
    m = machine()
    line = f"{m['cpu_model']}, {m['usable_cores']} cores, torch {m['torch']} ({m['torch_threads']} thread{'s' if m['torch_threads'] != 1 else ''}), Python {m['python']}"
    line += f", {m['gpu']}" if m["gpu"] else ""
    load = m["load_average_start"]
    return line + (f", load average at start {load[0]:.1f}" if load else "")


def summary(values: Sequence[float]) -> dict[str, Any]:
    """min / median / max (and every value, in the order measured) of repeated measurements."""
    vals = [float(v) for v in values]
    return {"min": min(vals), "median": statistics.median(vals), "max": max(vals), "n": len(vals), "values": vals}


def fmt(s: dict[str, Any], spec: str = ",.0f") -> str:
    """`median (min-max)` of a `summary`."""
    return f"{s['median']:{spec}} ({s['min']:{spec}}-{s['max']:{spec}})"


def command() -> str:
    """The command line that ran this benchmark. Run from the repository root: `python bench/<script> ...`. Run from
    elsewhere: `cd <that folder> && python ...` as typed, since its other arguments (--ckpt ../run, --out x.json) are
    relative to that folder (a review: the script path alone was rebased to the root, so the command named other
    files when run from there)."""
    argv = list(sys.argv)
    here, root = Path.cwd().resolve(), Path(__file__).resolve().parents[1]
    if here != root:
        return f"cd {shlex.quote(str(here))} && python {shlex.join(argv)}"
    try:
        argv[0] = str(Path(argv[0]).resolve().relative_to(root))
    except ValueError:
        pass
    return "python " + shlex.join(argv)


def write_file(path: str | os.PathLike[str], write: Callable[[Path], object]) -> Path:
    """`write(tmp)` to a temporary file beside `path` (its suffix kept), then renamed over `path`: a crash mid-write
    leaves the old file or none, never half of one (a review). Makes the folder."""
    from textgru.atomic_files import written_atomically

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    with written_atomically(out) as tmp:
        write(tmp)
    return out


def write_result(path: str | os.PathLike[str], payload: dict[str, Any]) -> Path:
    """Write `payload` as JSON with `machine` and `command` added (whole: `write_file`); returns the path. A `machine`
    dict in `payload` (facts only the script knows, e.g. the server's HTTP stack) is merged into `machine()`."""
    payload = dict(payload)
    about = {**machine(), **payload.pop("machine", {})}
    text = json.dumps({"command": command(), "machine": about, **payload}, indent=2) + "\n"
    out = write_file(path, lambda tmp: tmp.write_text(text))
    print(f"wrote {out}")
    return out


def add_out_argument(parser: argparse.ArgumentParser, name: str) -> None:
    """`--out` (default `bench/results/<name>`, checked by `out_path`) and `--overwrite`; `parse_args` refuses an
    existing `--out` without it."""
    parser.add_argument(
        "--out", type=out_path, default=str(RESULTS / name), help=f"the JSON to write ({name} in bench/results)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out file (else refused)")


def parse_args(parser: argparse.ArgumentParser, beside: Sequence[str] = ()) -> argparse.Namespace:
    """`parser.parse_args()`, then one `error:` line (exit 2, before anything is measured) when `--out`, or a file
    written beside it with a suffix in `beside` (learning_curve.py's .png), exists and `--overwrite` was not given
    (a review: any file there, a user's data too, was replaced without a word)."""
    args = parser.parse_args()
    check_out(parser, args, beside)
    return args


def check_out(parser: argparse.ArgumentParser, args: argparse.Namespace, beside: Sequence[str] = ()) -> None:
    """`parse_args`'s check of `args.out` (and the files beside it), for a script that checks something first."""
    out = Path(args.out)
    for path in (out, *(out.with_suffix(s) for s in beside)):
        if not args.overwrite and (path.exists() or path.is_symlink()):
            parser.error(f"{path} exists; pass --overwrite to replace it, or give another --out")


def description(doc: str | None) -> str:
    """A script's `--help` description: its docstring's first paragraph, its lines joined (argparse wraps it again; a
    review: the first line of a wrapped docstring stopped mid-sentence, "...wrote (bench/results/*.json; never the")."""
    return " ".join((doc or "").split("\n\n")[0].split())


def int_at_least(text: str, least: int, why: str = "") -> int:
    """argparse `type=` body: an int of at least `least` (`why`: the reason, added to the refusal)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid int value: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least}, got {value}" + (f" ({why})" if why else ""))
    return value


def positive_int(text: str) -> int:
    """argparse `type=` for counts (--repeats, --texts, --steps ...): an int of at least 1, else one `error:` line
    and exit 2 before anything is measured."""
    return int_at_least(text, 1)


def non_negative_int(text: str) -> int:
    """argparse `type=` for counts that may be 0 (e.g. untimed warm-up steps)."""
    return int_at_least(text, 0)


def positive_float(text: str) -> float:
    """argparse `type=` for seconds and other amounts (--max-seconds, --timeout, --C): a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid float value: {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a number above 0, got {text}")
    return value


def out_path(text: str) -> str:
    """argparse `type=` for `--out`: a file `write_result` can write (not a folder; its folder exists or can be
    made, and a file can be made in it), checked before anything is measured rather than after. Whether it may
    replace an existing file is `parse_args`'s check (`--overwrite`)."""
    path = Path(text)
    if text.endswith(("/", os.sep)):  # a review: a folder not made yet was written as a file of its name
        raise argparse.ArgumentTypeError(f"{text} ends in /, a folder; give a file name (e.g. {path / 'result.json'})")
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name (e.g. {path / 'result.json'})")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:  # the nearest that exists: write_result makes the rest
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"{folder} is a file, not a folder, so {text} cannot be written")
    # written for real, not asked of os.access: root is granted everything, and /proc or a read-only mount still
    # refused the file after the whole measurement (a review). A file made in the folder, as `write_file` makes one
    # there and renames it over `text`
    try:
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".out-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise argparse.ArgumentTypeError(
            f"cannot write {text}: no file can be made in {folder} ({e.strerror})"
        ) from None
    return text


def run_main(main: Callable[[], None]) -> None:
    """Run a script's `main`; textgru's own errors (a missing checkpoint, a classifier where a language model is
    needed) end it with one `error:` line and exit code 2 instead of a traceback."""
    from textgru.errors import TextgruError

    try:
        main()
    except TextgruError as e:
        print(f"error: {e}", file=sys.stderr)
        raise SystemExit(2) from None


def device_argument(value: str) -> str:
    """argparse `type=` for `--device`: cpu, cuda, cuda:N or mps, checked as the commands check it (one `error:` line
    for cuda on a machine without a GPU)."""
    from textgru.distributed import check_device
    from textgru.errors import TextgruError

    try:
        check_device(value)
    except TextgruError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return value


def set_up(threads: int | None, device: str) -> None:
    """`--threads` (`set_threads`), and a `--device cuda:N` made the current GPU: `torch.cuda.synchronize()` waits for
    it, and the JSON names it."""
    set_threads(threads)
    if device.startswith("cuda"):
        torch.cuda.set_device(torch.device(device))


def set_threads(threads: int | None) -> None:
    """`torch.set_num_threads(threads)` when given (the default is torch's: one per core)."""
    if threads:
        torch.set_num_threads(threads)
