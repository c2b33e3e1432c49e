"""Readable default run names (``brave-otter-417``), like MLflow's."""

from __future__ import annotations

import secrets

_ADJECTIVES = (
    "amber",
    "bold",
    "brave",
    "bright",
    "calm",
    "clever",
    "crisp",
    "daring",
    "eager",
    "fair",
    "gentle",
    "glad",
    "keen",
    "lively",
    "lucid",
    "merry",
    "nimble",
    "noble",
    "quick",
    "quiet",
    "rapid",
    "sharp",
    "silent",
    "steady",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "zesty",
)
_NOUNS = (
    "albatross",
    "badger",
    "beacon",
    "comet",
    "crane",
    "dolphin",
    "falcon",
    "ferret",
    "harbor",
    "heron",
    "lynx",
    "marlin",
    "meadow",
    "orca",
    "otter",
    "owl",
    "pelican",
    "quarry",
    "raven",
    "schooner",
    "seal",
    "sparrow",
    "tern",
    "tide",
    "trawler",
    "walrus",
    "whale",
    "wren",
)


def random_run_name() -> str:
    """A short, readable, probably-unique name."""
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000):03d}"
