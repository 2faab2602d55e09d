//! The schema and its migrations. The database's `user_version` is the schema version: the
//! number of migrations applied. Migrations only ever get appended.

use rusqlite::{Connection, TransactionBehavior};

use crate::Fail;

/// The schema version this build writes.
pub const SCHEMA_VERSION: usize = MIGRATIONS.len();

/// Customer records are the source of truth (JSON of `CustomerRecord`, one row per customer,
/// so every write is one conditional update). The other columns and `lots` mirror parts of
/// the record for the daily sweep to find what is due without reading every record.
const V1: &str = "
CREATE TABLE customers (
    customer_id      TEXT PRIMARY KEY NOT NULL,
    version          INTEGER NOT NULL,
    record           TEXT NOT NULL,
    last_purchase_on TEXT,
    birthday_md      TEXT,
    erased           INTEGER NOT NULL
) STRICT;
CREATE INDEX customers_by_last_purchase ON customers (last_purchase_on);
CREATE INDEX customers_by_birthday ON customers (birthday_md);

CREATE TABLE lots (
    customer_id TEXT NOT NULL REFERENCES customers (customer_id) ON DELETE CASCADE,
    expires_on  TEXT NOT NULL,
    source      TEXT NOT NULL,
    points      INTEGER NOT NULL,
    PRIMARY KEY (customer_id, expires_on, source)
) STRICT;
CREATE INDEX lots_by_expiry ON lots (expires_on);

CREATE TABLE receipts (
    receipt_id      TEXT PRIMARY KEY NOT NULL,
    customer_id     TEXT NOT NULL REFERENCES customers (customer_id),
    occurred_at_utc TEXT NOT NULL,
    local_date      TEXT NOT NULL,
    refunds         INTEGER NOT NULL,
    body            TEXT NOT NULL
) STRICT;
CREATE INDEX receipts_by_customer ON receipts (customer_id);
CREATE INDEX receipts_by_local_date ON receipts (local_date);

CREATE TABLE refunds (
    refund_id       TEXT PRIMARY KEY NOT NULL,
    receipt_id      TEXT NOT NULL REFERENCES receipts (receipt_id),
    customer_id     TEXT NOT NULL REFERENCES customers (customer_id),
    occurred_at_utc TEXT NOT NULL,
    body            TEXT NOT NULL
) STRICT;
CREATE INDEX refunds_by_receipt ON refunds (receipt_id);

CREATE TABLE ledger_entries (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id TEXT NOT NULL REFERENCES customers (customer_id),
    recorded_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    points      INTEGER NOT NULL,
    expires_on  TEXT NOT NULL,
    source      TEXT NOT NULL,
    reference   TEXT NOT NULL
) STRICT;
CREATE INDEX ledger_entries_by_customer ON ledger_entries (customer_id, seq);

CREATE TABLE api_keys (
    key_hash   TEXT PRIMARY KEY NOT NULL,
    terminal   TEXT NOT NULL,
    admin      INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    revoked_at TEXT
) STRICT;
-- At most one live key per terminal, enforced by the database for every process.
CREATE UNIQUE INDEX api_keys_one_live_per_terminal ON api_keys (terminal) WHERE revoked_at IS NULL;

CREATE TABLE settings (
    name  TEXT PRIMARY KEY NOT NULL,
    value BLOB NOT NULL
) STRICT;
";

/// The daily sweep: one outcome per (customer, trigger, episode), the key that makes a decision
/// (and its gift) happen at most once, found by sweep date for the sender and the reports; and
/// the tenant's last completed sweep, one row. Outcomes name a customer but carry no foreign
/// key, like the DynamoDB store, which checks no references either.
const V2: &str = "
CREATE TABLE sweep_outcomes (
    customer_id TEXT NOT NULL,
    \"trigger\"   TEXT NOT NULL,
    episode     TEXT NOT NULL,
    sweep_date  TEXT NOT NULL,
    status      TEXT NOT NULL,
    body        TEXT NOT NULL,
    PRIMARY KEY (customer_id, \"trigger\", episode)
) STRICT;
CREATE INDEX sweep_outcomes_by_sweep_date ON sweep_outcomes (sweep_date);

CREATE TABLE sweep_progress (
    id             INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    last_completed TEXT NOT NULL
) STRICT;
";

/// Referrals: each code reserved for one customer (the primary key refuses a second), and
/// the referrers' rewards, one per friend, found by the date they come due.
const V3: &str = "
CREATE TABLE referral_codes (
    code        TEXT PRIMARY KEY NOT NULL,
    customer_id TEXT NOT NULL
) STRICT;

CREATE TABLE referral_rewards (
    friend_id TEXT PRIMARY KEY NOT NULL,
    due_on    TEXT NOT NULL,
    status    TEXT NOT NULL,
    body      TEXT NOT NULL
) STRICT;
CREATE INDEX referral_rewards_by_due_on ON referral_rewards (due_on);
";

/// The day book (see `book`): reports read its counters instead of every receipt. A file
/// migrated from an earlier version starts its book empty: figures count from the upgrade on.
const V4: &str = crate::book::SCHEMA;

/// The owner's weekly digest, one row per sweep date that sends it.
const V5: &str = crate::digest::SCHEMA;

/// NPS surveys (one per customer and purchase date, with its answer), found by the sweep date
/// that asked them and the date they were first answered; the owner's alert, one per date;
/// customers found by the (UTC) date they enrolled with a referral code, for the report.
const V6: &str = "
ALTER TABLE customers ADD COLUMN referred_on TEXT;
CREATE INDEX customers_by_referred_on ON customers (referred_on);

CREATE TABLE surveys (
    customer_id  TEXT NOT NULL,
    purchased_on TEXT NOT NULL,
    asked_on     TEXT NOT NULL,
    answered_on  TEXT,
    revision     INTEGER NOT NULL,
    body         TEXT NOT NULL,
    PRIMARY KEY (customer_id, purchased_on)
) STRICT;
CREATE INDEX surveys_by_asked_on ON surveys (asked_on);
CREATE INDEX surveys_by_answered_on ON surveys (answered_on);

CREATE TABLE survey_alerts (
    alert_date TEXT PRIMARY KEY NOT NULL,
    status     TEXT NOT NULL,
    body       TEXT NOT NULL
) STRICT;
";

/// The day book's referred revenue (see `book`).
const V7: &str = crate::book::REFERRED_REVENUE;
const V8: &str = crate::book::REFERRAL_REDEEMED;

const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8];

fn user_version(conn: &Connection) -> Result<usize, Fail> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    usize::try_from(version).map_err(|_| Fail::Newer(version))
}

/// Brings the schema up to [`SCHEMA_VERSION`]. Safe when several processes open the same file
/// at once: the check is repeated under the write lock, so each migration runs exactly once.
pub fn migrate(conn: &mut Connection) -> Result<(), Fail> {
    // Most opens find the schema current and need no write lock.
    if user_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let current = user_version(&tx)?;
    if current > SCHEMA_VERSION {
        // A newer build migrated this file; writing it with old code could lose data.
        return Err(Fail::Newer(current as i64));
    }
    for sql in &MIGRATIONS[current..] {
        tx.execute_batch(sql)?;
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION as i64)?;
    tx.commit()?;
    Ok(())
}
