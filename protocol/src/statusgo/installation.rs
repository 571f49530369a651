//! One status-go installation's encryption state and its two operations, build and handle
//! (status-go `encryption.Protocol`): own signed prekeys, the bundles and installations it has
//! seen, X3DH sessions by session id, and the DH-only fallback.
//!
//! The sender's identity is an input to [`Installation::handle`]: status-go takes it from the
//! 26/WAKU2-PAYLOAD signature, and so does the caller here.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use zeroize::Zeroizing;

use super::bundle::{Bundle, BundleError, MAX_INSTALLATIONS, PROTOCOL_VERSION, SignedPreKey};
use super::keys::{PublicKey, SecretKey};
use super::ratchet::{Header, RatchetError, Session};
use super::{NO_INSTALLATION, gcm, x3dh};
use crate::entropy::Entropy;
use crate::proto;

/// A signed prekey is replaced this long after its creation (status-go `BundleRefreshInterval`).
pub const BUNDLE_REFRESH_NS: i64 = 24 * 60 * 60 * 1_000_000_000;
/// Most installations of one identity we remember; the least recently seen is forgotten first.
pub const MAX_KNOWN_INSTALLATIONS: usize = 16;
/// Other identities we hold state for (installations, sessions). Anyone can make a new identity
/// and send us a message, so beyond this the least recently active identity is forgotten
/// whole: a flood of strangers costs bounded memory and pushes out only the quietest.
pub const MAX_IDENTITIES: usize = 1024;
/// Sessions kept per installation of another identity (each rotated prekey starts a new one);
/// the oldest goes first.
pub const MAX_SESSIONS_PER_INSTALLATION: usize = 4;
/// DH-only ephemeral keys remembered to refuse replays (the path has no ratchet to do it); older
/// replays are left to the application's message-id deduplication.
pub const DH_ONLY_REPLAY_WINDOW: usize = 1024;

/// Why a message was not handled. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HandleError {
    /// A bundle in the message did not verify.
    #[error("bundle: {0}")]
    Bundle(#[from] BundleError),
    /// A bundle in the message is not the sender's (status-go does not check this).
    #[error("a bundle in the message belongs to another identity than its signer")]
    ForeignBundle,
    /// No entry for our installation and no `"none"` entry (status-go `ErrDeviceNotFound`, which
    /// makes it advertise its bundle to the sender).
    #[error("no entry for this installation")]
    DeviceNotFound,
    /// A message from another installation of our own identity that we have not paired.
    #[error("message from an installation of ours that is not paired")]
    NotPairedDevice,
    /// The entry's headers or keys are malformed.
    #[error("malformed encrypted entry")]
    Malformed,
    /// The X3DH header names a prekey we do not hold, or the DR header a session we do not have.
    #[error("no session for this message")]
    SessionNotFound,
    /// The Double Ratchet refused the message.
    #[error("double ratchet: {0}")]
    Ratchet(#[from] RatchetError),
    /// The DH-only payload did not authenticate.
    #[error("DH-only payload failed to decrypt")]
    DhDecrypt,
    /// A DH-only message seen before (status-go decrypts it again).
    #[error("DH-only message replayed")]
    Replayed,
}

/// One of our signed prekeys; old ones are kept so that late messages still decrypt.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct OwnPreKey {
    /// The private prekey.
    pub secret: SecretKey,
    /// Its version, +1 per rotation.
    pub version: u32,
    /// When it was created (Unix ns), for the 24-hour rotation.
    pub created_ns: i64,
}

/// Another installation we know, ours or a contact's (status-go's `installations` and public
/// `bundles` rows).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KnownInstallation {
    /// Its newest signed prekey.
    pub pre_key: SignedPreKey,
    /// The newest bundle timestamp seen from it (last activity, for fan-out order).
    pub last_seen_ns: i64,
    /// Whether we send to it; contacts' installations start enabled, our own disabled until paired.
    pub enabled: bool,
}

