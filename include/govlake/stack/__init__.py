"""The local stack: PostgreSQL, SeaweedFS S3, Airflow and the simulated department API on one machine.

``govlake stack up|down|status|env`` (see :mod:`govlake.cli.stack_commands`); the logic is in
:mod:`govlake.stack.manager`, one module per component beside it.
"""
