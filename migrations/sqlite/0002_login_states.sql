-- OIDC sign-ins in flight: state, nonce and PKCE verifier are kept server-side, used once,
-- and expire after a few minutes. The state value itself is stored hashed.
CREATE TABLE login_states (
    state_hash    TEXT PRIMARY KEY,
    nonce         TEXT NOT NULL,
    pkce_verifier TEXT NOT NULL,
    next_path     TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
);
CREATE INDEX login_states_expires ON login_states(expires_at);
