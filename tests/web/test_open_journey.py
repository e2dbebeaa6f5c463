"""Journey: a citizen finds an open dataset by prefecture and downloads its CSV, which opens in Excel
(UTF-8 with a byte-order mark), and the download is counted."""

from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.integration


def test_a_citizen_finds_a_dataset_by_prefecture_and_downloads_its_csv(
    page, portal_url, open_published, screenshot, stack
):
    from govlake.warehouse import connect

    name = open_published["entities"]
    with connect(stack, autocommit=True) as conn:
        before = conn.execute(
            "select count(*) from platform.open_usage where dataset = %s and kind = 'download'", (name,)
        ).fetchone()[0]

    # No sign-in: the portal's 开放平台 entry, then the prefecture facet.
    page.goto(f"{portal_url}/")
    page.get_by_role("navigation", name="主导航").get_by_role("link", name="开放平台").click()
    expect(page).to_have_url(re.compile(r"/open$"))
    page.get_by_label("搜索开放数据集").fill("市场主体 zz")
    page.get_by_role("button", name="搜索").click()
    screenshot(page, "journey_open_1_search")
    page.locator("a[data-facet=prefecture]", has_text="六盘水市").click()
    screenshot(page, "journey_open_2_prefecture")

    page.get_by_role("link", name=re.compile("市场主体数（按县级行政区划")).click()
    expect(page).to_have_url(re.compile(f"/open/dataset/{name}$"))
    expect(page.locator(".published-note")).to_contain_text("发布于")
    screenshot(page, "journey_open_3_dataset")

    with page.expect_download() as info:
        page.locator("a[data-file='data.csv']").click()
    download = info.value
    data = download.path().read_bytes()
    assert download.suggested_filename.endswith("data.csv")
    assert data.startswith(b"\xef\xbb\xbf"), "the CSV must start with the UTF-8 byte-order mark (Excel)"
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert any("盘州市" in row for row in rows[1:])
    assert any("市州名称" in header for header in rows[0])

    with connect(stack, autocommit=True) as conn:
        after = conn.execute(
            "select count(*) from platform.open_usage where dataset = %s and kind = 'download'", (name,)
        ).fetchone()[0]
    assert after == before + 1
