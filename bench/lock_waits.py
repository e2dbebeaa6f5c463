"""Lock waits in the warehouse while something runs: who waited, on whom, for how long (sampled).

A task that takes seconds alone and a minute in the daily cycle is either short of CPU or waiting. This
samples ``pg_stat_activity`` every ``interval`` seconds on a connection of its own and attributes each
sample of a backend waiting on a heavyweight lock (``wait_event_type = 'Lock'``) to the pair (what waited,
what it waited behind: ``pg_blocking_pids``), so the report reads "ALTER TABLE platform.quarantine … waited
48 s behind select … from platform.quarantine". Statements are cut to their first 160 characters with
whitespace folded; the figures are samples × interval (a wait shorter than the interval may be missed).

    with LockWaits(dsn) as waits:
        run_the_cycle()
    waits.summary()  # [{"waiting": ..., "blocking": ..., "seconds": ..., "backends": ...}, ...]
"""

from __future__ import annotations

import re
import threading
from collections import defaultdict

import psycopg

SAMPLE = """
select w.pid, w.query, w.wait_event, b.pid, b.query
from pg_stat_activity as w
cross join lateral unnest(pg_blocking_pids(w.pid)) as blocker (pid)
join pg_stat_activity as b on b.pid = blocker.pid
where w.wait_event_type = 'Lock' and w.datname = current_database()
"""


def _short(query: str | None) -> str:
    return re.sub(r"\s+", " ", query or "").strip()[:160]


class LockWaits:
    def __init__(self, dsn: str, interval: float = 0.5) -> None:
        self.dsn = dsn
        self.interval = interval
        self.samples: dict[tuple[str, str, str], int] = defaultdict(int)
        self.backends: dict[tuple[str, str, str], set[int]] = defaultdict(set)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lock-waits", daemon=True)
        self.error: str | None = None

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            with psycopg.connect(self.dsn, autocommit=True) as conn:
                conn.execute("set application_name = 'govlake lock-wait sampler'")
                while not self._stop.wait(self.interval):
                    seen: set[tuple[int, tuple[str, str, str]]] = set()
                    for pid, query, event, _, blocking in conn.execute(SAMPLE).fetchall():
                        key = (_short(query), event or "", _short(blocking))
                        if (pid, key) not in seen:  # one sample per waiter and blocker statement
                            seen.add((pid, key))
                            self.samples[key] += 1
                            self.backends[key].add(pid)
        except Exception as exc:  # the measurement must not break what it measures
            self.error = f"{type(exc).__name__}: {exc}"

    def summary(self, top: int = 12) -> list[dict]:
        rows = [
            {
                "waiting": waiting,
                "lock": event,
                "blocking": blocking,
                "seconds": round(n * self.interval, 1),
                "backends": len(self.backends[(waiting, event, blocking)]),
            }
            for (waiting, event, blocking), n in self.samples.items()
        ]
        return sorted(rows, key=lambda r: -r["seconds"])[:top]

    def total_seconds(self) -> float:
        """Backend-seconds spent waiting on a lock (a backend waiting behind two others counts twice)."""
        return round(sum(self.samples.values()) * self.interval, 1)
