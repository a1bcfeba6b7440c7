"""Orders as the county and the city see them: the trail and refunds of one order, the station filter."""

import sqlalchemy as sa

from core.extensions import db
from core.models import User
from shop.orders.models import OrderEvent, RefundRequest, RefundRequestLine
from shop.orders.queries import OrderView
from shop.orders.schemas import MaskedAddressSchema
from villages.stations import list_stations


def actor_names(events: list[OrderEvent], buyer_id: int) -> dict[int, str]:
    """Staff who acted on the order, by user id (the buyer is not named: staff see "买家")."""
    ids = {event.actor_id for event in events if event.actor_id and event.actor_id != buyer_id}
    rows = db.session.execute(sa.select(User.id, User.display_name, User.username).where(User.id.in_(ids))).all()
    return {row.id: row.display_name or row.username for row in rows}


def order_refunds(view: OrderView) -> list[RefundRequest]:
    """After-sales requests touching the lines the viewer sees."""
    visible = [line.id for line in view.lines]
    return list(
        db.session.scalars(
            sa.select(RefundRequest)
            .where(
                RefundRequest.order_id == view.id,
                RefundRequest.id.in_(
                    sa.select(RefundRequestLine.refund_id).where(RefundRequestLine.line_id.in_(visible))
                ),
            )
            .order_by(RefundRequest.id)
        )
    )


def masked_address(view: OrderView) -> dict:
    """The recipient as the API shows staff (the full address only on the audited shipping label)."""
    return MaskedAddressSchema().dump(view.order)


def station_choices(user: User) -> list[tuple[int, str]]:
    """Stations the user may filter by (the first 100 of their region)."""
    return [(station.id, station.name) for station in list_stations(user, None, None, 1, 100)["items"]]
