"""``python -m console``: the staff console on CONSOLE_PORT (8090)."""
from console.server import main

main()
