"""The open-data zone: open datasets defined in ``config/open_datasets.yaml``, de-identified (aggregates
with small-cell suppression, records with generalised quasi-identifiers to k-anonymity), scanned for
identifiers and over-graded items, released as versioned CSV/Parquet/JSON with a data dictionary in
``s3://open/<dataset>/<version>/``, loaded into the ``open`` schema for the CKAN datastore API, and
measured (downloads, API calls, registered apps) in ``platform.open_*``.
"""
