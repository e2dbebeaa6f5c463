"""Where each of the platform's datasets lives in the portal: paths built from Airflow Asset URIs.

Used by the Airflow plugin (``plugins/govlake_portal.py``: a DAG's datasets link to their portal pages)
and by the portal's own pages. Kept free of heavy imports: every Airflow component imports the plugin.

- a department dataset's raw partitions ``s3://raw/<department>/<dataset>`` → its catalog resource page
  ``/catalog/r/<department>__<dataset>`` (the catalog entry key of a department dataset);
- a base or theme library ``postgres://warehouse/govlake/<schema>/<model>`` → ``/catalog/r/<model>``;
- an open dataset's releases ``s3://open/<name>`` → the open-data platform's page ``/open/dataset/<name>``.
Other Assets (e.g. the audit libraries between build and publish) have no page of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

RESOURCE_PAGE = "/catalog/r/{entry}"
OPEN_DATASET_PAGE = "/open/dataset/{name}"  # the IRI the DCAT-AP catalog gives the dataset
LIBRARY_SCHEMAS = ("base", "theme")
INGEST_DAG_PREFIX = "ingest__"


@dataclass(frozen=True)
class PortalLink:
    """One dataset's portal page: ``path`` is relative to the portal's base URL."""

    label: str
    path: str
    kind: str  # resource | open

    def url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.path

    @property
    def quality_path(self) -> str | None:
        """The resource page opened at its 质量 tab (rules, pass rates, open quarantine)."""
        return f"{self.path}?tab=quality" if self.kind == "resource" else None


def resource_path(entry_key: str) -> str:
    return RESOURCE_PAGE.format(entry=quote(entry_key, safe=""))


def open_dataset_path(name: str) -> str:
    return OPEN_DATASET_PAGE.format(name=quote(name, safe=""))


def asset_link(uri: str) -> PortalLink | None:
    """The portal page of one Asset URI, or None when the Asset has no page."""
    scheme, sep, rest = uri.partition("://")
    if not sep:
        return None
    parts = [p for p in rest.split("/") if p]
    if scheme == "s3" and len(parts) == 3 and parts[0] == "raw":
        key = f"{parts[1]}__{parts[2]}"
        return PortalLink(label=key, path=resource_path(key), kind="resource")
    if scheme == "s3" and len(parts) == 2 and parts[0] == "open":
        return PortalLink(label=parts[1], path=open_dataset_path(parts[1]), kind="open")
    if scheme in ("postgres", "postgresql") and len(parts) >= 3 and parts[-2] in LIBRARY_SCHEMAS:
        return PortalLink(label=parts[-1], path=resource_path(parts[-1]), kind="resource")
    return None


def dag_links(dag_id: str, asset_uris: list[str] | tuple[str, ...] = ()) -> list[PortalLink]:
    """Every portal page of one DAG's datasets (its outlets), in order, without repeats.

    An ingest DAG (``ingest__<department>__<dataset>``) names its dataset in its id, so it has its link
    even before its Assets are known.
    """
    links: list[PortalLink] = []
    if dag_id.startswith(INGEST_DAG_PREFIX):
        key = dag_id.removeprefix(INGEST_DAG_PREFIX)
        links.append(PortalLink(label=key, path=resource_path(key), kind="resource"))
    for uri in asset_uris:
        link = asset_link(uri)
        if link and link not in links:
            links.append(link)
    return links
