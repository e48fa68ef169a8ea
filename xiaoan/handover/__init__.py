"""A person behind the bot: the shared hand-over store, staff hours and passwords.

Everything about a hand-over that must hold across processes and Rasa servers
lives in SQL tables beside the back office (tables.py), one module per room:
staff accounts and sign-in lock-out (staff.py), console sessions (sessions.py),
the queue and its claims (queue.py), staff messages and their delivery
(messages.py), review marks (labels.py); store.py composes them into the one
`HandoverStore` a process uses (`store.get_store()`). The action server queues
(actions/handover.py), the Rasa server delivers and pauses (channels/staff.py,
channels/rest.py, channels/socketio.py), the console (console/) reads and
acts. None of them keeps hand-over state in its own memory.

This package imports none of its modules: import the one you need.
"""
