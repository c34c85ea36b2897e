"""The MLflow store behind `logger=mlflow`: its tracking URI checked before any work (`mlflow_uri`), opened once
(`open_store`), and written within MLflow's limits (100 params or tags and 1000 metrics per batch, 6000 characters per param
value, 250 per key); the resolved config flattened into params. MLflow is imported only when a store is opened;
no Lightning here (`tracking` and `mlflow_logger` use it)."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from textgru.errors import TextgruError
from textgru.mlflow_uri import check_uri, sqlite_path
from textgru.sqlite_files import LOCKED_FIX

log = logging.getLogger(__name__)

try:
    import fcntl
except ImportError:  # Windows: no flock
    fcntl = None  # type: ignore[assignment]

MAX_PARAM_LENGTH = 6000  # mlflow.utils.validation.MAX_PARAM_VAL_LENGTH (mlflow 3.x; 500 before 1.28)
MAX_TAG_LENGTH = 8000  # MAX_TAG_VAL_LENGTH
MAX_KEY_LENGTH = 250  # MAX_ENTITY_KEY_LENGTH
PARAMS_PER_BATCH = 100  # MAX_PARAMS_TAGS_PER_BATCH
METRICS_PER_BATCH = 1000  # MAX_METRICS_PER_BATCH
# a tracking server's writes while training: MLflow's defaults (7 retries with backoff, 120 s timeout) stalled a run
# ~4 minutes a write when the server went away, and SIGTERM waited for them
WRITE_RETRIES, WRITE_TIMEOUT_S = 1, 10


@contextmanager
def bounded_http_writes() -> Iterator[None]:
    """MLflow's HTTP requests in this block are tried `1 + WRITE_RETRIES` times, each waiting at most
    `WRITE_TIMEOUT_S` seconds (unless the user's MLFLOW_HTTP_REQUEST_MAX_RETRIES / _TIMEOUT say otherwise); the
    environment is as it was afterwards."""
    bounds = {
        "MLFLOW_HTTP_REQUEST_MAX_RETRIES": str(WRITE_RETRIES),
        "MLFLOW_HTTP_REQUEST_TIMEOUT": str(WRITE_TIMEOUT_S),
    }
    added = [k for k in bounds if k not in os.environ]
    os.environ.update({k: bounds[k] for k in added})
    try:
        yield
    finally:
        for k in added:
            os.environ.pop(k, None)


_BAD_KEY_CHARS = re.compile(r"[^/\w.\- :]")  # MLflow's allowed characters in param, tag and metric names (POSIX)


@dataclass
class Store:
    """An MLflow store: its URI and client, opened when first used where `open_store` leaves it unopened."""

    uri: str
    opened: Any = None  # the MlflowClient

    @property
    def client(self) -> Any:
        if self.opened is None:
            self.opened = _open_client(self.uri)
        return self.opened

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
            if artifact_location is not None and _place(experiment.artifact_location) != _place(artifact_location):
                log.warning(  # a review: ignored without a word
                    "MLflow: logger.mlflow.artifact_location=%s is not used: experiment %r exists, with its artifacts "
                    "at %s (the location is an experiment's, set when it is made)",
                    artifact_location, name, experiment.artifact_location,
                )  # fmt: skip
            return str(experiment.experiment_id)
        db = sqlite_path(self.uri) if self.uri.startswith("sqlite:") else None
        if artifact_location is None and db is not None:
            artifact_location = str(db.resolve().parent / "mlartifacts" / re.sub(r"[^\w.-]|^\.+$", "_", name))
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


def open_store(uri: str, new_run: bool = False) -> Store:
    """The MLflow store at `uri` (already resolved), checked: one line when it cannot be used. `new_run`: a SQLite
    file not there yet is made (with its folder) when first used (a review: a run refused after this left one)."""
    db = sqlite_path(uri) if uri.startswith("sqlite:") else None
    if new_run and db is not None and not db.exists():
        check_uri(uri, make_folder=False)
        import_mlflow()
        return Store(uri)
    return Store(uri, _open_client(uri))


def import_mlflow() -> Any:
    try:
        import mlflow
    except ImportError:
        raise TextgruError("logger=mlflow needs MLflow: pip install 'textgru[tracking]'") from None
    return mlflow


def _open_client(uri: str) -> Any:
    check_uri(uri)
    MlflowClient = import_mlflow().MlflowClient
    try:
        with _one_at_a_time(uri):  # a new SQLite store: its tables made by one process (a review: two first runs at
            client = MlflowClient(uri)  # once, one failed with "duplicate column name: step")
            client.search_experiments(max_results=1)  # opens (or creates) the store now, not halfway through a run
    except ModuleNotFoundError as e:  # a database URL's driver (postgresql:// -> psycopg): "No module named" alone
        raise TextgruError(f"logger.mlflow.tracking_uri={uri}: {missing_driver(uri, str(e.name))}") from None
    except Exception as e:  # MLflow, SQLAlchemy and HTTP errors come in many types
        locked = "database is locked" in first_line(e)
        raise TextgruError(f"logger.mlflow.tracking_uri={uri}: {first_line(e)}" + f"; {LOCKED_FIX}" * locked) from None
    return client


# a review: `pip install MySQLdb` was advised (a driver's module is not always its package's name), with a
# PostgreSQL URL as the example for a MySQL store. A module -> what pip installs; per database, its drivers as
# (the URL's scheme, the module, the package), the first another driver than the one that failed
DRIVER_PACKAGES = {"MySQLdb": "mysqlclient", "pymysql": "pymysql", "mysql": "mysql-connector-python",
                   "mariadb": "mariadb", "psycopg": "'psycopg[binary]'", "psycopg2": "psycopg2-binary (or psycopg2)",
                   "pg8000": "pg8000", "pyodbc": "pyodbc", "pymssql": "pymssql"}  # fmt: skip
OTHER_DRIVERS = {
    "mysql": [("mysql+pymysql", "pymysql", "pymysql"), ("mysql+mysqldb", "MySQLdb", "mysqlclient")],
    "postgresql": [("postgresql+psycopg2", "psycopg2", "psycopg2-binary"), ("postgresql+psycopg", "psycopg", "'psycopg[binary]'")],
    "mssql": [("mssql+pymssql", "pymssql", "pymssql"), ("mssql+pyodbc", "pyodbc", "pyodbc")],
}  # fmt: skip


def missing_driver(uri: str, module: str) -> str:
    """What to install for a database URL whose driver `module` is missing, and a URL of the same database with
    another driver (`uri`'s own, its scheme changed)."""
    package = DRIVER_PACKAGES.get(module, module)
    said = f"this store needs the Python module {module!r} (its database driver), which is not installed: "
    said += f"pip install {package}"
    scheme, _, rest = uri.partition("://")
    other = next((d for d in OTHER_DRIVERS.get(scheme.split("+")[0], []) if d[1] != module), None)
    return said if other is None else f"{said}; or another driver: pip install {other[2]} and {other[0]}://{rest}"


def _place(location: str) -> str:
    """An artifact location as MLflow stores it: a folder absolute, without `file://` (a review: a relative one given
    again was named as unused, its folder the same)."""
    from urllib.parse import urlparse

    if urlparse(location).scheme in ("", "file") or len(urlparse(location).scheme) == 1:
        return os.path.abspath(os.path.expanduser(location.removeprefix("file://")))
    return location.rstrip("/")


@contextmanager
def _one_at_a_time(uri: str) -> Iterator[None]:
    """A kernel lock on a SQLite store's folder while it is opened, so that two processes do not both create its
    tables; other stores (servers, databases) as they are."""
    db = sqlite_path(uri) if uri.startswith("sqlite:") else None
    if fcntl is None or db is None or not db.parent.is_dir():
        yield
        return
    fd = os.open(db.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def first_line(e: BaseException) -> str:
    lines = [line.strip() for line in str(e).strip().splitlines() if line.strip()]
    return lines[0] if lines else type(e).__name__


def config_params(config_yaml: str) -> dict[str, str]:
    """A run's config.yaml (`config_literals.resolved_yaml`) as MLflow params, read as OmegaConf reads it back: a
    `\\${x}` in a value is `${x}` (a review: MLflow recorded data.path=.../a\\${x}.csv, the escaped name)."""
    import yaml
    from omegaconf import OmegaConf

    read_back = OmegaConf.create(yaml.safe_load(config_yaml) or {})
    return flatten_config(OmegaConf.to_container(read_back, resolve=True))  # type: ignore[arg-type]


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
