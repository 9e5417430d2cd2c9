"""report_notes: the 存在不足 staff write on the quarterly 统计表, kept per quarter, form and row

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 00:05:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'report_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('quarter', sa.String(length=8), nullable=False),
        sa.Column('form', sa.String(length=10), nullable=False),
        sa.Column('row_key', sa.String(length=80), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.String(length=60), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('quarter', 'form', 'row_key'),
    )


def downgrade() -> None:
    op.drop_table('report_notes')
