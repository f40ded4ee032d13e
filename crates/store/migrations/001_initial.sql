-- wafer store, schema version 1.
-- Conventions: ids are TEXT; every record is keyed by (project_id, id) so no lookup can cross
-- projects; timestamps are INTEGER milliseconds since the Unix epoch (UTC); list-valued fields are
-- JSON text; booleans are 0/1. Columns that queries can filter or sort on are NOT NULL so keyset
-- (cursor) pagination compares plain values.

CREATE TABLE projects (
    id          TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE api_keys (
    project_id   TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL DEFAULT '[]',
    -- Lower-case hex SHA-256 of the secret; the secret itself is never stored.
    secret_hash  TEXT    NOT NULL UNIQUE,
    expire       INTEGER,
    last_used    INTEGER,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE TABLE functions (
    project_id                    TEXT    NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    id                            TEXT    NOT NULL,
    name                          TEXT    NOT NULL,
    runtime                       TEXT    NOT NULL,
    execute                       TEXT    NOT NULL DEFAULT '[]',
    events                        TEXT    NOT NULL DEFAULT '[]',
    schedule                      TEXT    NOT NULL DEFAULT '',
    timeout                       INTEGER NOT NULL,
    enabled                       INTEGER NOT NULL,
    logging                       INTEGER NOT NULL,
    entrypoint                    TEXT    NOT NULL DEFAULT '',
    commands                      TEXT    NOT NULL DEFAULT '',
    scopes                        TEXT    NOT NULL DEFAULT '[]',
    specification                 TEXT    NOT NULL DEFAULT '',
    deployment_id                 TEXT    NOT NULL DEFAULT '',
    deployment_created_at         INTEGER,
    latest_deployment_id          TEXT    NOT NULL DEFAULT '',
    latest_deployment_created_at  INTEGER,
    latest_deployment_status      TEXT    NOT NULL DEFAULT '',
    fuel                          INTEGER,
    memory_mb                     INTEGER,
    outbound_hosts                TEXT    NOT NULL DEFAULT '[]',
    next_schedule_at              INTEGER,
    created_at                    INTEGER NOT NULL,
    updated_at                    INTEGER NOT NULL,
    PRIMARY KEY (project_id, id)
);

CREATE INDEX functions_by_created ON functions (project_id, created_at, id);
CREATE INDEX functions_due ON functions (next_schedule_at) WHERE next_schedule_at IS NOT NULL;

CREATE TABLE deployments (
    project_id       TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    function_id      TEXT    NOT NULL,
    deployment_type  TEXT    NOT NULL DEFAULT 'manual',
    entrypoint       TEXT    NOT NULL DEFAULT '',
    source_size      INTEGER NOT NULL DEFAULT 0,
    build_size       INTEGER NOT NULL DEFAULT 0,
    total_size       INTEGER NOT NULL DEFAULT 0,
    build_id         TEXT    NOT NULL DEFAULT '',
    activate         INTEGER NOT NULL DEFAULT 0,
    status           TEXT    NOT NULL,
    build_logs       TEXT    NOT NULL DEFAULT '',
    build_duration   INTEGER NOT NULL DEFAULT 0,
    -- Content hash of the component file; '' until the upload is complete.
    artifact_id      TEXT    NOT NULL DEFAULT '',
    chunks_total     INTEGER NOT NULL DEFAULT 0,
    chunks_uploaded  INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (project_id, id),
    FOREIGN KEY (project_id, function_id) REFERENCES functions (project_id, id) ON DELETE CASCADE
);

CREATE INDEX deployments_by_function ON deployments (project_id, function_id, created_at, id);
CREATE INDEX deployments_by_artifact ON deployments (artifact_id);

-- One row per received chunk of a chunked upload: recording is idempotent per index.
CREATE TABLE deployment_chunks (
    project_id     TEXT    NOT NULL,
    deployment_id  TEXT    NOT NULL,
    chunk_index    INTEGER NOT NULL,
    PRIMARY KEY (project_id, deployment_id, chunk_index),
    FOREIGN KEY (project_id, deployment_id) REFERENCES deployments (project_id, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE executions (
    project_id            TEXT    NOT NULL,
    id                    TEXT    NOT NULL,
    function_id           TEXT    NOT NULL,
    -- Not a foreign key: executions outlive the deployment that ran them.
    deployment_id         TEXT    NOT NULL DEFAULT '',
    trigger_type          TEXT    NOT NULL,
    status                TEXT    NOT NULL,
    request_method        TEXT    NOT NULL DEFAULT '',
    request_path          TEXT    NOT NULL DEFAULT '',
    request_headers       TEXT    NOT NULL DEFAULT '[]',
    -- Body of a queued request, needed to run it after a restart.
    request_body          BLOB    NOT NULL DEFAULT x'',
    response_status_code  INTEGER NOT NULL DEFAULT 0,
    response_body         TEXT    NOT NULL DEFAULT '',
    response_headers      TEXT    NOT NULL DEFAULT '[]',
    logs                  TEXT    NOT NULL DEFAULT '',
    errors                TEXT    NOT NULL DEFAULT '',
    duration              REAL    NOT NULL DEFAULT 0,
    scheduled_at          INTEGER,
    fuel_consumed         INTEGER NOT NULL DEFAULT 0,
    peak_memory_bytes     INTEGER NOT NULL DEFAULT 0,
    permissions           TEXT    NOT NULL DEFAULT '[]',
    user_id               TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (project_id, id),
    FOREIGN KEY (project_id, function_id) REFERENCES functions (project_id, id) ON DELETE CASCADE
);

CREATE INDEX executions_by_function ON executions (project_id, function_id, created_at, id);
CREATE INDEX executions_by_user ON executions (project_id, function_id, user_id, created_at, id)
    WHERE user_id IS NOT NULL;
-- The async queue: claimable rows are found by status (and due time for scheduled ones).
CREATE INDEX executions_queue ON executions (status, scheduled_at);

CREATE TABLE variables (
    project_id   TEXT    NOT NULL,
    id           TEXT    NOT NULL,
    function_id  TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    value        TEXT    NOT NULL,
    secret       INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    PRIMARY KEY (project_id, id),
    UNIQUE (project_id, function_id, key),
    FOREIGN KEY (project_id, function_id) REFERENCES functions (project_id, id) ON DELETE CASCADE
);

CREATE INDEX variables_by_function ON variables (project_id, function_id, created_at, id);
