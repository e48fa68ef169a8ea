"""Starting, stopping and checking 小安's servers: for the fault and scale-out tests and `make scale`."""