/// What an X3DH session was built from (status-go's `ratchet_info_v2` row).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct SessionInfo {
    /// The other identity.
    pub identity: PublicKey,
    /// The other installation.
    pub installation_id: String,
    /// The bundle id: the responder's signed prekey.
    pub bundle_id: PublicKey,
    /// Our ephemeral key while the X3DH header is still attached to what we send (initiator only,
    /// until a message on the session comes back).
    pub pending_x3dh: Option<PublicKey>,
    /// The Double Ratchet state.
    pub ratchet: Session,
}

/// A decrypted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handled {
    /// The Double Ratchet (or DH-only) plaintext.
    pub plaintext: Vec<u8>,
    /// The installation of the sender the entry came from.
    pub installation_id: String,
    /// Whether it came through the unauthenticated-by-session DH-only path.
    pub dh_only: bool,
}

/// One installation's encryption state.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Installation {
    identity: SecretKey,
    installation_id: String,
    pre_keys: Vec<OwnPreKey>,
    /// Known installations by (identity, installation id).
    known: BTreeMap<(PublicKey, String), KnownInstallation>,
    /// Sessions by session id (`bundle id ‖ their installation id`), in creation order.
    sessions: Vec<(Vec<u8>, SessionInfo)>,
    /// Installations known to hold the negotiated secret with us: a message from them decrypted
    /// while their bundle advertised protocol version 1 (status-go `secret_installation_ids`).
    agreed: BTreeSet<(PublicKey, String)>,
    /// Ephemeral keys of the latest DH-only messages, oldest first.
    dh_only_seen: VecDeque<PublicKey>,
    /// Installations of one identity a message is encrypted for, at most.
    fan_out: usize,
    /// When each other identity was last active (sent to, read from, bundle seen), on a local
    /// counter: the sender's timestamps are not trusted for eviction.
    activity: BTreeMap<PublicKey, u64>,
    ticks: u64,
}

impl Installation {
    /// A fresh installation with no prekey yet (one is made with the first bundle).
    pub fn new(identity: SecretKey, installation_id: String) -> Self {
        Self {
            identity,
            installation_id,
            pre_keys: Vec::new(),
            known: BTreeMap::new(),
            sessions: Vec::new(),
            agreed: BTreeSet::new(),
            dh_only_seen: VecDeque::new(),
            fan_out: MAX_INSTALLATIONS,
            activity: BTreeMap::new(),
            ticks: 0,
        }
    }

    /// Marks `identity` active; forgets the least recently active beyond [`MAX_IDENTITIES`].
    fn touch(&mut self, identity: &PublicKey) {
        if *identity == self.identity() {
            return;
        }
        self.ticks += 1;
        self.activity.insert(*identity, self.ticks);
        while self.activity.len() > MAX_IDENTITIES {
            let Some((&quietest, _)) = self.activity.iter().min_by_key(|(_, tick)| **tick) else { break };
            self.forget_identity(&quietest);
        }
    }

    fn forget_identity(&mut self, identity: &PublicKey) {
        self.activity.remove(identity);
        self.known.retain(|(id, _), _| id != identity);
        self.sessions.retain(|(_, info)| info.identity != *identity);
        self.agreed.retain(|(id, _)| id != identity);
    }

    /// Other identities we hold state for.
    pub fn identities_held(&self) -> usize {
        self.activity.len()
    }

    /// Drops the oldest session with this installation when it already has the most we keep.
    fn make_room_for_session(&mut self, identity: &PublicKey, installation_id: &str) {
        let mut of = self
            .sessions
            .iter()
            .enumerate()
            .filter(|(_, (_, info))| info.identity == *identity && info.installation_id == installation_id);
        let oldest = of.next().map(|(index, _)| index);
        if let Some(oldest) = oldest
            && of.count() + 1 >= MAX_SESSIONS_PER_INSTALLATION
        {
            self.sessions.remove(oldest);
        }
    }

