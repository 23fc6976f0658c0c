-- Attune core schema (spec §1) plus the tables our delivery guarantees need
-- (guarantees-and-security.md §1.3): outbox, timer_fire, leader_lease, fencing
-- columns on execution. Every FK carries a denormalised *_ref text column so
-- audit trails stay readable after the referenced row is deleted.

-- +goose Up

CREATE TYPE execution_status_enum AS ENUM (
    'requested', 'scheduling', 'scheduled', 'running', 'completed', 'failed',
    'canceling', 'cancelled', 'timeout', 'abandoned');
CREATE TYPE enforcement_status_enum AS ENUM ('created', 'processed', 'disabled');
CREATE TYPE enforcement_condition_enum AS ENUM ('any', 'all');
CREATE TYPE inquiry_status_enum AS ENUM ('pending', 'responded', 'timeout', 'cancelled');
CREATE TYPE policy_method_enum AS ENUM ('cancel', 'enqueue');
CREATE TYPE owner_type_enum AS ENUM ('system', 'identity', 'pack', 'action', 'sensor');
CREATE TYPE worker_type_enum AS ENUM ('local', 'remote', 'container');
CREATE TYPE worker_role_enum AS ENUM ('action', 'sensor', 'hybrid');
CREATE TYPE worker_status_enum AS ENUM ('active', 'inactive', 'busy', 'error');
CREATE TYPE notification_status_enum AS ENUM ('created', 'queued', 'processing', 'error');
CREATE TYPE artifact_type_enum AS ENUM (
    'file_binary', 'file_datatable', 'file_image', 'file_text', 'other', 'progress', 'url');
CREATE TYPE artifact_retention_enum AS ENUM ('versions', 'days', 'hours', 'minutes');
CREATE TYPE artifact_visibility_enum AS ENUM ('public', 'private');
CREATE TYPE pack_environment_status_enum AS ENUM ('pending', 'installing', 'ready', 'failed', 'outdated');
CREATE TYPE action_reference_visibility_enum AS ENUM ('public', 'private', 'restricted');

-- +goose StatementBegin
CREATE FUNCTION update_updated_column() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

