"""The leader cockpit (领导驾驶舱): the province on a map, the Bijie crop question with a forecast, 吼一声.

Modules:
- ``aggregates``: the ``cockpit`` tables, rebuilt after every publication (pages read only these);
- ``forecast``: next year's revenue per mu (statsmodels ETS) with an interval and a back-test;
- ``suppression``: small counts shown as "<k", with the open zone's k;
- ``vocabulary``: division and crop names for parsing (data/divisions.csv, copied from the dbt seed);
- ``question_parser`` + ``question_kinds`` (the one registry of question kinds) + ``answers``.
"""
