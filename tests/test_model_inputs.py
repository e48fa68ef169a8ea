"""`make train` skips training only when the newest model was trained from the same inputs.

scripts/model_inputs.py is run on a copy of the project's layout in a temporary folder:
a recorded model is current until a training file, the config or the project's own
component code changes, or a newer model appears.
"""
from __future__ import annotations

import importlib.util
import os
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("model_inputs", ROOT / "scripts" / "model_inputs.py")
model_inputs = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("model_inputs", model_inputs)
_spec.loader.exec_module(model_inputs)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "data" / "nlu").mkdir(parents=True)
    (tmp_path / "data" / "nlu" / "smalltalk.yml").write_text("- 你好\n", encoding="utf-8")
    (tmp_path / "xiaoan" / "components").mkdir(parents=True)
    (tmp_path / "xiaoan" / "components" / "tokenizer.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "xiaoan" / "runtime").mkdir()
    (tmp_path / "xiaoan" / "runtime" / "server.py").write_text("Y = 1\n", encoding="utf-8")
    (tmp_path / "data" / "dict").mkdir()
    (tmp_path / "data" / "dict" / "pos.txt").write_text("转账 10 n\n", encoding="utf-8")
    (tmp_path / "config.yml").write_text("threshold: 0.3\n", encoding="utf-8")
    (tmp_path / "domain.yml").write_text("intents: []\n", encoding="utf-8")
    (tmp_path / "requirements.txt").write_text("rasa==3.6.21\n", encoding="utf-8")
    (tmp_path / "models").mkdir()
    monkeypatch.setattr(model_inputs, "ROOT", tmp_path)
    monkeypatch.setattr(model_inputs, "MODELS", tmp_path / "models")
    monkeypatch.setattr(model_inputs, "RECORD", tmp_path / "models" / ".inputs")
    monkeypatch.setattr(model_inputs, "LISTING", tmp_path / "models" / ".inputs.files")
    return tmp_path


def add_model(project: Path, name: str) -> Path:
    model = project / "models" / name
    model.write_bytes(b"model")
    later = time.time() + len(list((project / "models").glob("*.tar.gz")))
    os.utime(model, (later, later))
    return model


def test_no_model_means_training(project: Path) -> None:
    assert model_inputs.main(["--check"]) == 1


def test_recorded_model_is_current_until_an_input_changes(project: Path) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    assert model_inputs.main(["--check"]) == 0

    (project / "data" / "nlu" / "smalltalk.yml").write_text("- 你好\n- 您好\n", encoding="utf-8")
    assert model_inputs.main(["--check"]) == 1


@pytest.mark.parametrize("changed", ["config.yml", "xiaoan/components/tokenizer.py", "requirements.txt", "data/dict/pos.txt"])
def test_config_code_and_versions_are_inputs(project: Path, changed: str) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    (project / changed).write_text("changed\n", encoding="utf-8")
    assert model_inputs.main(["--check"]) == 1


def test_a_new_file_is_an_input(project: Path) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    (project / "data" / "nlu" / "questions.yml").write_text("- 怎么办\n", encoding="utf-8")
    assert model_inputs.main(["--check"]) == 1


def test_bytecode_is_not_an_input(project: Path) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    cache = project / "xiaoan" / "components" / "__pycache__"
    cache.mkdir()
    (cache / "tokenizer.cpython-310.pyc").write_bytes(b"\0")
    assert model_inputs.main(["--check"]) == 0


def test_a_newer_model_trained_by_hand_is_not_vouched_for(project: Path) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    add_model(project, "b.tar.gz")
    assert model_inputs.main(["--check"]) == 1


def test_an_edit_made_while_training_ran_is_not_vouched_for(project: Path, capsys: pytest.CaptureFixture) -> None:
    model_inputs.main(["--hash"])
    before = capsys.readouterr().out.strip()
    (project / "data" / "nlu" / "smalltalk.yml").write_text("- 你好呀\n", encoding="utf-8")  # edited mid-training
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record", before])
    assert model_inputs.main(["--check"]) == 1


@pytest.mark.parametrize("unrelated", ["xiaoan/runtime/server.py", "data/nlu/smalltalk.yml~", "data/nlu/.smalltalk.yml.swp"])
def test_the_server_code_and_editor_backups_are_not_inputs(project: Path, unrelated: str) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    (project / unrelated).write_text("changed\n", encoding="utf-8")
    assert model_inputs.main(["--check"]) == 0


def test_the_training_command_is_an_input(project: Path) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record", "--salt", "train --augmentation 0"])
    assert model_inputs.main(["--check", "--salt", "train --augmentation 0"]) == 0
    assert model_inputs.main(["--check", "--salt", "train --augmentation 20"]) == 1


@pytest.mark.parametrize("cache", ["data/nlu/.ipynb_checkpoints/smalltalk-checkpoint.yml",
                                   "data/.hypothesis/examples/3f2a/9c1d", "xiaoan/components/.mypy_cache/tokenizer.py"])
def test_a_tools_hidden_folder_is_not_an_input(project: Path, cache: str) -> None:
    """A cache a tool writes inside data/ or xiaoan/ (named by a hidden folder, its files not) moves nothing."""
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record"])
    (project / cache).parent.mkdir(parents=True)
    (project / cache).write_text("written by a tool\n", encoding="utf-8")
    assert model_inputs.main(["--check"]) == 0


def test_a_failed_check_names_the_file_that_moved(project: Path, capsys: pytest.CaptureFixture) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record", "--salt", "train"])
    (project / "data" / "nlu" / "smalltalk.yml").write_text("- 您好\n", encoding="utf-8")
    (project / "data" / "nlu" / "new.yml").write_text("- 在吗\n", encoding="utf-8")
    (project / "data" / "dict" / "pos.txt").unlink()
    capsys.readouterr()
    assert model_inputs.main(["--check", "--salt", "train"]) == 1
    said = capsys.readouterr().err
    assert "~data/nlu/smalltalk.yml" in said and "+data/nlu/new.yml" in said and "-data/dict/pos.txt" in said


@pytest.mark.parametrize("setup, reason", [
    (lambda project: None, "no model in models/"),
    (lambda project: add_model(project, "a.tar.gz"), "no record"),
])
def test_a_failed_check_says_why(project: Path, capsys: pytest.CaptureFixture, setup, reason: str) -> None:
    setup(project)
    assert model_inputs.main(["--check"]) == 1
    assert reason in capsys.readouterr().err


def test_a_changed_training_command_is_named(project: Path, capsys: pytest.CaptureFixture) -> None:
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record", "--salt", "train --augmentation 0"])
    assert model_inputs.main(["--check", "--salt", "train --augmentation 20"]) == 1
    assert "the training command" in capsys.readouterr().err


def test_an_input_moved_by_training_itself_is_named_as_such(project: Path, capsys: pytest.CaptureFixture) -> None:
    """make takes the hash before training and records after: if training wrote an input, record says so
    at once and the next check says the files match the listing but the hash does not."""
    model_inputs.main(["--hash"])
    before = capsys.readouterr().out.strip()
    (project / "config.yml").write_text("threshold: 0.3\n# written by training\n", encoding="utf-8")
    add_model(project, "a.tar.gz")
    model_inputs.main(["--record", before])
    assert "changed while training ran" in capsys.readouterr().err
    assert model_inputs.main(["--check"]) == 1
    assert "changed while training ran" in capsys.readouterr().err


def test_the_projects_hash_depends_on_content_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """This checkout's inputs copied elsewhere (another absolute path, fresh mtimes, another working folder)
    hash the same: nothing but the files' paths inside the project and their bytes counts."""
    here = model_inputs.inputs_hash("salt")
    assert model_inputs.inputs_hash("salt") == here
    copy = tmp_path / "clone"
    for path in model_inputs.input_files():
        target = copy / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(path.read_bytes())
    monkeypatch.setattr(model_inputs, "ROOT", copy)
    monkeypatch.chdir(tmp_path)
    assert model_inputs.inputs_hash("salt") == here
