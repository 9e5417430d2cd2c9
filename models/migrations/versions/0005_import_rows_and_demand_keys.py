"""import logs keep in-file duplicates, changed fields and the rejected rows as
read (for the rejects XLSX); a demand's dedup key is its enterprise and title
(no longer the description), so existing keys are recomputed

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def _new_demand_keys() -> None:
    from ingest.keys import demand_key

    bind = op.get_bind()
    rows = bind.execute(sa.text(
        "SELECT d.id, d.title, e.name FROM demands d JOIN enterprises e ON e.id = d.enterprise_id ORDER BY d.id"
    )).all()
    taken: set[str] = set()
    for demand_id, title, name in rows:
        key = demand_key(name, title)
        if key in taken:
            continue  # a second demand of the same enterprise and title keeps its old key
        taken.add(key)
        bind.execute(sa.text("UPDATE demands SET dedup_key = :k WHERE id = :i"), {"k": key, "i": demand_id})


def upgrade() -> None:
    with op.batch_alter_table('import_logs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicates', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('duplicate_rows', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('changes', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reject_header', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reject_rows', sa.JSON(), nullable=True))
    _new_demand_keys()


def downgrade() -> None:
    with op.batch_alter_table('import_logs', schema=None) as batch_op:
        batch_op.drop_column('reject_rows')
        batch_op.drop_column('reject_header')
        batch_op.drop_column('changes')
        batch_op.drop_column('duplicate_rows')
        batch_op.drop_column('duplicates')
