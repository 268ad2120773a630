"""reminder delivery: reminders.reason and the web outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason", sa.String(length=32), nullable=True))
    op.create_table(
        "web_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.Integer(), nullable=False),
        sa.Column("sender_id", sa.String(length=255), nullable=False),
        sa.Column("messages", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_web_outbox_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_web_outbox")),
    )
    with op.batch_alter_table("web_outbox", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_web_outbox_client_id"), ["client_id"], unique=False)
        batch_op.create_index(
            "ix_web_outbox_sender_created", ["sender_id", "created_at"], unique=False
        )


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("web_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_web_outbox_sender_created")
        batch_op.drop_index(batch_op.f("ix_web_outbox_client_id"))
    op.drop_table("web_outbox")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("reason")
