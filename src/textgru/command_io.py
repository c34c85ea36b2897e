"""What the commands read and write: texts to classify (an argument, a .txt/.csv/.tsv/.jsonl file or stdin), a prompt,
JSONL outputs (never half-written, never overwritten unasked) and tables for people."""

from __future__ import annotations

import io
import json
import logging
import os
import re
import secrets
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

from textgru.atomic_files import link_new
from textgru.data.decoding import decode_bytes, from_command_line
from textgru.data.json_lines import json_value
from textgru.delimited_texts import delimited_texts, json_lines_texts
from textgru.errors import TextgruError
from textgru.stale_temps import remove_stale_temps

log = logging.getLogger(__name__)


JSON_LINES = (".jsonl", ".ndjson", ".json")  # input= read as JSON lines, as output= writes .jsonl and .ndjson
NOT_TEXT = {".parquet", ".arrow", ".feather", ".xlsx", ".xls", ".gz", ".zip", ".bz2", ".xz", ".pkl", ".pt", ".ckpt"}


def read_texts(
    text: str | None, input_path: str | None, text_column: str | None = None, stdin: TextIO | None = None
) -> list[str]:
    """The texts to classify, from exactly one of: `text`, `input_path` (.txt or any other text file: a text a line;
    .csv/.tsv: `text_column`; .jsonl/.ndjson: `text_column` of each object), or piped `stdin` (its bytes, read as a
    file's are). `text_column` (None: "text") given for what is read a text a line is refused: it would name nothing."""
    if text is not None and input_path is not None:
        raise TextgruError("give either text= or input=, not both")
    if text is not None:
        if not str(text).strip():
            raise TextgruError('text= is empty; pass some text, e.g. text="what a great day"')
        if text_column is not None:  # a review: taken without a word
            raise TextgruError(
                f"text_column={text_column} names a column of an input= file; text= is one text: drop it"
            )
        return [from_command_line(str(text), "text=")]
    if input_path is None:
        stdin = stdin or sys.stdin
        if stdin is None or stdin.isatty():
            raise TextgruError(
                'nothing to classify: pass text="...", input=<file.txt|.csv|.tsv|.jsonl>, or pipe texts on stdin'
            )
        if text_column is not None:
            raise TextgruError(_no_column("stdin is", text_column))
        if hasattr(stdin, "buffer"):  # the bytes, decoded as a file's are, whatever the locale's encoding (a review:
            lines = _lines(decode_bytes(stdin.buffer.read(), "stdin"))  # a Windows pipe's cp1252 garbled UTF-8)
        else:  # a stream of text only (io.StringIO, a notebook's stdin)
            lines = _lines(stdin.read())
        _warn_if_a_table(lines[0] if lines else "", "text")
        return _non_empty(lines, "stdin", "lines")
    p = Path(input_path).expanduser()
    if p.is_dir():
        raise TextgruError(
            f"input {str(p)!r} is a folder; give one file (.txt: a text a line, .csv, .tsv, .jsonl, .ndjson or .json)"
        )
    if not p.is_file():
        raise TextgruError(f"input file {str(p)!r} does not exist")
    suffix = p.suffix.lower()
    if suffix in NOT_TEXT:
        raise TextgruError(
            f"input {p.name}: {suffix} files are not read here; give .txt (a text a line), .csv, .tsv, .jsonl, .ndjson or "
            ".json "
            "(textgru eval and Classifier.evaluate read .parquet)"
        )
    if text_column is not None and suffix not in (".csv", ".tsv", *JSON_LINES):  # a review: Excel's tab-separated
        raise TextgruError(_no_column(f"input {p.name} is", text_column))  # .txt export, header and ids classified
    text_column = text_column or "text"
    raw = decode_bytes(p.read_bytes(), p.name)
    if suffix in (".csv", ".tsv"):
        texts = delimited_texts(raw, p.name, "," if suffix == ".csv" else "\t", text_column)
        return _non_empty(texts, p.name, "rows after the header")
    if suffix in JSON_LINES:
        texts = json_lines_texts(raw, p.name, text_column)
        return _non_empty(texts, p.name, "objects")
    lines = _lines(raw)  # .txt or anything else: one text per line (a review: Excel's tab-separated .txt)
    _warn_if_a_table(lines[0] if lines else "", text_column, f"input {p.name}")
    return _non_empty(lines, p.name, "lines")