-- notify_listener holds one row per notifier process that has WebSocket
-- clients, refreshed while it has any. Entity notifications are sent only
-- while a row is live: a NOTIFY serialises every notifying commit in the
-- cluster (PostgreSQL holds a global lock through the commit's WAL flush),
-- which is a high price for messages nobody receives. Unlogged: a crash only
-- loses rows their notifiers rewrite within a refresh interval.
CREATE UNLOGGED TABLE notify_listener (
    holder     text PRIMARY KEY,
    expires_at timestamptz NOT NULL
);

-- +goose StatementBegin
CREATE FUNCTION attune_notify_wanted() RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (SELECT 1 FROM notify_listener WHERE expires_at > now())
$$;
-- +goose StatementEnd

-- attune_notify sends a NOTIFY payload while a notifier listens, collapsing
-- it to a compact form when it would come near PostgreSQL's 8000-byte limit:
-- the client then refetches through the API (spec §1.4, auth_mode
-- "deferred").
-- +goose StatementBegin
CREATE FUNCTION attune_notify(channel text, payload jsonb, compact jsonb) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF NOT attune_notify_wanted() THEN
        RETURN;
    END IF;
    IF octet_length(payload::text) > 7000 THEN
        payload := compact || jsonb_build_object('auth_mode', 'deferred');
    END IF;
    PERFORM pg_notify(channel, payload::text);
END;
$$;
-- +goose StatementEnd

CREATE TABLE identity (
    id            bigserial PRIMARY KEY,
    login         text NOT NULL UNIQUE CHECK (login <> ''),
    display_name  text,
    password_hash text,
    attributes    jsonb NOT NULL DEFAULT '{}',
    frozen        boolean NOT NULL DEFAULT false,
    created       timestamptz NOT NULL DEFAULT now(),
    updated       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pack (
    id                  bigserial PRIMARY KEY,
    ref                 text NOT NULL UNIQUE CHECK (ref ~ '^[a-z][a-z0-9_-]+$'),
    label               text NOT NULL,
    description         text,
    version             text NOT NULL
        CHECK (version ~ '^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$'),
    conf_schema         jsonb NOT NULL DEFAULT '{}',
    config              jsonb NOT NULL DEFAULT '{}',
    meta                jsonb NOT NULL DEFAULT '{}',
    tags                text[] NOT NULL DEFAULT '{}',
    runtime_deps        text[] NOT NULL DEFAULT '{}',
    dependencies        text[] NOT NULL DEFAULT '{}',
    is_standard         boolean NOT NULL DEFAULT false,
    installers          jsonb NOT NULL DEFAULT '{}',
    source_type         text CHECK (source_type IN ('git', 'local', 'registry')),
    source_url          text,
    source_ref          text,
    checksum            text,
    checksum_verified   boolean NOT NULL DEFAULT false,
    installed_at        timestamptz,
    installed_by        bigint REFERENCES identity (id) ON DELETE SET NULL,
    installation_method text CHECK (installation_method IN ('cli', 'api', 'auto')),
    storage_path        text,
    created             timestamptz NOT NULL DEFAULT now(),
    updated             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pack_config_gin ON pack USING gin (config);
CREATE INDEX pack_meta_gin ON pack USING gin (meta);
CREATE INDEX pack_tags_gin ON pack USING gin (tags);
CREATE INDEX pack_runtime_deps_gin ON pack USING gin (runtime_deps);

CREATE TABLE runtime (
    id               bigserial PRIMARY KEY,
    ref              text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$' AND ref = lower(ref)),
    pack             bigint REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref         text,
    description      text,
    name             text NOT NULL,
    aliases          text[] NOT NULL DEFAULT '{}',
    distributions    jsonb NOT NULL DEFAULT '{}',
    installation     jsonb,
    installers       jsonb NOT NULL DEFAULT '{}',
    execution_config jsonb NOT NULL DEFAULT '{}',
    auto_detected    boolean NOT NULL DEFAULT false,
    detection_config jsonb NOT NULL DEFAULT '{}',
    created          timestamptz NOT NULL DEFAULT now(),
    updated          timestamptz NOT NULL DEFAULT now(),
    CHECK (aliases = lower(aliases::text)::text[])
);
CREATE INDEX runtime_pack_idx ON runtime (pack);

CREATE TABLE workflow_definition (
    id           bigserial PRIMARY KEY,
    ref          varchar(255) NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack         bigint NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref     text NOT NULL,
    label        text NOT NULL,
    description  text,
    version      text NOT NULL DEFAULT '1.0.0',
    param_schema jsonb,
    out_schema   jsonb,
    definition   jsonb NOT NULL,
    tags         text[] NOT NULL DEFAULT '{}',
    created      timestamptz NOT NULL DEFAULT now(),
    updated      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workflow_definition_pack_idx ON workflow_definition (pack);

CREATE TABLE sensor (
    id                         bigserial PRIMARY KEY,
    ref                        text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack                       bigint REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref                   text,
    label                      text NOT NULL,
    description                text,
    entrypoint                 text NOT NULL,
    runtime                    bigint NOT NULL REFERENCES runtime (id) ON DELETE CASCADE,
    runtime_ref                text NOT NULL,
    enabled                    boolean NOT NULL DEFAULT true,
    is_adhoc                   boolean NOT NULL DEFAULT false,
    param_schema               jsonb,
    config                     jsonb NOT NULL DEFAULT '{}',
    runtime_version_constraint text,
    created                    timestamptz NOT NULL DEFAULT now(),
    updated                    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sensor_pack_idx ON sensor (pack);
CREATE INDEX sensor_runtime_idx ON sensor (runtime);

CREATE TABLE trigger (
    id                          bigserial PRIMARY KEY,
    ref                         text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack                        bigint REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref                    text,
    label                       text NOT NULL,
    description                 text,
    enabled                     boolean NOT NULL DEFAULT true,
    is_adhoc                    boolean NOT NULL DEFAULT false,
    param_schema                jsonb,
    out_schema                  jsonb,
    webhook_enabled             boolean NOT NULL DEFAULT false,
    webhook_key                 varchar(64) UNIQUE CHECK (webhook_key ~ '^wh_[0-9a-f]{32}$'),
    webhook_config              jsonb NOT NULL DEFAULT '{}',
    sensor                      bigint REFERENCES sensor (id) ON DELETE SET NULL,
    sensor_ref                  text,
    reference_visibility        action_reference_visibility_enum NOT NULL DEFAULT 'public',
    reference_allowed_pack_refs text[] NOT NULL DEFAULT '{}',
    created                     timestamptz NOT NULL DEFAULT now(),
    updated                     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trigger_pack_idx ON trigger (pack);

CREATE TABLE action (
    id                                    bigserial PRIMARY KEY,
    ref                                   text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack                                  bigint NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref                              text NOT NULL,
    label                                 text NOT NULL,
    description                           text,
    entrypoint                            text NOT NULL,
    runtime                               bigint REFERENCES runtime (id) ON DELETE SET NULL,
    runtime_ref                           text,
    enabled                               boolean NOT NULL DEFAULT true,
    param_schema                          jsonb,
    out_schema                            jsonb,
    parameter_delivery                    text NOT NULL DEFAULT 'stdin'
        CHECK (parameter_delivery IN ('stdin', 'file')),
    parameter_format                      text NOT NULL DEFAULT 'json'
        CHECK (parameter_format IN ('dotenv', 'json', 'yaml')),
    output_format                         text NOT NULL DEFAULT 'text'
        CHECK (output_format IN ('text', 'json', 'yaml', 'jsonl')),
    is_adhoc                              boolean NOT NULL DEFAULT false,
    timeout_seconds                       int CHECK (timeout_seconds > 0),
    max_retries                           int NOT NULL DEFAULT 0 CHECK (max_retries >= 0),
    runtime_version_constraint            text,
    default_execution_permission_set_refs text[] NOT NULL DEFAULT '{}',
    reference_visibility                  action_reference_visibility_enum NOT NULL DEFAULT 'public',
    reference_allowed_pack_refs           text[] NOT NULL DEFAULT '{}',
    workflow_def                          bigint REFERENCES workflow_definition (id) ON DELETE CASCADE,
    -- What the reaper does when the worker running this action is lost:
    -- abandon = at-most-once (default), retry = at-least-once up to max_attempts.
    on_worker_lost                        text NOT NULL DEFAULT 'abandon'
        CHECK (on_worker_lost IN ('abandon', 'retry')),
    max_attempts                          int NOT NULL DEFAULT 1 CHECK (max_attempts >= 1),
    created                               timestamptz NOT NULL DEFAULT now(),
    updated                               timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX action_pack_idx ON action (pack);
CREATE INDEX action_runtime_idx ON action (runtime);
CREATE INDEX action_workflow_def_idx ON action (workflow_def);

CREATE TABLE rule (
    id                  bigserial PRIMARY KEY,
    ref                 text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack                bigint NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref            text NOT NULL,
    label               text NOT NULL,
    description         text,
    action              bigint REFERENCES action (id) ON DELETE SET NULL,
    action_ref          text NOT NULL,
    trigger             bigint REFERENCES trigger (id) ON DELETE SET NULL,
    trigger_ref         text NOT NULL,
    conditions          jsonb NOT NULL DEFAULT '[]',
    action_params       jsonb NOT NULL DEFAULT '{}',
    trigger_params      jsonb NOT NULL DEFAULT '{}',
    permission_set_refs text[],
    enabled             boolean NOT NULL DEFAULT true,
    is_adhoc            boolean NOT NULL DEFAULT false,
    owner_identity      bigint REFERENCES identity (id) ON DELETE SET NULL,
    created             timestamptz NOT NULL DEFAULT now(),
    updated             timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX rule_pack_idx ON rule (pack);
CREATE INDEX rule_trigger_idx ON rule (trigger) WHERE enabled;
CREATE INDEX rule_trigger_ref_idx ON rule (trigger_ref);
CREATE INDEX rule_action_idx ON rule (action);

CREATE TABLE event (
    id              bigserial PRIMARY KEY,
    trigger         bigint REFERENCES trigger (id) ON DELETE SET NULL,
    trigger_ref     text NOT NULL,
    config          jsonb,
    payload         jsonb,
    source          bigint REFERENCES sensor (id) ON DELETE SET NULL,
    source_ref      text,
    rule            bigint REFERENCES rule (id) ON DELETE SET NULL,
    rule_ref        text,
    -- Client- or sensor-supplied dedupe key: a retried ingestion with the same
    -- key yields the same single event row.
    idempotency_key text CHECK (idempotency_key <> ''),
    created         timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX event_idempotency_uniq ON event (source_ref, idempotency_key) NULLS NOT DISTINCT
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX event_trigger_ref_idx ON event (trigger_ref, created DESC);
CREATE INDEX event_created_idx ON event (created DESC);

CREATE TABLE enforcement (
    id          bigserial PRIMARY KEY,
    rule        bigint REFERENCES rule (id) ON DELETE SET NULL,
    rule_ref    text NOT NULL,
    trigger_ref text NOT NULL,
    config      jsonb,
    -- No FK: upstream partitions event, and enforcement must outlive it.
    event       bigint,
    status      enforcement_status_enum NOT NULL DEFAULT 'created',
    payload     jsonb NOT NULL DEFAULT '{}',
    condition   enforcement_condition_enum NOT NULL DEFAULT 'all',
    conditions  jsonb NOT NULL DEFAULT '[]',
    created     timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    -- One event fires one rule at most once, however often evaluation reruns.
    CONSTRAINT enforcement_rule_event_uniq UNIQUE (rule, event)
);
CREATE INDEX enforcement_event_idx ON enforcement (event);
CREATE INDEX enforcement_status_idx ON enforcement (status) WHERE status = 'created';
CREATE INDEX enforcement_created_idx ON enforcement (created DESC);

CREATE TABLE worker (
    id                    bigserial PRIMARY KEY,
    name                  text NOT NULL UNIQUE,
    worker_type           worker_type_enum NOT NULL DEFAULT 'local',
    worker_role           worker_role_enum NOT NULL DEFAULT 'action',
    runtime               bigint REFERENCES runtime (id) ON DELETE SET NULL,
    host                  text,
    port                  int,
    status                worker_status_enum NOT NULL DEFAULT 'active',
    capabilities          jsonb NOT NULL DEFAULT '{}',
    meta                  jsonb NOT NULL DEFAULT '{}',
    last_heartbeat        timestamptz,
    heartbeat_interval_ms int NOT NULL DEFAULT 5000 CHECK (heartbeat_interval_ms > 0),
    cordoned              boolean NOT NULL DEFAULT false,
    cordon_reason         text,
    cordoned_by           text,
    cordoned_at           timestamptz,
    created               timestamptz NOT NULL DEFAULT now(),
    updated               timestamptz NOT NULL DEFAULT now()
);

CREATE VIEW healthy_workers AS
SELECT w.*
FROM worker w
WHERE w.status = 'active'
  AND w.last_heartbeat > now() - interval '30 seconds'
  AND coalesce(w.capabilities #>> '{health,status}', 'healthy') IN ('healthy', 'degraded');

CREATE TABLE execution (
    id                  bigserial PRIMARY KEY,
    action              bigint REFERENCES action (id) ON DELETE SET NULL,
    action_ref          text NOT NULL,
    config              jsonb NOT NULL DEFAULT '{}',
    env_vars            jsonb NOT NULL DEFAULT '{}',
    parent              bigint REFERENCES execution (id) ON DELETE SET NULL,
    enforcement         bigint REFERENCES enforcement (id) ON DELETE SET NULL,
    executor            bigint REFERENCES identity (id) ON DELETE SET NULL,
    permission_set_refs text[] NOT NULL DEFAULT '{}',
    worker              bigint REFERENCES worker (id) ON DELETE SET NULL,
    status              execution_status_enum NOT NULL DEFAULT 'requested',
    result              jsonb,
    started_at          timestamptz,
    timeout_seconds     int CHECK (timeout_seconds > 0),
    workflow_def        bigint REFERENCES workflow_definition (id) ON DELETE SET NULL,
    workflow_task       jsonb,
    retry_count         int NOT NULL DEFAULT 0,
    max_retries         int NOT NULL DEFAULT 0,
    retry_reason        text,
    original_execution  bigint REFERENCES execution (id) ON DELETE SET NULL,
    -- Lease and fencing (guarantees §1.3): each claim by a worker bumps attempt
    -- and fence; completion is UPDATE ... WHERE fence = $f so a worker that was
    -- presumed lost can never overwrite the result of a newer attempt.
    attempt             int NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    fence               bigint NOT NULL DEFAULT 0 CHECK (fence >= 0),
    lease_expires_at    timestamptz,
    result_fence        bigint,
    created             timestamptz NOT NULL DEFAULT now(),
    updated             timestamptz NOT NULL DEFAULT now()
);
-- One top-level execution per enforcement, unless it is an explicit retry.
CREATE UNIQUE INDEX execution_enforcement_uniq ON execution (enforcement)
    WHERE enforcement IS NOT NULL AND parent IS NULL AND NOT (config ? 'retry_of');
CREATE INDEX execution_status_idx ON execution (status);
CREATE INDEX execution_parent_idx ON execution (parent) WHERE parent IS NOT NULL;
-- (worker, status): the scheduler counts each worker's active executions
-- without visiting its finished ones; it also serves the worker foreign key.
CREATE INDEX execution_worker_status_idx ON execution (worker, status);
CREATE INDEX execution_created_idx ON execution (created DESC);
CREATE INDEX execution_lease_idx ON execution (lease_expires_at)
    WHERE status IN ('running', 'canceling');
-- One retry execution per (root, retry_count): a redelivered completion never
-- spawns a second retry. Also serves the scheduler's retry lookups.
CREATE UNIQUE INDEX execution_retry_uniq ON execution (original_execution, retry_count)
    WHERE original_execution IS NOT NULL;
-- Scheduler scans: pending executions per action (FIFO adoption) and the
-- reaper's look for dispatches never claimed; also the action foreign key.
CREATE INDEX execution_action_status_idx ON execution (action, status, id);

CREATE TABLE inquiry (
    id              bigserial PRIMARY KEY,
    execution       bigint NOT NULL UNIQUE REFERENCES execution (id) ON DELETE CASCADE,
    prompt          text,
    response_schema jsonb,
    assigned_to     bigint REFERENCES identity (id) ON DELETE SET NULL,
    status          inquiry_status_enum NOT NULL DEFAULT 'pending',
    response        jsonb,
    timeout_at      timestamptz,
    responded_at    timestamptz,
    created         timestamptz NOT NULL DEFAULT now(),
    updated         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inquiry_pending_timeout_idx ON inquiry (timeout_at) WHERE status = 'pending';

CREATE TABLE policy (
    id                        bigserial PRIMARY KEY,
    ref                       text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack                      bigint REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref                  text,
    action                    bigint REFERENCES action (id) ON DELETE CASCADE,
    action_ref                text NOT NULL,
    enabled                   boolean NOT NULL DEFAULT true,
    priority                  int NOT NULL DEFAULT 0,
    parameters                text[] NOT NULL DEFAULT '{}',
    method                    policy_method_enum,
    threshold                 int CHECK (threshold > 0),
    rate_limit_max_executions int,
    rate_limit_window_seconds int,
    quotas                    jsonb NOT NULL DEFAULT '[]',
    name                      text,
    description               text,
    tags                      text[] NOT NULL DEFAULT '{}',
    -- API-created policies survive re-registration of their pack.
    is_adhoc                  boolean NOT NULL DEFAULT false,
    created                   timestamptz NOT NULL DEFAULT now(),
    updated                   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT policy_concurrency_pair CHECK ((method IS NULL) = (threshold IS NULL)),
    CONSTRAINT policy_rate_limit_pair CHECK (
        (rate_limit_max_executions IS NULL AND rate_limit_window_seconds IS NULL)
        OR (rate_limit_max_executions > 0 AND rate_limit_window_seconds > 0)),
    CONSTRAINT policy_has_feature CHECK (
        threshold IS NOT NULL OR rate_limit_max_executions IS NOT NULL OR quotas <> '[]'::jsonb)
);
CREATE INDEX policy_action_idx ON policy (action);

CREATE TABLE key (
    id                  bigserial PRIMARY KEY,
    ref                 text NOT NULL UNIQUE CHECK (ref = lower(ref)),
    local_ref           text,
    owner_type          owner_type_enum NOT NULL,
    owner               text NOT NULL DEFAULT '',
    -- Every owner FK cascades: the owner trigger forbids a key with a
    -- non-system owner type and no owner, so SET NULL could never succeed.
    owner_identity      bigint REFERENCES identity (id) ON DELETE CASCADE,
    owner_pack          bigint REFERENCES pack (id) ON DELETE CASCADE,
    owner_action        bigint REFERENCES action (id) ON DELETE CASCADE,
    owner_sensor        bigint REFERENCES sensor (id) ON DELETE CASCADE,
    owner_pack_ref      text,
    owner_action_ref    text,
    owner_sensor_ref    text,
    name                text NOT NULL,
    encrypted           boolean NOT NULL DEFAULT false,
    encryption_key_hash text,
    value               jsonb NOT NULL,
    created             timestamptz NOT NULL DEFAULT now(),
    updated             timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT key_owner_name_uniq UNIQUE (owner_type, owner, name)
);

-- validate_key_owner enforces exactly one owner FK matching owner_type and
-- derives the owner column from it (spec §1.3 key).
-- +goose StatementBegin
CREATE FUNCTION validate_key_owner() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n_fks int := (NEW.owner_identity IS NOT NULL)::int + (NEW.owner_pack IS NOT NULL)::int
               + (NEW.owner_action IS NOT NULL)::int + (NEW.owner_sensor IS NOT NULL)::int;
BEGIN
    IF NEW.owner_type = 'system' THEN
        IF n_fks <> 0 THEN
            RAISE EXCEPTION 'key %: system keys must not reference an owner', NEW.ref
                USING ERRCODE = 'check_violation', COLUMN = 'owner_type';
        END IF;
        NEW.owner := 'system';
        RETURN NEW;
    END IF;
    IF n_fks <> 1 THEN
        RAISE EXCEPTION 'key %: owner_type % needs exactly one owner reference, got %', NEW.ref, NEW.owner_type, n_fks
            USING ERRCODE = 'check_violation', COLUMN = 'owner_type';
    END IF;
    NEW.owner := CASE NEW.owner_type
        WHEN 'identity' THEN NEW.owner_identity::text
        WHEN 'pack' THEN NEW.owner_pack::text
        WHEN 'action' THEN NEW.owner_action::text
        WHEN 'sensor' THEN NEW.owner_sensor::text
    END;
    IF NEW.owner IS NULL THEN
        RAISE EXCEPTION 'key %: owner_type % does not match the owner reference set', NEW.ref, NEW.owner_type
            USING ERRCODE = 'check_violation', COLUMN = 'owner_type';
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER key_validate_owner BEFORE INSERT OR UPDATE ON key
    FOR EACH ROW EXECUTE FUNCTION validate_key_owner();

CREATE TABLE permission_set (
    id          bigserial PRIMARY KEY,
    ref         text NOT NULL UNIQUE CHECK (ref ~ '^[^.]+\.[^.]+$'),
    pack        bigint REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref    text,
    label       text,
    description text,
    grants      jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(grants) = 'array'),
    created     timestamptz NOT NULL DEFAULT now(),
    updated     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE permission_assignment (
    id       bigserial PRIMARY KEY,
    identity bigint NOT NULL REFERENCES identity (id) ON DELETE CASCADE,
    permset  bigint NOT NULL REFERENCES permission_set (id) ON DELETE CASCADE,
    created  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT permission_assignment_uniq UNIQUE (identity, permset)
);
CREATE INDEX permission_assignment_permset_idx ON permission_assignment (permset);

CREATE TABLE integration_token (
    id                bigserial PRIMARY KEY,
    identity          bigint NOT NULL REFERENCES identity (id) ON DELETE CASCADE,
    label             text NOT NULL,
    description       text,
    token_hash        text NOT NULL UNIQUE,
    token_prefix      text NOT NULL,
    token_suffix      text NOT NULL,
    created_by        bigint REFERENCES identity (id) ON DELETE SET NULL,
    expires_at        timestamptz,
    last_used_at      timestamptz,
    last_used_ip      text,
    revoked_at        timestamptz,
    revoked_by        bigint REFERENCES identity (id) ON DELETE SET NULL,
    revocation_reason text,
    created           timestamptz NOT NULL DEFAULT now(),
    updated           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX integration_token_identity_idx ON integration_token (identity);

-- auth_token records issued JWTs by jti so access/refresh/execution tokens can
-- be rotated and revoked (a refresh token reused after rotation is detected via
-- replaced_by; an execution token dies with its execution).
CREATE TABLE auth_token (
    jti         text PRIMARY KEY,
    identity    bigint REFERENCES identity (id) ON DELETE CASCADE,
    token_type  text NOT NULL CHECK (token_type IN ('access', 'refresh', 'execution', 'sensor')),
    execution   bigint REFERENCES execution (id) ON DELETE CASCADE,
    expires_at  timestamptz NOT NULL,
    revoked_at  timestamptz,
    replaced_by text,
    -- family groups a refresh-token rotation chain: reuse of a rotated-away
    -- token revokes the whole family (refresh-token reuse detection).
    family      text,
    created     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX auth_token_family_idx ON auth_token (family) WHERE family IS NOT NULL;
CREATE INDEX auth_token_identity_idx ON auth_token (identity);
CREATE INDEX auth_token_execution_idx ON auth_token (execution) WHERE execution IS NOT NULL;
CREATE INDEX auth_token_expires_idx ON auth_token (expires_at);

CREATE TABLE audit_log (
    id           bigserial PRIMARY KEY,
    identity     bigint REFERENCES identity (id) ON DELETE SET NULL,
    login        text,
    action       text NOT NULL,
    resource     text NOT NULL,
    resource_ref text,
    source_ip    text,
    details      jsonb NOT NULL DEFAULT '{}',
    created      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_created_idx ON audit_log (created DESC);
CREATE INDEX audit_log_resource_idx ON audit_log (resource, resource_ref);

CREATE TABLE webhook_event_log (
    id                 bigserial PRIMARY KEY,
    trigger_id         bigint NOT NULL REFERENCES trigger (id) ON DELETE CASCADE,
    trigger_ref        text NOT NULL,
    webhook_key        text NOT NULL,
    event_id           bigint,
    source_ip          text,
    user_agent         text,
    payload_size_bytes int,
    headers            jsonb,
    status_code        int,
    error_message      text,
    processing_time_ms int,
    hmac_verified      boolean,
    rate_limited       boolean NOT NULL DEFAULT false,
    ip_allowed         boolean,
    created            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX webhook_event_log_rate_idx ON webhook_event_log (trigger_id, webhook_key, source_ip, created DESC)
    WHERE NOT rate_limited;

CREATE TABLE workflow_execution (
    id              bigserial PRIMARY KEY,
    execution       bigint NOT NULL UNIQUE REFERENCES execution (id) ON DELETE CASCADE,
    workflow_def    bigint NOT NULL REFERENCES workflow_definition (id) ON DELETE CASCADE,
    current_tasks   text[] NOT NULL DEFAULT '{}',
    completed_tasks text[] NOT NULL DEFAULT '{}',
    failed_tasks    text[] NOT NULL DEFAULT '{}',
    skipped_tasks   text[] NOT NULL DEFAULT '{}',
    variables       jsonb NOT NULL DEFAULT '{}',
    task_graph      jsonb NOT NULL DEFAULT '{}',
    status          execution_status_enum NOT NULL DEFAULT 'requested',
    error_message   text,
    paused          boolean NOT NULL DEFAULT false,
    pause_reason    text,
    created         timestamptz NOT NULL DEFAULT now(),
    updated         timestamptz NOT NULL DEFAULT now()
);

-- Makes child-task dispatch idempotent: one child per (workflow, task, index).
CREATE TABLE workflow_task_dispatch (
    id                 bigserial PRIMARY KEY,
    workflow_execution bigint NOT NULL REFERENCES workflow_execution (id) ON DELETE CASCADE,
    task_name          text NOT NULL,
    task_index         int,
    execution_id       bigint REFERENCES execution (id) ON DELETE SET NULL,
    created            timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX workflow_task_dispatch_uniq
    ON workflow_task_dispatch (workflow_execution, task_name, coalesce(task_index, -1));

CREATE TABLE notification (
    id          bigserial PRIMARY KEY,
    channel     text NOT NULL,
    entity_type text NOT NULL,
    entity      text NOT NULL,
    activity    text NOT NULL,
    state       notification_status_enum NOT NULL DEFAULT 'created',
    content     jsonb,
    created     timestamptz NOT NULL DEFAULT now(),
    updated     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE queue_stats (
    action_id          bigint PRIMARY KEY REFERENCES action (id) ON DELETE CASCADE,
    queue_length       int NOT NULL DEFAULT 0,
    active_count       int NOT NULL DEFAULT 0,
    max_concurrent     int NOT NULL DEFAULT 1,
    oldest_enqueued_at timestamptz,
    total_enqueued     bigint NOT NULL DEFAULT 0,
    total_completed    bigint NOT NULL DEFAULT 0,
    last_updated       timestamptz NOT NULL DEFAULT now()
);

-- Durable FIFO for policy admission (concurrency limits per action/group).
CREATE TABLE execution_admission_state (
    id               bigserial PRIMARY KEY,
    action_id        bigint NOT NULL REFERENCES action (id) ON DELETE CASCADE,
    group_key        text,
    max_concurrent   int NOT NULL CHECK (max_concurrent > 0),
    next_queue_order bigint NOT NULL DEFAULT 1,
    total_enqueued   bigint NOT NULL DEFAULT 0,
    total_completed  bigint NOT NULL DEFAULT 0,
    created          timestamptz NOT NULL DEFAULT now(),
    updated          timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX execution_admission_state_uniq
    ON execution_admission_state (action_id, coalesce(group_key, ''));

CREATE TABLE execution_admission_entry (
    id           bigserial PRIMARY KEY,
    state_id     bigint NOT NULL REFERENCES execution_admission_state (id) ON DELETE CASCADE,
    execution_id bigint NOT NULL UNIQUE REFERENCES execution (id) ON DELETE CASCADE,
    status       text NOT NULL CHECK (status IN ('active', 'queued')),
    queue_order  bigint NOT NULL,
    enqueued_at  timestamptz NOT NULL DEFAULT now(),
    activated_at timestamptz
);
CREATE INDEX execution_admission_entry_queue_idx ON execution_admission_entry (state_id, status, queue_order);

CREATE TABLE pack_environment (
    id                bigserial PRIMARY KEY,
    pack              bigint NOT NULL REFERENCES pack (id) ON DELETE CASCADE,
    pack_ref          text NOT NULL,
    runtime           bigint NOT NULL REFERENCES runtime (id) ON DELETE CASCADE,
    runtime_ref       text NOT NULL,
    -- Text, not an FK: runtime_version is an [ext] table we do not ship.
    runtime_version   text,
    env_key           text GENERATED ALWAYS AS (
        CASE WHEN runtime_version IS NULL THEN 'base:' || pack_ref || ':' || runtime_ref
             ELSE 'version:' || pack_ref || ':' || runtime_ref || ':' || runtime_version END) STORED,
    env_path          text NOT NULL,
    status            pack_environment_status_enum NOT NULL DEFAULT 'pending',
    manifest_checksum text,
    claimed_by_worker text,
    claim_expires_at  timestamptz,
    installed_at      timestamptz,
    last_verified     timestamptz,
    install_log       text,
    install_error     text,
    metadata          jsonb NOT NULL DEFAULT '{}',
    created           timestamptz NOT NULL DEFAULT now(),
    updated           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX pack_environment_env_key_uniq ON pack_environment (env_key);

CREATE TABLE artifact (
    id               bigserial PRIMARY KEY,
    ref              text NOT NULL UNIQUE,
    scope            owner_type_enum NOT NULL DEFAULT 'system',
    owner            text NOT NULL DEFAULT '',
    type             artifact_type_enum NOT NULL,
    visibility       artifact_visibility_enum NOT NULL DEFAULT 'private',
    name             text,
    description      text,
    content_type     text,
    size_bytes       bigint,
    data             jsonb,
    retention_policy artifact_retention_enum NOT NULL DEFAULT 'versions',
    retention_limit  int NOT NULL DEFAULT 1 CHECK (retention_limit > 0),
    execution        bigint REFERENCES execution (id) ON DELETE SET NULL,
    created          timestamptz NOT NULL DEFAULT now(),
    updated          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX artifact_execution_idx ON artifact (execution);

CREATE TABLE artifact_version (
    id           bigserial PRIMARY KEY,
    artifact     bigint NOT NULL REFERENCES artifact (id) ON DELETE CASCADE,
    version      int NOT NULL CHECK (version >= 1),
    execution    bigint REFERENCES execution (id) ON DELETE SET NULL,
    content_type text,
    size_bytes   bigint,
    content      bytea,
    content_json jsonb,
    file_path    text,
    meta         jsonb NOT NULL DEFAULT '{}',
    created_by   text,
    created      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT artifact_version_uniq UNIQUE (artifact, version)
);

-- Transactional outbox: written in the same transaction as the state change,
-- relayed to the bus with publisher confirms, and deleted only after the
-- confirm. Delivery is therefore at-least-once; every row here is pending.
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    exchange     text NOT NULL,
    routing_key  text NOT NULL,
    message_type text NOT NULL,
    payload      jsonb NOT NULL,
    created      timestamptz NOT NULL DEFAULT now(),
    available_at timestamptz NOT NULL DEFAULT now(),
    attempts     int NOT NULL DEFAULT 0,
    last_error   text
);
CREATE INDEX outbox_due_idx ON outbox (available_at, id);

-- One row per (rule, scheduled fire time): a timer fire is neither lost nor
-- duplicated across sensor failover.
CREATE TABLE timer_fire (
    id            bigserial PRIMARY KEY,
    rule_id       bigint NOT NULL REFERENCES rule (id) ON DELETE CASCADE,
    scheduled_for timestamptz NOT NULL,
    event_id      bigint,
    created       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT timer_fire_uniq UNIQUE (rule_id, scheduled_for)
);

-- Named leases for leader election (timers) and env-build claims. term grows
-- on every change of holder so it can serve as a fencing token.
CREATE TABLE leader_lease (
    name        text PRIMARY KEY,
    holder      text NOT NULL,
    term        bigint NOT NULL DEFAULT 1,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);

CREATE TRIGGER identity_updated BEFORE UPDATE ON identity FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER pack_updated BEFORE UPDATE ON pack FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER runtime_updated BEFORE UPDATE ON runtime FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER workflow_definition_updated BEFORE UPDATE ON workflow_definition
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER sensor_updated BEFORE UPDATE ON sensor FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER trigger_updated BEFORE UPDATE ON trigger FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER action_updated BEFORE UPDATE ON action FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER rule_updated BEFORE UPDATE ON rule FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER worker_updated BEFORE UPDATE ON worker FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER execution_updated BEFORE UPDATE ON execution FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER inquiry_updated BEFORE UPDATE ON inquiry FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER policy_updated BEFORE UPDATE ON policy FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER key_updated BEFORE UPDATE ON key FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER permission_set_updated BEFORE UPDATE ON permission_set
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER integration_token_updated BEFORE UPDATE ON integration_token
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER workflow_execution_updated BEFORE UPDATE ON workflow_execution
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER notification_updated BEFORE UPDATE ON notification
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER execution_admission_state_updated BEFORE UPDATE ON execution_admission_state
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER pack_environment_updated BEFORE UPDATE ON pack_environment
    FOR EACH ROW EXECUTE FUNCTION update_updated_column();
CREATE TRIGGER artifact_updated BEFORE UPDATE ON artifact FOR EACH ROW EXECUTE FUNCTION update_updated_column();

-- +goose StatementBegin
CREATE FUNCTION notify_event_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT attune_notify_wanted() THEN
        RETURN NEW;
    END IF;
    PERFORM attune_notify('event_created', jsonb_build_object(
        'entity_type', 'event', 'entity_id', NEW.id, 'id', NEW.id,
        'trigger', NEW.trigger, 'trigger_ref', NEW.trigger_ref,
        'source', NEW.source, 'source_ref', NEW.source_ref,
        'rule', NEW.rule, 'rule_ref', NEW.rule_ref,
        'has_payload', NEW.payload IS NOT NULL, 'created', NEW.created),
        jsonb_build_object('entity_type', 'event', 'entity_id', NEW.id, 'id', NEW.id));
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER event_notify_created AFTER INSERT ON event FOR EACH ROW EXECUTE FUNCTION notify_event_created();

-- +goose StatementBegin
CREATE FUNCTION notify_enforcement_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    body    jsonb;
    compact jsonb;
BEGIN
    IF NOT attune_notify_wanted() THEN
        RETURN NEW;
    END IF;
    body := jsonb_build_object(
        'entity_type', 'enforcement', 'entity_id', NEW.id, 'id', NEW.id,
        'rule', NEW.rule, 'rule_ref', NEW.rule_ref, 'trigger_ref', NEW.trigger_ref,
        'event', NEW.event, 'status', NEW.status, 'condition', NEW.condition,
        'created', NEW.created, 'resolved_at', NEW.resolved_at);
    compact := jsonb_build_object('entity_type', 'enforcement', 'entity_id', NEW.id, 'id', NEW.id,
        'status', NEW.status);
    IF TG_OP = 'INSERT' THEN
        PERFORM attune_notify('enforcement_created', body, compact);
    ELSIF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM attune_notify('enforcement_status_changed', body || jsonb_build_object('old_status', OLD.status),
            compact || jsonb_build_object('old_status', OLD.status));
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER enforcement_notify_created AFTER INSERT ON enforcement
    FOR EACH ROW EXECUTE FUNCTION notify_enforcement_change();
CREATE TRIGGER enforcement_notify_status AFTER UPDATE OF status ON enforcement
    FOR EACH ROW EXECUTE FUNCTION notify_enforcement_change();

-- +goose StatementBegin
CREATE FUNCTION notify_execution_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    enf_rule_ref    text;
    enf_trigger_ref text;
    body            jsonb;
    compact         jsonb;
BEGIN
    IF NOT attune_notify_wanted() THEN
        RETURN NEW;
    END IF;
    IF NEW.enforcement IS NOT NULL THEN
        SELECT e.rule_ref, e.trigger_ref INTO enf_rule_ref, enf_trigger_ref
        FROM enforcement e WHERE e.id = NEW.enforcement;
    END IF;
    body := jsonb_build_object(
        'entity_type', 'execution', 'entity_id', NEW.id, 'id', NEW.id,
        'action_id', NEW.action, 'action_ref', NEW.action_ref, 'status', NEW.status,
        'enforcement', NEW.enforcement, 'rule_ref', enf_rule_ref, 'trigger_ref', enf_trigger_ref,
        'parent', NEW.parent, 'started_at', NEW.started_at, 'workflow_task', NEW.workflow_task,
        'created', NEW.created, 'updated', NEW.updated);
    compact := jsonb_build_object('entity_type', 'execution', 'entity_id', NEW.id, 'id', NEW.id,
        'status', NEW.status);
    IF TG_OP = 'INSERT' THEN
        PERFORM attune_notify('execution_created', body, compact);
        RETURN NEW;
    END IF;
    IF NEW.status IS DISTINCT FROM OLD.status THEN
        PERFORM attune_notify('execution_status_changed', body || jsonb_build_object('old_status', OLD.status),
            compact || jsonb_build_object('old_status', OLD.status));
        IF NEW.workflow_def IS NOT NULL THEN
            PERFORM attune_notify('workflow_execution_status_changed', jsonb_build_object(
                'entity_type', 'execution', 'id', NEW.id, 'action_ref', NEW.action_ref,
                'status', NEW.status, 'old_status', OLD.status, 'workflow_def', NEW.workflow_def,
                'parent', NEW.parent, 'created', NEW.created, 'updated', NEW.updated),
                compact || jsonb_build_object('old_status', OLD.status));
        END IF;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER execution_notify_created AFTER INSERT ON execution
    FOR EACH ROW EXECUTE FUNCTION notify_execution_change();
CREATE TRIGGER execution_notify_status AFTER UPDATE OF status ON execution
    FOR EACH ROW EXECUTE FUNCTION notify_execution_change();

-- +goose StatementBegin
CREATE FUNCTION notify_inquiry_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    body jsonb := jsonb_build_object('entity_type', 'inquiry', 'id', NEW.id, 'execution', NEW.execution,
        'status', NEW.status, 'timeout_at', NEW.timeout_at, 'updated', NEW.updated);
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM attune_notify('inquiry_created', body, body);
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NEW.status = 'responded' THEN
        PERFORM attune_notify('inquiry_responded', body, body);
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NEW.status = 'timeout' THEN
        PERFORM attune_notify('inquiry_timeout', body, body);
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER inquiry_notify AFTER INSERT OR UPDATE OF status ON inquiry
    FOR EACH ROW EXECUTE FUNCTION notify_inquiry_change();

-- +goose StatementBegin
CREATE FUNCTION notify_notification_created() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT attune_notify_wanted() THEN
        RETURN NEW;
    END IF;
    PERFORM pg_notify(NEW.channel, jsonb_build_object('id', NEW.id, 'entity_type', NEW.entity_type,
        'entity', NEW.entity, 'activity', NEW.activity)::text);
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER notification_notify AFTER INSERT ON notification
    FOR EACH ROW EXECUTE FUNCTION notify_notification_created();

-- notify_artifact reports artifact changes; a new version reaches it through
-- the parent UPDATE done by artifact_version_retention. Progress artifacts carry
-- their latest entry so UIs can render a bar without a refetch.
-- +goose StatementBegin
CREATE FUNCTION notify_artifact() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a       artifact%ROWTYPE;
    latest  jsonb;
    body    jsonb;
BEGIN
    a := NEW;
    IF a.type = 'progress' AND jsonb_typeof(a.data) = 'array' THEN
        latest := a.data -> -1;
    END IF;
    body := jsonb_build_object('entity_type', 'artifact', 'entity_id', a.id, 'id', a.id, 'ref', a.ref,
        'type', a.type, 'visibility', a.visibility, 'scope', a.scope, 'owner', a.owner,
        'execution', a.execution, 'progress_percent', latest -> 'percent',
        'progress_message', latest ->> 'message', 'updated', a.updated);
    PERFORM attune_notify(CASE WHEN TG_OP = 'INSERT' THEN 'artifact_created' ELSE 'artifact_updated' END,
        body, jsonb_build_object('entity_type', 'artifact', 'entity_id', a.id, 'id', a.id));
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER artifact_notify AFTER INSERT OR UPDATE ON artifact FOR EACH ROW EXECUTE FUNCTION notify_artifact();

-- artifact_version_retention syncs size/content type to the parent and drops
-- versions beyond a 'versions' retention limit.
-- +goose StatementBegin
CREATE FUNCTION artifact_version_retention() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    a artifact%ROWTYPE;
BEGIN
    SELECT * INTO a FROM artifact WHERE id = NEW.artifact;
    UPDATE artifact SET size_bytes = NEW.size_bytes, content_type = coalesce(NEW.content_type, content_type)
    WHERE id = NEW.artifact;
    IF a.retention_policy = 'versions' THEN
        DELETE FROM artifact_version
        WHERE artifact = NEW.artifact
          AND version <= (SELECT max(version) FROM artifact_version WHERE artifact = NEW.artifact) - a.retention_limit;
    END IF;
    RETURN NEW;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER artifact_version_after_insert AFTER INSERT ON artifact_version
    FOR EACH ROW EXECUTE FUNCTION artifact_version_retention();


-- +goose Down

DROP TABLE IF EXISTS notify_listener, leader_lease, timer_fire, outbox, artifact_version, artifact, pack_environment,
    execution_admission_entry, execution_admission_state, queue_stats, notification, workflow_task_dispatch,
    workflow_execution, webhook_event_log, audit_log, auth_token, integration_token, permission_assignment,
    permission_set, key, policy, inquiry, execution, worker, enforcement, event, rule, action, trigger, sensor,
    workflow_definition, runtime, pack, identity CASCADE;
DROP VIEW IF EXISTS healthy_workers;
DROP FUNCTION IF EXISTS artifact_version_retention(), notify_artifact(),
    notify_notification_created(), notify_inquiry_change(), notify_execution_change(),
    notify_enforcement_change(), notify_event_created(), validate_key_owner(),
    attune_notify(text, jsonb, jsonb), attune_notify_wanted(), update_updated_column();
DROP TYPE IF EXISTS action_reference_visibility_enum, pack_environment_status_enum, artifact_visibility_enum,
    artifact_retention_enum, artifact_type_enum, notification_status_enum, worker_status_enum,
    worker_role_enum, worker_type_enum, owner_type_enum, policy_method_enum, inquiry_status_enum,
    enforcement_condition_enum, enforcement_status_enum, execution_status_enum;
