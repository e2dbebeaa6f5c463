"""吼一声: the parser maps Chinese questions — any word order, names with or without 市/县/州, everyday
names of crops — to one question kind and its slots; nonsense and markup map to the closest resources."""

from __future__ import annotations

import pytest

from govlake.cockpit import question_kinds, vocabulary
from govlake.cockpit.question_parser import CLOSEST, MAX_QUESTION, parse

BIJIE, DAFANG, WEINING, QIANXI = "520500", "520521", "520526", "520581"
ZUNYI, GUIYANG, QIANNAN, QIANDONGNAN, QIANXINAN = "520300", "520100", "522700", "522600", "522300"
LIUPANSHUI, ANSHUN, TONGREN = "520200", "520400", "520600"

# question -> (kind, expected slots: only the ones given are checked)
PHRASINGS: dict[str, tuple[str, dict]] = {
    # the Bijie question, many ways
    "毕节不种玉米种什么": ("crop_vs_corn", {"region": BIJIE}),
    "毕节市不种玉米了该种什么": ("crop_vs_corn", {"region": BIJIE}),
    "不种玉米的话毕节种啥": ("crop_vs_corn", {"region": BIJIE}),
    "玉米不种了，毕节种哪种作物好": ("crop_vs_corn", {"region": BIJIE}),
    "毕节种植结构怎么调整": ("crop_vs_corn", {"region": BIJIE}),
    "毕节明年调结构改种什么": ("crop_vs_corn", {"region": BIJIE}),
    "大方县种什么比玉米好": ("crop_vs_corn", {"region": DAFANG}),
    "大方种什么比玉米强": ("crop_vs_corn", {"region": DAFANG}),
    "比玉米好的作物，大方有哪些，种什么": ("crop_vs_corn", {"region": DAFANG}),
    "黔西县种啥好": ("crop_vs_corn", {"region": QIANXI}),
    "黔西市不种苞谷种什么": ("crop_vs_corn", {"region": QIANXI}),
    "威宁彝族回族苗族自治县适合种什么": ("crop_vs_corn", {"region": WEINING}),
    "威宁县改种什么经济作物": ("crop_vs_corn", {"region": WEINING}),
    "七星关区玉米替代作物": ("crop_vs_corn", {"region": "520502"}),
    "织金用什么代替包谷": ("crop_vs_corn", {"region": "520524"}),
    "种什么比玉米赚钱": ("crop_vs_corn", {"region": None}),
    # one crop
    "威宁种刺梨划算吗": ("crop_outlook", {"region": WEINING, "crop": "刺梨"}),
    "刺梨明年收益怎么样": ("crop_outlook", {"crop": "刺梨", "forecast": True}),
    "明年大方县辣椒的亩均收益预测": ("crop_outlook", {"region": DAFANG, "crop": "辣椒", "forecast": True}),
    "赫章中药材前景如何": ("crop_outlook", {"region": "520527", "crop": "中药材", "forecast": True}),
    "金沙的茶叶效益好不好": ("crop_outlook", {"region": "520523", "crop": "茶叶"}),
    "纳雍种茶值得吗": ("crop_outlook", {"region": "520525", "crop": "茶叶"}),
    "遵义蘑菇行情怎么样": ("crop_outlook", {"region": ZUNYI, "crop": "食用菌"}),
    "水果价格走势": ("crop_outlook", {"crop": "水果"}),
    "湄潭茶叶产值这五年趋势": ("crop_outlook", {"region": "520328", "crop": "茶叶", "years": 5}),
    # population
    "遵义人口这五年怎么变": ("population_trend", {"region": ZUNYI, "years": 5}),
    "这五年遵义市人口变化": ("population_trend", {"region": ZUNYI, "years": 5}),
    "近三年贵阳常住人口": ("population_trend", {"region": GUIYANG, "years": 3}),
    "2019年以来贵阳市人口": ("population_trend", {"region": GUIYANG, "since_year": 2019}),
    "黔东南州有多少人": ("population_trend", {"region": QIANDONGNAN}),
    "黔东南苗族侗族自治州人口": ("population_trend", {"region": QIANDONGNAN}),
    "全省人口过去十年": ("population_trend", {"region": "520000", "years": 10}),
    "六枝人口": ("population_trend", {"region": "520203"}),
    "人口最多的是哪个市": ("population_trend", {"region": None}),
    # market entities
    "黔南州新开了多少企业": ("market_entities", {"region": QIANNAN}),
    "黔南新设市场主体": ("market_entities", {"region": QIANNAN}),
    "安顺倒闭了多少公司": ("market_entities", {"region": ANSHUN}),
    "市场主体注销情况": ("market_entities", {"region": None}),
    # insurance
    "六盘水参保率多少": ("insurance_coverage", {"region": LIUPANSHUI}),
    "铜仁社保覆盖怎么样": ("insurance_coverage", {"region": TONGREN}),
    "黔西南州医保覆盖率": ("insurance_coverage", {"region": QIANXINAN}),
    # subsidy audit
    "补贴发给已故人员的有多少": ("subsidy_findings", {"region": None}),
    "有多少补贴发给了死人": ("subsidy_findings", {}),
    "毕节补贴冒领": ("subsidy_findings", {"region": BIJIE}),
    "重复发放的补贴": ("subsidy_findings", {}),
    "去世的人还在领低保吗": ("subsidy_findings", {}),
    # departments
    "哪个部门的数据最晚": ("department_timeliness", {}),
    "谁的数据报送最慢": ("department_timeliness", {}),
    "哪些部门没按时报数据": ("department_timeliness", {}),
    "数据延迟最严重的厅局": ("department_timeliness", {}),
    "哪个部门数据质量最差": ("department_quality", {}),
    "各部门质量评分排名": ("department_quality", {}),
    "开放了多少数据集": ("open_data", {}),
    "哪个部门开放数据最多": ("open_data", {}),
    "哪个部门的数据被共享最多": ("sharing", {}),
    "共享调用情况": ("sharing", {}),
    # transport
    "毕节的客运量怎么样": ("transport", {"region": BIJIE}),
    "贵阳铁路旅客": ("transport", {"region": GUIYANG}),
    "大方县交通": ("transport", {"region": DAFANG}),
}

