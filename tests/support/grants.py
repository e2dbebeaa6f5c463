"""Test set-up and clean-up of data-sharing grants on the shared test stack."""

from __future__ import annotations


def withdraw_grants(platform, consumer: str, resource: str, item: str | None = None) -> None:
    """Revoke (as the data office) every active grant of ``resource`` to ``consumer`` (holding ``item``,
    when given), so a test starts from what the consumer may read without any request."""
    from govlake.sharing import dispatch
    from govlake.warehouse.department_roles import role_name

    rows = platform.execute(
        "select distinct request_id from platform.share_grants where grantee = %s and resource_key = %s "
        "and (%s::text is null or %s = any(items)) and revoked_at is null",
        (role_name(consumer), resource, item, item),
    ).fetchall()
    for (rid,) in rows:
        dispatch.revoke(platform, rid, "data_office", "test set-up: start without this grant")
