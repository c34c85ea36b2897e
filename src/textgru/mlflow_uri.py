"""A tracking URI of `logger.mlflow.tracking_uri` checked without MLflow, before any work: one line for an unknown
scheme, a file store, an in-memory, misspelt or unwritable SQLite file, another program's database, or a server that
does not answer. A relative SQLite path is made absolute (`resolve_uri`)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlparse

from textgru.errors import TextgruError
from textgru.folder_probe import name_too_long, takes_folders
from textgru.sqlite_files import is_sqlite_file, read_only_rows, warn_if_write_locked

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


def blank_environment_as_unset() -> None:
    """A set but blank $MLFLOW_TRACKING_URI is taken as unset, as MLflow takes an empty one (a review: the config's
    `oc.env` default read it as '', refused as "logger.mlflow.tracking_uri='' is not a URI", a key never typed).
    Called when this module is imported: before any config that reads the variable is resolved."""
    if "MLFLOW_TRACKING_URI" in os.environ and not os.environ["MLFLOW_TRACKING_URI"].strip():
        del os.environ["MLFLOW_TRACKING_URI"]  # the default store then, in this process and those it starts


blank_environment_as_unset()


def resolve_uri(uri: str) -> str:
    """A relative SQLite or file-store path made absolute (from the working folder), so that a resumed run, a sweep's
    jobs and `mlflow ui` find the same store wherever they start (a review: a file store's ./mlruns was recorded as
    given, and a resume from another folder missed it); other URIs as given."""
    uri = str(uri).strip()
    if uri.startswith("sqlite:///"):
        path, sep, query = uri[len("sqlite:///") :].partition("?")
        if path and path != ":memory:" and not path.startswith("/"):  # in-memory: refused by `uri_problem`
            return f"sqlite:///{Path(path).expanduser().resolve()}{sep}{query}"
    elif uri not in ("", "databricks", "databricks-uc") and ":" not in uri:  # ./mlruns, a file store's folder
        return str(Path(uri).expanduser().resolve())
    elif uri.startswith("file:") and not uri.startswith(("file:/", "file://")):  # file:mlruns
        return f"file://{Path(uri[len('file:') :]).expanduser().resolve()}"
    return uri


def from_environment(uri: str) -> str:
    """Words that say where a tracking URI came from when it is $MLFLOW_TRACKING_URI's (the config's default takes it),
    so that a message about it is not taken for one about a key the user never typed (a review); "" otherwise."""
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    return (
        " (the value of $MLFLOW_TRACKING_URI: fix or unset it)" if env and resolve_uri(env) == resolve_uri(uri) else ""
    )


QUERY = re.compile(r"\w+=[^&/]*(&\w+=[^&/]*)*")  # SQLAlchemy's own: ?timeout=20&uri=true


def uri_problem(uri: str) -> str | None:
    """What cannot work in a tracking URI, seen without MLflow, the network or writing anything (the up-front config
    check `config_path_rules.StoreUri` uses it too): an unknown scheme, a file store (refused by MLflow 3.13+ unless
    MLFLOW_ALLOW_FILE_STORE=true), an in-memory SQLite store, a SQLite file whose folder cannot be made or written.
    Words that follow `logger.mlflow.tracking_uri=<uri>`; None when it may work."""
    try:
        parsed = urlparse(uri)
        if parsed.scheme in ("http", "https"):  # databricks://scope:prefix is no port
            parsed.port  # noqa: B018 - raises for a port that is not a number
    except ValueError as e:  # http://[::1, http://host:notaport: tracebacks from urllib
        return f"is not a valid URL ({e}); use http(s)://<host>:<port> or sqlite:///<folder>/mlflow.db"
    if len(parsed.scheme) > 1 and "://" not in uri and parsed.scheme != "file":  # a review: http:/host was "a file
        return (  # store", and the advice to allow file stores led to "no host given"
            f"is not a URL: its scheme {parsed.scheme + ':'!r} needs '://' after it, e.g. http://<host>:<port> or "
            "sqlite:///<folder>/mlflow.db"
        )
    scheme = parsed.scheme.split("+")[0] if "://" in uri or uri.startswith("file:") else ""
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
    if urlparse(uri).netloc:  # sqlite://a/b.db: MLflow refuses it, after the store's folder was made from 'a/b.db'
        return "has a host part; a SQLite store's URL has three slashes: sqlite:///<folder>/mlflow.db"
    db = sqlite_path(uri)
    if db is None:
        return "is an in-memory store that ends with the process; give a file: sqlite:///outputs/mlflow.db"
    query = uri.partition("?")[2]  # a review: a paths.output_dir of q?x made the store the file q (the rest read as
    if (query and not QUERY.fullmatch(query)) or re.search(r"%[0-9A-Fa-f]{2}", uri):  # a query), a%20b was 'a b'
        return (
            "has a ? or a %XX in its path, which a URL reads as a query or an escape; give a store path without "
            "them (a folder of paths.output_dir too: the default store lies in it)"
        )
    if (too_long := name_too_long(db)) is not None:  # a review: found only when the run, its data read, made the store
        return f"names a file that {too_long}"
    if db.exists():
        if not db.is_file():
            return f"names {db}, which is not a file; give a file: sqlite:///<folder>/mlflow.db"
        if not os.access(db, os.W_OK):
            return f"names {db}, which is not writable; give a writable place"
        if not os.access(db.parent, os.W_OK | os.X_OK):  # a review: 85 lines of SQLAlchemy tracebacks, after the data
            return (
                f"names {db}, whose folder is not writable (SQLite writes a journal beside it); give a writable place"
            )
        if db.stat().st_size and not is_sqlite_file(db):  # MLflow: "file is not a database", ~18 s later (a review)
            return f"names {db}, which is not a SQLite database; give a new file, or an MLflow store's own"
        other = _tables_of_another_program(db)
        return f"names {db}, a database of another program (tables {other}); give a new file" if other else None
    for parent in db.parents:  # the first that exists must be a writable folder
        if parent.exists():
            if not parent.is_dir():
                return f"cannot create the folder {db.parent}: {parent} is a file; give a writable place for the store"
            if not os.access(parent, os.W_OK | os.X_OK) or not takes_folders(parent):
                return f"cannot create the store in {parent}: it is not writable; give a writable place for the store"
            return None
    return None


def _tables_of_another_program(db: Path) -> str | None:
    """Some of the tables of a SQLite file that holds tables but not MLflow's (which MLflow would add to it, then fail
    on: an Optuna study.db); None for an MLflow store, an empty file or one SQLite cannot read (MLflow says why)."""
    rows = read_only_rows(db, "SELECT name FROM sqlite_master WHERE type = 'table'")
    tables = [row[0] for row in rows or []]
    return ", ".join(sorted(tables)[:4]) if tables and "experiments" not in tables else None


def check_uri(uri: str, make_folder: bool = True) -> None:
    """One line for a tracking URI that cannot work (`uri_problem`, or a server that does not answer), before MLflow
    is asked; makes a SQLite store's folder (where `make_folder`)."""
    where = f"logger.mlflow.tracking_uri={uri}{from_environment(uri)}"
    db = sqlite_path(uri) if uri.partition(":")[0].split("+")[0].lower() == "sqlite" else None
    if db is not None:  # first: reading it (`uri_problem`) waits for a lock too
        warn_if_write_locked(db)
    why = uri_problem(uri)
    if why is not None:
        raise TextgruError(f"{where} {why}")
    if db is not None and make_folder:
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


