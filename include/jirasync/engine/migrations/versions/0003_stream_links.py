"""Stream links: each mirrored comment (or other stream item) linked to its origin, per sync.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "stream_links",
        sa.Column("sync_id", sa.String(200), primary_key=True),
        sa.Column("stream", sa.String(50), primary_key=True),
        sa.Column("origin_side", sa.String(10), primary_key=True),
        sa.Column("origin_id", sa.String(500), primary_key=True),
        sa.Column("mirror_id", sa.String(500), nullable=False),
        sa.Column("record_id", sa.String(500), nullable=False),
        sa.Column("issue_key", sa.String(500), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_stream_links_mirror", "stream_links", ["sync_id", "stream", "mirror_id"])


def downgrade() -> None:
    op.drop_index("ix_stream_links_mirror", "stream_links")
    op.drop_table("stream_links")
