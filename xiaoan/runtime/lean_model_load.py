"""Load DIET and TED for prediction without building their training graphs.

Rasa 3.6 (`RasaModel.load`) creates a model's variables by training it for one
step on one example (`model.fit`) and only then reads the saved weights. That
one step traces Keras' whole training function (forward pass, gradients,
optimizer) and keeps it: measured here, +580 MB of anonymous memory for DIET
and +116 MB for TED, about half of the Rasa server's resident memory, and
seconds of start-up, for a graph the server never runs.

This creates the same variables with one eager forward pass (the loss on one
example, no gradients, no optimizer slots) and then restores the same
checkpoint. TensorFlow restores any variable created later on creation, so
nothing can be left at its initial value. The optimizer's saved slots are
not read (`expect_partial`): prediction never uses them. Predictions are
identical (tests/test_lean_model_load.py compares both loads on the held-out
file and the dialogue policies). Fine-tuning (`rasa train --finetune`) and
models loaded without a prediction example keep Rasa's own path.
"""
from __future__ import annotations

import logging
from typing import Any, Optional, Text

logger = logging.getLogger(__name__)


def lean_load(cls: Any, model_file_name: Text, model_data_example: Any, predict_data_example: Optional[Any] = None,
              finetune_mode: bool = False, *args: Any, **kwargs: Any) -> Any:
    """`RasaModel.load` without the one training step; same signature and result."""
    import tensorflow as tf
    from rasa.utils.tensorflow.constants import LEARNING_RATE, RUN_EAGERLY
    from rasa.utils.tensorflow.data_generator import RasaBatchDataGenerator

    if finetune_mode or predict_data_example is None:
        return _ORIGINAL(cls, model_file_name, model_data_example, predict_data_example, finetune_mode,
                         *args, **kwargs)
    model = cls(*args, **kwargs)
    config = kwargs.get("config", {})
    model.compile(optimizer=tf.keras.optimizers.Adam(config.get(LEARNING_RATE, 0.001)),
                  run_eagerly=config.get(RUN_EAGERLY))
    batch_in, _ = RasaBatchDataGenerator(model_data_example, batch_size=1, shuffle=False)[0]
    model._training = False
    model.batch_loss(batch_in)  # eager: creates every variable the loss (and prediction) uses
    model._training = None
    model.load_weights(model_file_name).expect_partial()
    model.run_inference(predict_data_example)  # prepares for prediction with the loaded weights; traces predict
    logger.debug(f"Loaded {cls.__name__} for prediction without its training graph.")
    return model


_ORIGINAL: Any = None


def install() -> None:
    """Installs `lean_load` as `RasaModel.load` (once)."""
    global _ORIGINAL
    from rasa.utils.tensorflow.models import RasaModel

    current = RasaModel.__dict__["load"].__func__
    if current is lean_load:
        return
    _ORIGINAL = current
    RasaModel.load = classmethod(lean_load)  # type: ignore[assignment]


def restore() -> None:
    """Puts Rasa's own `RasaModel.load` back (tests)."""
    from rasa.utils.tensorflow.models import RasaModel

    if _ORIGINAL is not None:
        RasaModel.load = classmethod(_ORIGINAL)  # type: ignore[assignment]
