//! The store contract in memory (tests, simulations, ephemeral peers).

use std::collections::BTreeMap;

use status_1to1::peer::{ChangeSet, Records};

use crate::store::{KeyValue, check_sequence};
use crate::{AppRow, Store, StoreError};

/// Records and application rows in memory.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    records: Option<Records>,
    app: BTreeMap<Vec<u8>, Vec<u8>>,
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Option<Records>, StoreError> {
        Ok(self.records.clone())
    }

    fn commit(&mut self, changes: &ChangeSet, app: &[AppRow]) -> Result<(), StoreError> {
        let records = self.records.get_or_insert_with(Records::default);
        check_sequence(records.seq(), changes)?;
        // Only the sequence can make `apply` fail, and it was checked: nothing half-applies.
        records.apply(changes)?;
        for row in app {
            match &row.value {
                Some(v) => self.app.insert(row.key.clone(), v.clone()),
                None => self.app.remove(&row.key),
            };
        }
        Ok(())
    }

    fn app_row(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.app.get(key).cloned())
    }

    fn app_rows(&self, prefix: &[u8]) -> Result<Vec<KeyValue>, StoreError> {
        let rows = self.app.range(prefix.to_vec()..).take_while(|(k, _)| k.starts_with(prefix));
        Ok(rows.map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}
