-- Quality records beyond the gate: resolution of quarantined rows, correction lists sent to departments,
-- and the periodic per-department scorecards. Idempotent; applied after 00_core.sql (and any 1x/2x file).

-- A quarantined row is resolved when the same key arrives again later (or in a corrected re-delivery of
-- its date) and passes every rule.
alter table platform.quarantine add column if not exists resolved_by_batch text;
alter table platform.quarantine add column if not exists resolution_key text;  -- the primary key value(s)
create index if not exists quarantine_open_idx on platform.quarantine (department, dataset)
    where resolved_at is null;

-- A corrected re-delivery of the same date replaces its batch; the records of the earlier delivery are kept
-- as history (superseded_at = when the re-delivery was loaded) instead of being deleted. A superseded record
-- whose row the re-delivery brings clean is resolved at that moment; a row still failing gets a new record
-- carrying first_detected_at, so time-to-correct runs from the first report, however many tries it takes.
-- batch_ingested_at (raw._ingested_at of the content validated) tells a re-delivery from a re-run.
alter table platform.quarantine add column if not exists superseded_at timestamptz;  -- null: current
alter table platform.quarantine add column if not exists first_detected_at timestamptz;  -- null: detected_at
alter table platform.quarantine add column if not exists batch_ingested_at timestamptz;
create index if not exists quarantine_current_idx on platform.quarantine (department, dataset, logical_date, stage)
    where superseded_at is null;

-- One correction list (纠错清单) per department and logical date, in the department's exchange outbox.
create table if not exists platform.correction_lists (
    logical_date            date not null,
    department              text not null,
    rows                    bigint not null,           -- quarantine records listed (one per failing row per rule)
    rows_by_dataset         jsonb not null,
    xlsx_uri                text,
    csv_uri                 text,
    manifest_uri            text,
    xlsx_sha256             text,
    csv_sha256              text,
    generated_at            timestamptz not null default now(),
    primary key (logical_date, department)
);

-- One scorecard per department (or '_province') and period; rerunning a period replaces it.
create table if not exists platform.scorecards (
    period_kind             text not null,             -- week | month
    period                  text not null,             -- 2026-W48 | 2026-11
    period_start            date not null,
    period_end              date not null,             -- inclusive
    department              text not null,             -- registry code, or _province for the province
    department_name         text,
    overall_score           double precision,          -- 0-100, weighted over the dimensions that were measured
    rank                    integer,                   -- province-wide, 1 = best; null when not scored
    rows_checked            bigint not null default 0,
    batches                 integer not null default 0,
    quarantine_open         bigint not null default 0,
    quarantine_resolved     bigint not null default 0,
    median_days_to_correct  double precision,
    late_deliveries         integer not null default 0,
    missing_deliveries      integer not null default 0,
    previous_score          double precision,          -- the same department's score one period earlier
    details                 jsonb,                     -- top failing rules, late deliveries, trend
    computed_at             timestamptz not null default now(),
    primary key (period_kind, period, department)
);

create table if not exists platform.scorecard_dimensions (
    period_kind             text not null,
    period                  text not null,
    department              text not null,
    dimension               text not null,             -- GB/T 36344: conformity ... accessibility
    score                   double precision,          -- null: nothing measured in this dimension
    weight                  double precision not null,
    checks                  bigint not null default 0, -- denominator (row checks, deliveries or reads)
    failures                bigint not null default 0, -- numerator of the failing share
    method                  text not null,             -- how the score was computed (for the report)
    primary key (period_kind, period, department, dimension),
    foreign key (period_kind, period, department) references platform.scorecards on delete cascade
);

-- Rendered scorecards (HTML, PDF) and where they were delivered.
create table if not exists platform.scorecard_reports (
    period_kind             text not null,
    period                  text not null,
    department              text not null,
    format                  text not null,             -- html | pdf
    uri                     text not null,
    bytes                   bigint not null,
    sha256                  text not null,
    rendered_at             timestamptz not null default now(),
    primary key (period_kind, period, department, format)
);

-- The staging gate's verdict per batch. Libraries read a batch's rows only when its latest validation
-- passed and ran after the batch was (re)loaded; a batch that failed a blocking rule is held — good rows
-- included — until a corrected re-delivery of its date passes. A build validates its own date's batch and
-- catches up every earlier batch that landed without a build of its own or was re-delivered since.
create table if not exists platform.batch_validations (
    batch_id                text primary key,
    department              text not null,
    dataset                 text not null,
    logical_date            date not null,
    validation_id           text not null,             -- platform.validation_runs row of the verdict
    cycle_date              date not null,             -- the build (cycle date) that validated it
    success                 boolean not null,
    validated_at            timestamptz not null       -- when the validation started reading the batch
);
create index if not exists batch_validations_cycle_idx on platform.batch_validations (cycle_date);
