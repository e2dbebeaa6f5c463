"""Transform stage: dbt builds staging views and the base libraries into the ``audit`` area.

The dbt project is ``dbt_project/``; this package runs it (:func:`run_dbt`) with connection settings
from :class:`govlake.settings.Settings` and the cycle's logical date.
"""

from govlake.transform.docs import DOCS_PREFIX, PublishedDocs, publish_docs, upload_docs
from govlake.transform.manifest import MANIFEST_PATH, write_manifest
from govlake.transform.runner import (
    DBT_PROJECT_DIR,
    DbtError,
    DbtResult,
    NodeResult,
    build_libraries,
    build_staging,
    ensure_validity_functions,
    generate_docs,
    run_dbt,
    snapshot_history,
)

__all__ = [
    "DBT_PROJECT_DIR",
    "DbtError",
    "DbtResult",
    "NodeResult",
    "build_libraries",
    "build_staging",
    "ensure_validity_functions",
    "generate_docs",
    "run_dbt",
    "snapshot_history",
    "DOCS_PREFIX",
    "PublishedDocs",
    "publish_docs",
    "upload_docs",
    "MANIFEST_PATH",
    "write_manifest",
]
