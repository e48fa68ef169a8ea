"""Text utilities with no Rasa in them: how 小安 reads what a user typed.

Normalisation, secret masking, fraud signals, amounts and identifiers. The
runtime's ingress, the NLU components and the action server all call these,
so a message is read the same way wherever it is read.
"""
