"""Which batch each shipped line came from, and taking its units off the batch.

A line ships from the batch the station names, or by default from the oldest
open batch of its product that still holds enough units. Products recorded
without batches (porcelain, say) ship without one, and a station may say
``"batch_id": null`` for a line explicitly. Units are taken with conditional
updates (``… WHERE remaining_quantity >= n``) in batch-id order, so two
shipments never take the same units and a batch never goes below zero.
"""

import sqlalchemy as sa

from core.errors import Conflict, ValidationFailed
from core.extensions import db
from shop.batches.models import Batch, BatchStatus


class BatchShortfall(Conflict):
    message = "批次剩余数量不足，请指定其他批次或先登记新批次"


def _open_batches(product_id: int) -> list[Batch]:
    return list(
        db.session.scalars(
            sa.select(Batch)
            .where(Batch.product_id == product_id, Batch.status == BatchStatus.OPEN, Batch.remaining_quantity > 0)
            .order_by(Batch.harvested_on, Batch.id)
            .execution_options(populate_existing=True)
        )
    )


def _chosen(line, batch_id: int) -> Batch:
    batch = db.session.get(Batch, batch_id, populate_existing=True)
    if batch is None or batch.product_id != line.product_id:
        raise ValidationFailed(details={"lines": {str(line.id): ["批次不存在或不属于该商品"]}})
    if batch.status != BatchStatus.OPEN:
        raise Conflict("所选批次已关闭或已撤销", details={"lines": {str(line.id): [f"批次 {batch.id} 不可发货"]}})
    return batch


def assign_batches(lines: list, choices: dict[int, int | None]) -> None:
    """Set each line's batch (``choices``: line id → batch id, or None for no batch) and take the units."""
    unknown = sorted(set(choices) - {line.id for line in lines})
    if unknown:
        raise ValidationFailed(details={"lines": {str(i): ["该订单行不在本次发货之列"] for i in unknown}})
    planned: dict[int, int] = {}
    for line in sorted(lines, key=lambda item: item.id):
        if line.id in choices:
            if choices[line.id] is None:
                continue
            batch = _chosen(line, choices[line.id])
            if batch.remaining_quantity - planned.get(batch.id, 0) < line.quantity:
                raise BatchShortfall(details={"lines": {str(line.id): [f"批次 {batch.id} 剩余不足"]}})
        else:
            candidates = _open_batches(line.product_id)
            if not candidates:
                continue  # the product is not traced by batch
            batch = next((b for b in candidates if b.remaining_quantity - planned.get(b.id, 0) >= line.quantity), None)
            if batch is None:
                raise BatchShortfall(details={"lines": {str(line.id): ["没有剩余数量足够的批次"]}})
        planned[batch.id] = planned.get(batch.id, 0) + line.quantity
        line.batch = batch
    for batch_id in sorted(planned):
        taken = db.session.execute(
            sa.update(Batch)
            .where(
                Batch.id == batch_id,
                Batch.status == BatchStatus.OPEN,
                Batch.remaining_quantity >= planned[batch_id],
            )
            .values(remaining_quantity=Batch.remaining_quantity - planned[batch_id])
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:  # another shipment took the units first
            raise BatchShortfall(details={"batch_id": batch_id})
    for batch_id in planned:
        batch = db.session.get(Batch, batch_id)
        if batch is not None:
            db.session.refresh(batch, ["remaining_quantity"])
