"""The platform's search engine (govlake.search): jieba words, substring matching, BM25 ranking over
weighted fields, facets and filters, and any input. Pure logic: no stack."""

from __future__ import annotations

from govlake.search import MAX_TERMS, Document, Index, query_terms

WEIGHTS = {"name": 5.0, "summary": 1.0}


def _index() -> Index:
    docs = [
        Document("pop", {"name": "人口基础库", "summary": "全省常住人口与户籍人口"}, {"kind": ["library"]}),
        Document("hh", {"name": "户籍人口登记信息", "summary": "公安厅户籍登记"}, {"kind": ["dataset"]}),
        Document(
            "birth",
            {"name": "出生医学证明", "summary": "新生儿的出生信息，含母亲人口信息"},
            {"kind": ["dataset"]},
        ),
        Document("corp", {"name": "法人基础库", "summary": "企业与社会组织"}, {"kind": ["library"]}),
        Document(
            "xss",
            {"name": "<script>alert(1)</script>公司", "summary": '=HYPERLINK("x")'},
            {"kind": ["dataset"]},
        ),
    ]
    return Index(docs, WEIGHTS)


def test_chinese_queries_are_segmented_into_words():
    assert query_terms("人口基础库") == ("人口", "基础", "库")
    assert query_terms("  人口，户籍！ ") == ("人口", "户籍")
    assert query_terms("ＡＢＣ") == ("abc",)  # full-width letters fold to ASCII


def test_every_word_must_occur_and_the_name_outweighs_the_summary():
    results = _index().search("人口")
    keys = [d.key for d, _ in results.hits]
    assert set(keys) == {"pop", "hh", "birth"}
    assert keys[-1] == "birth"  # 人口 only in its summary
    assert [d.key for d, _ in _index().search("户籍 人口").hits] == ["hh", "pop"]
    assert _index().search("人口 企业").total == 0


def test_ranking_prefers_the_rarer_word():
    results = _index().search("人口 基础库")
    assert results.hits[0][0].key == "pop"
    assert results.hits[0][1] > 0


def test_filters_and_facet_counts():
    results = _index().search("人口", {"kind": ["library"]}, facet_fields=["kind"])
    assert [d.key for d, _ in results.hits] == ["pop"]
    assert results.facets["kind"] == [("library", 1)]
    everything = _index().search("", facet_fields=["kind"], sort=lambda d: d.key)
    assert everything.total == 5 and everything.facets["kind"] == [("dataset", 3), ("library", 2)]
    assert [d.key for d, _ in everything.hits][:2] == ["birth", "corp"]


def test_paging():
    index = _index()
    assert [d.key for d, _ in index.search("", limit=2, offset=4, sort=lambda d: d.key).hits] == ["xss"]
    assert index.search("", limit=2, offset=99).hits == []


def test_any_input_is_just_text():
    index = _index()
    assert [d.key for d, _ in index.search("<script>alert(1)</script>").hits] == ["xss"]
    assert [d.key for d, _ in index.search('=HYPERLINK("x")').hits] == ["xss"]
    for query in ("x" * 100_000, "\x00\x00", "'; drop table x; --", "人口" * 5000, "%s %d {}"):
        index.search(query)
    assert len(query_terms("甲 乙 丙 丁 戊 己 庚 辛 壬 癸 子 丑 寅 卯 辰 巳 午 未 申 酉")) == MAX_TERMS


def test_equal_scores_keep_key_order_and_multi_valued_facets_count_each_document_once():
    docs = [
        Document(key, {"name": "同名资源", "summary": ""}, {"grade": grades, "kind": kinds})
        for key, grades, kinds in (
            ("c", ["一般", "重要", "一般"], ["dataset"]),
            ("a", ["重要"], []),
            ("b", ["一般"], ["library"]),
        )
    ]
    results = Index(docs, WEIGHTS).search("同名", facet_fields=["grade", "kind"], limit=2)
    assert [d.key for d, _ in results.hits] == ["a", "b"] and results.total == 3
    assert results.facets["grade"] == [("一般", 2), ("重要", 2)]
    assert results.facets["kind"] == [("dataset", 1), ("library", 1)]  # a document without one is not counted
    assert Index(docs, WEIGHTS).search("没有", facet_fields=["grade", "kind"]).facets == {
        "grade": [],
        "kind": [],
    }
