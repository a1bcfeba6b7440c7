"""`flask pii rotate-key`: re-encrypt personal data under the current PII_KEY."""

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from sqlalchemy.orm.attributes import flag_modified

from core.extensions import db
from core.pii import Encrypted, keyring
from core.unit_of_work import unit_of_work

pii_cli = AppGroup("pii", help="Personal data at rest.")


def encrypted_models() -> list[tuple[type, list[str]]]:
    """Every mapped class with its encrypted attributes."""
    found = []
    for mapper in db.Model.registry.mappers:
        names = [
            attr.key
            for attr in mapper.column_attrs
            if any(isinstance(column.type, Encrypted) for column in attr.columns)
        ]
        if names:
            found.append((mapper.class_, names))
    return sorted(found, key=lambda item: item[0].__name__)


def rotate_personal_data(batch_size: int = 500) -> dict[str, int]:
    """Rewrite every encrypted value with the current key and refresh its digest.

    Values under older keys are read with ``PII_PREVIOUS_KEYS``; a value no
    configured key can read stops the rotation with an error. Commits per batch,
    so an interrupted rotation can simply be run again.
    """
    ring = keyring()
    counts = {}
    for model, names in encrypted_models():
        (pk,) = sa.inspect(model).primary_key
        ids = db.session.scalars(sa.select(pk).order_by(pk)).all()
        for start in range(0, len(ids), batch_size):
            with unit_of_work():
                rows = db.session.scalars(sa.select(model).where(pk.in_(ids[start : start + batch_size]))).all()
                for row in rows:
                    for name in names:
                        value = getattr(row, name)
                        if value is None:
                            continue
                        flag_modified(row, name)
                        if hasattr(row, f"{name}_digest"):
                            setattr(row, f"{name}_digest", ring.digest(value, name))
        counts[model.__tablename__] = len(ids)
    return counts


@pii_cli.command("rotate-key")
@click.option("--batch-size", default=500, show_default=True)
def rotate_key_command(batch_size: int) -> None:
    """Re-encrypt all personal data under PII_KEY (old keys in PII_PREVIOUS_KEYS)."""
    counts = rotate_personal_data(batch_size)
    for table, count in counts.items():
        click.echo(f"{table}: {count} rows re-encrypted under key {keyring().current.key_id}")
