-- Wharf schema, PostgreSQL dialect. Mirrors migrations/sqlite/0001_domain_model.sql.
-- Ids are UUID v7; timestamps are TIMESTAMPTZ; JSON is JSONB.

-- People and machine clients, as last seen from the IdP (`sub` is the stable key).
CREATE TABLE users (
    id           UUID PRIMARY KEY,
    subject      TEXT NOT NULL UNIQUE,
    email        TEXT,
    name         TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL
);

-- Teams are IdP groups; membership is replaced from the token at every sign-in.
CREATE TABLE teams (
    id         UUID PRIMARY KEY,
    name       TEXT NOT NULL UNIQUE,
    created_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE memberships (
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    team_id    UUID NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
    refreshed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (user_id, team_id)
);
CREATE INDEX memberships_team ON memberships(team_id);

-- Where data lives: an AWS account/region, or the built-in sandbox (grants recorded only).
CREATE TABLE environments (
    id             UUID PRIMARY KEY,
    slug           TEXT NOT NULL UNIQUE,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL CHECK (kind IN ('aws', 'sandbox')),
    owner_team_id  UUID REFERENCES teams(id),
    aws_account_id TEXT,
    aws_region     TEXT,
    aws_role_arn   TEXT,
    endpoint_url   TEXT,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    CHECK (kind = 'sandbox' OR (aws_account_id IS NOT NULL AND aws_region IS NOT NULL))
);

-- IAM roles (or accounts) registered to a team: the only principals that can receive grants.
CREATE TABLE consumer_principals (
    id             UUID PRIMARY KEY,
    environment_id UUID NOT NULL REFERENCES environments(id),
    team_id        UUID NOT NULL REFERENCES teams(id),
    arn            TEXT NOT NULL,
    label          TEXT NOT NULL DEFAULT '',
    created_by     UUID REFERENCES users(id),
    created_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (environment_id, arn)
);
CREATE INDEX consumer_principals_team ON consumer_principals(team_id);

-- Business areas grouping products.
CREATE TABLE domains (
    id          UUID PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  TIMESTAMPTZ NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL
);

-- Data products. `version` increments on every change and backs the ETag.
CREATE TABLE products (
    id               UUID PRIMARY KEY,
    slug             TEXT NOT NULL UNIQUE,
    name             TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    domain_id        UUID NOT NULL REFERENCES domains(id),
    owner_team_id    UUID NOT NULL REFERENCES teams(id),
    environment_id   UUID NOT NULL REFERENCES environments(id),
    classification   TEXT NOT NULL CHECK (classification IN ('public', 'internal', 'confidential', 'restricted')),
    status           TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'published', 'deprecated')),
    auto_approve     BOOLEAN NOT NULL DEFAULT FALSE,
    max_access_days  INTEGER NOT NULL DEFAULT 365 CHECK (max_access_days > 0),
    contract         JSONB,
    version          INTEGER NOT NULL DEFAULT 1,
    created_by       UUID REFERENCES users(id),
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    published_at     TIMESTAMPTZ
);
CREATE INDEX products_domain ON products(domain_id);
CREATE INDEX products_owner_team ON products(owner_team_id);

CREATE TABLE product_tags (
    product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    tag        TEXT NOT NULL,
    PRIMARY KEY (product_id, tag)
);

CREATE TABLE product_stewards (
    product_id UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    user_id    UUID NOT NULL REFERENCES users(id),
    PRIMARY KEY (product_id, user_id)
);

-- Tables in a product (Glue database + table), with their last synced schema.
CREATE TABLE assets (
    id             UUID PRIMARY KEY,
    product_id     UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    glue_database  TEXT NOT NULL,
    glue_table     TEXT NOT NULL,
    description    TEXT NOT NULL DEFAULT '',
    location       TEXT,
    parameters     JSONB NOT NULL DEFAULT '{}'::jsonb,
    removed_at     TIMESTAMPTZ,
    last_synced_at TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL,
    UNIQUE (product_id, glue_database, glue_table)
);

