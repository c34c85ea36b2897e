"""Which MLflow parent run a study's (or sweep's) folder goes on in when it is run again (`mlflow_parent.ParentRun`):
the run its `mlflow_run.json` records, as a resumed run goes on in its own (`tracking.RunTracker`); a new one for a
copy of the folder, or where that run was deleted or its store no longer holds it; one line where this call names
another store than the one holding it; a warning where this call, without `logger=mlflow`, does not go on in it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from textgru.errors import TextgruError
from textgru.mlflow_record import copied_from, read_record, write_record
from textgru.mlflow_store import Store
from textgru.mlflow_uri import sqlite_path
from textgru.run_folder import RunFolder

log = logging.getLogger(__name__)


def recorded_parent(store: Store, record: dict[str, Any], folder: Path, kind: str) -> str | None:
    """The id of the parent run `folder` goes on in (`record`: its record), RUNNING again; None: a new one."""
    try:  # a SQLite file not made yet holds nothing: not made to be refused (a review: an empty file was left)
        run = None if unmade(store) else store.client.get_run(record["run_id"])
    except Exception:  # the store no longer holds it: a new parent run (where it is the store the folder names)
        run = None
    if run is None and record["tracking_uri"] != store.uri:  # a review: a new parent, the recorded one left behind
        raise TextgruError(
            f"{RunFolder(folder).mlflow_run} names MLflow parent run {record['run_id']}, which {store.uri} does not "
            f"hold; go on with logger.mlflow.tracking_uri=<the store it was logged to> (it was "
            f"{record['tracking_uri']}), or move {RunFolder(folder).mlflow_run.name} aside and the {kind} gets a new "
            "parent run"
        )
    # a review: a copied study folder went on in the original's parent, two trials of one number under it
    if run is None or run.info.lifecycle_stage == "deleted" or copied_from(run, RunFolder(folder), "parent run"):
        return None
    try:
        store.client.update_run(run.info.run_id, status="RUNNING")
    except Exception:  # as the store failing to find it
        return None
    if record["tracking_uri"] != store.uri:  # the store moved since (it holds the run): as a resumed run's record
        write_record(RunFolder(folder), store.uri, run.info.experiment_id, run.info.run_id)
    log.info("MLflow: %s %s continues in parent run %s", kind, folder, run.info.run_id)
    return str(run.info.run_id)


def unmade(store: Store) -> bool:
    """Whether `store` is a SQLite file that is not there yet (`open_store(..., new_run=True)` leaves it unmade)."""
    db = sqlite_path(store.uri) if store.opened is None and store.uri.startswith("sqlite:") else None
    return db is not None and not db.exists()


def unlogged_parent(folder: Path, kind: str) -> None:
    """A warning where `folder` records a parent run that this call, without `logger=mlflow`, leaves out (a review: a
    study run again without it said nothing, and its new trials never reached the parent holding the others)."""
    try:
        record = read_record(RunFolder(folder))
    except TextgruError:  # damaged: said where logger=mlflow reads it
        return
    if record:
        uri = record["tracking_uri"]
        log.warning(
            "MLflow: the %s in %s has MLflow parent run %s in %s, which this call's trials are not logged to (no "
            "logger=mlflow); logger=mlflow logger.mlflow.tracking_uri=%s continues it", kind, folder, record["run_id"],
            uri, uri,
        )  # fmt: skip
