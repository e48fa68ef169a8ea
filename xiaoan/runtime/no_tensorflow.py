"""A Rasa server whose model runs no TensorFlow does not import TensorFlow.

Why: Rasa imports TensorFlow on its way to the server whatever the model holds
(rasa.core.agent → policy → featurizers → rasa.utils.train_utils →
rasa.utils.tensorflow.callback), and TensorFlow alone is ~400 MB resident and
several seconds of start-up. Since issue 21 config.yml has no TensorFlow
component; measured in-process, loading the model: 724 → 309 MB, 13.3 → 6.4 s
(docs/benchmarks.md, "Lean path").

So `python -m xiaoan.runtime run` (the Rasa server only; never training, tests or
the shell) reads the model's metadata first and, when every node of its
prediction graph is in `TENSORFLOW_FREE`, puts a stand-in in front of the
import system for `tensorflow` and its companions: the modules import, their
classes subclass `object`, and nothing that the model runs touches them.
Anything else (a model with DIET or TED, `XIAOAN_REAL_TENSORFLOW=1`) imports
the real TensorFlow as before. The server then cannot train (`POST /model/train`)
or load a TensorFlow model over the API: `make train` trains.
"""
from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
import tarfile
import types
from pathlib import Path
from typing import Any, Iterable, List, Optional

REAL_ENV = "XIAOAN_REAL_TENSORFLOW"
STUBBED = ("tensorflow", "tensorflow_addons", "tensorflow_text", "tensorflow_hub", "tensorflow_probability",
           "keras", "tf_keras")
# Prediction-graph nodes that run no TensorFlow (checked: tests/test_no_tensorflow.py loads such a model
# with the stand-in and predicts exactly as with TensorFlow).
TENSORFLOW_FREE = frozenset({
    "rasa.core.policies.ensemble.DefaultPolicyPredictionEnsemble",
    "rasa.core.policies.memoization.MemoizationPolicy",
    "rasa.core.policies.memoization.AugmentedMemoizationPolicy",
    "rasa.core.policies.rule_policy.RulePolicy",
    "rasa.graph_components.converters.nlu_message_converter.NLUMessageConverter",
    "rasa.graph_components.providers.domain_provider.DomainProvider",
    "rasa.graph_components.providers.rule_only_provider.RuleOnlyDataProvider",
    "rasa.nlu.classifiers.fallback_classifier.FallbackClassifier",
    "rasa.nlu.classifiers.regex_message_handler.RegexMessageHandler",
    "rasa.nlu.extractors.entity_synonyms.EntitySynonymMapper",
    "xiaoan.components.entity_finisher.EntityFinisher",
    "xiaoan.components.fraud_intent.FraudPatternIntent",
    "xiaoan.components.linear_intent.LinearIntentClassifier",
    "xiaoan.components.phrase_entities.PhraseEntityExtractor",
    "xiaoan.components.preprocess.UserTextReader",
    "xiaoan.components.structured_entities.StructuredEntityExtractor",
    "xiaoan.components.tokenizer.CleanJiebaTokenizer",
})


class _Stand:
    """Any TensorFlow object at import time: attributes and calls give more of it, a decorator keeps the
    function, and a class statement that subclasses it subclasses `object`."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, item: str) -> "_Stand":
        if item.startswith("__") and item.endswith("__"):
            raise AttributeError(item)
        return _Stand(f"{self._name}.{item}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and callable(args[0]) and not kwargs:
            return args[0]
        return _Stand(f"{self._name}()")

    def __mro_entries__(self, bases: tuple) -> tuple:
        return (object,)

    def __getitem__(self, item: Any) -> "_Stand":
        return self

    def __or__(self, other: Any) -> "_Stand":
        return self

    __ror__ = __or__

    def __iter__(self) -> Any:
        return iter(())

    def __repr__(self) -> str:
        return f"<TensorFlow stand-in {self._name}>"


class _StandModule(types.ModuleType):
    def __getattr__(self, item: str) -> _Stand:
        if item.startswith("__") and item.endswith("__"):
            raise AttributeError(item)
        return _Stand(f"{self.__name__}.{item}")


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Answers every import of a STUBBED package (and its submodules) with a stand-in module."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Optional[importlib.machinery.ModuleSpec]:
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType:
        module = _StandModule(spec.name)
        module.__path__ = []  # a package: its submodules import too
        return module

    def exec_module(self, module: types.ModuleType) -> None:
        return None


def model_file(path: Path) -> Optional[Path]:
    """The model Rasa will load from `path`: the file itself, or the newest .tar.gz in a folder."""
    if path.is_file():
        return path
    models = sorted(path.glob("*.tar.gz"), key=os.path.getmtime) if path.is_dir() else []
    return models[-1] if models else None


def graph_nodes(model: Path) -> List[str]:
    """The classes the model's prediction graph runs, from its metadata.json."""
    with tarfile.open(model) as archive:
        member = next(m for m in archive.getmembers() if m.name in ("metadata.json", "./metadata.json"))
        metadata = json.load(archive.extractfile(member))  # type: ignore[arg-type]
    return [str(node.get("uses")) for node in (metadata.get("predict_schema") or {}).get("nodes", {}).values()]


def runs_without_tensorflow(nodes: Iterable[str]) -> bool:
    nodes = list(nodes)
    return bool(nodes) and all(node in TENSORFLOW_FREE for node in nodes)


def model_argument(args: List[str]) -> Path:
    """`-m`/`--model` of a `rasa run` command line (Rasa's default: models/)."""
    for index, arg in enumerate(args):
        if arg in ("-m", "--model") and index + 1 < len(args):
            return Path(args[index + 1])
        if arg.startswith("--model="):
            return Path(arg.split("=", 1)[1])
    return Path("models")


def wanted(args: List[str]) -> bool:
    """Whether this command is a Rasa server (`run`, not `run actions`) whose model runs no TensorFlow."""
    if args[:1] != ["run"] or args[:2] == ["run", "actions"] or os.environ.get(REAL_ENV) == "1":
        return False
    model = model_file(model_argument(args))
    try:
        return model is not None and runs_without_tensorflow(graph_nodes(model))
    except Exception:  # noqa: BLE001 - anything unreadable: the real TensorFlow, as before
        return False


def install() -> None:
    """The stand-in in front of the import system (before anything imports TensorFlow)."""
    if any(isinstance(finder, StandInFinder) for finder in sys.meta_path):
        return
    if any(name in sys.modules for name in STUBBED):
        raise RuntimeError("TensorFlow is already imported: the stand-in must be installed first")
    sys.meta_path.insert(0, StandInFinder())


def stood_in() -> bool:
    """Whether `tensorflow` in this process is the stand-in."""
    return isinstance(sys.modules.get("tensorflow"), _StandModule)
