//! The embedded default store: one SQLite database in WAL mode, one transaction per change
//! set. Tables: `meta` (schema version, last change set, key check), `records` and `app`
//! (key, sealed value). Every value is sealed under the store key with its table and key as
//! associated data (`seal.rs`); keys stay in the clear so SQLite can index them (record keys
//! name a kind and an identity or message id, which the device's owner knows anyway).

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use status_1to1::peer::{ChangeSet, RecordKey, RecordValue, Records};

use crate::store::{KeyValue, check_sequence};
use crate::{AppRow, Store, StoreError, StoreKey};

/// The schema this build writes and reads.
const SCHEMA_VERSION: i64 = 1;
/// What the key check seals: opening it proves the key before anything else is read.
const KEY_CHECK: &[u8] = b"status-1to1-node/key-check/v1";
const RECORD_PLACE: &[u8] = b"status-1to1-node/record/v1:";
const APP_PLACE: &[u8] = b"status-1to1-node/app/v1:";
const KEY_CHECK_PLACE: &[u8] = b"status-1to1-node/meta/v1:key-check";

/// How hard a commit waits for the disk (`PRAGMA synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// WAL `NORMAL`: a commit survives a crash of the process; a power loss may lose the last
    /// few commits, never tear one.
    Normal,
    /// `FULL`: every commit is on disk before it returns.
    Full,
}

/// A peer's records in an SQLite database.
pub struct SqliteStore {
    conn: Connection,
    key: StoreKey,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore").field("path", &self.conn.path()).finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the store at `path`, refusing another key or schema.
    pub fn open(path: &Path, key: StoreKey, durability: Durability) -> Result<Self, StoreError> {
        let conn = Connection::open(path)?;
        conn.busy_timeout(Duration::from_secs(2))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        let sync = match durability {
            Durability::Normal => "NORMAL",
            Durability::Full => "FULL",
        };
        conn.pragma_update(None, "synchronous", sync)?;
        let store = Self { conn, key };
        store.init_or_check()?;
        Ok(store)
    }

    fn init_or_check(&self) -> Result<(), StoreError> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
             CREATE TABLE IF NOT EXISTS records (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;
             CREATE TABLE IF NOT EXISTS app (key BLOB PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
        )?;
        let schema: Option<i64> =
            self.conn.query_row("SELECT value FROM meta WHERE name = 'schema'", [], |r| r.get(0)).optional()?;
        match schema {
            None => self.init(),
            Some(SCHEMA_VERSION) => self.check_key(),
            Some(other) => Err(StoreError::UnsupportedSchema(other)),
        }
    }

    fn init(&self) -> Result<(), StoreError> {
        let check = self.key.seal(KEY_CHECK_PLACE, KEY_CHECK)?;
        self.conn.execute(
            "INSERT INTO meta (name, value) VALUES ('schema', ?1), ('seq', 0), ('check', ?2)",
            params![SCHEMA_VERSION, check],
        )?;
        Ok(())
    }

    fn check_key(&self) -> Result<(), StoreError> {
        let check: Vec<u8> = self.conn.query_row("SELECT value FROM meta WHERE name = 'check'", [], |r| r.get(0))?;
        match self.key.open(KEY_CHECK_PLACE, &check) {
            Some(plain) if plain == KEY_CHECK => Ok(()),
            _ => Err(StoreError::WrongKey),
        }
    }

    fn seq(conn: &Connection) -> Result<u64, StoreError> {
        let seq: i64 = conn.query_row("SELECT value FROM meta WHERE name = 'seq'", [], |r| r.get(0))?;
        u64::try_from(seq).map_err(|_| StoreError::Corrupt("negative change set number".into()))
    }

    fn place(prefix: &[u8], key: &[u8]) -> Vec<u8> {
        [prefix, key].concat()
    }

    fn open_value(&self, prefix: &[u8], key: &[u8], sealed: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.key
            .open(&Self::place(prefix, key), sealed)
            .ok_or_else(|| StoreError::Corrupt(format!("value at key {} does not open", hex_of(key))))
    }

    fn write_records(key: &StoreKey, tx: &rusqlite::Transaction<'_>, changes: &ChangeSet) -> Result<(), StoreError> {
        let mut put = tx.prepare_cached("INSERT OR REPLACE INTO records (key, value) VALUES (?1, ?2)")?;
        let mut delete = tx.prepare_cached("DELETE FROM records WHERE key = ?1")?;
        for (record, value) in &changes.writes {
            let record = record.as_bytes();
            match value {
                Some(v) => put.execute(params![record, key.seal(&Self::place(RECORD_PLACE, record), v.as_bytes())?])?,
                None => delete.execute(params![record])?,
            };
        }
        Ok(())
    }

    fn write_app(key: &StoreKey, tx: &rusqlite::Transaction<'_>, app: &[AppRow]) -> Result<(), StoreError> {
        let mut put = tx.prepare_cached("INSERT OR REPLACE INTO app (key, value) VALUES (?1, ?2)")?;
        let mut delete = tx.prepare_cached("DELETE FROM app WHERE key = ?1")?;
        for row in app {
            match &row.value {
                Some(v) => put.execute(params![row.key, key.seal(&Self::place(APP_PLACE, &row.key), v)?])?,
                None => delete.execute(params![row.key])?,
            };
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    fn load(&self) -> Result<Option<Records>, StoreError> {
        let seq = Self::seq(&self.conn)?;
        let mut stmt = self.conn.prepare("SELECT key, value FROM records ORDER BY key")?;
        let mut rows = Vec::new();
        let mut query = stmt.query([])?;
        while let Some(row) = query.next()? {
            let (key, sealed): (Vec<u8>, Vec<u8>) = (row.get(0)?, row.get(1)?);
            let value = self.open_value(RECORD_PLACE, &key, &sealed)?;
            let key = RecordKey::from_bytes(key).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            rows.push((key, RecordValue::from_bytes(value)));
        }
        match (seq, rows.is_empty()) {
            (0, true) => Ok(None),
            (0, false) => Err(StoreError::Corrupt("records without a change set".into())),
            (_, true) => Err(StoreError::Corrupt("change sets recorded but no records".into())),
            _ => Ok(Some(Records::from_rows(seq, rows))),
        }
    }

    fn commit(&mut self, changes: &ChangeSet, app: &[AppRow]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        check_sequence(Self::seq(&tx)?, changes)?;
        let seq = i64::try_from(changes.seq).map_err(|_| StoreError::OutOfSequence { last: 0, found: changes.seq })?;
        Self::write_records(&self.key, &tx, changes)?;
        Self::write_app(&self.key, &tx, app)?;
        tx.execute("UPDATE meta SET value = ?1 WHERE name = 'seq'", params![seq])?;
        tx.commit()?;
        Ok(())
    }

    fn app_row(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        let sealed: Option<Vec<u8>> =
            self.conn.query_row("SELECT value FROM app WHERE key = ?1", params![key], |r| r.get(0)).optional()?;
        sealed.map(|s| self.open_value(APP_PLACE, key, &s)).transpose()
    }

    fn app_rows(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let mut stmt = self.conn.prepare_cached("SELECT key, value FROM app WHERE key >= ?1 ORDER BY key")?;
        let mut query = stmt.query(params![prefix])?;
        let mut out = Vec::new();
        while let Some(row) = query.next()? {
            let (key, sealed): (Vec<u8>, Vec<u8>) = (row.get(0)?, row.get(1)?);
            if !key.starts_with(prefix) {
                break;
            }
            let value = self.open_value(APP_PLACE, &key, &sealed)?;
            out.push((key, value));
        }
        Ok(out)
    }
}

fn hex_of(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
