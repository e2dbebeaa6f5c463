"""govlake's Airflow plugin: from a DAG or a failed task straight to its datasets' pages in the portal.

Airflow 3 plugin interface (``AirflowPlugin``), loaded from ``[core] plugins_folder`` (the local stack
and docker-compose both point it at this folder):

- a global operator extra link **数据门户** on every task instance: the portal page of the task's own
  dataset (its outlet), else of its DAG's one dataset (an ingest DAG names it in its id), else the DAG's
  list below; a catalogued resource opens at its 质量 tab (rules, pass rates, open quarantine). The API
  server computes the link on demand, so it is there for failed and running tasks too;
- a **门户数据资源** tab on every DAG page (an external view, destination ``dag``): the DAG's datasets
  (the Assets its tasks produce) with links to their portal pages, served by this plugin's small
  FastAPI app under ``/govlake-portal`` on the Airflow API server;
- a **数据门户** entry in Airflow's navigation that opens the portal.

Where a dataset's page is (``/catalog/r/<entry>``, ``/open/dataset/<name>``) is the portal's decision:
``govlake.web.portal_links``. The portal's address: ``GOVLAKE_PORTAL_URL`` (Settings.portal_url, the
address people's browsers use, e.g. behind a proxy), else the web service's (``GOVLAKE_WEB_URL``).
"""

from __future__ import annotations

import html
import os
from urllib.parse import quote

from airflow.plugins_manager import AirflowPlugin
from airflow.sdk import BaseOperatorLink
from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from govlake.web.portal_links import PortalLink, dag_links

URL_PREFIX = "/govlake-portal"
PLUGIN_NAME = "govlake_portal"


def portal_url() -> str:
    """The portal's base URL as a browser reaches it (no trailing slash)."""
    url = os.environ.get("GOVLAKE_PORTAL_URL") or os.environ.get("GOVLAKE_WEB_URL")
    if not url:
        from govlake.settings import get_settings

        settings = get_settings()
        url = settings.portal_url or settings.web_url
    return url.rstrip("/")


def dag_list_path(dag_id: str) -> str:
    """This plugin's page listing one DAG's datasets (on the Airflow API server)."""
    return f"{URL_PREFIX}/dags/{quote(dag_id, safe='')}"


def dag_asset_uris(dag_id: str) -> list[str]:
    """The URIs of the Assets the DAG's tasks produce, from Airflow's metadata database."""
    from airflow.models.asset import AssetModel, TaskOutletAssetReference
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.scalars(
            select(AssetModel.uri)
            .join(TaskOutletAssetReference, TaskOutletAssetReference.asset_id == AssetModel.id)
            .where(TaskOutletAssetReference.dag_id == dag_id)
            .distinct()
            .order_by(AssetModel.uri)
        )
        return list(rows)


def _labels() -> dict[str, str]:
    """Catalog entry key → ``<department> · <dataset>`` for the department datasets (the registry)."""
    try:
        from govlake.registry import load_departments

        return {ds.key: f"{ds.department_name} · {ds.name}" for d in load_departments() for ds in d.datasets}
    except Exception:  # a label is a nicety; the link stands without it
        return {}


def task_links(dag_id: str, outlets) -> list[PortalLink]:  # noqa: ANN001 - Asset-like objects with .uri
    """The portal pages of one task: its own outlets first, else its DAG's."""
    own = [uri for uri in (getattr(o, "uri", None) for o in outlets or ()) if uri]
    links = dag_links(dag_id, own)
    if not links:
        try:
            links = dag_links(dag_id, dag_asset_uris(dag_id))
        except Exception:  # no metadata database here (e.g. parsing): the DAG-id rule alone
            links = dag_links(dag_id)
    return links


class PortalDatasetLink(BaseOperatorLink):
    """The 数据门户 button on every task instance."""

    name = "数据门户"

    def get_link(self, operator, *, ti_key) -> str:  # noqa: ANN001
        links = task_links(ti_key.dag_id, getattr(operator, "outlets", None))
        if len(links) == 1:
            link = links[0]
            return portal_url() + (link.quality_path or link.path)
        if links:  # several datasets: the DAG's list, on the API server this request came to
            return dag_list_path(ti_key.dag_id)
        return ""  # no dataset of its own: Airflow shows the button disabled


def _page(dag_id: str, links: list[PortalLink], base: str) -> str:
    labels = _labels()
    esc = html.escape
    if links:
        items = "\n".join(
            f'<li><a href="{esc(link.url(base))}">{esc(labels.get(link.label, link.label))}</a>'
            f' <span class="kind">{"开放数据集" if link.kind == "open" else "资源"}</span>'
            + (f' · <a href="{esc(base + link.quality_path)}">质量</a>' if link.quality_path else "")
            + f"<br><code>{esc(link.url(base))}</code></li>"
            for link in links
        )
        body = f"<ul>{items}</ul>"
    else:
        body = "<p>这个 DAG 不产出在门户中有页面的数据集。</p>"
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>{esc(dag_id)} · 门户数据资源</title>
<style>
body {{ font-family: "WenQuanYi Micro Hei", "Noto Sans CJK SC", sans-serif; margin: 1rem; color: #1a202c; }}
li {{ margin: .6rem 0; }} a {{ color: #0b5cad; font-size: 1.05rem; }}
code {{ color: #4a5568; font-size: .8rem; }} .kind {{ color: #4a5568; font-size: .8rem; }}
</style></head>
<body><h1 style="font-size:1.1rem">{esc(dag_id)} 的数据资源</h1>
<p>在数据门户中查看资源目录、质量、共享和血缘：</p>
{body}
<p><a href="{esc(base)}/">打开数据门户</a></p></body></html>"""


def build_app() -> FastAPI:
    app = FastAPI(title="govlake portal links", docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/dags/{dag_id}/links")
    def links_json(dag_id: str) -> JSONResponse:
        base = portal_url()
        links = dag_links(dag_id, dag_asset_uris(dag_id))
        return JSONResponse(
            [{"label": link.label, "kind": link.kind, "url": link.url(base)} for link in links]
        )

    @app.get("/dags/{dag_id}", response_class=HTMLResponse)
    def links_page(dag_id: str) -> HTMLResponse:
        return HTMLResponse(_page(dag_id, dag_links(dag_id, dag_asset_uris(dag_id)), portal_url()))

    return app


class GovlakePortalPlugin(AirflowPlugin):
    name = PLUGIN_NAME
    global_operator_extra_links = [PortalDatasetLink()]
    fastapi_apps = [{"app": build_app(), "url_prefix": URL_PREFIX, "name": "govlake portal links"}]
    external_views = [
        {
            "name": "门户数据资源",
            "href": f"{URL_PREFIX}/dags/{{DAG_ID}}",
            "destination": "dag",
            "url_route": "govlake-portal",
        },
        {"name": "数据门户", "href": f"{portal_url()}/", "destination": "nav"},
    ]