NONSENSE = [
    "asdfgh",
    "今天天气怎么样",
    "你好",
    "？？？",
    "",
    "   ",
    "<script>alert(1)</script>",
    "' or 1=1 --",
    "的的的的的",
    "月亮上有没有水",
    '=HYPERLINK("http://x")',
]


def test_at_least_fifty_phrasings() -> None:
    assert len(PHRASINGS) >= 50


@pytest.mark.parametrize("question", list(PHRASINGS))
def test_phrasing_maps_to_kind_and_slots(question: str) -> None:
    kind, slots = PHRASINGS[question]
    parsed = parse(question)
    assert parsed.kind == kind, (question, parsed.scores)
    got = parsed.slots()
    for slot, value in slots.items():
        assert got[slot] == value, (question, slot, got)


@pytest.mark.parametrize("question", NONSENSE)
def test_nonsense_maps_to_closest_resources(question: str) -> None:
    assert parse(question).kind == CLOSEST


def test_any_length_is_parsed_and_cut() -> None:
    parsed = parse("毕节" + "啊" * 100_000 + "种什么")
    assert parsed.truncated and len(parsed.text) == MAX_QUESTION


def test_every_kind_is_one_registry_entry_with_its_examples() -> None:
    keys = [k.key for k in question_kinds.KINDS]
    assert len(keys) == len(set(keys))
    for entry in question_kinds.KINDS:
        assert callable(entry.answer)
        for example in entry.examples:
            assert parse(example).kind == entry.key, example


def test_names_with_and_without_suffix_and_former_names() -> None:
    aliases = vocabulary.region_aliases()
    for name, code in {
        "毕节": BIJIE, "毕节市": BIJIE, "黔南": QIANNAN, "黔南州": QIANNAN, "黔南布依族苗族自治州": QIANNAN,
        "威宁": WEINING, "威宁县": WEINING, "黔西": QIANXI, "黔西市": QIANXI, "黔西县": QIANXI,
        "黔西南": QIANXINAN, "黔西南州": QIANXINAN, "六枝": "520203", "三都": "522732",
    }.items():  # fmt: skip
        assert aliases[name] == code, name
    # every prefecture and county is reachable by its official name and its short form
    for division in vocabulary.divisions().values():
        assert parse(division.name + "人口").region == division.code, division.name
        assert parse(vocabulary.short_name(division.name) + "人口").region == division.code, division.name
