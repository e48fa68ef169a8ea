"""Custom Rasa input channels (named in credentials.yml by module path)."""
