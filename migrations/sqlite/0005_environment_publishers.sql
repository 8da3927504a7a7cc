-- Who may publish from an environment, SQLite dialect. Mirrors
-- migrations/postgres/0005_environment_publishers.sql.
--
-- An environment's owner team (and the admins) decide which teams may publish products
-- from it, optionally only tables of named Glue databases. Only those teams may list its
-- Glue catalog, own products in it and add its tables. The sandbox is open to every team.

CREATE TABLE environment_publishers (
    environment_id TEXT NOT NULL REFERENCES environments(id) ON DELETE CASCADE,
    team_id        TEXT NOT NULL REFERENCES teams(id),
    -- JSON array of lower-case Glue database names; empty means every database.
    databases      TEXT NOT NULL DEFAULT '[]',
    created_by     TEXT REFERENCES users(id),
    created_at     TEXT NOT NULL,
    PRIMARY KEY (environment_id, team_id)
);
CREATE INDEX environment_publishers_team ON environment_publishers(team_id);

-- What exists keeps working: every team that owns a product in an environment today may
-- go on publishing from it (from every database; its owners can narrow that).
INSERT INTO environment_publishers (environment_id, team_id, databases, created_at)
SELECT DISTINCT environment_id, owner_team_id, '[]', strftime('%Y-%m-%dT%H:%M:%f000Z', 'now')
FROM products;
