"""Reference tables the synthetic province draws from: real divisions, names, ethnic groups, places.

Divisions are Guizhou's real GB/T 2260 codes (``data/guizhou_divisions.csv``, copied into the package so
the project never reads ``../shared``). Counties are weighted by their prefecture's share of the 2020
census population (Bijie, Zunyi and Guiyang are the largest), so the synthetic people live roughly where
real people do. Name and ethnic-group frequencies are approximate but shaped like Guizhou's.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

PROVINCE_CODE = "520000"
PROVINCE_NAME = "贵州省"

# 2020 census, millions of residents per prefecture-level division.
PREFECTURE_POPULATION: dict[str, float] = {
    "520100": 5.99,  # 贵阳市
    "520200": 3.03,  # 六盘水市
    "520300": 6.61,  # 遵义市
    "520400": 2.47,  # 安顺市
    "520500": 6.90,  # 毕节市
    "520600": 3.30,  # 铜仁市
    "522300": 3.01,  # 黔西南州
    "522600": 3.76,  # 黔东南州
    "522700": 3.49,  # 黔南州
}

# Division codes that are not Guizhou counties, used for the "unknown division" defect: codes that do
# not exist, and real codes of neighbouring provinces (valid elsewhere, unknown to Guizhou's systems).
UNKNOWN_DIVISIONS: tuple[str, ...] = ("529999", "520999", "510104", "430102", "530102")

# Real county-level codes of other provinces, for people who registered their household elsewhere but
# are insured in Guizhou (they appear only in 人社厅's data).
OTHER_PROVINCE_COUNTIES: tuple[str, ...] = (
    "500103",  # 重庆市渝中区
    "510104",  # 成都市锦江区
    "430102",  # 长沙市芙蓉区
    "530102",  # 昆明市五华区
    "450102",  # 南宁市兴宁区
    "440106",  # 广州市天河区
    "330106",  # 杭州市西湖区
    "431202",  # 怀化市鹤城区
)


@dataclass(frozen=True)
class Division:
    code: str
    name: str
    level: str
    parent_code: str


@dataclass(frozen=True)
class Geography:
    """Counties with their weights, names and townships, ready for vectorised sampling."""

    county_codes: np.ndarray  # int64
    county_weights: np.ndarray  # sums to 1
    county_names: tuple[str, ...]
    county_prefix: tuple[str, ...]  # "贵州省贵阳市南明区"
    prefecture_of_county: np.ndarray  # index into PREFECTURES
    townships: tuple[tuple[str, ...], ...]  # per county: township names
    division_codes: frozenset[str]  # every code in the reference file


PREFECTURES: tuple[str, ...] = tuple(PREFECTURE_POPULATION)


@lru_cache(maxsize=1)
def load_divisions() -> tuple[Division, ...]:
    """Every division of the reference file (province, prefectures, counties, townships)."""
    text = resources.files("demo_province").joinpath("data/guizhou_divisions.csv").read_text(encoding="utf-8")
    return tuple(
        Division(r["code"], r["name"], r["level"], r["parent_code"] or "")
        for r in csv.DictReader(text.splitlines())
    )


def _gbk_safe(name: str) -> bool:
    # Two township names use characters outside GBK (e.g. 㵲水街道); 市场监管局's files are GBK, and a
    # department system in GBK could not have stored them, so addresses never use those townships.
    try:
        name.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


def _county_weight(code: str) -> float:
    # City districts (xx01-xx19) are denser than rural counties.
    return 1.6 if 1 <= int(code[4:]) <= 19 else 1.0


@lru_cache(maxsize=1)
def geography() -> Geography:
    divisions = load_divisions()
    names = {d.code: d.name for d in divisions}
    counties = [d for d in divisions if d.level == "county"]
    towns: dict[str, list[str]] = {c.code: [] for c in counties}
    for d in divisions:
        if d.level == "township" and d.parent_code in towns and _gbk_safe(d.name):
            towns[d.parent_code].append(d.name)
    raw = np.array([_county_weight(c.code) for c in counties])
    pref_index = np.array([PREFECTURES.index(c.parent_code) for c in counties])
    weights = np.zeros(len(counties))
    for i, pref in enumerate(PREFECTURES):
        mask = pref_index == i
        weights[mask] = raw[mask] / raw[mask].sum() * PREFECTURE_POPULATION[pref]
    return Geography(
        county_codes=np.array([int(c.code) for c in counties], dtype=np.int64),
        county_weights=weights / weights.sum(),
        county_names=tuple(c.name for c in counties),
        county_prefix=tuple(f"{PROVINCE_NAME}{names[c.parent_code]}{c.name}" for c in counties),
        prefecture_of_county=pref_index,
        townships=tuple(tuple(towns[c.code]) for c in counties),
        division_codes=frozenset(d.code for d in divisions),
    )


# -- names ----------------------------------------------------------------------------------------------

# Common surnames with rough relative frequency in Guizhou (杨, 王, 李, 张, 刘, 陈, 吴, 罗, 龙 lead).
# fmt: off
SURNAMES: dict[str, float] = {
    "杨": 6.2, "王": 6.0, "李": 5.8, "张": 5.0, "刘": 4.2, "陈": 4.0, "吴": 3.4, "罗": 3.0, "龙": 2.2,
    "黄": 2.4, "周": 2.0, "赵": 1.8, "徐": 1.2, "孙": 1.0, "马": 1.2, "朱": 1.0, "胡": 1.4, "郭": 0.9,
    "何": 1.3, "高": 1.0, "林": 0.8, "郑": 0.8, "梁": 0.9, "谢": 1.0, "宋": 0.9, "唐": 1.1, "许": 0.6,
    "韩": 0.6, "冯": 0.8, "邓": 1.0, "曹": 0.7, "彭": 0.9, "曾": 0.8, "肖": 0.8, "田": 1.2, "董": 0.6,
    "袁": 0.9, "潘": 1.0, "蒋": 0.7, "蔡": 0.5, "余": 0.8, "杜": 0.5, "叶": 0.4, "程": 0.5, "苏": 0.4,
    "魏": 0.5, "吕": 0.4, "丁": 0.5, "任": 0.6, "姚": 0.5, "卢": 0.6, "姜": 0.4, "钟": 0.4, "谭": 0.6,
    "陆": 0.6, "汪": 0.4, "范": 0.4, "金": 0.3, "石": 1.1, "廖": 0.5, "夏": 0.4, "韦": 1.0, "付": 0.5,
    "方": 0.3, "邹": 0.4, "熊": 0.6, "秦": 0.3, "江": 0.3, "尹": 0.3, "雷": 0.5, "侯": 0.3, "史": 0.3,
    "陶": 0.4, "黎": 0.4, "贺": 0.3, "毛": 0.3, "龚": 0.3, "万": 0.3, "安": 0.5, "文": 0.4, "欧": 0.3,
    "向": 0.4, "冉": 0.4, "舒": 0.3, "姬": 0.1, "蒙": 0.3, "岑": 0.2, "欧阳": 0.1, "令狐": 0.05,
}
# fmt: on

MALE_GIVEN = [
    "伟",
    "强",
    "磊",
    "军",
    "勇",
    "杰",
    "涛",
    "斌",
    "超",
    "明",
    "刚",
    "平",
    "辉",
    "鹏",
    "华",
    "飞",
    "鑫",
    "波",
    "宇",
    "浩",
    "凯",
    "健",
    "俊",
    "帆",
    "帅",
    "旭",
    "宁",
    "龙",
    "林",
    "阳",
    "建",
    "国",
    "文",
    "兵",
    "峰",
    "成",
    "志",
    "海",
    "亮",
    "东",
    "世",
    "永",
    "德",
    "江",
    "红",
    "祥",
    "兴",
    "福",
    "贵",
    "荣",
    "进",
    "才",
    "发",
    "武",
    "毅",
    "博",
    "睿",
    "泽",
    "轩",
    "子",
    "天",
    "晨",
    "然",
    "鸿",
    "家",
    "金",
    "忠",
    "顺",
    "庆",
    "云",
    "维",
]
FEMALE_GIVEN = [
    "芳",
    "娜",
    "敏",
    "静",
    "丽",
    "艳",
    "娟",
    "霞",
    "秀",
    "燕",
    "玲",
    "桂",
    "丹",
    "萍",
    "红",
    "梅",
    "琴",
    "云",
    "莉",
    "兰",
    "凤",
    "洁",
    "琳",
    "婷",
    "雪",
    "倩",
    "慧",
    "颖",
    "佳",
    "欣",
    "怡",
    "悦",
    "萱",
    "涵",
    "诗",
    "雨",
    "梓",
    "晓",
    "春",
    "英",
    "珍",
    "菊",
    "翠",
    "巧",
    "美",
    "淑",
    "慧",
    "月",
    "薇",
    "露",
    "蓉",
    "瑶",
    "璐",
    "思",
    "彤",
    "妍",
    "婧",
    "青",
    "霞",
]

# Ethnic groups: Guizhou overall ≈ 63% 汉族, with 苗 and 布依 next; the mix differs by prefecture
# (黔东南 苗/侗, 黔南 and 黔西南 布依/水, 铜仁 土家, 毕节 彝/回).
ETHNIC_GROUPS: tuple[str, ...] = (
    "汉族",
    "苗族",
    "布依族",
    "侗族",
    "土家族",
    "彝族",
    "仡佬族",
    "水族",
    "回族",
    "白族",
    "瑶族",
    "壮族",
    "毛南族",
)
# fmt: off
_ETHNIC_BY_PREFECTURE: dict[str, tuple[float, ...]] = {
    #          汉   苗   布依  侗   土家  彝   仡佬  水   回   白   瑶   壮   毛南
    "520100": (82, 7.0, 6.0, 0.8, 1.0, 0.6, 0.4, 0.2, 0.8, 0.4, 0.1, 0.3, 0.1),
    "520200": (70, 8.0, 8.0, 0.3, 0.3, 9.0, 1.5, 0.1, 1.5, 0.8, 0.1, 0.2, 0.0),
    "520300": (88, 2.5, 0.3, 0.2, 1.5, 0.2, 6.5, 0.0, 0.3, 0.2, 0.0, 0.1, 0.0),
    "520400": (61, 13.0, 22.0, 0.2, 0.3, 0.5, 1.5, 0.1, 0.6, 0.3, 0.1, 0.3, 0.0),
    "520500": (73, 10.0, 1.5, 0.1, 0.3, 9.0, 1.5, 0.0, 3.0, 1.5, 0.0, 0.1, 0.0),
    "520600": (30, 20.0, 0.3, 12.0, 36.0, 0.1, 1.0, 0.0, 0.3, 0.1, 0.0, 0.1, 0.0),
    "522300": (57, 6.0, 33.0, 0.2, 0.3, 0.8, 0.5, 0.2, 1.2, 0.3, 0.2, 0.5, 0.0),
    "522600": (20, 44.0, 1.0, 30.0, 0.5, 0.1, 0.2, 2.5, 0.2, 0.1, 1.0, 0.3, 0.1),
    "522700": (42, 14.0, 30.0, 0.8, 0.3, 0.1, 0.2, 9.0, 0.3, 0.1, 0.8, 0.3, 2.0),
}
# fmt: on


def ethnic_weights() -> np.ndarray:
    """Rows = prefectures (in PREFECTURES order), columns = ETHNIC_GROUPS, each row summing to 1."""
    table = np.array([_ETHNIC_BY_PREFECTURE[p] for p in PREFECTURES], dtype=float)
    return table / table.sum(axis=1, keepdims=True)


# -- places ----------------------------------------------------------------------------------------------

_VILLAGE_FIRST = [
    "大",
    "小",
    "新",
    "石",
    "龙",
    "高",
    "平",
    "红",
    "青",
    "白",
    "水",
    "沙",
    "马",
    "牛",
    "羊",
    "金",
    "银",
    "花",
    "桃",
    "茶",
    "岩",
    "营",
    "坪",
    "中",
    "上",
    "下",
    "老",
    "凉",
    "黄",
    "杉",
]
_VILLAGE_SECOND = [
    "寨",
    "坪",
    "坝",
    "坡",
    "岩",
    "塘",
    "井",
    "湾",
    "山",
    "桥",
    "田",
    "林",
    "冲",
    "沟",
    "关",
    "河",
    "洞",
    "堡",
    "屯",
    "营",
    "场",
    "院",
    "溪",
    "坳",
    "箐",
]
VILLAGES: tuple[str, ...] = tuple(a + b for a in _VILLAGE_FIRST for b in _VILLAGE_SECOND if a != b)

ROADS: tuple[str, ...] = tuple(
    a + b
    for a in [
        "人民",
        "解放",
        "建设",
        "新华",
        "中华",
        "文化",
        "和平",
        "团结",
        "民族",
        "公园",
        "环城",
        "滨河",
        "北京",
        "延安",
        "长征",
        "兴业",
        "幸福",
        "朝阳",
        "东风",
        "胜利",
    ]
    for b in ("路", "大道", "街")
)

# -- market entities -----------------------------------------------------------------------------------

TRADE_NAMES: tuple[str, ...] = tuple(
    [
        "黔丰",
        "华联",
        "鑫源",
        "宏达",
        "盛世",
        "凯旋",
        "金诚",
        "恒信",
        "永兴",
        "聚源",
        "山水",
        "苗岭",
        "乌江",
        "梵净",
        "黔灵",
        "云岭",
        "瑞丰",
        "泰和",
        "汇通",
        "嘉禾",
        "天誉",
        "博远",
        "润泽",
        "新航",
        "民丰",
        "兴黔",
        "百灵",
        "多彩",
        "红枫",
        "赤水",
        "筑城",
        "爽爽",
        "夜郎",
        "娄山",
        "黔韵",
        "茅台",
        "织金",
        "腾达",
        "顺发",
        "佳和",
        "宏图",
        "锦绣",
        "华鑫",
        "正大",
        "诚信",
        "远航",
        "德隆",
        "益众",
        "铭泰",
        "和顺",
        "安达",
        "祥瑞",
        "金桥",
        "银河",
        "卓越",
        "智联",
        "云上",
        "数联",
        "绿源",
        "青山",
    ]
)

# GB/T 4754 门类 letter -> phrases a company name in that industry uses.
INDUSTRY_PHRASES: dict[str, tuple[str, ...]] = {
    "A": ("农业开发", "生态农业", "茶业", "种养殖", "农牧"),
    "B": ("矿业", "煤业"),
    "C": ("食品", "酒业", "建材", "机械制造", "制药", "服饰"),
    "D": ("能源", "电力", "燃气", "水务"),
    "E": ("建筑工程", "建设工程", "装饰工程", "路桥工程"),
    "F": ("商贸", "贸易", "百货", "医药连锁", "农产品"),
    "G": ("物流", "运输", "快递"),
    "H": ("餐饮管理", "酒店管理", "餐饮"),
    "I": ("信息技术", "大数据科技", "软件", "网络科技"),
    "J": ("投资", "融资担保"),
    "K": ("房地产开发", "置业", "物业管理"),
    "L": ("企业管理咨询", "商务服务", "人力资源服务"),
    "M": ("科技", "工程设计", "检测技术"),
    "N": ("环保科技", "园林绿化"),
    "O": ("家政服务", "汽车维修"),
    "P": ("教育咨询", "文化培训"),
    "Q": ("医疗管理", "健康管理"),
    "R": ("文化传媒", "旅游开发", "体育发展"),
    "S": ("社会服务",),
    "T": ("国际合作",),
}
# fmt: off
INDUSTRY_WEIGHTS: dict[str, float] = {
    "A": 6, "B": 0.6, "C": 7, "D": 0.8, "E": 7, "F": 30, "G": 4, "H": 10, "I": 4, "J": 0.8, "K": 2,
    "L": 8, "M": 5, "N": 1, "O": 7, "P": 2, "Q": 1.5, "R": 2.5, "S": 0.2, "T": 0.05,
}
# fmt: on

# 个体工商户 trade by industry (their names are "<county><surname>记<trade>").
SHOP_TRADES: dict[str, tuple[str, ...]] = {
    "F": ("便利店", "副食店", "五金店", "服装店", "水果店", "茶叶店", "烟酒店", "建材经营部"),
    "H": ("小吃店", "农家乐", "面馆", "餐馆", "米粉店", "烧烤店"),
    "O": ("理发店", "汽车修理部", "家电维修部", "洗衣店"),
}
COOPERATIVE_PRODUCTS: tuple[str, ...] = (
    "茶叶种植",
    "食用菌种植",
    "蔬菜种植",
    "刺梨种植",
    "辣椒种植",
    "中药材种植",
    "水果种植",
    "生猪养殖",
    "牛羊养殖",
    "生态家禽养殖",
    "生态渔业养殖",
    "特色林业",
)

INSURANCE_EMPLOYEE: tuple[str, ...] = ("企业职工基本养老保险", "职工基本医疗保险", "失业保险", "工伤保险")
INSURANCE_RESIDENT: tuple[str, ...] = ("城乡居民基本医疗保险", "城乡居民基本养老保险")

# fmt: off
MOBILE_PREFIXES: tuple[int, ...] = (
    130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159,
    166, 173, 175, 176, 177, 178, 180, 181, 182, 183, 185, 186, 187, 188, 189, 191, 198, 199,
)
# fmt: on
