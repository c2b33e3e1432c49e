"""``python -m dockyard.demo``: what ``make demo`` runs."""

import sys

from dockyard.demo import main

sys.exit(main())
