"""The user's own files: CSV, TSV, JSON/JSONL, Parquet, or a folder with one sub-folder of .txt files per label."""

from __future__ import annotations

import csv
import hashlib
import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

from datasets import Dataset, DatasetDict

from textgru.data.data_paths import expand_paths, refuse_folders_among
from textgru.data.datasets_cache import cache_problem
from textgru.data.decoding import BYTE_ORDER_MARKS, count_undecodable, decode_bytes, log_undecodable, refuse_binary
from textgru.data.delimited_tables import check_row_lengths, refuse_repeated_columns
from textgru.data.ignored_labels import IgnoredLabels, ignored_labels
from textgru.data.json_lines import first_bad_json_line, holds_no_rows, read_as_json_lines
from textgru.data.split_tables import column_names, parquet_rows, read_split, refuse_lacking
from textgru.data.tsv_quoting import tsv_quoting_of_files
from textgru.errors import TextgruError

log = logging.getLogger(__name__)
VALIDATION_FOLDERS = ("validation", "valid", "val", "dev")  # in this order: the first found is the validation split
MARKS = tuple(mark for mark, _ in BYTE_ORDER_MARKS)

FORMATS = {".csv": "csv", ".tsv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet"}


def _file_format(files: list[str]) -> tuple[str, dict]:
    exts = {Path(f).suffix.lower() for f in files}
    unknown = sorted(exts - set(FORMATS))
    if unknown:
        raise TextgruError(
            f"unsupported data file type(s) {unknown}; use one of {sorted(FORMATS)} or a folder of label sub-folders."
        )
    if len(exts) != 1:  # `datasets` reads one format for all the splits
        raise TextgruError(
            f"the data files are of several types {sorted(exts)}; give them all in one of these types (data.path, "
            "data.validation_path and data.test_path alike)"
        )
    ext = exts.pop()
    kwargs: dict = {}
    if FORMATS[ext] in ("csv", "json"):  # utf-8-sig: a leading BOM is not part of the first column's name;
        kwargs = {"encoding": "utf-8-sig", "encoding_errors": "replace"}  # the JSON reader only replaces bytes
    if FORMATS[ext] == "csv":  # when encoding is not "utf-8"
        kwargs.update(keep_default_na=False, na_values=[""])  # a text "NA", "null" or "nan" is a text; empty is missing
        if ext == ".tsv":  # quoting as the files are written (load_tables): GLUE's have none, pandas' to_csv some
            kwargs.update(sep="\t", quoting=csv.QUOTE_NONE)
    return FORMATS[ext], kwargs


def _check_encoding(path: str) -> None:
    """Refuse UTF-16/32 text (a BOM, or many NUL bytes at the start) in one line; log bytes that are not UTF-8."""
    with open(path, "rb") as f:
        head = f.read(4096)
        if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head.count(0) > len(head) // 4:
            raise TextgruError(f"{path} is not UTF-8 text (UTF-16 or binary); save it as UTF-8 and try again")
        f.seek(0)
        log_undecodable(path, f)  # the path as found: a glob's files may share a name


def _root_message(e: BaseException) -> str:
    """The first line of the innermost cause: pandas' or pyarrow's words, not `datasets`' wrapper."""
    while (e.__cause__ or e.__context__) is not None:
        e = e.__cause__ or e.__context__  # type: ignore[assignment]
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]


def _read_label_folders(root: Path, ignore: IgnoredLabels) -> Dataset:
    """One sub-folder per label, each holding .txt files (IMDB's archive layout); those `ignore` matches not read."""
    texts, labels = [], []
    bad_bytes = bad_files = 0
    for sub in sorted(p for p in root.iterdir() if is_label_folder(p) and not ignore.matches(p.name)):  # Unsup, 2.0
        entries = sorted(p for p in sub.iterdir() if not p.name.startswith("."))  # .DS_Store, ._x.txt: not texts
        files = [p for p in entries if p.suffix.lower() == ".txt" and p.is_file()]  # .TXT too
        if unread := [p.name for p in entries if p not in files]:
            log.warning(  # a review: a label's texts in sub-folders by year were left out without a word
                "%s: %d entries not read (%s): a label's texts are the .txt files directly in its folder",
                sub, len(unread), ", ".join(unread[:3]) + (" ..." if len(unread) > 3 else ""),
            )  # fmt: skip
        for f in files:
            raw = f.read_bytes()
            if raw.startswith(MARKS):  # UTF-16/32 (a Windows editor's): read as UTF-8 it was NUL-laced text
                texts.append(decode_bytes(raw, str(f)))
            else:
                refuse_binary(raw, str(f))  # as every other reader does (a review: trained on as text)
                n, _ = count_undecodable(raw.splitlines())
                bad_bytes, bad_files = bad_bytes + n, bad_files + (n > 0)
                texts.append(raw.decode("utf-8-sig", errors="replace"))  # a Notepad file's BOM (a review: a token)
            labels.append(sub.name)
    if bad_bytes:
        log.warning(
            "%s: %d bytes in %d files could not be decoded as UTF-8 and were replaced by U+FFFD",
            root.name,
            bad_bytes,
            bad_files,
        )
    if not texts:
        raise TextgruError(
            f"folder {str(root)!r} has no <label>/*.txt files; expected one sub-folder of .txt files per label."
        )
    return Dataset.from_dict({"text": texts, "label": labels})


