"""小安's own code beside Rasa, in three rooms and one loader.

* `xiaoan.text` — how a user's words are read (no Rasa): normalisation,
  masking, fraud signals, amounts, identifiers. Part of the trained model.
* `xiaoan.components` — the NLU components and the policy inside the trained
  model. A change to either of these folders retrains.
* `xiaoan.runtime` — the Rasa server around the model: `install()`, the
  ingress, the processor, the stores. Never retrains.
* `xiaoan.content` — the one loader of the words (domain.yml responses) and
  the facts they state (content/).

docs/architecture.md has the picture.
"""
