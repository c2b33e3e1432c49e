"""Reports which version of a pinned package it sees, and logs it through the SDK."""

import packaging

import dockyard as dy

print(f"packaging={packaging.__version__}", flush=True)
with dy.start_run():
    dy.log_param("packaging_version", packaging.__version__)