CREATE TABLE asset_columns (
    asset_id         UUID NOT NULL REFERENCES assets(id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    name             TEXT NOT NULL,
    data_type        TEXT NOT NULL,
    description      TEXT NOT NULL DEFAULT '',
    is_pii           BOOLEAN NOT NULL DEFAULT FALSE,
    is_partition_key BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (asset_id, name)
);

-- What a re-sync found different (columns added/removed/retyped, tables removed).
CREATE TABLE schema_changes (
    id          UUID PRIMARY KEY,
    product_id  UUID NOT NULL REFERENCES products(id) ON DELETE CASCADE,
    asset_id    UUID REFERENCES assets(id) ON DELETE SET NULL,
    change      JSONB NOT NULL,
    detected_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX schema_changes_product ON schema_changes(product_id, detected_at);

-- Access requests: one principal of the consumer team, some tables of one product.
CREATE TABLE access_requests (
    id               UUID PRIMARY KEY,
    product_id       UUID NOT NULL REFERENCES products(id),
    requester_id     UUID NOT NULL REFERENCES users(id),
    consumer_team_id UUID NOT NULL REFERENCES teams(id),
    principal_id     UUID NOT NULL REFERENCES consumer_principals(id),
    justification    TEXT NOT NULL,
    requested_until  TIMESTAMPTZ NOT NULL,
    status           TEXT NOT NULL CHECK (status IN ('submitted', 'granting', 'granted', 'failed', 'rejected', 'cancelled', 'revoking', 'revoked', 'expired')),
    idempotency_key  TEXT,
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL,
    UNIQUE (requester_id, idempotency_key)
);
CREATE INDEX access_requests_product ON access_requests(product_id, status);
CREATE INDEX access_requests_requester ON access_requests(requester_id);
CREATE INDEX access_requests_until ON access_requests(status, requested_until);

-- One table (optionally a column subset) of a request; the request shows its worst item.
CREATE TABLE access_request_items (
    id         UUID PRIMARY KEY,
    request_id UUID NOT NULL REFERENCES access_requests(id) ON DELETE CASCADE,
    asset_id   UUID NOT NULL REFERENCES assets(id),
    columns    JSONB,
    status     TEXT NOT NULL CHECK (status IN ('submitted', 'granting', 'granted', 'failed', 'rejected', 'cancelled', 'revoking', 'revoked', 'expired')),
    error      TEXT,
    updated_at TIMESTAMPTZ NOT NULL,
    UNIQUE (request_id, asset_id)
);

-- Approvals, rejections, cancellations, revocations, extensions: who, when, why.
CREATE TABLE access_decisions (
    id         UUID PRIMARY KEY,
    request_id UUID NOT NULL REFERENCES access_requests(id) ON DELETE CASCADE,
    actor_id   UUID REFERENCES users(id),
    decision   TEXT NOT NULL,
    comment    TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX access_decisions_request ON access_decisions(request_id, created_at);

-- What was applied for one item: the source of truth for who has access to what.
CREATE TABLE grants (
    id               UUID PRIMARY KEY,
    item_id          UUID NOT NULL UNIQUE REFERENCES access_request_items(id),
    principal_arn    TEXT NOT NULL,
    resource         JSONB NOT NULL,
    permissions      JSONB NOT NULL,
    driver           TEXT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'failed', 'revoked')),
    health           TEXT NOT NULL DEFAULT 'unknown' CHECK (health IN ('unknown', 'healthy', 'unhealthy')),
    health_detail    TEXT,
    last_verified_at TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX grants_principal ON grants(principal_arn);

-- The durable job queue. A claim sets locked_until (a lease); an expired lease is reclaimable.
CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      JSONB NOT NULL,
    status       TEXT NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL DEFAULT 10,
    run_at       TIMESTAMPTZ NOT NULL,
    locked_by    TEXT,
    locked_until TIMESTAMPTZ,
    last_error   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX jobs_ready ON jobs(status, run_at);

-- The transactional outbox: written in the same transaction as the change it describes.
-- Identity values are never reused, but concurrent transactions may commit out of seq
-- order: the relay must allow for that.
CREATE TABLE outbox_events (
    seq     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id      UUID NOT NULL UNIQUE,
    type    TEXT NOT NULL,
    subject TEXT NOT NULL,
    time    TIMESTAMPTZ NOT NULL,
    data    JSONB NOT NULL
);
CREATE INDEX outbox_events_subject ON outbox_events(subject, seq);

-- Who did what, when; AWS calls record their request id and error.
CREATE TABLE audit_entries (
    id             UUID PRIMARY KEY,
    at             TIMESTAMPTZ NOT NULL,
    actor_id       UUID REFERENCES users(id),
    action         TEXT NOT NULL,
    target_type    TEXT NOT NULL,
    target_id      TEXT NOT NULL,
    detail         JSONB NOT NULL DEFAULT '{}'::jsonb,
    aws_request_id TEXT,
    error          TEXT
);
CREATE INDEX audit_entries_target ON audit_entries(target_type, target_id, at);
CREATE INDEX audit_entries_at ON audit_entries(at);

CREATE TABLE notifications (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    event_id   UUID,
    title      TEXT NOT NULL,
    body       TEXT NOT NULL DEFAULT '',
    link       TEXT,
    read_at    TIMESTAMPTZ,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_unread ON notifications(user_id, read_at, created_at);

-- Server-side sessions; only the SHA-256 of the cookie value is stored.
CREATE TABLE sessions (
    id_hash          TEXT PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf_token       TEXT NOT NULL,
    id_token_hint    TEXT,
    created_at       TIMESTAMPTZ NOT NULL,
    last_seen_at     TIMESTAMPTZ NOT NULL,
    idle_expires_at  TIMESTAMPTZ NOT NULL,
    expires_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

-- Personal API tokens; only the SHA-256 of the token is stored, the prefix helps people tell them apart.
CREATE TABLE api_tokens (
    id           UUID PRIMARY KEY,
    user_id      UUID NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    prefix       TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ,
    last_used_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);
