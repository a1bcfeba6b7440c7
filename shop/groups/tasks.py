"""Group jobs, declared for Celery (or the in-process runner)."""

from datetime import timedelta

from core.db import utcnow
from core.tasks import periodic_job
from core.unit_of_work import unit_of_work
from shop.groups.lifecycle import expire_group, overdue_groups, refunds_to_retry, retry_refund


@periodic_job("groups.expire", every=timedelta(minutes=1))
def expire_groups(batch_size: int = 100) -> int:
    """Expire forming groups past their deadline and refund their paid members, one group per commit;
    then send again the members' refunds that the gateway refused (``retry_refunds``).

    Safe to run twice or on several workers at once: each group is re-checked
    under its lock, so its members are refunded once.
    """
    now = utcnow()
    retry_refunds(now, batch_size)
    expired = 0
    seen: set[int] = set()
    while True:
        with unit_of_work():
            ids = [group_id for group_id in overdue_groups(now, batch_size) if group_id not in seen]
        for group_id in ids:
            seen.add(group_id)
            with unit_of_work():
                expired += expire_group(group_id, now)
        if len(ids) < batch_size:
            return expired


def retry_refunds(now, batch_size: int = 100) -> int:
    """Refund again, one order per commit, the members of expired groups whose refund failed."""
    with unit_of_work():
        order_ids = refunds_to_retry(now, batch_size)
    sent = 0
    for order_id in order_ids:
        with unit_of_work():
            sent += retry_refund(order_id, now) is not None
    return sent
