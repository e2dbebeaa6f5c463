"""The demo's data sharing goes through the platform's own dispatch and shows in the sharing graph."""

from __future__ import annotations

import datetime as dt

import pytest
from support.grants import withdraw_grants

from govlake.warehouse import connect

pytestmark = pytest.mark.integration


def test_the_demo_requests_are_approved_read_and_drawn(stack, published_day):
    from demo_province.sharing import READ_ROWS, REQUESTS, seed_sharing
    from govlake.lineage.graph import load_graph
    from govlake.lineage.sharing_flows import sharing_flows
    from govlake.sharing import dispatch
    from govlake.sharing.access import AccessDenied, read_rows

    today = dt.datetime.now(dt.UTC).date()
    with connect(stack, autocommit=True) as conn:
        for r in REQUESTS:
            withdraw_grants(conn, r.consumer, r.resource)
        approved = seed_sharing(conn, today, stack)
        try:
            assert [(r.consumer, r.resource_key) for r in approved] == [
                (r.consumer, r.resource) for r in REQUESTS
            ]
            assert all(r.state == "approved" and r.decided_by == r.owner for r in approved)
            assert seed_sharing(conn, today, stack) == []  # granted already: nothing filed twice
            flows = {(f["source"], f["target"]): f for f in sharing_flows(load_graph(conn))["flows"]}
            household = flows[("department:public_security", "department:civil_affairs")]
            assert {"grant", "read"} <= set(household["kinds"])
            assert household["rows"] >= 4 * READ_ROWS  # the four reads, each logged with its rows
            assert "exchange.public_security__household_registration" in household["resources"]
            subsidy = flows[("department:civil_affairs", "department:finance")]
            assert {"grant", "read"} <= set(subsidy["kinds"])
            # 人口基础库's providers are the departments its columns come from, not every department whose
            # delivery the build's bookkeeping (quarantine, accepted batches) touched
            via_population = {s for (s, t), f in flows.items() if "exchange.population" in f["resources"]}
            assert {"department:public_security", "department:civil_affairs"} <= via_population
            assert not via_population & {
                "department:agriculture",
                "department:transport",
                "department:statistics",
            }
        finally:
            for r in approved:
                if dispatch.get_request(conn, r.request_id).state == "approved":
                    dispatch.revoke(conn, r.request_id, "data_office", "test over")
        # revoked: the consumer's role reads the conditional items no more
        with pytest.raises(AccessDenied):
            read_rows(
                "civil_affairs", "public_security__household_registration", ["resident_id"], {}, 1, stack
            )
