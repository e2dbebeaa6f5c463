"""The question kinds of 吼一声, in ONE registry: a new kind is one entry of ``KINDS``.

An entry says which words point to it (``triggers``: word -> weight, found anywhere in the question),
what a slot adds (``slot_bonus``: a crop named, a region named ...), which slot it cannot do without
(``needs``), and the function that answers it from the cockpit tables (``govlake.cockpit.answers``).
The parser (``question_parser.parse``) scores every entry and keeps the best one at or above its
threshold; ``ask`` runs its answerer, which may still decline (data outside its coverage) — then the
closest catalog resources are the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from govlake.cockpit import answers
from govlake.cockpit.vocabulary import CORN

if TYPE_CHECKING:
    import psycopg

    from govlake.cockpit.question_parser import ParsedQuestion


@dataclass(frozen=True)
class QuestionKind:
    key: str
    title: str
    triggers: dict[str, float]
    answer: Callable[[psycopg.Connection, ParsedQuestion], answers.Answer | None]
    needs: tuple[str, ...] = ()  # slots without which the kind does not apply: "crop", "noncorn_crop"
    slot_bonus: dict[str, float] = field(default_factory=dict)  # "crop" | "region" | "forecast" | "years"
    examples: tuple[str, ...] = ()

    def score(self, q: ParsedQuestion) -> float:
        if "crop" in self.needs and not q.crop:
            return 0.0
        if "noncorn_crop" in self.needs and (not q.crop or q.crop == CORN):
            return 0.0
        total = sum(weight for word, weight in self.triggers.items() if word in q.text)
        if total == 0:
            return 0.0
        slots = {"crop": q.crop is not None, "region": q.region is not None, "forecast": q.forecast,
                 "years": q.years is not None or q.since_year is not None}  # fmt: skip
        return total + sum(bonus for slot, bonus in self.slot_bonus.items() if slots.get(slot))


KINDS: tuple[QuestionKind, ...] = (
    QuestionKind(
        key="crop_vs_corn",
        title="不种玉米种什么（毕节各县经济作物与玉米对比）",
        triggers={
            "种什么": 2.5,
            "种啥": 2.5,
            "种哪": 2,
            "不种": 1.5,
            "改种": 2,
            "替代": 1.5,
            "代替": 1.5,
            "玉米": 1.5,
            "苞谷": 1.5,
            "包谷": 1.5,
            "比玉米": 1.5,
            "种植结构": 2.5,
            "结构调整": 2,
            "调结构": 2,
            "适合种": 2,
            "该种": 1.5,
            "产业调整": 2,
            "经济作物": 1.5,
        },  # fmt: skip
        answer=answers.answer_crop_vs_corn,
        slot_bonus={"region": 0.3},
        examples=("毕节不种玉米种什么", "大方县种什么比玉米好"),
    ),
    QuestionKind(
        key="crop_outlook",
        title="某作物的亩均收益与明年预测",
        triggers={
            "明年": 1.5,
            "预测": 1.5,
            "前景": 1.5,
            "收益": 1,
            "产值": 1,
            "价格": 1,
            "亩": 0.5,
            "怎么样": 0.8,
            "划算": 1.2,
            "赚": 1,
            "趋势": 1,
            "走势": 1,
            "行情": 1,
            "效益": 1,
            "值得": 1,
            "能不能": 0.5,
            "好不好": 0.8,
        },  # fmt: skip
        answer=answers.answer_crop_outlook,
        needs=("crop",),
        slot_bonus={"crop": 1.0, "forecast": 0.5},
        examples=("刺梨明年收益怎么样", "威宁种辣椒划算吗"),
    ),
    QuestionKind(
        key="population_trend",
        title="人口及其变化",
        triggers={"人口": 2.5, "常住": 1, "多少人": 2, "人数": 1, "住着": 1, "人多": 1, "人少": 1},
        answer=answers.answer_population,
        slot_bonus={"region": 0.3, "years": 0.5},
        examples=("遵义人口这五年怎么变",),
    ),
    QuestionKind(
        key="market_entities",
        title="市场主体新设与注销",
        triggers={
            "市场主体": 2.5,
            "企业": 2,
            "公司": 1.5,
            "个体户": 1.5,
            "注销": 1.5,
            "开业": 1.5,
            "倒闭": 1.5,
            "关门": 1.2,
            "新设": 1.5,
            "新开": 1.2,
            "营商": 1.5,
        },  # fmt: skip
        answer=answers.answer_market_entities,
        slot_bonus={"region": 0.3},
        examples=("黔南州新开了多少企业",),
    ),
    QuestionKind(
        key="insurance_coverage",
        title="社会保险参保覆盖率",
        triggers={"参保": 2.5, "社保": 2.5, "保险": 2, "医保": 2, "养老": 1.5, "覆盖": 1},
        answer=answers.answer_insurance,
        slot_bonus={"region": 0.3},
        examples=("六盘水参保率多少",),
    ),
    QuestionKind(
        key="subsidy_findings",
        title="补贴稽核发现（已故、重复、未知人员）",
        triggers={
            "补贴": 2,
            "稽核": 2,
            "已故": 2,
            "死亡": 1.5,
            "去世": 1.5,
            "过世": 1.5,
            "死人": 1.5,
            "冒领": 2.5,
            "重复发": 2,
            "重复领": 2,
            "低保": 1,
            "惠民": 1,
            "发错": 1.5,
        },  # fmt: skip
        answer=answers.answer_subsidy,
        slot_bonus={"region": 0.3},
        examples=("补贴发给已故人员的有多少",),
    ),
    QuestionKind(
        key="department_timeliness",
        title="各部门数据时效",
        triggers={
            "最晚": 2.5,
            "最慢": 2,
            "迟": 1.5,
            "延迟": 2,
            "拖": 1.2,
            "按时": 2,
            "及时": 2,
            "没报": 2,
            "没交": 2,
            "报送": 1,
            "时效": 2,
            "晚": 1,
            "更新": 0.8,
        },  # fmt: skip
        answer=answers.answer_timeliness,
        examples=("哪个部门的数据最晚",),
    ),
    QuestionKind(
        key="department_quality",
        title="各部门数据质量评分",
        triggers={
            "质量": 2.5,
            "评分": 2,
            "得分": 2,
            "打分": 1.5,
            "错误": 1.2,
            "问题数据": 1.5,
            "纠错": 1.5,
            "最差": 1,
            "脏数据": 2,
        },  # fmt: skip
        answer=answers.answer_quality,
        examples=("哪个部门数据质量最差",),
    ),
    QuestionKind(
        key="open_data",
        title="开放数据",
        triggers={"开放": 2.5, "数据集": 1.2, "下载": 1.2, "公开": 1.5},
        answer=answers.answer_open_data,
        examples=("开放了多少数据集",),
    ),
    QuestionKind(
        key="sharing",
        title="数据共享与读取",
        triggers={"共享": 2.5, "调用": 1.5, "读取": 1.5, "授权": 1.5, "调度": 1.5, "用数据": 1.2, "申请": 1},
        answer=answers.answer_sharing,
        examples=("哪个部门的数据被共享最多",),
    ),
    QuestionKind(
        key="transport",
        title="旅客运输量",
        triggers={
            "客运": 2.5,
            "交通": 2,
            "旅客": 2,
            "运输": 1.5,
            "出行": 1.5,
            "铁路": 1.5,
            "公路": 1.5,
            "民航": 1.5,
            "航空": 1.5,
            "坐车": 1,
        },  # fmt: skip
        answer=answers.answer_transport,
        slot_bonus={"region": 0.3},
        examples=("毕节的客运量怎么样",),
    ),
)


def kind(key: str) -> QuestionKind | None:
    return next((k for k in KINDS if k.key == key), None)


def ask(conn: psycopg.Connection, question: str) -> tuple[ParsedQuestion, answers.Answer]:
    """Parse and answer; anything it cannot answer from data gets the closest catalog resources."""
    from govlake.cockpit.question_parser import CLOSEST, parse

    q = parse(question)
    entry = kind(q.kind) if q.kind != CLOSEST else None
    if entry is not None and not answers.is_built(conn):
        return q, answers.answer_closest(conn, q, reason="驾驶舱的汇总表尚未在日处理发布后构建。")
    if entry is None:
        return q, answers.answer_closest(conn, q)
    result = entry.answer(conn, q)
    if result is None:
        return q, answers.answer_closest(conn, q, reason=f"“{entry.title}”的数据不覆盖这个问题的地区或作物。")
    return q, result