TOOL_FOLDERS = (".ipynb_checkpoints", ".git", ".svn", ".hg", ".idea", ".vscode", ".cache", ".Trash", "._")


def is_label_folder(path: Path) -> bool:
    """A sub-folder read as a label: not a hidden one (a review: a notebook's .ipynb_checkpoints became a class), as
    the digest and the corpus reader skip them; one of texts not a tool's (`.net`) is named in a warning."""
    if not path.is_dir() or not path.name.startswith("."):
        return path.is_dir()
    if not path.name.startswith(TOOL_FOLDERS) and any(path.glob("*.txt")):
        log.warning("%s: a hidden folder is not read as a label; rename it (e.g. without the dot) to read it", path)
    return False


def _has_no_rows(path: str) -> bool:
    """True for an empty file, a CSV/TSV with a header line only, or a Parquet file of no rows (a review: pyarrow's
    "BatchSize must be greater than 0", logged and raised)."""
    p = Path(path)
    if p.suffix.lower() == ".parquet":
        return parquet_rows(path) == 0
    if p.suffix.lower() in (".json", ".jsonl") and holds_no_rows(p):  # `[]`, or lines of `{}`
        return True
    with open(p, "rb") as f:  # \r line ends (an old Mac's CSV) too: read as one line, it was "no data rows" (a review)
        lines = list(itertools.islice((line for line in f.read(1 << 20).splitlines() if line.strip()), 2))
    return len(lines) == 0 or (p.suffix.lower() in (".csv", ".tsv") and len(lines) == 1)  # (blank lines skipped:
    # a review found a CSV after two blank lines, as pandas reads it, "no data rows")


def load_local(
    path: str | list[str],
    validation_path: str | list[str] | None = None,
    test_path: str | list[str] | None = None,
    ignore_labels: Sequence[object] | IgnoredLabels | None = None,
    columns: Sequence[str] = (),
) -> DatasetDict:
    """Read the user's files into a DatasetDict with the splits that were given (others are carved later); a CSV/TSV
    header naming one of `columns` (the text and label columns) twice is refused."""
    if path is None or path == "" or path == "???":
        raise TextgruError("data=local needs data.path=<file, glob or folder>.")
    ignore = ignored_labels(ignore_labels)  # (one given: it remembers the folders it left out)
    first = expand_paths(path, "data.path")
    refuse_folders_among(first)
    if len(first) == 1 and Path(first[0]).is_dir():
        root = Path(first[0])
        given = [k for k, v in (("data.validation_path", validation_path), ("data.test_path", test_path)) if v]
        if given:
            raise TextgruError(
                f"{' and '.join(given)} {'go' if len(given) > 1 else 'goes'} with a data file, but data.path={root} is a folder, whose splits are its "
                "sub-folders train/, validation/ (or valid/, val/, dev/) and test/: put them there, or leave "
                f"{' and '.join(given)} out"
            )
        if (root / "train").is_dir():
            dd = {"train": _read_label_folders(root / "train", ignore)}
            validation = next((root / v for v in VALIDATION_FOLDERS if (root / v).is_dir()), None)
            for split, folder in (("validation", validation), ("test", root / "test")):
                if folder is not None and folder.is_dir():
                    dd[split] = _read_label_folders(folder, ignore)
            used = ("train", "test", validation and validation.name)
            unread = sorted(
                p.name for p in root.iterdir() if p.is_dir() and p.name not in used and not p.name.startswith(".")
            )
            if unread:  # a review: a val/ folder was skipped without a word, validation carved from train/
                log.warning("%s: sub-folder(s) %s are not read: the splits are train/, %s and test/", root, unread,
                            " or ".join(f"{v}/" for v in VALIDATION_FOLDERS))  # fmt: skip
            return DatasetDict(dd)
        return DatasetDict({"train": _read_label_folders(root, ignore)})
    data_files = {"train": first}
    for split, given in (("validation", validation_path), ("test", test_path)):
        files = expand_paths(given, f"data.{split}_path") if given else []
        if folder := next((f for f in files if Path(f).is_dir()), None):  # a review: "unsupported type ['']"
            raise TextgruError(f"data.{split}_path={folder} is a folder; give a data file (folders go in data.path)")
        data_files.update({split: files} if files else {})
    return load_tables(data_files, columns)


