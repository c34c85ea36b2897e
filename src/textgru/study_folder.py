"""A study's folder: the one a search's command line names (`hydra.run.dir=`, or `hydra.sweep.dir=` as `train -m`
takes it), and the check that it holds this study or nothing a study would overwrite."""

from __future__ import annotations

from pathlib import Path

from textgru.errors import TextgruError
from textgru.run_lock import LOCK_NAME
from textgru.sqlite_files import read_only_rows


def study_storage(study_dir: Path) -> str:
    """Optuna's storage URL of the study in `study_dir`: its path quoted, as SQLAlchemy reads a `?` as the start of
    options and `%20` as a space (a review: a folder `q?mode=ro` put study.db in `q`, outside it)."""
    from urllib.parse import quote

    return f"sqlite:///{quote(str(study_dir / 'study.db'), safe='/')}"


def check_study_folder(study_dir: Path, name: str) -> None:
    """One line if `study_dir` holds files but no study.db: a sweep's, a run's or the user's folder, whose
    summary.csv/md a study would overwrite (Hydra's own `.hydra/` and `tune.log` of this call are there already);
    or a study.db of another study than `name`, whose summary and trial_* folders are this folder's; or a study.db
    that is a folder."""
    db = study_dir / "study.db"
    if db.is_dir():  # a review: SQLite's "unable to open database file", and a new study name advised that kept it
        raise TextgruError(
            f"{db} is a folder, not a study's database: move it aside, or give another study folder (hydra.run.dir=)"
        )
    stored = _study_names(db)
    tables = read_only_rows(db, "SELECT name FROM sqlite_master WHERE type='table'") if db.is_file() else None
    if tables and not stored and "studies" not in {t[0] for t in tables}:  # Optuna would add its tables to it
        shown = ", ".join(sorted(t[0] for t in tables)[:4])
        raise TextgruError(
            f"{db} is another program's SQLite database (tables {shown} ...), not an Optuna study: move it aside, "
            "or give another study folder"
        )
    if stored and name not in stored:
        raise TextgruError(
            f"{study_dir} holds the study {stored[0]!r}, and a folder holds one study (its summary.csv/md, trial_*): "
            f"give another folder for study {name!r}, or hparams_search.study_name={stored[0]} to go on with that one"
        )
    held = (
        sorted(p.name for p in study_dir.iterdir() if p.name not in (".hydra", "tune.log", LOCK_NAME))
        if study_dir.is_dir()
        else []
    )
    others = [h for h in held if h != "study.db"]
    if others and not (db.is_file() and db.stat().st_size):  # no study.db, or an empty one: a new study
        shown = ", ".join(others[:3]) + (" ..." if len(others) > 3 else "")
        raise TextgruError(
            f"{study_dir} holds {shown} but no study.db (or an empty one): a study writes study.db, summary.csv/md and trial_* "
            "there; give another study folder, or a new hparams_search.study_name= with the default one, so that "
            "nothing in it is overwritten"
        )


def _study_names(db: Path) -> list[str]:
    """The studies an Optuna SQLite file holds, read without writing it (Optuna's table `studies`); [] where it is
    missing or not one (opening the study says what is wrong)."""
    rows = read_only_rows(db, "SELECT study_name FROM studies ORDER BY study_id") if db.is_file() else None
    return [row[0] for row in rows or []]


def study_folder_args(args: list[str]) -> list[str]:
    """A search's command line with `hydra.sweep.dir=X` (as `train -m` takes a sweep's folder) as its study folder,
    `hydra.run.dir=X`; one line for both given, an empty one, or `hydra.sweep.subdir` (trials go to trial_NNN/)."""
    from textgru.config_path_rules import Folder
    from textgru.run_folder import explicit_run_dir, unquoted

    def given(key: str) -> list[str]:
        return [a for a in args if a.partition("=")[0].lstrip("+") == key]

    if given("hydra.sweep.subdir"):
        raise TextgruError(
            "hydra.sweep.subdir does not apply to a search: its trials go to trial_NNN/ in the study folder"
        )
    sweep_dirs = given("hydra.sweep.dir")
    if not sweep_dirs:
        return args
    if explicit_run_dir(args) is not None:
        raise TextgruError("a search has one study folder: give hydra.run.dir= or hydra.sweep.dir=, not both")
    value = sweep_dirs[-1].partition("=")[2]
    if not unquoted(value).strip():
        raise TextgruError(f"hydra.sweep.dir={value} is not a path; give the study's folder")
    why = Folder().problem(unquoted(value)) if "${" not in value else None
    if why:  # named as given (it is checked again, as hydra.run.dir, with the rest of the command line)
        raise TextgruError(f"hydra.sweep.dir={value} {why}")
    return [a for a in args if a not in sweep_dirs] + [f"hydra.run.dir={value}"]
