//! The IO side of status-1to1, as quinn is to quinn-proto: where the sans-IO peer's change sets
//! become durable. A [`Store`] applies each change set (`status_1to1::peer::ChangeSet`) together
//! with the application's own rows in one atomic step and loads the records back;
//! [`SqliteStore`] is the embedded default (WAL, every value sealed under the store key),
//! [`MemoryStore`] the same contract in memory. `waku` (feature `waku`, on by default) is a Waku Relay
//! node on rust-libp2p that joins a real Waku mesh (js-waku and nwaku peers).

mod error;
mod memory;
mod seal;
mod sqlite;
mod store;
#[cfg(feature = "waku")]
pub mod waku;

pub use error::StoreError;
pub use memory::MemoryStore;
pub use seal::StoreKey;
pub use sqlite::{Durability, SqliteStore};
pub use store::{AppRow, KeyValue, Store, load_peer};
