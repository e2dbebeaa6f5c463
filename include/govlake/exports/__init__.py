"""Scheduled exports of shared data into department outboxes (``s3://exchange/<department>/exports/``)."""
