"""A training script that prints the secret it was given, as careless code does, then fails
quoting it."""

import os
import sys

print(f"connecting with {os.environ['DB_PASSWORD']} to {os.environ['DSN']}", flush=True)
print("pa55-clear", flush=True)  # part of the secret alone is not the secret: kept
sys.exit(f"could not connect: password {os.environ['DB_PASSWORD']} refused")
