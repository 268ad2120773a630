"""sealed second-factor secrets need room: staff.totp_secret 64 -> 255 characters

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("staff") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(length=64),
                           type_=sa.String(length=255), existing_nullable=True)


def downgrade() -> None:
    """Undo this revision."""
    with op.batch_alter_table("staff") as batch:
        batch.alter_column("totp_secret", existing_type=sa.String(length=255),
                           type_=sa.String(length=64), existing_nullable=True)
