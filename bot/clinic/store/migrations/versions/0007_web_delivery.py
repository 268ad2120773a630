"""web delivery: outbox rows tied to their reminder and claimed by one server; widget ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("web_outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reminder_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("emitted_until", sa.DateTime(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_web_outbox_reminder_id_reminders"), "reminders", ["reminder_id"],
            ["id"], ondelete="SET NULL")
    op.create_table(
        "web_messages",
        sa.Column("conversation_id", sa.String(length=255), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("owner", sa.String(length=32), nullable=False),
        sa.Column("received_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", "message_id", name=op.f("pk_web_messages")),
    )
    with op.batch_alter_table("web_messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_web_messages_received_at"), ["received_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("web_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_web_messages_received_at"))
    op.drop_table("web_messages")
    with op.batch_alter_table("web_outbox", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_web_outbox_reminder_id_reminders"), type_="foreignkey")
        batch_op.drop_column("emitted_until")
        batch_op.drop_column("reminder_id")
