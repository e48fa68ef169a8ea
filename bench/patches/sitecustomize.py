"""Loaded by Python at start-up when bench/patches is on PYTHONPATH (benchmark variants only).

Always: the cached jsonschema validator (xiaoan/runtime/action_replies.py, which `python -m
xiaoan.runtime` applies anyway; here for servers started as plain `rasa`).
BENCH_BLOCK_JAX=1: make `import jax` fail, as if jax were not installed. TensorFlow 2.12
imports jax only for tf.lite's optional jax conversion (inside try/except ImportError);
Rasa never uses it. Measures what importing jax costs in memory and start-up.
"""
import os
import sys

if os.environ.get("BENCH_BLOCK_JAX") == "1":
    sys.modules["jax"] = None  # type: ignore[assignment]

try:
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    from xiaoan import fast_validation

    fast_validation.apply()
except Exception as error:  # never break the interpreter over a benchmark patch
    print(f"bench/patches: not applied: {error}", file=sys.stderr)