    /// The same installation encrypting for up to `fan_out` installations of an identity
    /// instead of status-go's [`MAX_INSTALLATIONS`] (a simulation whose accounts have more
    /// devices owes every one of them each message). Bundles still list at most three.
    pub fn with_fan_out(mut self, fan_out: usize) -> Self {
        self.fan_out = fan_out.max(1);
        self
    }

    /// A new installation id: a random (version 4) UUID as status-go makes them, from 16 drawn
    /// bytes.
    pub fn generate_id(entropy: &mut dyn Entropy) -> String {
        let mut bytes = [0u8; 16];
        entropy.fill(&mut bytes);
        bytes[6] = (bytes[6] & 0x0f) | 0x40;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        let hex = hex::encode(bytes);
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    }

    /// Whether a message to `recipient` goes on the negotiated topic: every installation it
    /// targets holds the negotiated secret (status-go `Agreed`); otherwise it goes on the
    /// recipient's partitioned topic.
    pub fn negotiated(&self, recipient: &PublicKey) -> bool {
        let targets = self.active_installations(recipient);
        !targets.is_empty() && targets.iter().all(|(id, _)| self.agreed.contains(&(*recipient, id.clone())))
    }

    /// Our identity key.
    pub fn identity(&self) -> PublicKey {
        self.identity.public_key()
    }

    /// Our installation id.
    pub fn installation_id(&self) -> &str {
        &self.installation_id
    }

    /// Adds an existing prekey (restoring state, or test vectors).
    pub fn add_pre_key(&mut self, pre_key: OwnPreKey) {
        self.pre_keys.push(pre_key);
    }

    /// The sessions, in creation order.
    pub fn sessions(&self) -> impl Iterator<Item = (&[u8], &SessionInfo)> {
        self.sessions.iter().map(|(id, info)| (id.as_slice(), info))
    }

    /// The identities we know installations of (ourselves excluded).
    pub fn contacts(&self) -> Vec<PublicKey> {
        let me = self.identity();
        let mut identities: Vec<PublicKey> = self.known.keys().map(|(id, _)| *id).filter(|id| *id != me).collect();
        identities.dedup();
        identities
    }

    /// Installations we know of `identity`.
    pub fn installations_of(&self, identity: &PublicKey) -> impl Iterator<Item = (&str, &KnownInstallation)> {
        self.known
            .range((*identity, String::new())..)
            .take_while(move |((id, _), _)| id == identity)
            .map(|((_, i), k)| (i.as_str(), k))
    }

    /// Our bundle at `now_ns`, re-signed as status-go does for every message: our current prekey
    /// (a new one when there is none or it is 24 h old) and those of up to two paired
    /// installations of ours, most recently seen first.
    pub fn bundle(&mut self, now_ns: i64, entropy: &mut dyn Entropy) -> Result<Bundle, BundleError> {
        let current = self.current_pre_key(now_ns, entropy);
        let own = self.identity();
        let mut keys = BTreeMap::from([(self.installation_id.clone(), current)]);
        for (id, known) in self.active_installations(&own).into_iter().take(MAX_INSTALLATIONS - 1) {
            keys.insert(id, known.pre_key);
        }
        Bundle::sign(&self.identity, keys, now_ns)
    }

    fn current_pre_key(&mut self, now_ns: i64, entropy: &mut dyn Entropy) -> SignedPreKey {
        let stale = self.pre_keys.last().is_none_or(|k| now_ns.saturating_sub(k.created_ns) > BUNDLE_REFRESH_NS);
        if stale {
            let version = self.pre_keys.last().map_or(1, |k| k.version + 1);
            self.pre_keys.push(OwnPreKey { secret: SecretKey::generate(entropy), version, created_ns: now_ns });
        }
        let newest = self.pre_keys.last().map(|k| (k.secret.public_key(), k.version));
        let (key, version) = newest.unwrap_or_else(|| (self.identity(), 0));
        SignedPreKey { key, version, protocol_version: PROTOCOL_VERSION }
    }

