-- Extensions of access: the requester asks for a later end date with a reason; the
-- product's owners or stewards approve (the request's requested_until moves) or reject.
CREATE TABLE access_extensions (
    id              TEXT PRIMARY KEY,
    request_id      TEXT NOT NULL REFERENCES access_requests(id) ON DELETE CASCADE,
    requested_by    TEXT NOT NULL REFERENCES users(id),
    requested_until TEXT NOT NULL,
    previous_until  TEXT NOT NULL,
    reason          TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    decided_by      TEXT REFERENCES users(id),
    comment         TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    decided_at      TEXT
);
-- At most one pending extension per request: a second ask while one waits is a conflict.
CREATE UNIQUE INDEX access_extensions_one_pending ON access_extensions(request_id) WHERE status = 'pending';
CREATE INDEX access_extensions_request ON access_extensions(request_id, created_at);

-- The audit export filters by actor.
CREATE INDEX audit_entries_actor ON audit_entries(actor_id, at);
