"""Releases built from scratch libraries: k-anonymity on what is published, the release gate, versions."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import psycopg
import pyarrow.parquet as pq
import pytest
from support.opendata_scratch import (
    CARD,
    DATE,
    ENTITIES,
    MOBILE,
    POPULATION,
    RECORDS,
    REFERENCE,
    VALID_ID,
    create_legal_entities,
    definition,
)

from govlake.lake import s3_client
from govlake.opendata.release import publish_open_dataset
from govlake.opendata.scan import ReleaseBlocked
from govlake.policy.leak_scan import scan_release
from govlake.settings import Settings

pytestmark = pytest.mark.integration


def _read(settings: Settings, key: str) -> bytes:
    response = s3_client(settings).get_object("open", key)
    try:
        return response.read()
    finally:
        response.close()
        response.release_conn()


def _publish(settings: Settings, name: str, **changes):
    return publish_open_dataset(definition(name, **changes), DATE, settings, reference_schema=REFERENCE)


def test_published_groups_of_records_are_all_at_least_k(stack: Settings, od: psycopg.Connection):
    release = _publish(stack, RECORDS, max_suppressed_share=0.1)
    assert (release.k_required, release.k_achieved, release.rows, release.suppressed) == (5, 6, 18, 1)
    table = pq.read_table(
        io.BytesIO(_read(stack, f"zz-{RECORDS}/{release.version}/data.parquet"))
    ).to_pylist()
    qis = ("county_code", "entity_type", "industry_code", "registered_capital_band", "established")
    classes = Counter(tuple(row[q] for q in qis) for row in table)
    assert min(classes.values()) >= 5 and min(classes.values()) == release.k_achieved
    assert not {"legal_rep_name", "legal_rep_id", "address"} & set(table[0])
    individual = [r for r in table if r["entity_type"] == "个体工商户"]
    assert individual and all(r["credit_code"] is None and r["entity_name"] is None for r in individual)
    assert {r["established"] for r in individual} == {"1996-05"} and individual[0][
        "registered_capital_band"
    ] == "[1,5)"
    recorded = od.execute(
        "select k_required, k_achieved, rows, suppressed, generalisation from platform.open_releases "
        "where dataset = %s and version = %s",
        (f"zz-{RECORDS}", release.version),
    ).fetchone()
    assert recorded[:4] == (5, 6, 18, 1) and recorded[4]["established"] == "date_trunc:month"


def test_quasi_identifiers_are_generalised_until_few_records_are_withheld(
    stack: Settings, od: psycopg.Connection
):
    release = _publish(stack, RECORDS, max_suppressed_share=0.0)
    # the outlier cannot be hidden at any level: everything is generalised, and it is still withheld
    assert release.generalisation["established"] == "date_trunc:5years"
    assert release.generalisation["region"] == "division:level=prefecture"
    assert release.suppressed == 1 and release.k_achieved >= 5


def test_aggregates_publish_only_counts_of_at_least_k(stack: Settings, od: psycopg.Connection):
    release = _publish(stack, POPULATION)
    assert release.rows == 88 * 2 * 7 and release.k_achieved == 12 and release.suppressed == release.rows - 1
    text = _read(stack, f"zz-{POPULATION}/{release.version}/data.csv")
    assert text.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(text.decode("utf-8-sig"))))
    published = [int(r["人口数 population"]) for r in rows if r["是否抑制 suppressed"] == "false"]
    assert published == [12]
    assert all(r["人口数 population"] == "" for r in rows if r["是否抑制 suppressed"] == "true")
    entities = _publish(stack, ENTITIES)
    counts = json.loads(_read(stack, f"zz-{ENTITIES}/{entities.version}/data.json"))["records"]
    assert sorted(r["entities"] for r in counts if not r["suppressed"]) == [6, 12]
    assert [r for r in counts if r["suppressed"]] == [
        {**[r for r in counts if r["suppressed"]][0], "entities": None}
    ] and entities.k_achieved == 6


@pytest.mark.parametrize("secret, kind", [(VALID_ID, "resident_id"), (MOBILE, "mobile"), (CARD, "bank_card")])
def test_a_release_carrying_an_identifier_is_blocked_and_nothing_is_uploaded(
    stack: Settings, od: psycopg.Connection, secret: str, kind: str
):
    create_legal_entities(od, extra_name=f"贵州测试科技有限公司（联系{secret}）")
    with pytest.raises(ReleaseBlocked, match=kind) as err:
        _publish(stack, RECORDS, max_suppressed_share=0.1)
    assert secret not in str(err.value)  # the error never repeats the identifier
    assert {leak.file for leak in err.value.leaks} >= {"data.csv", "data.parquet", "data.json"}
    assert list(s3_client(stack).list_objects("open", prefix=f"zz-{RECORDS}/", recursive=True)) == []
    status, details = od.execute(
        "select status, details from platform.open_releases where dataset = %s", (f"zz-{RECORDS}",)
    ).fetchone()
    assert status == "blocked" and secret not in json.dumps(details)


def test_the_scan_finds_bank_cards_but_not_checksums_or_counts():
    found = scan_release(
        {"a.csv": f"x,{CARD}\n".encode(), "b.csv": f"{'1' * 64},{CARD[:-1]}0,38600000".encode()}
    )
    assert [(leak.file, leak.kind) for leak in found] == [("a.csv", "bank_card")]


def test_versions_stay_downloadable_and_a_rerun_changes_nothing(stack: Settings, od: psycopg.Connection):
    first = _publish(stack, ENTITIES)
    again = _publish(stack, ENTITIES)
    assert (again.version, again.unchanged) == (first.version, True) == (DATE.isoformat(), True)
    create_legal_entities(od, extra_name="贵州更正后的名称有限公司")  # names are not in this aggregate...
    od.execute("update od_test_base.legal_entities set status = '注销' where entity_type = '个体工商户'")
    corrected = _publish(stack, ENTITIES)
    assert (corrected.version, corrected.revision, corrected.unchanged) == (f"{DATE}-r2", 2, False)
    for release in (first, corrected):
        meta = json.loads(_read(stack, f"zz-{ENTITIES}/{release.version}/metadata.json"))
        assert meta["version"] == release.version
        for name in ("data.csv", "data.parquet", "data.json", "dictionary.csv"):
            assert meta["distributions"][name]["sha256"] == release.checksums[name]
        assert {c["name"] for c in meta["columns"]} >= {"county_code", "entities", "suppressed"}
    latest = json.loads(_read(stack, f"zz-{ENTITIES}/latest.json"))
    assert latest["version"] == corrected.version
    dictionary = _read(stack, f"zz-{ENTITIES}/{corrected.version}/dictionary.csv").decode("utf-8-sig")
    assert "市场主体数" in dictionary and "Market entities" in dictionary
    tables = od.execute(
        "select version, datastore_table from platform.open_releases where dataset = %s order by version",
        (f"zz-{ENTITIES}",),
    ).fetchall()
    assert [v for v, _ in tables] == [DATE.isoformat(), f"{DATE}-r2"]
    for _, table in tables:
        assert od.execute(f'select count(*) from open."{table}"').fetchone()[0] > 0