    /// Records a verified bundle: each installation's prekey, keeping the highest version (status-go
    /// lets a late lower version win; we do not). Returns the installations new to us.
    pub fn process_bundle(&mut self, bundle: &Bundle) -> Vec<String> {
        let ours = bundle.identity == self.identity();
        let mut learned = Vec::new();
        for (id, pre_key) in &bundle.signed_pre_keys {
            if ours && *id == self.installation_id {
                continue;
            }
            let key = (bundle.identity, id.clone());
            match self.known.get_mut(&key) {
                Some(known) => {
                    if pre_key.version >= known.pre_key.version {
                        known.pre_key = *pre_key;
                    }
                    known.last_seen_ns = known.last_seen_ns.max(bundle.timestamp_ns);
                }
                None => {
                    let known =
                        KnownInstallation { pre_key: *pre_key, last_seen_ns: bundle.timestamp_ns, enabled: !ours };
                    self.known.insert(key, known);
                    learned.push(id.clone());
                }
            }
        }
        self.forget_least_recent(&bundle.identity);
        self.touch(&bundle.identity);
        learned
    }

    /// Bounds what one identity's bundles can make us store.
    fn forget_least_recent(&mut self, identity: &PublicKey) {
        let mut of_identity: Vec<_> =
            self.installations_of(identity).map(|(id, k)| (k.last_seen_ns, id.to_owned())).collect();
        if of_identity.len() <= MAX_KNOWN_INSTALLATIONS {
            return;
        }
        of_identity.sort();
        let excess = of_identity.len() - MAX_KNOWN_INSTALLATIONS;
        for (_, id) in of_identity.into_iter().take(excess) {
            self.known.remove(&(*identity, id));
        }
    }

    /// Enables or disables an installation (pairing our own devices).
    pub fn set_enabled(&mut self, identity: &PublicKey, installation_id: &str, enabled: bool) -> bool {
        match self.known.get_mut(&(*identity, installation_id.to_owned())) {
            Some(known) => {
                known.enabled = enabled;
                true
            }
            None => false,
        }
    }

    /// The enabled installations of `identity` we send to: most recently seen first, ties in
    /// installation id order, at most [`MAX_INSTALLATIONS`] (status-go `GetActiveInstallations`)
    /// unless [`Self::with_fan_out`] says otherwise.
    pub fn active_installations(&self, identity: &PublicKey) -> Vec<(String, KnownInstallation)> {
        let mut active: Vec<_> = self
            .installations_of(identity)
            .filter(|(id, k)| k.enabled && *id != self.installation_id)
            .map(|(id, k)| (id.to_owned(), k.clone()))
            .collect();
        active.sort_by(|(a_id, a), (b_id, b)| b.last_seen_ns.cmp(&a.last_seen_ns).then_with(|| a_id.cmp(b_id)));
        active.truncate(self.fan_out);
        active
    }

    /// Encrypts `plaintext` for every active installation of `recipient` (X3DH the first time,
    /// the Double Ratchet after), or under `"none"` with DH only when none is known; `now_ns`
    /// stamps our bundle.
    pub fn build(
        &mut self,
        recipient: &PublicKey,
        plaintext: &[u8],
        now_ns: i64,
        entropy: &mut dyn Entropy,
    ) -> Result<proto::ProtocolMessage, BundleError> {
        self.touch(recipient);
        let targets = self.active_installations(recipient);
        let mut encrypted_message = BTreeMap::new();
        if targets.is_empty() {
            encrypted_message.insert(NO_INSTALLATION.to_owned(), dh_only_entry(recipient, plaintext, entropy));
        }
        for (installation_id, known) in targets {
            let entry = self.session_entry(recipient, &installation_id, &known.pre_key.key, plaintext, entropy);
            encrypted_message.insert(installation_id, entry);
        }
        let bundle = self.bundle(now_ns, entropy)?;
        Ok(proto::ProtocolMessage {
            installation_id: self.installation_id.clone(),
            bundles: vec![bundle.to_proto()],
            encrypted_message,
            public_message: Vec::new(),
        })
    }

