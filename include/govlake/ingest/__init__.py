"""Ingestion: department sources -> S3 landing -> normalised Parquet in S3 raw -> COPY into ``raw.*``.

The Airflow DAGs call ``land_and_normalize`` then ``load_raw`` (two tasks, manifest through XCom); the CLI and
benchmarks call ``ingest``. Readers live in ``sources/``, typing and ingest rules in ``normalize.py``, the
warehouse load in ``load.py``.
"""

from govlake.ingest.errors import IngestError
from govlake.ingest.pipeline import ingest, land_and_normalize, load_raw

__all__ = ["IngestError", "ingest", "land_and_normalize", "load_raw"]
