-- Event delivery, PostgreSQL dialect. Mirrors migrations/sqlite/0004_event_delivery.sql.
-- Event delivery: how far each sink has read the outbox, webhook subscriptions with their
-- deliveries and attempts, and notifications written at most once per person and event.

CREATE TABLE event_sink_cursors (
    sink       TEXT PRIMARY KEY,
    seq        BIGINT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_subscriptions (
    id                   UUID PRIMARY KEY,
    url                  TEXT NOT NULL,
    -- JSON array of types or `prefix.*` patterns; empty receives everything.
    event_types          JSONB NOT NULL DEFAULT '[]',
    -- Needed in clear to sign deliveries; never shown again after creation.
    secret               TEXT NOT NULL,
    -- Set for a product owner's subscription: only that product's events.
    product_id           UUID REFERENCES products(id) ON DELETE CASCADE,
    created_by           UUID NOT NULL REFERENCES users(id),
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           TIMESTAMPTZ NOT NULL,
    updated_at           TIMESTAMPTZ NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              UUID PRIMARY KEY,
    subscription_id UUID NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_seq       BIGINT NOT NULL REFERENCES outbox_events(seq),
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    locked_until    TIMESTAMPTZ,
    created_at      TIMESTAMPTZ NOT NULL,
    delivered_at    TIMESTAMPTZ,
    UNIQUE (subscription_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(subscription_id, subject, event_seq);

CREATE TABLE webhook_attempts (
    id           UUID PRIMARY KEY,
    delivery_id  UUID NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  BIGINT NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, at);

CREATE UNIQUE INDEX notifications_once ON notifications(user_id, event_id);

-- Set when the requester was told their access ends soon; cleared when it is extended.
ALTER TABLE access_requests ADD COLUMN expiry_warned_at TIMESTAMPTZ;
