"""organisations (province, city association, society) and users.organisation_id

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 00:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'organisations',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('province', 'city', 'society', name='org_kind', native_enum=False, length=20),
                  nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('city', sa.String(length=40), nullable=False, server_default=''),
        sa.Column('society_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['society_id'], ['societies.id'], name=op.f('fk_organisations_society_id_societies')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_organisations')),
        sa.UniqueConstraint('name', name=op.f('uq_organisations_name')),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('organisation_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_users_organisation_id_organisations'), 'organisations', ['organisation_id'], ['id']
        )


def downgrade() -> None:
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_users_organisation_id_organisations'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_users_organisation_id'))
        batch_op.drop_column('organisation_id')
    op.drop_table('organisations')
