"""Object versions (issue #16): the store's version id of each file's and evidence
record's object, recorded at put, so reads and fixity use those bytes even after a new
version or a delete marker was put over the key (S3 Object Lock locks versions, not keys).

Rows made before this one have none (NULL): they are read by key, as before; so are all
rows of the local store, which has no versions.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

VERSION = sa.String(1024)  # S3 allows up to 1024 bytes; SeaweedFS and MinIO use 32 to 36


def upgrade() -> None:
    for table in ("files", "evidence"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("object_version", VERSION, nullable=True))


def downgrade() -> None:
    for table in ("files", "evidence"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("object_version")