    /// A bundle advert (status-go `BuildBundleAdvertiseMessage`): our bundle and an empty DH-only
    /// entry, sent to a sender whose message had no entry for us.
    pub fn advert(
        &mut self,
        recipient: &PublicKey,
        now_ns: i64,
        entropy: &mut dyn Entropy,
    ) -> Result<proto::ProtocolMessage, BundleError> {
        let entry = dh_only_entry(recipient, &[], entropy);
        let bundle = self.bundle(now_ns, entropy)?;
        Ok(proto::ProtocolMessage {
            installation_id: self.installation_id.clone(),
            bundles: vec![bundle.to_proto()],
            encrypted_message: BTreeMap::from([(NO_INSTALLATION.to_owned(), entry)]),
            public_message: Vec::new(),
        })
    }

    fn session_entry(
        &mut self,
        identity: &PublicKey,
        installation_id: &str,
        their_pre_key: &PublicKey,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
    ) -> proto::EncryptedMessageProtocol {
        let index = match self.sending_session(identity, installation_id, their_pre_key) {
            Some(index) => index,
            None => self.start_session(identity, installation_id, their_pre_key, entropy),
        };
        let info = &mut self.sessions[index].1;
        let (header, ciphertext) = info.ratchet.encrypt(plaintext);
        let x3dh_header = info.pending_x3dh.map(|ephemeral| proto::X3dhHeader {
            key: ephemeral.compressed().to_vec(),
            id: info.bundle_id.compressed().to_vec(),
            identity: Vec::new(),
        });
        proto::EncryptedMessageProtocol {
            x3dh_header,
            dr_header: Some(proto::DrHeader {
                key: header.key.compressed().to_vec(),
                n: header.n,
                pn: header.pn,
                id: info.bundle_id.compressed().to_vec(),
            }),
            payload: ciphertext,
            dh_header: None,
        }
    }

    /// The oldest session with this installation that is still current: built on its newest
    /// prekey (we initiated) or on one of our prekeys that has not been replaced (we responded).
    fn sending_session(&self, identity: &PublicKey, installation_id: &str, their_pre_key: &PublicKey) -> Option<usize> {
        let our_current = self.pre_keys.last().map(|k| k.secret.public_key());
        self.sessions.iter().position(|(_, info)| {
            info.identity == *identity
                && info.installation_id == installation_id
                && (info.bundle_id == *their_pre_key || Some(info.bundle_id) == our_current)
        })
    }

    fn start_session(
        &mut self,
        identity: &PublicKey,
        installation_id: &str,
        their_pre_key: &PublicKey,
        entropy: &mut dyn Entropy,
    ) -> usize {
        let ephemeral = SecretKey::generate(entropy);
        let sk = x3dh::initiator_secret(&self.identity, &ephemeral, identity, their_pre_key);
        let ratchet = Session::initiator(&sk, *their_pre_key, entropy);
        let info = SessionInfo {
            identity: *identity,
            installation_id: installation_id.to_owned(),
            bundle_id: *their_pre_key,
            pending_x3dh: Some(ephemeral.public_key()),
            ratchet,
        };
        self.make_room_for_session(identity, installation_id);
        self.sessions.push((session_id(their_pre_key, installation_id), info));
        self.sessions.len() - 1
    }

    /// Handles a `ProtocolMessage` signed (at the 26/ layer) by `sender`: its bundles are verified
    /// and recorded, and our entry is decrypted. On error nothing changes.
    pub fn handle(
        &mut self,
        sender: &PublicKey,
        message: &proto::ProtocolMessage,
        entropy: &mut dyn Entropy,
    ) -> Result<Handled, HandleError> {
        let bundles = message.bundles.iter().map(Bundle::from_proto).collect::<Result<Vec<_>, _>>()?;
        if bundles.iter().any(|b| b.identity != *sender) {
            return Err(HandleError::ForeignBundle);
        }
        let mut next = self.clone();
        for bundle in &bundles {
            next.process_bundle(bundle);
        }
        let handled = next.decrypt_entry(sender, message, entropy)?;
        let advertises_v1 = bundles.iter().any(|b| {
            b.signed_pre_keys.get(&handled.installation_id).is_some_and(|k| k.protocol_version >= PROTOCOL_VERSION)
        });
        if advertises_v1 {
            next.agreed.insert((*sender, handled.installation_id.clone()));
        }
        next.touch(sender);
        *self = next;
        Ok(handled)
    }