# MLflow 3's artifact stores (mlflow.store.artifact.artifact_repository_registry), a location's scheme
ARTIFACT_SCHEMES = {"abfss", "b2", "dbfs", "file", "ftp", "gs", "hdfs", "http", "https", "mlflow-artifacts", "models",
                    "r2", "runs", "s3", "sftp", "viewfs", "wasbs"}  # fmt: skip


def artifact_location_problem(location: str) -> str | None:
    """What is wrong with an experiment's artifact location, without importing MLflow: a scheme no artifact store of
    MLflow's or of an installed plugin takes (a review: foo://x made the experiment, whose every run then lost its
    artifacts, FINISHED with a warning); None where it may be used."""
    from importlib.metadata import entry_points

    scheme = urlparse(location).scheme
    known = ARTIFACT_SCHEMES | {e.name for e in entry_points(group="mlflow.artifact_repository")}
    if len(scheme) > 1 and scheme not in known:  # one letter: a Windows drive
        return f"names a scheme no MLflow artifact store takes ({scheme}://); use a folder, or one of {', '.join(sorted(known))}"
    return None


def _check_reachable(uri: str, where: str) -> None:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=10).close()
    except urllib.error.HTTPError as e:
        if e.code in (429, 500, 502, 503, 504):  # MLflow retries these: minutes of silence before its error
            raise TextgruError(
                f"{where}: the tracking server answers {e.code} ({e.reason}); start it again, wait until it is up, "
                "or fix the address"
            ) from None
        return  # it answered (an authenticating proxy, an older server without /health): MLflow will say more
    except (urllib.error.URLError, OSError, ValueError) as e:
        reason = getattr(e, "reason", None) or e
        raise TextgruError(
            f"{where}: no tracking server answers there ({reason}); start one (mlflow server "
            "--backend-store-uri sqlite:///mlflow.db) or fix the address"
        ) from None
