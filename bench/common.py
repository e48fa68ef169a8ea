"""Shared helpers for the benchmark scripts (bench/*.py).

Everything the benchmark writes goes under results/bench/ (models, JSON
figures, logs) and docs/ (the report and its plots); nothing goes to models/.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Sequence

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "results" / "bench"
DOCS = ROOT / "docs"
IMG = DOCS / "img"
VENV_BIN = ROOT / ".venv" / "bin"
RASA = str(VENV_BIN / "rasa")
PYTHON = str(VENV_BIN / "python")
TRAIN_DATA = ROOT / "data" / "nlu"
HELD_OUT = ROOT / "tests" / "nlu" / "test_nlu.yml"
SEED = 2611

# Ports of the benchmark's own servers (never the project's 5005/5055).
RASA_PORT = 5205
ACTION_PORT = 5255

# Every child process runs niced: the machine has 2 cores and is shared.
NICE = ["nice", "-n", "10"]


def bench_env(**extra: str) -> Dict[str, str]:
    """Environment for Rasa child processes: quiet, seeded, no telemetry, no shared cache.

    The training cache is pointed at an empty folder of our own and capped at 0 MB,
    so every training is a real one (and the project's .rasa/cache is untouched).
    """
    env = dict(os.environ)
    env.update(
        TF_CPP_MIN_LOG_LEVEL="2",
        SQLALCHEMY_SILENCE_UBER_WARNING="1",
        PYTHONHASHSEED="0",
        RASA_TELEMETRY_ENABLED="false",
        RASA_MAX_CACHE_SIZE="0",
        RASA_CACHE_DIRECTORY=str(OUT / "rasa-cache"),
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update(extra)
    return env


def setup_inprocess_env() -> None:
    """The same settings for code that imports Rasa in this process."""
    for key, value in bench_env().items():
        if key != "PYTHONPATH":
            os.environ[key] = value
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)  # data/dict and other relative paths in config.yml
    quiet_logging()


def quiet_logging() -> None:
    """Rasa/structlog debug lines off in this process (they would also slow the timed parses)."""
    import logging

    import structlog
    from rasa.utils.common import configure_logging_and_warnings

    configure_logging_and_warnings(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    for name in ("rasa", "tensorflow", "absl", "jieba", "matplotlib"):
        logging.getLogger(name).setLevel(logging.ERROR)


def percentile(values: Sequence[float], q: float) -> Optional[float]:
    """Nearest-rank percentile (q in 0..100): the load test's own definition."""
    from load_test import percentile as nearest_rank

    return nearest_rank(list(values), q)


def summary(values: Iterable[Optional[float]]) -> Dict[str, Optional[float]]:
    """Median, min and max of repeated measurements (None values dropped)."""
    kept = [v for v in values if v is not None]
    if not kept:
        return {"median": None, "min": None, "max": None, "n": 0}
    return {
        "median": statistics.median(kept),
        "min": min(kept),
        "max": max(kept),
        "n": len(kept),
    }


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2, default=str), encoding="utf-8")


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine() -> Dict[str, Any]:
    """What the figures were measured on."""
    info: Dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "when": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
    try:
        info["load_avg_1m"] = os.getloadavg()[0]
    except OSError:
        pass
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:
        pass
    return info


def training_fingerprint(config: Path, nlu: Path = TRAIN_DATA) -> str:
    """sha256 over what a trained NLU model depends on: the config, the training data and jieba
    dictionary, the code of the custom components (xiaoan/text and xiaoan/components,
    bench/components/) and the installed Rasa version."""
    import hashlib

    import rasa

    digest = hashlib.sha256()
    digest.update(rasa.__version__.encode())
    files = [config] + sorted(nlu.rglob("*") if nlu.is_dir() else [nlu]) + sorted((ROOT / "data" / "dict").rglob("*"))
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from xiaoan.components.fingerprint import MODEL_FOLDERS  # the model's code, not the server's

    text = config.read_text(encoding="utf-8") if config.is_file() else ""
    if "xiaoan." in text:  # only a pipeline that runs 小安's components depends on their code
        files += sorted(p for folder in MODEL_FOLDERS for p in (ROOT / "xiaoan" / folder).rglob("*.py"))
    if "bench.components." in text:
        files += sorted((ROOT / "bench" / "components").rglob("*.py"))
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def train_nlu(config: Path, out_dir: Path, name: str, nlu: Path = TRAIN_DATA,
              extra_env: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """`rasa train nlu` (niced) with `config` on `nlu`; returns wall time, model path and size.

    The wall time is the whole command: Python/TensorFlow start-up (~10 s here)
    included, as a developer experiences it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob(f"{name}*.tar.gz"):
        old.unlink()
    log_file = out_dir / f"{name}.train.log"
    command = NICE + [RASA, "train", "nlu", "--config", str(config), "--nlu", str(nlu),
                      "--out", str(out_dir), "--fixed-model-name", name]
    load_before = os.getloadavg()[0]
    trained_at = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    started = time.perf_counter()
    with open(log_file, "w", encoding="utf-8") as handle:
        result = subprocess.run(command, cwd=ROOT, env=bench_env(**(extra_env or {})),
                                stdout=handle, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - started
    model = out_dir / f"{name}.tar.gz"
    figures: Dict[str, Any] = {
        "config": str(config.relative_to(ROOT)) if config.is_relative_to(ROOT) else str(config),
        "train_seconds": round(seconds, 1),
        "returncode": result.returncode,
        "log": str(log_file.relative_to(ROOT)),
        "trained_at": trained_at,
        "load_avg_1m_before": round(load_before, 2),
    }
    if result.returncode == 0 and model.exists():
        figures["model"] = str(model)
        figures["model_mb"] = round(model.stat().st_size / 2**20, 2)
    else:
        tail = log_file.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-6:]
        figures["error"] = " ".join(line.strip() for line in tail)[-600:]
    return figures


def quick_config(config: Path, target: Path, epochs: int = 3) -> Path:
    """A copy of `config` with every trainable's epochs set low (the --quick smoke run).

    A config without a pipeline gets Rasa's default pipeline written out first.
    """
    import yaml

    data = yaml.safe_load(config.read_text(encoding="utf-8")) or {}
    if not data.get("pipeline"):
        import rasa.engine.recipes.default_recipe as recipe

        default = Path(recipe.__file__).parent / "config_files" / "default_config.yml"
        data["pipeline"] = yaml.safe_load(default.read_text(encoding="utf-8"))["pipeline"]
    for component in data["pipeline"] + (data.get("policies") or []):
        if component["name"] in ("DIETClassifier", "ResponseSelector", "TEDPolicy",
                                 "UnexpecTEDIntentPolicy"):
            component["epochs"] = epochs
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return target
