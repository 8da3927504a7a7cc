-- Event delivery: how far each sink has read the outbox, webhook subscriptions with their
-- deliveries and attempts, and notifications written at most once per person and event.

CREATE TABLE event_sink_cursors (
    sink       TEXT PRIMARY KEY,
    seq        INTEGER NOT NULL,
    updated_at TEXT NOT NULL
);

CREATE TABLE webhook_subscriptions (
    id                   TEXT PRIMARY KEY,
    url                  TEXT NOT NULL,
    -- JSON array of types or `prefix.*` patterns; empty receives everything.
    event_types          TEXT NOT NULL DEFAULT '[]',
    -- Needed in clear to sign deliveries; never shown again after creation.
    secret               TEXT NOT NULL,
    -- Set for a product owner's subscription: only that product's events.
    product_id           TEXT REFERENCES products(id) ON DELETE CASCADE,
    created_by           TEXT NOT NULL REFERENCES users(id),
    status               TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'paused')),
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL
);

CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL REFERENCES webhook_subscriptions(id) ON DELETE CASCADE,
    event_seq       INTEGER NOT NULL REFERENCES outbox_events(seq),
    subject         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    delivered_at    TEXT,
    UNIQUE (subscription_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(status, next_attempt_at);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries(subscription_id, subject, event_seq);

CREATE TABLE webhook_attempts (
    id           TEXT PRIMARY KEY,
    delivery_id  TEXT NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    at           TEXT NOT NULL,
    status_code  INTEGER,
    error        TEXT,
    duration_ms  INTEGER NOT NULL
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts(delivery_id, at);

CREATE UNIQUE INDEX notifications_once ON notifications(user_id, event_id);

-- Set when the requester was told their access ends soon; cleared when it is extended.
ALTER TABLE access_requests ADD COLUMN expiry_warned_at TEXT;
