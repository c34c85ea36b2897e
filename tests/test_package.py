"""The package as users get it: a wheel that holds the config tree and the web page, one `textgru` command, no
import cycles, small modules, and code that ruff keeps clean."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from unittest import mock

import pytest
from conftest import ROOT, run_textgru, source_copy, timed_together

PACKAGE = ROOT / "src" / "textgru"
MAX_LINES = 250


def test_the_built_wheel_holds_every_config_file(tmp_path: Path) -> None:
    source = source_copy(tmp_path / "source")
    r = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(source)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if r.returncode != 0 and "Could not find a version that satisfies" in r.stderr:
        pytest.skip("building a wheel needs setuptools from the package index, which cannot be reached")
    assert r.returncode == 0, r.stderr[-2000:]
    (wheel,) = tmp_path.glob("textgru-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    configs = {f"textgru/{p.relative_to(PACKAGE).as_posix()}" for p in (PACKAGE / "conf").rglob("*.yaml")}
    assert len(configs) > 50 and configs <= names, sorted(configs - names)
    assert "textgru/py.typed" in names
    page = {f"textgru/{p.relative_to(PACKAGE).as_posix()}" for p in (PACKAGE / "serving" / "static").iterdir()}
    assert "textgru/serving/static/index.html" in page and page <= names, sorted(page - names)  # textgru serve's page
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "textgru = textgru.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_build_requirement_admits_the_license_as_written() -> None:
    """A review: `license = "MIT"` (an SPDX string) needs setuptools 77; the build asked for >=68, and 68-76 refused
    the project table ("`project.license` must be valid exactly by one definition")."""
    import tomllib

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    (requirement,) = [r for r in pyproject["build-system"]["requires"] if r.startswith("setuptools")]
    minimum = tuple(int(n) for n in requirement.split(">=")[1].split("."))
    assert not isinstance(pyproject["project"]["license"], str) or minimum >= (77,), requirement


@pytest.mark.usefixtures("process_restored")  # setuptools' build sets logging's level
def test_the_sdist_holds_what_its_tests_need(tmp_path: Path) -> None:
    """A review: the sdist held tests/test_*.py (setuptools' default) without their conftest.py and the scripts they
    run, so its tests could not run; MANIFEST.in names what goes in."""
    tarfile = pytest.importorskip("tarfile")
    build_meta = pytest.importorskip("setuptools.build_meta")
    source = source_copy(tmp_path / "source")
    for name in ("tests", "scripts", "bench", "examples", "docs", ".ci"):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "results"))
    for name in ("MANIFEST.in", "LICENSE"):
        shutil.copy(ROOT / name, source / name)
    old = Path.cwd()
    try:  # the environment kept: distutils sets $PLAT, and the worker's every later command then ran as a fresh
        with mock.patch.dict(os.environ):  # Python, not a fork (~7 s each; `forks_kept` in conftest.py)
            os.chdir(source)  # build_sdist builds the folder it runs in
            built = build_meta.build_sdist(str(tmp_path / "dist"))
    finally:
        os.chdir(old)
    with tarfile.open(tmp_path / "dist" / built) as sdist:
        names = {n.partition("/")[2] for n in sdist.getnames()}
    assert {"tests/conftest.py", "tests/forked_commands.py", "scripts/train.py", ".ci/run"} <= names, sorted(names)
    assert "src/textgru/conf/train.yaml" in names and not any("__pycache__" in n for n in names)


def _imports(path: Path, module: str) -> set[str]:
    """The textgru modules `path` imports, at any depth of the file (relative imports resolved)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("textgru")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("textgru"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
    return found


def _modules() -> dict[str, Path]:
    modules = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def test_no_import_cycles() -> None:
    modules = _modules()
    graph = {m: {i for i in _imports(p, m) if i in modules and i != m} for m, p in modules.items()}
    graph = {m: deps - {"textgru"} for m, deps in graph.items()}  # a subpackage importing its own package counts
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack[stack.index(n) :], n]))
            if n not in state:
                visit(n)
        stack.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


