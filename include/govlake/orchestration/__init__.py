"""What the DAGs and the CLI share: cycle dates, the task bodies, the Airflow REST client, the summary."""
