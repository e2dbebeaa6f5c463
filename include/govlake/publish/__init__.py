"""Publish: the last step of write-audit-publish and the zones it feeds.

* ``swap.publish_libraries`` moves validated ``audit`` libraries into ``base`` and recreates the masked
  ``share`` views and the libraries' ``exchange`` views, in one transaction (or records why publication was
  blocked). Departments read only ``exchange.*``; ``share`` is granted to no one.
* ``reconcile.reconcile`` checks per batch that rows in = published + quarantined (+ held).

The open-data zone publishes from ``base`` on its own (``govlake.opendata.release``).

Nothing is imported here, so a DAG file importing one submodule inside a task stays cheap to parse.
"""
