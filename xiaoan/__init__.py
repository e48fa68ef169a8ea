"""小安's shared text layer: normalisation, amounts, masking and fraud signals.

The NLU components and the action server both import from here, so a message
is read the same way wherever it is read.
"""