def test_modules_are_small_or_say_why() -> None:
    long = []
    for path in PACKAGE.rglob("*.py"):
        lines = len(path.read_text().splitlines())
        doc = ast.get_docstring(ast.parse(path.read_text())) or ""
        if lines > MAX_LINES and f"{MAX_LINES} lines" not in doc:
            long.append(f"{path.relative_to(PACKAGE)}: {lines}")
    assert not long, f"modules above {MAX_LINES} lines without a reason in their docstring: {long}"


def test_every_module_has_a_docstring() -> None:
    missing = [
        str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py") if not ast.get_docstring(ast.parse(p.read_text()))
    ]
    assert not missing, missing


@pytest.mark.skipif(
    shutil.which("ruff") is None
    and subprocess.run([sys.executable, "-m", "ruff", "--version"], capture_output=True).returncode != 0,
    reason="ruff is not installed (pip install -e '.[test]')",
)
def test_ruff_lint_and_format_are_clean() -> None:
    ruff = [sys.executable, "-m", "ruff"]
    lint = subprocess.run([*ruff, "check", "--output-format", "concise", str(ROOT)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout[-3000:]
    fmt = subprocess.run([*ruff, "format", "--check", str(ROOT)], capture_output=True, text=True)
    assert fmt.returncode == 0, fmt.stdout[-3000:]


def test_every_command_help_and_cfg_job_answer(tmp_path: Path) -> None:
    """`--help` names the command itself and `--cfg job` prints the config, for every command: tune appended its own
    overrides after the user's flags (argparse refused them: exit 2, 'unrecognized arguments'), and gradient-flow's
    help named `textgru gradient_flow` and listed the training groups it refuses."""
    calls = {
        **{(c, "--help"): f"textgru {c}" for c in ("train", "eval", "predict", "generate", "export", "serve")},
        ("tune", "--help"): "textgru tune: Optuna search: hparams_search=sentiment|lm",
        ("gradient-flow", "--help"): "textgru gradient-flow [key=value ...]",
        ("tune", "hparams_search=sentiment", "--cfg", "job"): "hparams_search:",
        ("train", "hparams_search=sentiment", "--cfg", "job"): "hparams_search:",
        ("train", "-cjob", "seed=3"): "seed: 3",  # argparse's own forms: a value joined to a short flag,
        ("train", "--cf", "job", "seed=4"): "seed: 4",  # an abbreviated flag,
        ("train", "--cfg", "job", "-p", "seed", "--", "seed=5"): "5",  # and -- before the overrides
        ("eval", "--version"): "textgru ",  # a review: Hydra's version line
        ("train", "--vers"): "textgru ",  # as argparse takes it
        # the flags textgru takes (a review: Hydra's list offered --config-name and shell completion, refused here)
        ("tune", "--hydra-help"): "Hydra's flags that textgru takes",
    }

    def answer(call: tuple[str, ...]) -> subprocess.CompletedProcess:
        return run_textgru(*call, timeout=120)

    answered = timed_together([lambda call=call: answer(call) for call in calls])
    answers = {call: r for call, (r, _) in zip(calls, answered, strict=True)}
    for call, r in answers.items():
        assert r.returncode == 0 and calls[call] in r.stdout, (call, r.stdout[-500:], r.stderr[-1500:])
    assert "model: bigru_classifier" not in answers[("gradient-flow", "--help")].stdout
    assert "Hydra" not in answers[("eval", "--version")].stdout + answers[("train", "--vers")].stdout
    assert "--config-name" not in answers[("tune", "--hydra-help")].stdout
    for refused, said in (
        (("train", "-m", "--cfg", "job", "seed=1,2"), "-m and --cfg cannot go together"),  # Hydra: a ValueError
        (("train", "seed=1", "--hydra-help"), "--hydra-help lists Hydra's own flags"),  # Hydra: a composition error
        (
            ("train", "-m", "seed=1,2", "--help"),
            "--help shows one config: give seed=1,2 one value",
        ),  # Hydra's traceback
        # a review: Hydra's tracebacks (another config; a group removed, after making the run folder), a run from a
        # pickle, a ./multirun folder left by a command that runs once
        (("train", "-cn", "eval"), "-cn: each command composes its own config; add yours with --config-dir"),
        (("train", "--config-path=/tmp"), "--config-path: each command composes its own config"),
        (("train", "~model", "trainer.fast_dev_run=true"), "~model: textgru train needs each of its top-level keys"),
        (("train", "--experimental-rerun", "config.pickle"), "--experimental-rerun: textgru does not re-run Hydra's"),
        (("train", "--shell-completion", "install=bash"), "--shell-completion: textgru has no shell completion"),
        (("predict", "-sc"), "-sc: textgru has no shell completion"),  # Hydra's ValueError traceback, exit 0
        (("predict", "-m", "text=a,b", "ckpt_path=x"), "-m: sweeps are for textgru train; run textgru predict once"),
        (("eval", "--multi", "ckpt_path=x"), "-m: sweeps are for textgru train; run textgru eval once"),  # argparse's
    ):
        r = run_textgru(*refused, timeout=120, cwd=tmp_path)
        assert r.returncode == 2 and r.stderr.startswith(f"error: {said}"), r.stderr
        assert "Traceback" not in r.stderr and r.stderr.strip().count("\n") == 0, r.stderr
        assert not any(tmp_path.iterdir()), list(tmp_path.iterdir())
    shown = run_textgru("train", "experiment=tweets_ulmfit", "--cfg", "job", timeout=120, cwd=tmp_path)  # a review:
    assert shown.returncode == 0 and "pretrained_lm: ${paths.output_dir}/bilm/tweets" in shown.stdout, shown.stderr
    assert not any(tmp_path.iterdir())  # refused: its LM, pretrained by another preset, did not exist yet
    helped = run_textgru("train", "experiment=tweets_ulmfit", "--help", timeout=120, cwd=tmp_path)
    assert helped.returncode == 0 and "textgru train" in helped.stdout, helped.stderr
    typo = answer(("train", "--hepl"))  # argparse's 8-line usage block before
    assert typo.returncode == 2 and typo.stderr.strip().count("\n") == 0, typo.stderr
    assert (
        typo.stderr.startswith("error: unrecognized arguments: --hepl; options are key=value")
        and "--help" in typo.stderr
    )


def test_textgru_help_lists_the_commands_and_train_help_shows_usage() -> None:
    top = run_textgru("--help", timeout=60)
    assert top.returncode == 0
    for command in ("train", "eval", "predict", "generate", "ensemble", "tune", "gradient-flow", "serve"):
        assert f"\n  {command} " in top.stdout
    train, lm = (run_textgru("train", *task, "--help", timeout=120) for task in ((), ("task=lm",)))
    assert train.returncode == 0 and "textgru train" in train.stdout and "model: bigru_classifier" in train.stdout
    # each key with the comment of the file that sets it (Hydra's help showed none: `pooling: meanmax` unexplained),
    # a comment's lines that go on below it too, and the comments of the files a choice (task=lm) takes
    assert "\n  pooling: meanmax          # last | mean | max | meanmax | attention\n" in train.stdout, train.stdout
    assert "# states per token join this model's own embedding (ELMo; from GloVe, any sizes)\n" in train.stdout
    assert "\n  bptt: 128                 # tokens per window" in lm.stdout and "pooling" not in lm.stdout, lm.stdout
    predict = run_textgru(
        "predict", "--help", timeout=120
    )  # its own options, not the training config groups Hydra finds beside its config
    assert predict.returncode == 0 and predict.stdout.startswith("textgru predict: classify texts")
    assert "ckpt_path: ???" in predict.stdout and "hparams_search" not in predict.stdout
    bad = run_textgru("trian", timeout=60)
    assert bad.returncode == 2 and bad.stderr.strip() == (
        "error: unknown command 'trian'; did you mean train? choose one of: train, eval, predict, generate, export, ensemble, tune, gradient-flow, serve "
        "(textgru --help)"
    )


def test_train_and_tune_help_list_the_options_of_your_own_conf(tmp_path: Path) -> None:
    """A review: `textgru train --help` (and tune's) listed the options of `--config-dir DIR` but not of `./conf`, which
    the command reads too (README: "Your own configs"): experiment=mine composed, yet `experiment:` had no mine."""
    (tmp_path / "team_exps").mkdir()  # a linked group folder (a review: `rglob` skipped it; Hydra reads it)
    (tmp_path / "team_exps" / "mine.yaml").write_text("# @package _global_\nmodel:\n  hidden_size: 128\n")
    (tmp_path / "conf" / "data").mkdir(parents=True)
    (tmp_path / "conf" / "experiment").symlink_to(tmp_path / "team_exps", target_is_directory=True)
    (tmp_path / "conf" / "data" / "reviews.yaml").write_text("source: local\npath: reviews.csv\n")
    (tmp_path / "conf" / "mine" / "deeper").mkdir(parents=True)  # a group of your own, and one inside it
    (tmp_path / "conf" / "mine" / "deeper" / "one.yaml").write_text("a: 1\n")
    (tmp_path / "conf" / "mine" / "deeper" / "up").symlink_to("..", target_is_directory=True)  # a loop: read once
    (tmp_path / "other" / "experiment").mkdir(parents=True)
    (tmp_path / "other" / "experiment" / "theirs.yaml").write_text("# @package _global_\nseed: 3\n")
    for command in (("train",), ("tune",), ("train", "--config-dir", str(tmp_path / "other"))):
        r = run_textgru(*command, "--help", timeout=120, cwd=tmp_path)
        groups = r.stdout.partition("== Config groups")[2].partition("\n\n")[0].splitlines()[1:]
        assert r.returncode == 0 and groups == sorted(groups), r.stderr
        experiment = next(g for g in groups if g.startswith("experiment: ")).split(": ")[1].split(", ")
        data = next(g for g in groups if g.startswith("data: ")).split(": ")[1].split(", ")
        assert "mine" in experiment and experiment == sorted(experiment) and "reviews" in data, groups
        assert "mine/deeper: one" in groups and ("theirs" in experiment) == ("--config-dir" in command), groups
        assert not any(g.startswith(("mine: ", "mine/deeper/up")) for g in groups), groups  # (no yaml; the loop)
        assert not any(g.startswith("hydra") for g in groups) and ": bigru_classifier," in r.stdout


def test_help_reads_own_conf_groups_three_folders_deep_through_links(tmp_path: Path) -> None:
    """A review: `ln -s /usr conf/data/sysusr` made `train --help` walk all of /usr through the link (930 groups of
    data/sysusr/lib/..., 6.7 s); groups are read three folders deep (textgru's own go two: hydra/job_logging)."""
    from textgru.train_help import GROUPS, with_own_options

    (tmp_path / "conf" / "a" / "b" / "c" / "d").mkdir(parents=True)
    (tmp_path / "conf" / "a" / "b" / "c" / "three.yaml").write_text("x: 1\n")
    (tmp_path / "conf" / "a" / "b" / "c" / "d" / "four.yaml").write_text("x: 1\n")
    (tmp_path / "conf" / "data").mkdir()
    (tmp_path / "conf" / "data" / "deep").symlink_to(tmp_path / "conf" / "a", target_is_directory=True)
    if Path("/usr").is_dir():
        (tmp_path / "conf" / "data" / "sysusr").symlink_to("/usr", target_is_directory=True)
    text = with_own_options(f"{GROUPS}\ndata: imdb\n\n== The composed config\n", tmp_path / "conf")
    groups = text.partition(GROUPS)[2].partition("\n\n")[0].splitlines()[1:]
    assert "a/b/c: three" in groups and "data: imdb" in groups, groups
    assert all(g.partition(": ")[0].count("/") < 3 for g in groups), groups  # not a/b/c/d, data/deep/b/c, /usr's