def load_tables(data_files: dict[str, list[str]], columns: Sequence[str] = ()) -> DatasetDict:
    """CSV/TSV/JSON/JSONL/Parquet files, one list per split, read with `datasets` (non-UTF-8 bytes replaced), each
    split by itself (`read_split`); an empty split, a file that does not parse, one without a column of `columns`
    that another has, or a CSV/TSV header naming one of `columns` twice is one clear error."""
    fmt, kwargs = _file_format([f for fs in data_files.values() for f in fs])
    for split, files in data_files.items():
        if all(_has_no_rows(f) for f in files):
            which = f"the {split} split is empty: " if len(data_files) > 1 else ""  # one file: no split to name
            raise TextgruError(f"{which}{files[0]!r} has no data rows (a header at most); give a file with rows")
        if fmt != "parquet":
            for f in files:
                _check_encoding(f)
    # `datasets` caches a local file by its path and modification time: a file replaced with another of the same
    # time (cp -p, rsync -a, an unzip) was read from the cache as it was. Named by content, it is read again.
    digest = hashlib.sha256()
    for f in (f for fs in data_files.values() for f in fs):
        with open(f, "rb") as handle:  # (hashlib.file_digest is Python 3.11+)
            for block in iter(lambda handle=handle: handle.read(1 << 20), b""):
                digest.update(block)
    kwargs = {**kwargs, "name": f"content-{digest.hexdigest()[:20]}"}
    if kwargs.get("sep") == "\t":  # as `textgru predict input=` reads a TSV (delimited_texts)
        files = [f for fs in data_files.values() for f in fs]
        kwargs["quoting"] = tsv_quoting_of_files(files)  # streamed: a 141 MB file was read whole to scan it
    if fmt == "csv":
        for f in (f for fs in data_files.values() for f in fs):
            refuse_repeated_columns(f, kwargs.get("sep", ","), columns, kwargs.get("quoting", csv.QUOTE_MINIMAL))
            check_row_lengths(f, kwargs)
    # the readers log the parse error we raise below as one line of our own
    reader_logs = [logging.getLogger(f"datasets.packaged_modules.{m}.{m}") for m in ("csv", "json", "parquet")]
    levels = [lg.level for lg in reader_logs]
    for lg in reader_logs:
        lg.setLevel(logging.CRITICAL)
    wanted = [c for c in columns if c]
    try:  # each split its own features: read together, every split took the first's (Parquet's label names; a test
        # file without labels had its column added, empty; a test file's extra id column was refused)
        dd = DatasetDict({s: read_split(fmt, s, fs, kwargs, wanted) for s, fs in data_files.items()})
        refuse_lacking({fs[0]: dd[s].column_names for s, fs in data_files.items()}, wanted)
        return dd
    except TextgruError:
        raise
    except Exception as e:  # pyarrow / pandas parse errors
        if problem := cache_problem(e):  # not the data file's fault (a review)
            raise TextgruError(problem) from e
        files = [f for fs in data_files.values() for f in fs]
        for f in files:
            bad_line = first_bad_json_line(f) if fmt == "json" and read_as_json_lines(f) else ""
            if bad_line:
                raise TextgruError(f"could not read {f!r} as JSON Lines: {bad_line}") from e
        alone = files if len(files) > 1 else []  # the file that fails alone
        culprit = next((f for f in alone if column_names(fmt, f, kwargs) is None), files[0])
        raise TextgruError(f"could not read {culprit!r} as {fmt}: {_root_message(e)}") from e
    finally:
        for lg, level in zip(reader_logs, levels, strict=True):
            lg.setLevel(level)
