"""Lineage and the sharing graph (issue 16).

Where every number comes from and who uses whose data, as one graph:

* ``column_lineage`` derives each dbt model's column lineage from the manifest and the compiled SQL
  (sqlglot), ``events`` turns that (and each registry dataset's ingest) into OpenLineage RunEvents;
* ``event_store`` receives OpenLineage events (the web service's ``POST /api/v1/lineage``) into
  ``platform.lineage_*``, idempotently;
* ``graph`` joins the stored lineage with the registry and the sharing records (grants, reads, exports,
  open releases, downloads, apps) into one graph; ``queries`` walks it (upstream, downstream, impact);
* ``sharing_flows`` is the 共享图谱: who provides what to whom, weighted by the last 30 days.
"""
