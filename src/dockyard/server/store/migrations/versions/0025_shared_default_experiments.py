"""The experiments the server makes for jobs named into none (``training-jobs``,
``tuning-jobs``, ``monitoring``... see :mod:`dockyard.server.tracking._shared`) are shared:
every signed-in user may add runs and submit jobs there, as in experiment ``0``.

Until now the first member to submit such a job made the experiment and became its only
editor, so everyone else's jobs were refused. Those that exist get the ``edit`` grant for
everyone (``*``); their maker keeps the ``manage`` they hold, and every run its author.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import and_, select

from dockyard.server.store import schema

# Kept apart from the number in the file's name, so the two change together if renumbered.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None

# As they are named at this revision (a migration does not follow later changes).
SHARED = ("monitoring", "monitoring-jobs", "training-jobs", "transform-jobs", "tuning-jobs")
_G = schema.grants
_E = schema.experiments


def upgrade() -> None:
    conn = op.get_bind()
    ids = conn.execute(select(_E.c.experiment_id).where(_E.c.name.in_(SHARED))).scalars().all()
    for experiment_id in ids:
        everyone = and_(
            _G.c.kind == "experiment",
            _G.c.resource_id == str(experiment_id),
            _G.c.principal == "*",
        )
        level = conn.execute(select(_G.c.level).where(everyone)).scalar()
        if level is None:
            conn.execute(
                _G.insert().values(
                    kind="experiment",
                    resource_id=str(experiment_id),
                    principal="*",
                    level="edit",
                )
            )
        elif level == "read":
            conn.execute(_G.update().where(everyone).values(level="edit"))


def downgrade() -> None:
    """Grants stay: taking them back would lock members out of runs they made since."""
