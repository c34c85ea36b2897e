"""The record of an MLflow run kept in a run, sweep or study folder (`RunFolder.mlflow_run`: the store, experiment and
run id, so a resumed training or study goes on in the same MLflow run), the run status an exception means, and the
tags every run and parent run carries (name, user, command, textgru version, git commit). Plain files and `git`; no
MLflow import here."""

from __future__ import annotations

import getpass
import json
import logging
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError
from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)


def read_record(folder: RunFolder) -> dict[str, Any] | None:
    """The MLflow run recorded in a run, sweep or study folder: {tracking_uri, experiment_id, run_id}; one line when
    the file is damaged (a traceback on resume=: a JSONDecodeError, a KeyError)."""
    if not folder.mlflow_run.is_file():
        return None
    try:
        record = json.loads(folder.mlflow_run.read_text(encoding="utf-8", errors="replace"))
    except ValueError as e:
        record, why = None, f"not JSON ({e})"
    else:
        why = "not a record of an MLflow run (tracking_uri, run_id)"
    if isinstance(record, dict) and all(isinstance(record.get(k), str) for k in ("tracking_uri", "run_id")):
        return record
    raise TextgruError(
        f"{folder.mlflow_run} is {why}; move it aside to go on in a new MLflow run (textgru writes it, never edit it)"
    )


def job_sweep_record(run_dir: Path, uri: str, store: Any = None) -> dict[str, Any] | None:
    """The record of the `-m` sweep whose job folder `run_dir` is (the nearest folder above it holding Hydra's
    multirun.yaml, as `sweep_jobs.sweep_of` finds it; not a study's trial), for a job run outside the multirun:
    one a stopped sweep never started, run with the line its stop printed (a review: a top-level run, which the
    README's snippet missed). None, with a warning, where its parent run is in another store than `uri`, or where the
    sweep's folder is a copy of the one it was logged from (`store`: where to look it up)."""
    from textgru.sweep_jobs import sweep_of

    if (sweep := sweep_of(run_dir)) is None:  # a review: sweep/extra, sweep/0/nested joined it (`is_job_of`)
        return None
    record = read_record(RunFolder(sweep)) if not (run_dir.parent / "study.db").is_file() else None
    if record is not None and record["tracking_uri"] != uri:
        logging.getLogger(__name__).warning(
            "MLflow: %s is a job of the sweep in %s, whose parent run is in %s; this run, in %s, is not its child",
            *(run_dir, sweep, record["tracking_uri"], uri),
        )
        return None
    if record is not None and store is not None:  # a review: a copied sweep's job became the original's child
        try:
            found = store.client.get_run(record["run_id"])
        except Exception:  # not there (deleted since): no parent
            return None
        if copied_from(found, RunFolder(sweep), "parent run", "this run is not its child"):
            return None
    return record


def write_record(folder: RunFolder, tracking_uri: str, experiment_id: str, run_id: str) -> None:
    """`<folder>/mlflow_run.json`: where the folder's MLflow run is, written whole."""
    folder.path.mkdir(parents=True, exist_ok=True)
    tmp = folder.mlflow_run.with_name(folder.mlflow_run.name + ".tmp")
    record = {"tracking_uri": tracking_uri, "experiment_id": experiment_id, "run_id": run_id}
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(folder.mlflow_run)


def copied_from(found: Any, folder: RunFolder, what: str = "run", then: str = "") -> bool:
    """Whether `folder` is a copy of the folder MLflow run `found` (a run, or a sweep's or search's parent run: `what`)
    was logged from, that folder still there holding the same record: the copy goes on in a `what` of its own (a run's
    copy wrote into the original's run, whose steps it then skipped as logged already; a study's, its trials beside
    the original's, two of one number); `then`: what the copy does instead, where it gets none. A moved folder
    continues its run."""
    first = found.data.tags.get("textgru.run_dir")
    if not first or Path(first).resolve() == folder.path.resolve():
        return False
    record = read_record(RunFolder(Path(first))) if Path(first).is_dir() else None
    if record is None or record.get("run_id") != found.info.run_id:
        return False
    then = then or f"this one gets a new {what}"
    log.warning("MLflow: %s is a copy of %s, whose MLflow %s stays its own; %s", folder.path, first, what, then)
    return True


def status_of(error: BaseException | None) -> str:
    """KILLED for Ctrl-C or SIGTERM (a KeyboardInterrupt, the SystemExit Lightning raises after its graceful shutdown,
    or the TrainingStopped textgru makes of it), FAILED for anything else."""
    from textgru.errors import TrainingStopped

    return "KILLED" if isinstance(error, (KeyboardInterrupt, SystemExit, TrainingStopped)) else "FAILED"


def base_tags(run_name: str) -> dict[str, str]:
    """The tags of every run and parent run: its name, the user, the command, textgru's version and the working
    folder's git commit (with whether tracked files differ from it) where it is a git repository."""
    import textgru

    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return {
        "mlflow.runName": run_name,
        "mlflow.user": user,
        "mlflow.source.type": "LOCAL",
        "mlflow.source.name": Path(sys.argv[0]).name or "python",
        "textgru.version": textgru.__version__,
        **_git_tags(Path.cwd()),
    }


def _git_tags(folder: Path) -> dict[str, str]:
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return {}
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return {}
    tags = {"mlflow.source.git.commit": head.stdout.strip()}
    if dirty.returncode == 0:
        tags["textgru.git_dirty"] = "true" if dirty.stdout.strip() else "false"
    return tags


def check_artifacts_there(resumed: Any, record: dict[str, Any], uri: str, fix: str) -> None:
    """One line where the MLflow run a resume continues (`resumed`, None: a new one) is in a SQLite store that was
    moved (its record names another database) with the artifacts kept beside it: MLflow cannot change a run's
    artifact location, and would make the old folder again and write the resumed run's artifacts there (a review:
    textgru's own line had advised that resume)."""
    from textgru.mlflow_uri import sqlite_path

    old, new = (sqlite_path(u) if u.startswith("sqlite:") else None for u in (str(record["tracking_uri"]), uri))
    where = str(resumed.info.artifact_uri if resumed is not None else "").removeprefix("file://")
    if old is None or new is None or old == new or not where.startswith("/") or old.parent.exists():
        return
    if Path(where).is_relative_to(old.parent):
        raise TextgruError(
            f"MLflow run {record['run_id']} keeps its artifacts in {where}, by the store's old place {old.parent}, "
            f"which is not there (MLflow cannot move a run's artifacts): link the old place to the new (ln -s "
            f"{shlex.quote(str(new.parent))} {shlex.quote(str(old.parent))}) and resume again, or {fix}"
        )
