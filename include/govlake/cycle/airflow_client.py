"""A small client for Airflow 3's REST API (``/api/v2``), as used by the CLI and the end-to-end tests.

The platform never re-implements scheduling: the CLI asks Airflow to run DAGs and watches what the
scheduler does, exactly as an engineer would from the UI.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from govlake.settings import Settings, get_settings

TERMINAL_STATES = {"success", "failed"}


class AirflowError(RuntimeError):
    pass


@dataclass
class DagRun:
    dag_id: str
    run_id: str
    state: str
    logical_date: str | None
    run_after: str | None
    run_type: str | None
    start_date: str | None
    end_date: str | None

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> DagRun:
        return cls(
            dag_id=doc["dag_id"],
            run_id=doc["dag_run_id"],
            state=doc.get("state") or "queued",
            logical_date=doc.get("logical_date"),
            run_after=doc.get("run_after"),
            run_type=doc.get("run_type"),
            start_date=doc.get("start_date"),
            end_date=doc.get("end_date"),
        )

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL_STATES


class AirflowClient:
    def __init__(self, settings: Settings | None = None, timeout: float = 30) -> None:
        self.settings = settings or get_settings()
        self.base = self.settings.airflow_url
        self.timeout = timeout
        self.session = requests.Session()
        # A read that meets a dropped connection is asked again: the API server closes a kept-alive
        # connection as it likes (seen under load at scale medium: "Remote end closed connection without
        # response" mid-cycle), and a cycle watched for an hour must not end on one. Only reads: a trigger
        # (POST) that may or may not have arrived is not repeated blindly.
        retries = Retry(
            total=4, connect=4, read=2, status=0, backoff_factor=0.5, allowed_methods=frozenset({"GET"})
        )
        adapter = HTTPAdapter(max_retries=retries)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self._token: str | None = None

    # -- plumbing --------------------------------------------------------------------------------
    def login(self) -> None:
        resp = self.session.post(
            f"{self.base}/auth/token",
            json={"username": self.settings.airflow_user, "password": self.settings.airflow_password},
            timeout=self.timeout,
        )
        if resp.status_code >= 400:
            raise AirflowError(
                f"cannot log in to Airflow at {self.base} as {self.settings.airflow_user}: "
                f"{resp.status_code} {resp.text[:300]}"
            )
        self._token = resp.json()["access_token"]
        self.session.headers["Authorization"] = f"Bearer {self._token}"

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        if self._token is None:
            self.login()
        kwargs.setdefault("timeout", self.timeout)
        resp = self.session.request(method, f"{self.base}/api/v2{path}", **kwargs)
        if resp.status_code == 401:  # token expired: log in again once
            self.login()
            resp = self.session.request(method, f"{self.base}/api/v2{path}", **kwargs)
        return resp

    def _json(self, method: str, path: str, ok: tuple[int, ...] = (200,), **kwargs: Any) -> Any:
        resp = self.request(method, path, **kwargs)
        if resp.status_code not in ok:
            raise AirflowError(f"{method} {path}: {resp.status_code} {resp.text[:500]}")
        return resp.json() if resp.content else None

    # -- DAGs ------------------------------------------------------------------------------------
    def dag_ids(self) -> set[str]:
        docs = self._json("GET", "/dags", params={"limit": 1000})
        return {d["dag_id"] for d in docs["dags"]}

    def import_errors(self) -> list[dict[str, Any]]:
        return self._json("GET", "/importErrors", params={"limit": 100})["import_errors"]

    def wait_for_dags(self, dag_ids: list[str], timeout: float = 180, poll: float = 2) -> None:
        deadline = time.monotonic() + timeout
        while True:
            missing = set(dag_ids) - self.dag_ids()
            if not missing:
                return
            if time.monotonic() > deadline:
                errors = "; ".join(
                    f"{e.get('filename')}: {e.get('stack_trace', '')[-300:]}" for e in self.import_errors()
                )
                raise AirflowError(
                    f"DAGs not parsed within {timeout:.0f}s: {sorted(missing)}. "
                    f"Import errors: {errors or 'none'}"
                )
            time.sleep(poll)

    def set_paused(self, dag_id: str, paused: bool) -> None:
        self._json("PATCH", f"/dags/{dag_id}", json={"is_paused": paused})

    # -- runs ------------------------------------------------------------------------------------
    def runs(self, dag_id: str, **params: Any) -> list[DagRun]:
        params.setdefault("limit", 100)
        params.setdefault("order_by", "-run_after")
        docs = self._json("GET", f"/dags/{dag_id}/dagRuns", params=params)
        return [DagRun.from_json(d) for d in docs["dag_runs"]]

    def run(self, dag_id: str, run_id: str) -> DagRun:
        return DagRun.from_json(self._json("GET", f"/dags/{dag_id}/dagRuns/{run_id}"))

    def run_for_date(self, dag_id: str, logical_date: datetime) -> DagRun | None:
        stamp = logical_date.isoformat()
        found = self.runs(dag_id, logical_date_gte=stamp, logical_date_lte=stamp)
        return found[0] if found else None

    def next_scheduled(self, dag_id: str) -> datetime | None:
        """The logical date of the run the scheduler will create next for this DAG."""
        doc = self._json("GET", f"/dags/{dag_id}")
        stamp = doc.get("next_dagrun_logical_date")
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None

    def wait_for_run(self, dag_id: str, logical_date: datetime, timeout: float = 180) -> DagRun | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            run = self.run_for_date(dag_id, logical_date)
            if run is not None:
                return run
            time.sleep(2)
        return None

    def trigger(self, dag_id: str, logical_date: datetime, conf: dict[str, Any] | None = None) -> DagRun:
        """Start a run for ``logical_date``; if one exists (scheduled or manual), re-run it instead.

        When the date is the one the scheduler is about to run (an unpaused DAG's due tick), the
        scheduler's own run is awaited instead of creating a manual one: two runs for one logical date
        violate Airflow's (dag_id, logical_date) key, and the scheduler stops on that conflict.
        """
        existing = self.run_for_date(dag_id, logical_date)
        if existing is None and self.next_scheduled(dag_id) == logical_date:
            existing = self.wait_for_run(dag_id, logical_date)
        if existing is None:
            resp = self.request(
                "POST",
                f"/dags/{dag_id}/dagRuns",
                json={"logical_date": logical_date.isoformat(), "conf": conf or {}},
            )
            if resp.status_code in (200, 201):
                return DagRun.from_json(resp.json())
            if resp.status_code != 409:
                raise AirflowError(
                    f"cannot trigger {dag_id} for {logical_date}: {resp.status_code} {resp.text[:500]}"
                )
            existing = self.run_for_date(dag_id, logical_date)
            if existing is None:
                raise AirflowError(f"{dag_id}: conflict on {logical_date} but no run found")
        if existing.finished:
            self.clear(dag_id, existing.run_id)
        return self.run(dag_id, existing.run_id)

    def clear(self, dag_id: str, run_id: str) -> None:
        """Re-run every task of a run (the run goes back to queued and the scheduler takes it again)."""
        self._json(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dag_run_id": run_id, "dry_run": False, "only_failed": False, "reset_dag_runs": True},
        )

    def task_instances(self, dag_id: str, run_id: str, page_size: int = 100) -> list[dict[str, Any]]:
        """Every task instance of a run, page by page: the API returns at most 100 at a time and the build
        DAG has more (a run and a test task per dbt model)."""
        found: list[dict[str, Any]] = []
        while True:
            page = self._json(
                "GET",
                f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances",
                params={"limit": page_size, "offset": len(found)},
            )
            found += page["task_instances"]
            if not page["task_instances"] or len(found) >= page.get("total_entries", len(found)):
                return found

    def runs_after(self, dag_id: str, after: datetime) -> list[DagRun]:
        return self.runs(dag_id, run_after_gte=after.astimezone(UTC).isoformat())
