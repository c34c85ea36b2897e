"""The MLflow store behind `logger=mlflow`: its tracking URI checked before any work (one line for an unknown scheme,
a file store, an in-memory or unwritable SQLite file, a server that does not answer), opened once (`open_store`),
and written within MLflow's limits (100 params or tags and 1000 metrics per batch, 6000 characters per param
value, 250 per key); the resolved config flattened into params. MLflow is imported only when a store is opened;
no Lightning here (`tracking` and `mlflow_logger` use it)."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from textgru.errors import TextgruError

log = logging.getLogger(__name__)

MAX_PARAM_LENGTH = 6000  # mlflow.utils.validation.MAX_PARAM_VAL_LENGTH (mlflow 3.x; 500 before 1.28)
MAX_TAG_LENGTH = 8000  # MAX_TAG_VAL_LENGTH
MAX_KEY_LENGTH = 250  # MAX_ENTITY_KEY_LENGTH
PARAMS_PER_BATCH = 100  # MAX_PARAMS_TAGS_PER_BATCH
METRICS_PER_BATCH = 1000  # MAX_METRICS_PER_BATCH
# MLflow 3.17's built-in tracking-store schemes (mlflow.tracking._tracking_service.utils._register_tracking_stores)
KNOWN_SCHEMES = {
    "",
    "file",
    "sqlite",
    "http",
    "https",
    "databricks",
    "databricks-uc",
    "uc",
    "postgresql",
    "mysql",
    "mssql",
}
_BAD_KEY_CHARS = re.compile(r"[^/\w.\- :]")  # MLflow's allowed characters in param, tag and metric names (POSIX)


def resolve_uri(uri: str) -> str:
    """A relative SQLite path made absolute (from the working folder), so that a resumed run, a sweep's jobs and
    `mlflow ui` find the same store wherever they start; other URIs as given."""
    uri = str(uri).strip()
    if uri.startswith("sqlite:///"):
        path, sep, query = uri[len("sqlite:///") :].partition("?")
        if path and path != ":memory:" and not path.startswith("/"):  # in-memory: refused by `uri_problem`
            return f"sqlite:///{Path(path).expanduser().resolve()}{sep}{query}"
    return uri


def uri_problem(uri: str) -> str | None:
    """What cannot work in a tracking URI, seen without MLflow, the network or writing anything (the up-front config
    check `config_path_rules.StoreUri` uses it too): an unknown scheme, a file store (refused by MLflow 3.13+ unless
    MLFLOW_ALLOW_FILE_STORE=true), an in-memory SQLite store, a SQLite file whose folder cannot be made or written.
    Words that follow `logger.mlflow.tracking_uri=<uri>`; None when it may work."""
    scheme = urlparse(uri).scheme.split("+")[0] if "://" in uri or uri.startswith("file:") else ""
    if uri in ("databricks", "databricks-uc"):  # MLflow's words for the default profile's workspace
        return None
    if scheme not in known_schemes():
        return (
            f"has an unknown scheme {scheme!r}; use sqlite:///<folder>/mlflow.db (a local store), "
            "http(s)://<host>:<port> (a tracking server) or a database URL (postgresql://, mysql://)"
        )
    if scheme in ("", "file") and os.environ.get("MLFLOW_ALLOW_FILE_STORE", "").lower() not in ("1", "true", "yes"):
        return (
            "is a file store, which MLflow 3 refuses (from 3.13); use sqlite:///<folder>/mlflow.db, "
            "or set MLFLOW_ALLOW_FILE_STORE=true to keep the file store"
        )
    if scheme != "sqlite":
        return None
    db = sqlite_path(uri)
    if db is None:
        return "is an in-memory store that ends with the process; give a file: sqlite:///outputs/mlflow.db"
    if db.exists():
        if not db.is_file():
            return f"names {db}, which is not a file; give a file: sqlite:///<folder>/mlflow.db"
        return None if os.access(db, os.W_OK) else f"names {db}, which is not writable; give a writable place"
    for parent in db.parents:  # the first that exists must be a writable folder
        if parent.exists():
            if not parent.is_dir():
                return f"cannot create the folder {db.parent}: {parent} is a file; give a writable place for the store"
            if not os.access(parent, os.W_OK | os.X_OK):
                return f"cannot create the store in {parent}: it is not writable; give a writable place for the store"
            return None
    return None


def check_uri(uri: str) -> None:
    """One line for a tracking URI that cannot work (`uri_problem`, or a server that does not answer), before MLflow
    is asked; makes a SQLite store's folder."""
    where = f"logger.mlflow.tracking_uri={uri}"
    why = uri_problem(uri)
    if why is not None:
        raise TextgruError(f"{where} {why}")
    db = sqlite_path(uri) if urlparse(uri).scheme.split("+")[0] == "sqlite" else None
    if db is not None:
        try:
            db.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise TextgruError(
                f"{where}: cannot create the folder {db.parent} ({e.strerror or e}); give a writable place for the store"
            ) from None
    if urlparse(uri).scheme in ("http", "https"):
        _check_reachable(uri, where)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a `sqlite:///relative/path` or `sqlite:////absolute/path` URI; None for in-memory."""
    path = uri[len("sqlite://") :].partition("?")[0][1:]  # the empty host part's slash dropped
    return Path(path) if path and path != ":memory:" else None


def known_schemes() -> set[str]:
    """MLflow's own tracking-store schemes and those of installed store plugins (entry points of the group MLflow's
    registry reads), found without importing MLflow."""
    from importlib.metadata import entry_points

    return KNOWN_SCHEMES | {e.name for e in entry_points(group="mlflow.tracking_store")}


def _check_reachable(uri: str, where: str) -> None:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10).close()
    except urllib.error.HTTPError:
        return  # it answered (an authenticating proxy, an older server without /health): MLflow will say more
    except (urllib.error.URLError, OSError) as e:
        reason = getattr(e, "reason", None) or e
        raise TextgruError(
            f"{where}: no tracking server answers there ({reason}); start one (mlflow server "
            "--backend-store-uri sqlite:///mlflow.db) or fix the address"
        ) from None


@dataclass
class Store:
    """An open MLflow store: its client and URI."""

    client: Any
    uri: str

    def experiment_id(self, name: str, artifact_location: str | None) -> str:
        """The experiment `name`, created when missing; with a SQLite store its artifacts go next to the database
        (`<folder>/mlartifacts/<name>/`), not to MLflow's default `./mlruns` in the working folder."""
        experiment = self.client.get_experiment_by_name(name)
        if experiment is not None:
            if experiment.lifecycle_stage == "deleted":
                raise TextgruError(
                    f"MLflow experiment {name!r} is deleted in {self.uri}; restore it (mlflow experiments restore "
                    f"--experiment-id {experiment.experiment_id}) or set logger.mlflow.experiment_name=<another name>"
                )
            return str(experiment.experiment_id)
        db = sqlite_path(self.uri) if self.uri.startswith("sqlite:") else None
        if artifact_location is None and db is not None:
            artifact_location = str(db.resolve().parent / "mlartifacts" / re.sub(r"[^\w.-]", "_", name))
        try:
            return str(self.client.create_experiment(name, artifact_location=artifact_location))
        except Exception:  # created meanwhile by another process (a parallel sweep job)
            experiment = self.client.get_experiment_by_name(name)
            if experiment is None:
                raise
            return str(experiment.experiment_id)

    def log_params(self, run_id: str, params: Mapping[str, str]) -> dict[str, tuple[str, str]]:
        """Log the params the run does not hold yet (MLflow params cannot change); returns the ones whose value
        differs from the stored one, as {key: (stored, new)}."""
        from mlflow.entities import Param

        stored = self.client.get_run(run_id).data.params
        changed = {k: (stored[k], v) for k, v in params.items() if k in stored and stored[k] != v}
        new = [Param(k, v) for k, v in params.items() if k not in stored]
        for i in range(0, len(new), PARAMS_PER_BATCH):
            self.client.log_batch(run_id, params=new[i : i + PARAMS_PER_BATCH])
        return changed

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        from mlflow.entities import RunTag

        items = [RunTag(k, cut(v, MAX_TAG_LENGTH)) for k, v in tags.items()]
        for i in range(0, len(items), PARAMS_PER_BATCH):
            self.client.log_batch(run_id, tags=items[i : i + PARAMS_PER_BATCH])


