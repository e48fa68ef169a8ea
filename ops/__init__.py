"""Running 小安: `make run` (local.py), `make scale` (scale.py) and the server processes they and the fault tests start (services.py); ops/README.md."""
