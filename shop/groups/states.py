"""The group and member state machines."""

from shop.groups.models import GroupBuy, GroupMember, GroupStatus, MemberStatus
from shop.orders.states import InvalidState

G, M = GroupStatus, MemberStatus
GROUP_TRANSITIONS: dict[str, set[GroupStatus]] = {
    G.OPENING: {G.FORMING, G.CANCELLED},
    G.FORMING: {G.SUCCEEDED, G.EXPIRED},
    G.SUCCEEDED: set(),
    G.EXPIRED: set(),
    G.CANCELLED: set(),
}
MEMBER_TRANSITIONS: dict[str, set[MemberStatus]] = {
    M.JOINED: {M.PAID, M.CANCELLED},
    M.PAID: {M.REFUNDED},
    M.CANCELLED: set(),
    M.REFUNDED: set(),
}
# Members who hold a place in the group.
LIVE_MEMBERS = (M.JOINED, M.PAID)


def move_group(group: GroupBuy, new: GroupStatus) -> None:
    """Change a (locked) group's status, or 409 invalid_state when the machine forbids it."""
    if new not in GROUP_TRANSITIONS[group.status]:
        raise InvalidState(f"拼团不能从「{group.status}」变为「{new}」")
    group.status = new


def move_member(member: GroupMember, new: MemberStatus) -> None:
    """Change a member's status (under its group's lock)."""
    if new not in MEMBER_TRANSITIONS[member.status]:
        raise InvalidState(f"拼团成员不能从「{member.status}」变为「{new}」")
    member.status = new
