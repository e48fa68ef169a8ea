"""Custom Rasa 3.6 graph components for 小安's NLU pipeline."""
