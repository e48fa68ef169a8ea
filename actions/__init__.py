"""小安's custom actions: back-office checks, code lookup, fraud and privacy guards, tickets."""
