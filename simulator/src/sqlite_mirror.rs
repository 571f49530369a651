//! A few devices on the real SQLite store (`--sqlite-devices N`): every change set the in-memory
//! store applies is also committed to that device's `SqliteStore`, and a restart loads the peer
//! from SQLite and checks it holds exactly what the change sets built. Real SQLite (WAL, one
//! transaction per change set, values sealed at rest) thereby runs under the simulator's crashes.

use std::collections::BTreeMap;
use std::path::PathBuf;

use status_1to1::peer::{ChangeSet, Records};
use status_1to1_node::{Durability, SqliteStore, Store, StoreKey};

use crate::ids::DeviceId;

/// The SQLite stores of the first devices of a run, in a scratch directory removed on drop.
pub struct SqliteMirror {
    dir: PathBuf,
    stores: BTreeMap<DeviceId, SqliteStore>,
    /// Devices asked for but whose store could not be opened, with why.
    pub failures: Vec<(DeviceId, String)>,
}

impl SqliteMirror {
    /// Opens a store for each of the first `devices` devices (of `device_count`).
    pub fn open(seed: u64, devices: u32, device_count: u32) -> Self {
        let dir = std::env::temp_dir().join(format!("status-1to1-sim-{}-{seed}", std::process::id()));
        let mut mirror = Self { dir, stores: BTreeMap::new(), failures: Vec::new() };
        if devices == 0 {
            return mirror;
        }
        if let Err(e) = std::fs::create_dir_all(&mirror.dir) {
            mirror.failures.push((DeviceId(0), e.to_string()));
            return mirror;
        }
        for d in 0..devices.min(device_count) {
            let key = StoreKey::from_bytes(status_1to1::crypto::hash::sha256(&[
                b"status-1to1-sim/sqlite",
                &seed.to_be_bytes(),
                &d.to_be_bytes(),
            ]));
            let path = mirror.dir.join(format!("d{d}.sqlite"));
            match SqliteStore::open(&path, key, Durability::Normal) {
                Ok(store) => {
                    mirror.stores.insert(DeviceId(d), store);
                }
                Err(e) => mirror.failures.push((DeviceId(d), e.to_string())),
            }
        }
        mirror
    }

    /// Commits `changes` for `dev` if it runs on SQLite.
    pub fn commit(&mut self, dev: DeviceId, changes: &ChangeSet) -> Result<(), String> {
        match self.stores.get_mut(&dev) {
            Some(store) => store.commit(changes, &[]).map_err(|e| format!("sqlite: {e}")),
            None => Ok(()),
        }
    }

    /// What `dev`'s SQLite store holds, if it runs on SQLite.
    pub fn load(&self, dev: DeviceId) -> Option<Result<Records, String>> {
        let store = self.stores.get(&dev)?;
        Some(store.load().map(Option::unwrap_or_default).map_err(|e| format!("sqlite: {e}")))
    }
}

impl Drop for SqliteMirror {
    fn drop(&mut self) {
        self.stores.clear();
        if self.dir.exists() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
