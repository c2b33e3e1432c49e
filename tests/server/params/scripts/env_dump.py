"""A training script that writes the variables a parameter test gave it to the file ``OUT``."""

import json
import os
from pathlib import Path

names = ("THRESHOLD", "HOSTS", "DB_PASSWORD", "DSN")
Path(os.environ["OUT"]).write_text(json.dumps({n: os.environ.get(n) for n in names}))
