"""小安's custom actions: back-office checks, code lookup, fraud and privacy guards, tickets.

They choose which response of domain.yml to say and give its values (actions/speech.py); they write no words.
"""
