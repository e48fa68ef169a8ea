"""小安's custom actions: back-office checks, code lookup, fraud and privacy guards, tickets.

They choose which response of domain.yml to say and give its values (actions/speech.py); they write no words.
Loading the package registers the action server's readiness checks with the runtime (actions/readiness.py).
"""
from actions.readiness import register as _register_readiness_checks

_register_readiness_checks()
