"""Wrong config values, typed as a new user would, across every command: exit code 2, exactly one `error:` line
naming the key, no traceback, within seconds, and nothing started or removed."""

from __future__ import annotations

from pathlib import Path

from conftest import run_script


def _one_error_line(code: object, stderr: str, needle: str) -> str:
    assert code == 2, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-2000:]
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, stderr[-2000:]
    assert needle in errors[0], errors[0]
    return errors[0]


def test_a_refused_command_leaves_the_current_folder_alone(tmp_path: Path) -> None:
    """eval/predict/generate run in the current folder (hydra.run.dir: .): a command refused inside its run used to
    remove that folder, with the user's files, when it held only *.log files or nothing."""
    here = tmp_path / "my_logs"
    here.mkdir()
    (here / "notes.log").write_text("mine\n")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint")
    r = run_script("predict", f"ckpt_path={junk}", "text=hi", cwd=here)
    _one_error_line(r.returncode, r.stderr, "junk.ckpt")
    assert (here / "notes.log").read_text() == "mine\n"