    fn decrypt_entry(
        &mut self,
        sender: &PublicKey,
        message: &proto::ProtocolMessage,
        entropy: &mut dyn Entropy,
    ) -> Result<Handled, HandleError> {
        let from = message.installation_id.clone();
        if *sender == self.identity() {
            let paired = self.known.get(&(*sender, from.clone())).is_some_and(|k| k.enabled);
            if !paired {
                return Err(HandleError::NotPairedDevice);
            }
        }
        if let Some(entry) = message.encrypted_message.get(&self.installation_id) {
            let plaintext = self.decrypt_session_entry(sender, &from, entry, entropy)?;
            return Ok(Handled { plaintext, installation_id: from, dh_only: false });
        }
        let entry = message.encrypted_message.get(NO_INSTALLATION).ok_or(HandleError::DeviceNotFound)?;
        let plaintext = self.decrypt_dh_only(entry)?;
        Ok(Handled { plaintext, installation_id: from, dh_only: true })
    }

    fn decrypt_session_entry(
        &mut self,
        sender: &PublicKey,
        from: &str,
        entry: &proto::EncryptedMessageProtocol,
        entropy: &mut dyn Entropy,
    ) -> Result<Vec<u8>, HandleError> {
        let dr = entry.dr_header.as_ref().ok_or(HandleError::Malformed)?;
        let bundle_id = PublicKey::from_sec1(&dr.id).map_err(|_| HandleError::Malformed)?;
        let header =
            Header { key: PublicKey::from_sec1(&dr.key).map_err(|_| HandleError::Malformed)?, n: dr.n, pn: dr.pn };
        let id = session_id(&bundle_id, from);
        let index = match self.sessions.iter().position(|(sid, info)| *sid == id && info.identity == *sender) {
            Some(index) => index,
            None => self.accept_session(sender, from, &bundle_id, entry.x3dh_header.as_ref())?,
        };
        let info = &mut self.sessions[index].1;
        let plaintext = info.ratchet.decrypt(&header, &entry.payload, entropy)?;
        // A message on the session means the other side has it: stop attaching the X3DH header.
        info.pending_x3dh = None;
        Ok(plaintext)
    }

    /// The responder's side of X3DH: SK from the header's ephemeral key and our prekey it names.
    fn accept_session(
        &mut self,
        sender: &PublicKey,
        from: &str,
        bundle_id: &PublicKey,
        x3dh_header: Option<&proto::X3dhHeader>,
    ) -> Result<usize, HandleError> {
        let header = x3dh_header.ok_or(HandleError::SessionNotFound)?;
        let ephemeral = PublicKey::from_sec1(&header.key).map_err(|_| HandleError::Malformed)?;
        let named = PublicKey::from_sec1(&header.id).map_err(|_| HandleError::Malformed)?;
        let pre_key = self.pre_keys.iter().find(|k| k.secret.public_key() == named && named == *bundle_id);
        let pre_key = pre_key.ok_or(HandleError::SessionNotFound)?.secret.clone();
        let sk: Zeroizing<[u8; 32]> = x3dh::responder_secret(&self.identity, &pre_key, sender, &ephemeral);
        let info = SessionInfo {
            identity: *sender,
            installation_id: from.to_owned(),
            bundle_id: *bundle_id,
            pending_x3dh: None,
            ratchet: Session::responder(&sk, pre_key),
        };
        self.make_room_for_session(sender, from);
        self.sessions.push((session_id(bundle_id, from), info));
        Ok(self.sessions.len() - 1)
    }

