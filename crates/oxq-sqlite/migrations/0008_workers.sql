-- oxq embedded store, worker presence (who serves a queue now).
--
-- One row per running worker, written when it starts and renewed every stalled interval:
-- `seen_at` is the last renewal, `expires_at` when the row stops counting without another
-- (a worker whose process died is listed until then). A worker that stops deletes its row;
-- each renewal also deletes the queue's expired rows, so the table holds about one row per
-- live worker.

CREATE TABLE workers (
    prefix     TEXT    NOT NULL,
    queue      TEXT    NOT NULL,
    worker_id  TEXT    NOT NULL,
    name       TEXT,
    addr       TEXT    NOT NULL,
    started_at INTEGER NOT NULL,
    seen_at    INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (prefix, queue, worker_id)
) WITHOUT ROWID;
