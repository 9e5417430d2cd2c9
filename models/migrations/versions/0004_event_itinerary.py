"""event itinerary (days, half-day slots, availability, visit date/slot/order),
candidate pools (academicians only, candidate regions) and expert interest on items

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('academicians_only', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('candidate_regions', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('day_slots', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('expert_slot_limit', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('slot_limit', sa.Integer(), nullable=True))
    with op.batch_alter_table('event_invitees', schema=None) as batch_op:
        batch_op.add_column(sa.Column('available_days', sa.JSON(), nullable=True))
    with op.batch_alter_table('match_items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('visit_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('slot', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('visit_order', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('schedule_note', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('interest', sa.String(length=20), server_default='', nullable=False))
    op.create_table('event_days',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('slots', sa.JSON(), nullable=True),
    sa.Column('slot_limit', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_event_days_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_days')),
    sa.UniqueConstraint('event_id', 'day', name=op.f('uq_event_days_event_id'))
    )
    with op.batch_alter_table('event_days', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_event_days_event_id'), ['event_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('event_days', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_event_days_event_id'))
    op.drop_table('event_days')
    with op.batch_alter_table('match_items', schema=None) as batch_op:
        for name in ('interest', 'schedule_note', 'visit_order', 'slot', 'visit_date'):
            batch_op.drop_column(name)
    with op.batch_alter_table('event_invitees', schema=None) as batch_op:
        batch_op.drop_column('available_days')
    with op.batch_alter_table('events', schema=None) as batch_op:
        for name in ('slot_limit', 'expert_slot_limit', 'day_slots', 'candidate_regions', 'academicians_only'):
            batch_op.drop_column(name)
