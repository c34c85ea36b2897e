"""A sweep's jobs as the rows of its summary: each job folder's overrides, status and metrics, and the jobs a stopped
sweep never started, read back from its `multirun.yaml` (a review: they vanished, and the summary read as a whole
sweep)."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import yaml

from textgru.console import command_arg
from textgru.errors import TextgruError
from textgru.run_folder import RunFolder

FAILED_SWEEP_JOBS: dict[str, str] = {}  # jobs of this process's `-m` sweep that failed: summary row -> folder


def note_failed_sweep_job(hydra: Any) -> None:
    """The running sweep job failed: its name as its summary row has it (its path in the sweep folder), and its
    folder as the sweep's is named, for the command's last line (a review: it said `0`, not the folder `sweep/0`)."""
    job, sweep = Path(hydra.runtime.output_dir).absolute(), Path(hydra.sweep.dir)
    inside = job.is_relative_to(sweep.absolute())
    name = job.relative_to(sweep.absolute()).as_posix() if inside else job.name
    FAILED_SWEEP_JOBS[name] = str(sweep / name if inside else job)


def run_row(run_dir: Path, overrides: dict[str, Any], name: str | None = None, failed: Any = ()) -> dict[str, Any]:
    """One run's row: its folder (`name`: its path in the sweep folder, default its name), its overrides, and the
    metrics of its `metrics.json` (`status`: finished, failed (an error, refused values included: its train.log says
    which; `failed`: such jobs' names, beside a `-m` sweep's `FAILED_SWEEP_JOBS`) or unfinished (stopped))."""
    name = name or run_dir.name
    metrics_file = RunFolder(run_dir).metrics
    metrics = json.loads(metrics_file.read_text()) if metrics_file.is_file() else {}
    status = "finished" if metrics else "failed" if name in FAILED_SWEEP_JOBS or name in failed else "unfinished"
    return {"run": name, **overrides, "status": status, **metrics}


def sweep_of(run_dir: Path) -> Path | None:
    """The `-m` sweep folder (the nearest folder above `run_dir` holding Hydra's multirun.yaml) whose job `run_dir`
    is, or None."""
    sweep = _nearest_sweep(run_dir)
    return sweep if sweep is not None and is_job_of(run_dir, sweep) else None


def _nearest_sweep(run_dir: Path) -> Path | None:
    return next((p for p in run_dir.parents if (p / "multirun.yaml").is_file()), None)


def is_job_of(run_dir: Path, sweep_dir: Path) -> bool:
    """Whether `run_dir` is a job folder of the sweep in `sweep_dir`: a number right under it (hydra.sweep.subdir's
    ${hydra.job.num}, and the folder `textgru.sweep()` gives a job), or a folder its own multirun made (a subdir of
    one's own: `.hydra/hydra.yaml` says MULTIRUN), or the run a stopped sweep's line started (`hydra.job.num=` given:
    a review: in `job2`, its subdir's, it was none), no other sweep's folder between. A review: a single run in
    sweep/extra or sweep/0/nested joined its MLflow parent, and rewrote its summary, a row."""
    if run_dir.parent == sweep_dir and run_dir.name.isdigit():
        return True
    try:
        hydra = yaml.safe_load(RunFolder(run_dir).hydra_config.read_text())["hydra"]
        numbered = isinstance((hydra.get("job") or {}).get("num"), int)  # a single run's is ??? (MISSING)
    except (OSError, yaml.YAMLError, KeyError, TypeError, AttributeError):
        return False
    return (hydra.get("mode") == "MULTIRUN" or numbered) and _nearest_sweep(run_dir) == sweep_dir


def job_folders(sweep_dir: Path) -> list[Path]:
    """The job folders of the Hydra multirun in `sweep_dir` (each holds `.hydra/overrides.yaml`), at any depth, the
    numbered ones first, in order; a single run in its folder (sweep/extra) is none of them."""
    found = [f.parent.parent for f in sweep_dir.rglob(".hydra/overrides.yaml")]
    jobs = [run_dir for run_dir in found if is_job_of(run_dir, sweep_dir)]
    return sorted(jobs, key=lambda j: (not j.name.isdigit(), int(j.name) if j.name.isdigit() else 0, j.as_posix()))


def refuse_sweep_folder(folder: Path) -> None:
    """One line where `folder`, given as a run's, is a `-m` sweep's (its multirun.yaml): one of its jobs is resumed
    (a review: it "has no config.yaml, so it is not a textgru run folder")."""
    if not (folder / "multirun.yaml").is_file():
        return
    if not (jobs := job_folders(folder)):
        raise TextgruError(f"{folder} is a -m sweep's folder, not a run's, and holds no job's folder yet")
    shown = ", ".join(j.relative_to(folder).as_posix() for j in jobs[:3]) + (" ..." if len(jobs) > 3 else "")
    raise TextgruError(
        f"{folder} is a -m sweep's folder, not a run's: resume one of its jobs, as {command_arg('resume', jobs[0])} "
        f"(its jobs: {shown})"
    )


def hydra_sweep_rows(sweep_dir: Path, failed: Any = (), planned: list[list[str]] | None = None) -> list[dict[str, Any]]:
    """A row for every job folder of a Hydra multirun (each holds `.hydra/overrides.yaml`), at any depth (a review:
    `hydra.sweep.subdir=seed_${seed}/run`, or an override_dirname naming a path, made no summary at all). `failed`
    and `planned` (the jobs' overrides): what `textgru.sweep()` knows, where no Hydra app ran (`stopped_sweep_rows`)."""
    rows, ran, failed = [], [], [*failed, *_failed_before(sweep_dir)]
    for overrides_file in sorted(sweep_dir.rglob(".hydra/overrides.yaml")):
        run_dir = overrides_file.parent.parent
        if not is_job_of(run_dir, sweep_dir):  # a single run in its folder (sweep/extra) is none of its rows
            continue
        ran.append([str(o) for o in yaml.safe_load(overrides_file.read_text()) or []])
        rows.append(run_row(run_dir, _values(ran[-1]), run_dir.relative_to(sweep_dir).as_posix(), failed))
    rows.sort(key=lambda r: int(r["run"]) if str(r["run"]).isdigit() else 0)
    for job in not_started(sweep_dir, ran, planned) if rows else []:  # a stopped sweep's rest, from multirun.yaml
        rows.append({"run": "-", **_values(job), "status": "not started"})
    return rows


def _failed_before(sweep_dir: Path) -> list[str]:
    """The jobs the sweep's summary.csv says failed whose folders nothing was written in since: failed still, where
    another process rewrites it (a review: a job's resume made a failed one "unfinished", which says resume it, and
    resuming it is refused); a run in such a folder since is summarised by what it left."""
    summary = sweep_dir / "summary.csv"
    try:
        with summary.open(encoding="utf-8", newline="") as f:
            written, rows = summary.stat().st_mtime_ns, list(csv.DictReader(f))
    except (OSError, csv.Error, UnicodeDecodeError):  # none yet, or unreadable: only what this process knows
        return []
    failed = [r["run"] for r in rows if r.get("status") == "failed" and r.get("run") not in (None, "", "-")]
    return [name for name in failed if _unchanged_since(sweep_dir / name, written)]


def _unchanged_since(folder: Path, written: int) -> bool:
    try:
        return all(p.stat().st_mtime_ns <= written for p in (folder, *folder.rglob("*")))
    except OSError:
        return False


def stopped_sweep_rows(sweep_dir: Path, jobs: list[list[str]], at: int, failed: bool) -> list[dict[str, Any]]:
    """The rows of a `textgru.sweep()` (no Hydra app, no multirun.yaml) that ended in job `at` (`jobs`: every job's
    overrides): that job failed (its row though it left no folder) or unfinished (stopped), the jobs after it not
    started (a review: the failed job read "unfinished", and those after it were missing)."""
    rows = hydra_sweep_rows(sweep_dir, [str(at)] if failed else [], jobs[:at] + jobs[at + 1 :])
    if failed and not any(row["run"] == str(at) for row in rows):  # refused before it wrote a file of its own
        rows.insert(min(at, len(rows)), {"run": str(at), **_values(jobs[at]), "status": "failed"})
    return rows


def _values(overrides: list[str]) -> dict[str, str]:
    """{key: value} as given: Hydra writes a job's values with its escapes (a review: `sqlite\\:///x.db` in the summary)."""
    return {
        k.lstrip("+~"): HYDRA_ESCAPE.sub(r"\1", v)
        for k, eq, v in (o.partition("=") for o in overrides)
        if eq and not k.startswith("hydra.")
    }


HYDRA_ESCAPE = re.compile(r"\\([\\()\[\]{}:=, \t])")  # what Hydra's escape_special_characters escapes


def planned_jobs(sweep_dir: Path) -> list[list[str]]:
    """Every job's overrides (hydra.* left out), in the order Hydra runs them; [] where multirun.yaml cannot tell."""
    from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
    from hydra.core.override_parser.overrides_parser import OverridesParser

    try:
        saved = yaml.safe_load((sweep_dir / "multirun.yaml").read_text(encoding="utf-8"))
        given = [str(o) for o in saved["hydra"]["overrides"]["task"]]
        batches = BasicSweeper.split_arguments(OverridesParser.create().parse_overrides(given), None)
    except Exception:  # absent, edited, or a sweeper of another kind's syntax: nothing to add
        return []
    return [[o for o in job if not o.lstrip("+~").startswith("hydra.")] for batch in batches for job in batch]


def not_started(sweep_dir: Path, ran: list[list[str]], planned: list[list[str]] | None = None) -> list[list[str]]:
    """The planned jobs whose overrides no job folder's `.hydra/overrides.yaml` holds (`ran`: theirs)."""
    return [job for _, job in _numbered_not_started(planned_jobs(sweep_dir) if planned is None else planned, ran)]


def _numbered_not_started(planned: list[list[str]], ran: list[list[str]]) -> list[tuple[int, list[str]]]:
    """(number in the sweep, overrides) of the `planned` jobs none of `ran` is; two jobs may have the same overrides."""
    seen = [sorted(o for o in job if not o.lstrip("+~").startswith("hydra.")) for job in ran]
    rest = []
    for number, job in enumerate(planned):
        if sorted(job) in seen:
            seen.remove(sorted(job))
        else:
            rest.append((number, job))
    return rest


def unstarted_command(sweep_dir: Path) -> tuple[str, Path | None]:
    """The `textgru train` line that runs the first job a stopped sweep never started ("" for none), in the folder
    the sweep would have given it (`sweep_job_folder`), or where that exists already (returned) in a free one beside
    it: the sweep cannot be run again in its folder. `hydra.job.num=` makes the run the sweep's job (`is_job_of`):
    its summary row is rewritten when it ends (a review: no way to finish such a sweep was given)."""
    import shlex

    from textgru.sweep_job_folder import free_folder, job_folder

    ran = [
        [str(o) for o in yaml.safe_load(f.read_text()) or []]
        for f in sorted(sweep_dir.rglob(".hydra/overrides.yaml"))
        if f.parent.parent != sweep_dir
    ]
    rest = _numbered_not_started(planned_jobs(sweep_dir), ran)
    if not rest:
        return "", None
    (number, job), flags = rest[0], [f for d in _config_dirs(sweep_dir) for f in ("--config-dir", d)]  # a review:
    given = job_folder(sweep_dir, number, job)  # experiment=mine was unknown without the sweep's --config-dir
    folder = free_folder(given)  # a review: `sweep/2` named the stopped job's folder, refused as holding a run
    words = ["textgru train", *map(shlex.quote, [*flags, *job, f"hydra.job.num={number}"])]
    return " ".join([*words, command_arg("hydra.run.dir", folder)]), None if folder == given else given


def _config_dirs(sweep_dir: Path) -> list[str]:
    """The `--config-dir` folders the sweep was given, as its multirun.yaml records them."""
    try:
        saved = yaml.safe_load((sweep_dir / "multirun.yaml").read_text(encoding="utf-8"))
        sources = saved["hydra"]["runtime"]["config_sources"]
        return [str(s["path"]) for s in sources if s.get("provider") == "command-line" and s.get("schema") == "file"]
    except Exception:  # absent or edited: none
        return []
