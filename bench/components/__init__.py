"""Candidate Rasa components measured by the benchmark (not part of 小安's pipeline)."""