def _no_column(what: str, text_column: str) -> str:
    return (
        f"{what} read as plain text, a text a line, so text_column={text_column} names no column: to read a table "
        "give it as a file named .csv, .tsv or .jsonl (rename a tab-separated .txt to .tsv), or drop text_column="
    )


def _lines(raw: str) -> list[str]:
    """Lines split at \\n, \\r\\n or \\r only: U+2028, U+0085, \\x1c ... are characters of a text, not line ends."""
    return [line.rstrip("\n") for line in io.StringIO(raw, newline=None)]


def _non_empty(texts: list[str], where: str, counted: str) -> list[str]:
    kept = [t for t in texts if t.strip()]
    if not kept:
        raise TextgruError(f"no texts found in {where}; give a file with a text a line (or rows under its header)")
    if len(kept) < len(texts):  # a warning: the output then has fewer lines than the input has texts
        empty = [str(i) for i, t in enumerate(texts, 1) if not t.strip()]
        shown = ", ".join(empty[:10]) + (", ..." if len(empty) > 10 else "")
        log.warning(
            "%s: skipped %d empty texts (%s %s, counting from 1): the output has one line for each of the %d "
            "others, in order, each with its text",
            where,
            len(empty),
            counted,
            shown,
            len(kept),
        )
    return kept


def read_prompt(prompt: str | None, prompt_file: str | None) -> str:
    """The prompt from exactly one of `prompt`, `prompt_file`, or piped stdin (empty when there is none)."""
    if prompt is not None and prompt_file is not None:
        raise TextgruError("give either prompt= or prompt_file=, not both")
    if prompt is not None:
        return from_command_line(str(prompt), "prompt=")
    if prompt_file is not None:
        p = Path(str(prompt_file)).expanduser()
        if not p.is_file():
            raise TextgruError(f"prompt_file {str(p)!r} does not exist")
        return _prompt_text(decode_bytes(p.read_bytes(), p.name))
    if sys.stdin is None or sys.stdin.isatty():
        return ""
    return _prompt_text(decode_bytes(sys.stdin.buffer.read(), "stdin"))


def _warn_if_a_table(first: str, text_column: str, source: str = "stdin") -> None:
    """Stdin or a .txt file is read a text a line; a first line that looks like a CSV/TSV header or a JSON object is
    named (a review: a header and JSON lines were classified as texts, quoted fields cut at their line breaks, a
    label glued to each text, without a word)."""
    fields = [f.strip().strip('"') for f in re.split("[,\t]", first)]
    try:  # (a text that only looks so, "{braces} ... {x}", or "text, email and chat were slow", is not named)
        obj = json_value(first) if first.lstrip().startswith("{") else None
    except ValueError:
        obj = None
    if isinstance(obj, dict) and text_column in obj:
        looks = "a JSON object"
    elif len(fields) > 1 and text_column in fields and all(re.fullmatch(r"[\w.-]+", f) for f in fields):
        looks = f"a CSV or TSV header (with {text_column!r})"
    else:
        return
    fix = (
        "give the file as input=<file> (.csv, .tsv or .jsonl)" if source == "stdin" else "name it .csv, .tsv or .jsonl"
    )
    log.warning(
        "%s is read as plain text, a text a line, but its first line looks like %s: %s to read its %s field",
        source,
        looks,
        fix,
        text_column,
    )


def _prompt_text(text: str) -> str:
    """A prompt file's or stdin's text with Windows line ends read as the \\n a model was trained on."""
    return text.replace("\r\n", "\n")


