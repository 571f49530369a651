//! What the simulated users share out of band: their identities (each user's devices hold the
//! same account key, as after a seed-phrase recovery), which installation is which device, and a
//! "pairing board" per user standing in for the screen and camera of WAKU2-DEVICE-PAIRING (one
//! device shows a QR, another scans it).

use std::collections::BTreeMap;

use status_1to1::crypto::hash::sha256;
use status_1to1::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use status_1to1::time::Timestamp;

use crate::ids::{DeviceId, UserId};

/// A pairing QR on a device's screen.
#[derive(Debug, Clone)]
pub(crate) struct ShownQr {
    /// The QR text.
    pub qr: String,
    /// The first message's nametag, passed out of band.
    pub nametag: [u8; 16],
    /// When the owner stops accepting it.
    pub expires_at: Timestamp,
    /// The device that scanned it, if any.
    pub scanner: Option<DeviceId>,
    /// When it was shown (a pairing that takes longer than [`PAIRING_STALL_MS`] is abandoned).
    pub shown_at: Timestamp,
}

/// How long a pairing may take before the board is cleared and the owner starts over (crashes
/// and partitions can leave a flow dangling).
pub(crate) const PAIRING_STALL_MS: u64 = 180_000;

/// The account key of `user`, derived from its id so every run (and the hostile adversary, which
/// knows its victims' public keys as anyone who scanned their contact code does) agrees.
pub(crate) fn account_key(user: UserId) -> IdentityKeyPair {
    IdentityKeyPair::from_seed(sha256(&[b"status-1to1-sim/user", &user.0.to_be_bytes()]))
}

/// Shared by every device of a run.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    identities: BTreeMap<UserId, IdentityKeyPair>,
    users: BTreeMap<IdentityKey, UserId>,
    installations: BTreeMap<InstallationId, DeviceId>,
    device_installations: BTreeMap<DeviceId, InstallationId>,
    boards: BTreeMap<UserId, ShownQr>,
    /// Devices their account's owner device has paired with (as the owner's peer reported).
    confirmed: std::collections::BTreeSet<DeviceId>,
}

impl Registry {
    /// The account key of `user`, derived from its id so every run agrees.
    pub fn identity_of(&mut self, user: UserId) -> IdentityKeyPair {
        if let Some(id) = self.identities.get(&user) {
            return id.clone();
        }
        let pair = account_key(user);
        self.users.insert(*pair.public(), user);
        self.identities.insert(user, pair.clone());
        pair
    }

    /// The user whose account key this is.
    pub fn user_of(&self, identity: &IdentityKey) -> Option<UserId> {
        self.users.get(identity).copied()
    }

    /// Records which device holds an installation.
    pub fn register(&mut self, device: DeviceId, installation: InstallationId) {
        self.installations.insert(installation.clone(), device);
        self.device_installations.insert(device, installation);
    }

    /// The device holding an installation.
    pub fn device_of(&self, installation: &InstallationId) -> Option<DeviceId> {
        self.installations.get(installation).copied()
    }

    /// The installation of a device, once it has booted.
    pub fn installation_of(&self, device: DeviceId) -> Option<&InstallationId> {
        self.device_installations.get(&device)
    }

    /// The QR `user`'s owner device is showing.
    pub fn board(&self, user: UserId) -> Option<&ShownQr> {
        self.boards.get(&user)
    }

    /// Puts a QR on `user`'s board.
    pub fn show(&mut self, user: UserId, qr: ShownQr) {
        self.boards.insert(user, qr);
    }

    /// Marks the QR as scanned by `device`; `None` if it is gone or taken. Expiry is the
    /// owner's to judge: devices' clocks disagree, and an expired QR is refused by the owner's
    /// peer anyway.
    pub fn claim(&mut self, user: UserId, device: DeviceId) -> Option<ShownQr> {
        let shown = self.boards.get_mut(&user)?;
        if shown.scanner.is_some() {
            return None;
        }
        shown.scanner = Some(device);
        Some(shown.clone())
    }

    /// The owner device paired with `device`.
    pub fn confirm(&mut self, device: DeviceId) {
        self.confirmed.insert(device);
    }

    /// The owner device no longer knows `device` (it lost the pairing in a crash).
    pub fn unconfirm(&mut self, device: DeviceId) {
        self.confirmed.remove(&device);
    }

    /// Whether the owner device has paired with `device`.
    pub fn is_confirmed(&self, device: DeviceId) -> bool {
        self.confirmed.contains(&device)
    }

    /// Clears `user`'s board (the pairing ended, either way).
    pub fn clear(&mut self, user: UserId) {
        self.boards.remove(&user);
    }
}