    fn decrypt_dh_only(&mut self, entry: &proto::EncryptedMessageProtocol) -> Result<Vec<u8>, HandleError> {
        let header = entry.dh_header.as_ref().ok_or(HandleError::Malformed)?;
        let ephemeral = PublicKey::from_sec1(&header.key).map_err(|_| HandleError::Malformed)?;
        if self.dh_only_seen.contains(&ephemeral) {
            return Err(HandleError::Replayed);
        }
        let key = self.identity.diffie_hellman(&ephemeral);
        let plaintext = gcm::open(key.as_bytes(), &entry.payload).map_err(|_| HandleError::DhDecrypt)?;
        if self.dh_only_seen.len() == DH_ONLY_REPLAY_WINDOW {
            self.dh_only_seen.pop_front();
        }
        self.dh_only_seen.push_back(ephemeral);
        Ok(plaintext)
    }
}

/// Version byte of [`Installation::to_bytes`].
pub const STATE_VERSION: u8 = 2;

/// Why stored state (an installation's or an endpoint's) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StateError {
    /// Another format version.
    #[error("state version {found} is not {expected}")]
    Version {
        /// The version this build reads.
        expected: u8,
        /// The version found.
        found: u8,
    },
    /// Not a state this version wrote (truncated, corrupt, or trailing bytes).
    #[error("malformed state: {0}")]
    Malformed(String),
}

impl Installation {
    /// The whole state, `STATE_VERSION ‖ postcard`. It holds private keys: store it only sealed
    /// (as `status-1to1-node` stores records).
    pub fn to_bytes(&self) -> Result<Vec<u8>, StateError> {
        encode_state(STATE_VERSION, self)
    }

    /// Loads what [`Self::to_bytes`] wrote; anything else is refused, never half-loaded.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StateError> {
        decode_state(STATE_VERSION, bytes)
    }
}

/// `version ‖ postcard(value)`.
pub(crate) fn encode_state<T: serde::Serialize>(version: u8, value: &T) -> Result<Vec<u8>, StateError> {
    let body = postcard::to_allocvec(value).map_err(|e| StateError::Malformed(e.to_string()))?;
    Ok([&[version][..], &body].concat())
}

/// What [`encode_state`] wrote with `version`, whole; anything else is refused.
pub(crate) fn decode_state<T: serde::de::DeserializeOwned>(version: u8, bytes: &[u8]) -> Result<T, StateError> {
    let (&found, body) = bytes.split_first().ok_or_else(|| StateError::Malformed("empty".into()))?;
    if found != version {
        return Err(StateError::Version { expected: version, found });
    }
    let (state, rest) = postcard::take_from_bytes(body).map_err(|e| StateError::Malformed(e.to_string()))?;
    if !rest.is_empty() {
        return Err(StateError::Malformed(format!("{} trailing bytes", rest.len())));
    }
    Ok(state)
}

/// status-go's session id: the bundle id (33 bytes) followed by the other installation's id.
pub fn session_id(bundle_id: &PublicKey, installation_id: &str) -> Vec<u8> {
    [bundle_id.compressed().as_slice(), installation_id.as_bytes()].concat()
}

/// A DH-only entry (status-go `EncryptPayloadWithDH`): the raw X of `ECDH(ephemeral, IK_B)` is the
/// AES-256-GCM key, with a 12-byte random nonce. No forward secrecy, no sender authentication
/// beyond the 26/ signature.
fn dh_only_entry(
    recipient: &PublicKey,
    plaintext: &[u8],
    entropy: &mut dyn Entropy,
) -> proto::EncryptedMessageProtocol {
    let ephemeral = SecretKey::generate(entropy);
    let key = ephemeral.diffie_hellman(recipient);
    let mut nonce = [0u8; gcm::NONCE_LEN];
    entropy.fill(&mut nonce);
    proto::EncryptedMessageProtocol {
        x3dh_header: None,
        dr_header: None,
        payload: gcm::seal(key.as_bytes(), &nonce, plaintext),
        dh_header: Some(proto::DhHeader { key: ephemeral.public_key().compressed().to_vec(), identity: Vec::new() }),
    }
}