def check_output(
    path: str | None,
    overwrite: bool,
    input_path: str | None = None,
    reads_stdin: bool = False,
    stdout_dash: bool = False,
) -> None:
    """One line for an `output=` that is refused: not a .jsonl or .ndjson name (or one without a suffix), a folder (or
    a folder's name: ending in a slash, `.` or `..`), a symbolic link, the input file itself (`input_path`, or stdin
    where the command reads it), or a file that exists without `overwrite`. `-` is stdout where `stdout_dash`."""
    if path == "-":  # a review: a file named - was written
        if stdout_dash:
            return
        raise TextgruError("output=-: the samples are printed without output=; give a file name for JSON lines")
    path = os.path.expanduser(path) if path else path  # as write_jsonl reads it (a review: ./~/out.jsonl was written)
    if path and Path(path).is_dir():
        raise TextgruError(f"output {path!r} is a folder; give a file name, e.g. output={Path(path) / 'out.jsonl'}")
    if path and (str(path).endswith(("/", os.sep)) or os.path.basename(path) in (".", "..")):  # Path() drops them
        raise TextgruError(f"output {path!r} names a folder; give a file name, e.g. output={Path(path) / 'out.jsonl'}")
    if path and _same_file(Path(path).expanduser(), input_path, reads_stdin):
        raise TextgruError(f"output {path!r} is the input file; choose another output= (it would replace your input)")
    if path and Path(path).suffix.lower() not in ("", ".jsonl", ".ndjson"):  # a review: best.ckpt was replaced
        table = Path(path).suffix.lower() in (".csv", ".tsv", ".txt", ".json", ".parquet")  # a review: the folder and
        name = str(Path(path).with_suffix(".jsonl")) if table else f"{path}.jsonl"  # part of the name were dropped
        raise TextgruError(f"output {path!r}: the output is JSON lines, one object a line; name it {name}")
    if path and Path(path).is_symlink():
        raise TextgruError(f"output {path!r} is a symbolic link; give the path of a plain file")
    if path and Path(path).exists() and not overwrite:
        raise TextgruError(f"output {path!r} exists; pass overwrite=true to replace it, or choose another output=")


def _same_file(output: Path, input_path: str | None, reads_stdin: bool) -> bool:
    """Whether `output` is the input file, or the file stdin reads (`< in.jsonl`), by device and inode."""
    if not output.exists():
        return False
    if input_path:
        given = Path(input_path).expanduser()
        return given.exists() and os.path.samefile(output, given)
    if reads_stdin and sys.stdin is not None and not sys.stdin.isatty():
        try:
            read = os.fstat(sys.stdin.fileno())
        except (OSError, ValueError):  # no descriptor (a notebook's stdin)
            return False
        written = output.stat()
        return (read.st_dev, read.st_ino) == (written.st_dev, written.st_ino)
    return False


def write_jsonl(records: Iterable[dict[str, Any]], path: str | os.PathLike, overwrite: bool = False) -> None:
    """Write all records to a temporary file, then move it into place: never a half-written output. Without
    `overwrite`, a file that appeared at `path` meanwhile (the user's, another command's) is kept: one line."""
    p = Path(path).expanduser()  # ~ as input= reads it (a review: output="~/x.jsonl" wrote ./~/x.jsonl)
    p.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(p)  # those of killed commands
    tmp = p.parent / f".{p.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask's mode, as open() gives (mkstemp: 0600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for r in records:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        if p.exists() and overwrite:  # the file keeps its mode (one the user made private stays private)
            os.chmod(tmp, p.stat().st_mode & 0o7777)
        if overwrite:
            os.replace(tmp, p)
        else:
            _link_new(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _link_new(tmp: Path, path: Path) -> None:
    """`tmp` renamed to `path` only if nothing is there (`atomic_files.link_new`)."""
    link_new(tmp, path, f"output {str(path)!r}", "run again with another output=, or overwrite=true to replace it")
