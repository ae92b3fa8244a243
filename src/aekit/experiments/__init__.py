"""Multi-run flows (each module one experiment: label efficiency, ...)."""
