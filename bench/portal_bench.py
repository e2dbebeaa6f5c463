"""Portal benchmark: catalog search and resource pages with 5,000 catalog entries, many clients at once.

    python bench/portal_bench.py                      # against the stack of GOVLAKE_HOME (its web service)
    python bench/portal_bench.py --entries 5000 --clients 32 --requests 2000

Adds ``--entries`` generated entries (keys ``bench_portal_*``, cloned from the catalog's own entries with
generated names, summaries and items) to ``platform.catalog_entries``, signs a portal user in, then lets
``--clients`` threads fire ``--requests`` page requests each kind through the running web service:
catalog searches (one or two words, some with a facet, some on page 2) and resource pages (header and the
信息项 tab). Reports p50/p95/p99 and throughput; targets (issue 15): p95 < 200 ms for search and < 300 ms
for a resource page. The generated entries and the user are removed afterwards.
Not a timed test: figures go to bench/README.md with the date, machine and command.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import re
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from psycopg.types.json import Jsonb

from govlake.accounts.people import add_person
from govlake.settings import get_settings
from govlake.warehouse import connect, ensure_platform_schema

WORDS = [
    "人口",
    "户籍",
    "出生",
    "婚姻",
    "低保",
    "救助",
    "社保",
    "养老",
    "医疗",
    "就业",
    "企业",
    "法人",
    "市场",
    "登记",
    "许可",
    "税务",
    "财政",
    "补贴",
    "农业",
    "种植",
    "粮食",
    "交通",
    "客运",
    "货运",
    "道路",
    "自然",
    "资源",
    "土地",
    "行政",
    "区划",
    "统计",
    "宏观",
    "经济",
    "指标",
    "教育",
    "学校",
    "卫生",
    "健康",
    "疫苗",
    "住房",
    "公积金",
]
QUERIES = [
    "人口",
    "户籍 人口",
    "企业",
    "社保 养老",
    "出生",
    "交通 客运",
    "补贴",
    "统计 指标",
    "登记",
    "区划",
    "婚姻",
]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
USER, PASSWORD = "bench_portal_user", "bench password 1"


def generate(conn, count: int, seed: int = 7) -> list[str]:
    rng = random.Random(seed)
    templates = [r[0] for r in conn.execute("select document from platform.catalog_entries").fetchall()]
    if not templates:
        sys.exit("the catalog is empty: run `govlake catalog sync` (or the demo) first")
    keys, rows = [], []
    for n in range(count):
        doc = copy.deepcopy(rng.choice(templates))
        words = rng.sample(WORDS, 3)
        key = f"bench_portal_{n:05d}"
        code = f"{doc['classification_code']}/{900000 + n:06d}"
        doc.update(
            entry_key=key,
            resource_code=code,
            name=f"{''.join(words)}信息{n}",
            summary=f"{doc['summary']} {' '.join(rng.sample(WORDS, 6))}",
        )
        for item in doc["items"]:
            item["label"] = f"{item['label']}{rng.choice(WORDS)}"
        keys.append(key)
        rows.append(
            (
                code, key, doc["kind"], doc["name"], Jsonb(doc["classification"]), doc["classification_code"],
                doc["provider"], doc["provider_code"], doc["department"], doc["summary"], doc["format"],
                doc["sharing_type"], doc.get("sharing_condition"), doc.get("sharing_method"), doc["open_type"],
                doc["update_cycle"], doc.get("publish_date") or "2026-01-01", [], doc.get("relation"),
                doc["source_file"], Jsonb(doc), json.dumps(doc, ensure_ascii=False).lower(),
            )
        )  # fmt: skip
    with conn.cursor() as cur:
        cur.executemany(
            "insert into platform.catalog_entries (resource_code, entry_key, kind, name, classification, "
            "classification_code, provider, provider_code, department, summary, format, sharing_type, "
            "sharing_condition, sharing_method, open_type, update_cycle, publish_date, related_codes, relation, "
            "source_file, document, search_text) values "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            rows,
        )
    return keys


def cleanup(conn) -> None:
    conn.execute("delete from platform.catalog_entries where entry_key like 'bench\\_portal\\_%%'")
    conn.execute("delete from platform.portal_users where username = %s", (USER,))
    conn.execute("delete from platform.portal_sign_ins where username = %s", (USER,))


def signed_in_session(base: str) -> requests.Session:
    http = requests.Session()
    token = CSRF.search(http.get(f"{base}/signin", timeout=30).text).group(1)
    resp = http.post(
        f"{base}/signin",
        data={"username": USER, "password": PASSWORD, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert resp.status_code == 303, resp.text[:300]
    return http


def measure(base: str, cookies, paths: list[str], clients: int) -> tuple[list[float], float]:
    def one(path: str) -> float:
        http = sessions.get()
        start = time.perf_counter()
        resp = http.get(base + path, timeout=300)
        elapsed = time.perf_counter() - start
        assert resp.status_code == 200, (path, resp.status_code)
        sessions.put(http)
        return elapsed * 1000

    import queue

    sessions: queue.Queue = queue.Queue()
    for _ in range(clients):
        s = requests.Session()
        s.cookies.update(cookies)
        sessions.put(s)
    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        times = list(pool.map(one, paths))
    return times, time.perf_counter() - started


def server_cpu(pid: int | None) -> float:
    """CPU seconds the web server has used (user + system), its worker processes included; 0 without a pid."""
    if not pid:
        return 0.0
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def report(name: str, times: list[float], seconds: float, target: float, cpu: float = 0.0) -> dict:
    qs = statistics.quantiles(times, n=100)
    row = {
        "page": name,
        "requests": len(times),
        "p50_ms": round(qs[49], 1),
        "p95_ms": round(qs[94], 1),
        "p99_ms": round(qs[98], 1),
        "per_second": round(len(times) / seconds, 1),
        "server_cpu_ms_per_request": round(1000 * cpu / len(times), 1) if cpu else None,
        "target_p95_ms": target,
        "met": qs[94] < target,
    }
    print(json.dumps(row, ensure_ascii=False))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=1000, help="requests per page kind")
    parser.add_argument("--url", default=None, help="the web service (default: the stack's)")
    parser.add_argument("--server-pid", type=int, default=None, help="the web server's pid: CPU per request")
    args = parser.parse_args()
    settings = get_settings()
    base = (args.url or settings.web_url).rstrip("/")
    rng = random.Random(11)
    with connect(settings, autocommit=True) as conn:
        ensure_platform_schema(conn)
        cleanup(conn)
        keys = generate(conn, args.entries)
        add_person(conn, USER, "bench", "civil_affairs", "requester", PASSWORD, replace=True)
        total = conn.execute("select count(*) from platform.catalog_entries").fetchone()[0]
    print(
        f"catalog: {total} entries; {args.clients} clients; {args.requests} requests per page kind",
        flush=True,
    )
    try:
        cookies = signed_in_session(base).cookies
        warm = requests.Session()
        warm.cookies.update(cookies)
        warm.get(f"{base}/catalog/search?q=人口", timeout=600).raise_for_status()  # the index is built once
        measure(base, cookies, ["/catalog/search?q=人口"] * args.clients, args.clients)
        searches = []
        for n in range(args.requests):
            q = rng.choice(QUERIES)
            path = f"/catalog/search?q={q}"
            if n % 4 == 1:
                path += "&sharing_type=有条件共享"
            if n % 5 == 2:
                path += "&page=2"
            searches.append(path)
        pages = [f"/catalog/r/{rng.choice(keys)}" for _ in range(args.requests)]
        results = []
        for name, paths, target in (("catalog search", searches, 200), ("resource page", pages, 300)):
            cpu = server_cpu(args.server_pid)
            times, seconds = measure(base, cookies, paths, args.clients)
            results.append(report(name, times, seconds, target, server_cpu(args.server_pid) - cpu))
    finally:
        with connect(settings, autocommit=True) as conn:
            cleanup(conn)
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
