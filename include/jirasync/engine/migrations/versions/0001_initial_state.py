"""The first state store schema: links, base, cursors, runs, ledger, pending, journal, locks.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "links",
        sa.Column("sync_id", sa.String(200), primary_key=True),
        sa.Column("source_id", sa.String(500), primary_key=True),
        sa.Column("target_id", sa.String(500), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_links_sync_target", "links", ["sync_id", "target_id"])
    op.create_table(
        "base",
        sa.Column("sync_id", sa.String(200), primary_key=True),
        sa.Column("source_id", sa.String(500), primary_key=True),
        sa.Column("field", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "cursors",
        sa.Column("sync_id", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(250), primary_key=True),
        sa.Column("sync_id", sa.String(200), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("dry_run", sa.Boolean(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=True),
    )
    op.create_index("ix_runs_sync", "runs", ["sync_id", "started_at"])
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("key", sa.String(1000), nullable=False),
        sa.Column("source_id", sa.String(500), nullable=True),
        sa.Column("target_id", sa.String(500), nullable=True),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("field", sa.String(200), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("direction", sa.String(10), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_ledger_run", "ledger", ["run_id"])
    op.create_table(
        "pending",
        sa.Column("sync_id", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(1000), primary_key=True),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("sync_id", sa.String(200), nullable=False),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("batch_id", sa.String(32), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("changes", sa.Text(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_journal_sync_state", "journal", ["sync_id", "state"])
    op.create_index("ix_journal_batch", "journal", ["batch_id"])
    op.create_table(
        "locks",
        sa.Column("sync_id", sa.String(200), primary_key=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("holder", sa.String(300), nullable=False),
        sa.Column("acquired_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    for table in ("locks", "journal", "pending", "ledger", "runs", "cursors", "base", "links"):
        op.drop_table(table)
