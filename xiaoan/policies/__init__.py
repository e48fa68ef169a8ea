"""Dialogue policies of 小安 (custom Rasa graph components)."""