def open_store(uri: str) -> Store:
    """The MLflow store at `uri` (already resolved), checked: one line when it cannot be used."""
    check_uri(uri)
    try:
        from mlflow import MlflowClient
    except ImportError:
        raise TextgruError("logger=mlflow needs MLflow: pip install 'textgru[tracking]'") from None
    try:
        client = MlflowClient(uri)
        client.search_experiments(max_results=1)  # opens (or creates) the store now, not halfway through a run
    except Exception as e:  # MLflow, SQLAlchemy and HTTP errors come in many types
        raise TextgruError(f"logger.mlflow.tracking_uri={uri}: {first_line(e)}") from None
    return Store(client, uri)


def first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__


def flatten_config(config: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """The resolved config as MLflow params: nested keys joined with dots (`model.hidden_size`), values as text
    (strings as they are, anything else as JSON: `true`, `null`, `0.001`, `["a", "b"]`, `{}`), cut to MLflow's
    6000 characters with a warning."""
    params: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            params.update(flatten_config(value, name + "."))
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > MAX_PARAM_LENGTH:
            log.warning("MLflow param %s: %d characters cut to %d", name, len(text), MAX_PARAM_LENGTH)
        params[param_key(name)] = cut(text, MAX_PARAM_LENGTH)
    return params


def param_key(key: str) -> str:
    """`key` with characters MLflow refuses in a param, tag or metric name replaced by `_`, at most 250 characters."""
    return _BAD_KEY_CHARS.sub("_", key)[:MAX_KEY_LENGTH]


def overrides_as_params(overrides: Sequence[str]) -> dict[str, str]:
    """`["model.hidden_size=8,16", "+x=1", "hydra.job.name=y"]` -> `{"model.hidden_size": "8,16", "x": "1"}`."""
    pairs = (o.split("=", 1) for o in overrides if "=" in o)
    return {
        param_key(k.lstrip("+~")): cut(v, MAX_PARAM_LENGTH) for k, v in pairs if not k.lstrip("+~").startswith("hydra.")
    }


def cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 14] + "...(truncated)"
