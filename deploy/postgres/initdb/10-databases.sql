-- Run once by the postgres image on an empty data volume (docker-entrypoint-initdb.d), as POSTGRES_USER.
-- One cluster, three databases, as in the local stack: the warehouse, Airflow's metadata and the
-- simulated department systems. \gexec makes each CREATE conditional, since POSTGRES_DB already made one.
select format('create database %I', db)
from unnest(array['govlake', 'airflow', 'department_systems']) as db
where not exists (select 1 from pg_database where datname = db)
\gexec
