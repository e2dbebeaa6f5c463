"""Helpers the tests share, in one place (``tests/`` is on pytest's ``pythonpath``: ``import support.…``).

* ``quality_rows`` — staging rows with chosen defects, and loaded-batch records, for the quality tests;
* ``platform_records`` — platform.* history (department days, resolutions) for scorecards;
* ``synthetic_libraries`` — tiny population / legal-entity libraries in scratch schemas for publish;
* ``opendata_scratch`` — scratch libraries and open-dataset definitions for open-data releases;
* ``sharing_fixtures`` — the zz_* sharing zone, platform and outbox fixtures (a pytest plugin).
"""
