"""The open-data API as clients use it, against the running web service: the real ``ckanapi`` client,
downloads of every version, usage counted, apps registered, and the DCAT-AP 3 catalog validated."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import ckanapi
import psycopg
import pytest
import requests
from support import opendata_scratch as scratch  # noqa: E402

from govlake.opendata.release import publish_open_dataset
from govlake.settings import Settings
from govlake.warehouse import connect, ensure_platform_schema

DATE, ENTITIES, POPULATION, RECORDS, REFERENCE = (
    scratch.DATE, scratch.ENTITIES, scratch.POPULATION, scratch.RECORDS, scratch.REFERENCE
)  # fmt: skip
create_scratch, definition, drop_scratch = scratch.create_scratch, scratch.definition, scratch.drop_scratch

pytestmark = pytest.mark.integration
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "dcat-ap-3.0.1"


@pytest.fixture(scope="module")
def published(stack: Settings) -> Iterator[dict]:
    """The three zz-* open datasets released from scratch libraries; entities twice (two versions)."""
    with connect(stack, autocommit=True) as conn:
        ensure_platform_schema(conn)
        drop_scratch(conn, stack)
        create_scratch(conn)
        releases = {
            name: publish_open_dataset(definition(name, **changes), DATE, stack, reference_schema=REFERENCE)
            for name, changes in ((POPULATION, {}), (ENTITIES, {}), (RECORDS, {"max_suppressed_share": 0.1}))
        }
        conn.execute(
            "update od_test_base.legal_entities set status = '吊销' where entity_type = '股份有限公司'"
        )
        revised = publish_open_dataset(definition(ENTITIES), DATE, stack, reference_schema=REFERENCE)
        yield {"releases": releases, "revised": revised, "settings": stack}
        drop_scratch(conn, stack)


@pytest.fixture
def ckan(stack: Settings):
    client = ckanapi.RemoteCKAN(stack.web_url, user_agent="govlake-tests")
    yield client
    client.close()


@pytest.fixture
def pg(stack: Settings) -> Iterator[psycopg.Connection]:
    with connect(stack, autocommit=True) as conn:
        yield conn


def test_ckanapi_lists_searches_and_reads_datasets(published, ckan):
    names = ckan.action.package_list()
    assert {f"zz-{POPULATION}", f"zz-{ENTITIES}", f"zz-{RECORDS}"} <= set(names)
    found = ckan.action.package_search(
        q="市场主体", fq="organization:market_regulation name:zz-*", rows=1, sort="name asc"
    )
    assert found["count"] == 2 and [p["name"] for p in found["results"]] == [f"zz-{ENTITIES}"]
    second = ckan.action.package_search(
        q="市场主体", fq="organization:market_regulation name:zz-*", rows=1, start=1, sort="name asc"
    )
    assert [p["name"] for p in second["results"]] == [f"zz-{RECORDS}"]
    assert ckan.action.package_search(fq="groups:population name:zz-*")["count"] == 1
    assert ckan.action.package_search(q="no-such-thing-anywhere")["count"] == 0
    with pytest.raises(ckanapi.SearchQueryError):
        ckan.action.package_search(fq="colour:blue")

    pkg = ckan.action.package_show(id=f"zz-{ENTITIES}")
    assert pkg["organization"]["name"] == "market_regulation" and pkg["license_id"] == "CC-BY-4.0"
    assert pkg["version"] == f"{DATE}-r2" and [r["version"] for r in pkg["releases"]] == [
        f"{DATE}-r2",
        str(DATE),
    ]
    assert {r["format"] for r in pkg["resources"]} == {"CSV", "PARQUET", "JSON"}
    assert {e["key"]: e["value"] for e in pkg["extras"]}["k_achieved"] == "6"
    resource = ckan.action.resource_show(id=pkg["resources"][0]["id"])
    assert resource["datastore_active"] and resource["url"].endswith(
        f"/download/zz-{ENTITIES}/{DATE}-r2/data.csv"
    )
    with pytest.raises(ckanapi.NotFound):
        ckan.action.package_show(id="zz-nothing")


def test_organizations_groups_and_status(published, ckan):
    assert "market_regulation" in ckan.action.organization_list()
    orgs = {o["name"]: o for o in ckan.action.organization_list(all_fields=True)}
    assert (
        orgs["market_regulation"]["package_count"] >= 2 and orgs["market_regulation"]["title"] == "市场监管局"
    )
    org = ckan.action.organization_show(id="market_regulation", include_datasets=True)
    assert {f"zz-{ENTITIES}", f"zz-{RECORDS}"} <= {p["name"] for p in org["packages"]}
    assert {"population", "economy"} <= set(ckan.action.group_list())
    status = ckan.action.status_show()
    assert status["ckan_version"].startswith("2.") and "datastore" in status["extensions"]


def test_datastore_search_filters_queries_and_pages(published, ckan):
    pkg = ckan.action.package_show(id=f"zz-{RECORDS}")
    rid = next(r["id"] for r in pkg["resources"] if r["datastore_active"])
    everything = ckan.action.datastore_search(resource_id=rid)
    assert everything["total"] == 18 and len(everything["records"]) == 18
    assert {"_id", "credit_code", "county_code", "registered_capital_band"} <= {
        f["id"] for f in everything["fields"]
    }
    shops = ckan.action.datastore_search(
        resource_id=rid, filters={"entity_type": "个体工商户"}, limit=4, offset=4
    )
    assert shops["total"] == 6 and len(shops["records"]) == 2
    assert all(r["credit_code"] is None for r in shops["records"])
    assert ckan.action.datastore_search(resource_id=rid, q="测试科技")["total"] == 12
    assert (
        ckan.action.datastore_search(resource_id=rid, q={"entity_name": "科技有限公司1"})["total"] == 3
    )  # 1, 10, 11
    with pytest.raises(ckanapi.ValidationError):
        ckan.action.datastore_search(resource_id=rid, filters={"legal_rep_id": "x"})
    old = next(
        r for r in ckan.action.package_show(id=f"zz-{ENTITIES}")["releases"] if r["version"] == str(DATE)
    )
    old_csv = next(r["id"] for r in old["resources"] if r["datastore_active"])
    assert ckan.action.datastore_search(resource_id=old_csv, filters={"suppressed": False})["total"] == 2


def test_error_envelope_and_status_codes(published, stack):
    url = f"{stack.web_url}/api/3/action"
    missing = requests.get(f"{url}/package_show", params={"id": "zz-nothing"}, timeout=10)
    assert missing.status_code == 404
    body = missing.json()
    assert body["success"] is False and body["error"]["__type"] == "Not Found Error" and "help" in body
    assert requests.post(f"{url}/package_show", json={}, timeout=10).status_code == 409
    unknown = requests.get(f"{url}/package_delete", timeout=10)
    assert unknown.status_code == 400 and unknown.json()["error"]["__type"] == "Bad request - Action Error"
    assert requests.post(f"{url}/package_list", data="{not json", timeout=10).status_code == 400


def test_every_version_downloads_and_downloads_and_calls_are_counted(published, stack, pg):
    revised, first = published["revised"], published["releases"][ENTITIES]
    name = f"zz-{ENTITIES}"
    before = pg.execute(
        "select count(*) filter (where kind = 'download'), count(*) filter (where kind = 'api') "
        "from platform.open_usage where dataset = %s",
        (name,),
    ).fetchone()
    for release in (first, revised):
        got = requests.get(f"{stack.web_url}/download/{name}/{release.version}/data.csv", timeout=10)
        assert got.status_code == 200 and got.content.startswith(b"\xef\xbb\xbf")
        import hashlib

        assert hashlib.sha256(got.content).hexdigest() == release.checksums["data.csv"]
    latest = requests.get(f"{stack.web_url}/download/{name}/latest/metadata.json", timeout=10).json()
    assert latest["version"] == revised.version
    assert requests.get(f"{stack.web_url}/download/{name}/1900-01-01/data.csv", timeout=10).status_code == 404
    requests.get(
        f"{stack.web_url}/api/3/action/package_show", params={"id": name}, timeout=10
    ).raise_for_status()
    after = pg.execute(
        "select count(*) filter (where kind = 'download'), count(*) filter (where kind = 'api'), "
        "min(organization) from platform.open_usage where dataset = %s",
        (name,),
    ).fetchone()
    assert (after[0] - before[0], after[1] - before[1], after[2]) == (3, 1, "market_regulation")
    daily = pg.execute(
        "select sum(events) from platform.open_usage_daily where dataset = %s and kind = 'download'", (name,)
    ).fetchone()[0]
    assert daily >= 3


def test_apps_are_registered_validated_rate_limited_and_listed(published, stack, ckan, pg):
    pg.execute("delete from platform.open_apps where name like 'zz %%'")
    body = {
        "name": "zz 人口地图",
        "url": "https://example.org/map",
        "description": "按县展示人口",
        "datasets": [f"zz-{POPULATION}", f"zz-{RECORDS}"],
    }
    created = requests.post(f"{stack.web_url}/api/apps", json=body, timeout=10)
    assert created.status_code == 201, created.text
    bad = requests.post(
        f"{stack.web_url}/api/apps",
        json={**body, "url": "javascript:alert(1)", "datasets": ["nope"]},
        timeout=10,
    )
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"url", "datasets"}
    listed = requests.get(
        f"{stack.web_url}/api/apps", params={"dataset": f"zz-{POPULATION}"}, timeout=10
    ).json()
    assert [a["name"] for a in listed["result"]] == ["zz 人口地图"]
    assert listed["result"][0]["datasets"][0]["title"].startswith("贵州省人口数")
    assert [a["name"] for a in ckan.action.package_show(id=f"zz-{RECORDS}")["apps"]] == ["zz 人口地图"]
    codes = [
        requests.post(
            f"{stack.web_url}/api/apps", json={**body, "name": f"zz app {i}"}, timeout=10
        ).status_code
        for i in range(5)
    ]
    assert codes == [201, 201, 201, 201, 429]


def test_dcat_ap_3_catalog_validates_and_negotiates(published, stack):
    import pyshacl
    from rdflib import Graph, URIRef
    from rdflib.namespace import DCAT, RDF

    has_version = URIRef("http://www.w3.org/ns/dcat#hasVersion")

    doc = requests.get(f"{stack.web_url}/catalog.jsonld", timeout=30)
    assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/ld+json")
    data = Graph().parse(data=doc.text, format="json-ld")
    shapes = Graph().parse(FIXTURES / "dcat-ap-SHACL.ttl", format="turtle")
    conforms, _, report = pyshacl.validate(data, shacl_graph=shapes, inference="none")
    assert conforms, report
    entities = URIRef(f"{stack.web_url}/open/dataset/zz-{ENTITIES}")
    assert (entities, RDF.type, DCAT.Dataset) in data
    assert len(list(data.objects(entities, has_version))) == 2
    assert len(list(data.objects(entities, DCAT.distribution))) == 5
    turtle = requests.get(f"{stack.web_url}/catalog.ttl", timeout=30)
    assert turtle.headers["content-type"].startswith("text/turtle")
    assert len(Graph().parse(data=turtle.text, format="turtle")) == len(data)
    negotiated = requests.get(f"{stack.web_url}/catalog", headers={"Accept": "text/turtle"}, timeout=30)
    assert negotiated.headers["content-type"].startswith("text/turtle")
    assert json.loads(requests.get(f"{stack.web_url}/catalog", timeout=30).text)["@type"] == "dcat:Catalog"
