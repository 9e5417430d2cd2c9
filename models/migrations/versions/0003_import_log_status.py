"""import logs are written first as running, then finished as done or failed

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 22:10:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('import_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=20), server_default='done', nullable=False))
        batch_op.add_column(sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('error', sa.Text(), server_default='', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('import_logs', schema=None) as batch_op:
        batch_op.drop_column('error')
        batch_op.drop_column('finished_at')
        batch_op.drop_column('status')
