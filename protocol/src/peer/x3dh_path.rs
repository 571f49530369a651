//! The X3DH key-exchange path (53/54): our signed prekeys and bundle, sessions per contact
//! installation, fan-out, and the session-management rules of 54 in the profile's form.
//!
//! - **Bundles** travel attached to every message (status-go does the same) and are published on
//!   our partitioned topic at start, on change and every [`BUNDLE_REPUBLISH`]. They are verified
//!   before anything is stored; per installation the highest prekey version wins.
//! - **Sessions**: several per contact installation. Those not superseded are candidates and the
//!   active one is the candidate with the smallest session id (54 "Concurrent sessions", with a
//!   public value in place of the symmetric key so both sides agree without branching on
//!   secrets). A session we started on an older prekey of the peer is superseded when a higher
//!   version arrives (54 "Re-keying"); a session the peer started on an older prekey of ours is
//!   superseded by one it starts on a newer prekey. Superseded sessions stay readable.
//! - **Topics**: first messages go to the contact's partitioned topic; once every targeted
//!   installation has sent us a message (proof it holds the chat and listens on the negotiated
//!   topic) messages go to the negotiated topic.
//! - **No bundle**: first contact without a bundle uses the no-bundle message (no forward
//!   secrecy), addressed to any installation and carrying our bundle.
//! - **Partitioned devices**: a message with entries for other installations of our identity
//!   but none for us gets an empty no-bundle reply carrying our bundle, sent only to the identity
//!   the message proves (its verified bundle lists the sending installation and every entry to
//!   us names it), at most once per identity per [`ADVERT_INTERVAL`] and at most
//!   [`ADVERT_BUDGET`] times in all per interval.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::Ctx;
use super::action::{Action, Notice};
use super::contacts::KeyExchange;
use super::delivery::Device;
use zeroize::Zeroizing;

use super::derived::{Derived, Memo};
use super::error::PeerError;
use super::requests::Held;
use super::shared::SharedMap;
use super::topics::partition_topic;
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use crate::time::Timestamp;
use crate::waku::WakuMessage;
use crate::x3dh::seal::{self, TAG_BUNDLE, TAG_NEGOTIATED, TAG_TO_IDENTITY};
use crate::x3dh::{
    EncryptedMessage, Envelope, NoBundleMessage, Payload, PrekeyStore, Recipient, Session, SignedPrekey,
    VerifiedBundle, initiate, respond,
    topic::{NegotiatedSecret, WakuKey},
};

/// How an X3DH-path message is sealed for its topic (`crate::x3dh::seal`), so that a relay sees
/// neither party's identity.
#[derive(Debug, Clone)]
enum Route {
    /// Sealed to this identity (with our static secret with it), on its partitioned topic.
    Partitioned(IdentityKey, Zeroizing<[u8; 32]>),
    /// Under the negotiated topic's key (shared with one contact).
    Negotiated(WakuKey),
    /// Our bundle on our own partitioned topic, for our other devices.
    OwnBundle,
}

/// Seals `body` for `route` and publishes it on `topic`.
fn publish_sealed(ctx: &mut Ctx<'_>, topic: String, route: Route, body: &[u8]) -> Result<(), PeerError> {
    let unusable = |_| PeerError::InvalidContact("contact key unusable");
    let payload = match route {
        Route::Partitioned(to, static_dh) => {
            seal::seal_to_with(ctx.me.identity.public(), &to, &static_dh, body, ctx.entropy).map_err(unusable)?
        }
        Route::Negotiated(key) => seal::seal_symmetric(TAG_NEGOTIATED, key.as_bytes(), &topic, body, ctx.entropy),
        Route::OwnBundle => {
            let key = seal::bundle_key(ctx.me.identity.public());
            seal::seal_symmetric(TAG_BUNDLE, &key, &topic, body, ctx.entropy)
        }
    };
    ctx.publish(WakuMessage::noise(payload, topic, ctx.now.as_nanos_i64(), false).unversioned());
    Ok(())
}

/// How often our bundle is republished without a change (status-go's contact-code interval).
pub(crate) const BUNDLE_REPUBLISH: Duration = Duration::from_secs(6 * 3600);
/// Least time between two bundle adverts to one identity (status-go `deviceNotFoundAckInterval`).
pub(crate) const ADVERT_INTERVAL: Duration = Duration::from_secs(7200);
/// Bundle adverts sent per [`ADVERT_INTERVAL`] in all: bounds what replays on our partition
/// topic make us send (and the `adverts` map).
pub const ADVERT_BUDGET: usize = 16;
/// Installations of our own identity remembered from our bundles (partitioned devices).
pub(crate) const OWN_INSTALLATIONS: usize = 16;
/// Bundles of one message that are looked at (every message carries its sender's bundle): the
/// rest are ignored, so a message costs at most this many signature checks.
pub(crate) const BUNDLES_PER_MESSAGE: usize = 2;
/// Installations remembered per contact (each may hold sessions): the oldest beyond it are
/// forgotten.
pub(crate) const INSTALLATIONS_PER_CONTACT: usize = 2 * crate::x3dh::MAX_BUNDLE_INSTALLATIONS;
/// Sessions kept per contact installation (candidates and superseded ones).
pub(crate) const SESSIONS_PER_DEVICE: usize = 6;

/// One session with a contact installation and what supersedes it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Record {
    session: Session,
    /// We started it (on the peer's prekey) or the peer did (on ours).
    ours: bool,
    /// Version of the prekey it was built on.
    prekey_version: u32,
    /// Replaced by a session on a newer prekey: no longer used to send.
    superseded: bool,
}

/// The sessions with one contact installation.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct DeviceSessions {
    records: Vec<Record>,
}

impl DeviceSessions {
    fn active_index(&self) -> Option<usize> {
        self.records
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.superseded)
            .min_by_key(|(_, r)| r.session.id())
            .map(|(i, _)| i)
    }

    /// Adds a session, superseding older ones on the same side, and keeps the bound.
    fn add(&mut self, record: Record) {
        for r in &mut self.records {
            if r.ours == record.ours && r.prekey_version < record.prekey_version {
                r.superseded = true;
            }
        }
        self.records.push(record);
        while self.records.len() > SESSIONS_PER_DEVICE {
            let victim = self.records.iter().position(|r| r.superseded).unwrap_or(0);
            self.records.remove(victim);
        }
    }

    fn find(&self, id: &crate::x3dh::SessionId) -> Option<usize> {
        self.records.iter().position(|r| &r.session.id() == id)
    }
}

/// What we know about one contact on this path.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ContactState {
    /// The contact's verified bundles, each kept once. Every device of an account publishes
    /// bundles signed at its own clock, so no single bundle is authoritative: a device's own
    /// advert may look older than a sibling's bundle that does not list it yet.
    bundles: Vec<VerifiedBundle>,
    /// For each installation, the index in `bundles` of the one carrying its newest prekey
    /// (every bundle kept is named here).
    newest: BTreeMap<InstallationId, usize>,
    /// Highest prekey version seen per installation.
    versions: BTreeMap<InstallationId, u32>,
    /// One record per installation (`RecordKind::X3dhSessions`): a steady message rewrites its
    /// installation's sessions, not the contact's bundles.
    #[serde(skip)]
    pub(super) devices: BTreeMap<InstallationId, DeviceSessions>,
    /// Installations that have sent us a message: they know (and listen on) the negotiated topic.
    agreed: BTreeSet<InstallationId>,
    /// The negotiated content topic with this contact and its key: one X25519 to derive, needed
    /// on every event (subscriptions) and every send, so computed once per contact and never
    /// persisted.
    #[serde(skip)]
    negotiated: Derived<Option<(String, WakuKey)>>,
}

impl ContactState {
    /// The bundle carrying `installation`'s newest prekey.
    fn bundle_for(&self, installation: &InstallationId) -> Option<&VerifiedBundle> {
        self.newest.get(installation).and_then(|i| self.bundles.get(*i))
    }

    /// Records that `bundle` carries the newest prekey of `installation`, keeping one copy of
    /// each bundle and none that no installation names.
    fn set_newest(&mut self, installation: &InstallationId, bundle: &VerifiedBundle) {
        let index = match self.bundles.iter().position(|b| b == bundle) {
            Some(i) => i,
            None => {
                self.bundles.push(bundle.clone());
                self.bundles.len() - 1
            }
        };
        self.newest.insert(installation.clone(), index);
        self.compact();
    }

    /// Drops bundles no installation names and renumbers the rest.
    fn compact(&mut self) {
        let used: BTreeSet<usize> = self.newest.values().copied().collect();
        if used.len() == self.bundles.len() {
            return;
        }
        let renumber: BTreeMap<usize, usize> = used.iter().enumerate().map(|(new, old)| (*old, new)).collect();
        let mut index = 0;
        self.bundles.retain(|_| {
            index += 1;
            used.contains(&(index - 1))
        });
        for i in self.newest.values_mut() {
            *i = renumber.get(i).copied().unwrap_or(0);
        }
    }

    /// Forgets the installations beyond [`INSTALLATIONS_PER_CONTACT`]: first those without a
    /// session, oldest bundle first. Returns the forgotten ones.
    fn enforce_installation_cap(&mut self) -> Vec<InstallationId> {
        let mut forgotten = Vec::new();
        while self.versions.len() > INSTALLATIONS_PER_CONTACT {
            let victim = self
                .versions
                .keys()
                .min_by_key(|i| (self.devices.contains_key(*i), self.bundle_for(i).map(VerifiedBundle::timestamp_ns)))
                .cloned();
            let Some(victim) = victim else { break };
            self.versions.remove(&victim);
            self.newest.remove(&victim);
            self.devices.remove(&victim);
            self.agreed.remove(&victim);
            forgotten.push(victim);
        }
        self.compact();
        forgotten
    }

    /// The negotiated content topic with `contact` (`None` if the static-static DH is
    /// non-contributory, which validated identity keys never are).
    fn negotiated_topic(&self, me: &IdentityKeyPair, contact: &IdentityKey) -> Option<&str> {
        self.negotiated(me, contact).map(|(topic, _)| topic.as_str())
    }

    /// The negotiated topic and the key its messages are sealed with.
    fn negotiated(&self, me: &IdentityKeyPair, contact: &IdentityKey) -> Option<&(String, WakuKey)> {
        let derive = || NegotiatedSecret::new(me, contact).ok().map(|s| (s.content_topic(), s.waku_key()));
        self.negotiated.get_or_init(derive).as_ref()
    }
}

/// The X3DH path's state.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct X3dhPath {
    prekeys: Option<PrekeyStore>,
    /// Prekeys of our own enabled devices, from their bundles, for our multi-device bundle.
    own_prekeys: BTreeMap<InstallationId, SignedPrekey>,
    bundle: Option<VerifiedBundle>,
    next_publish: Option<Timestamp>,
    /// One record per contact (`RecordKind::X3dhContact`), not part of the local record.
    #[serde(skip)]
    pub(super) contacts: SharedMap<IdentityKey, ContactState>,
    /// Sender installation → identity, for messages without an X3DH header.
    installations: BTreeMap<InstallationId, IdentityKey>,
    /// When we last adverted our bundle to each identity (within [`ADVERT_INTERVAL`]).
    adverts: BTreeMap<IdentityKey, Timestamp>,
    /// Installations listed in bundles of our own identity (paired or not, e.g. the device an
    /// account was recovered from): entries for them make a message addressed to our identity.
    own_installations: BTreeSet<InstallationId>,
    /// Our bundle changed because our devices did: push it to every contact (54 "The bundle
    /// MUST be propagated to contacts"), repeated for a while since a push is not acknowledged.
    push: Option<DevicePush>,
    /// Negotiated topic → contact, for opening what arrives there.
    #[serde(skip)]
    negotiated_index: Memo<String, IdentityKey>,
    /// Contacts' (and our) key bytes → parsed key and static secret, for sealed senders.
    #[serde(skip)]
    senders: Memo<[u8; 32], seal::KnownSender>,
}

impl X3dhPath {
    /// Whether everything but the contacts (their own records) is equal: what decides whether
    /// the `X3dhLocal` record changed. Destructured so that a new field cannot be forgotten.
    pub(super) fn local_eq(&self, other: &Self) -> bool {
        let Self {
            prekeys,
            own_prekeys,
            bundle,
            next_publish,
            contacts: _,
            installations,
            adverts,
            own_installations,
            push,
            negotiated_index: _,
            senders: _,
        } = self;
        *prekeys == other.prekeys
            && *own_prekeys == other.own_prekeys
            && *bundle == other.bundle
            && *next_publish == other.next_publish
            && *installations == other.installations
            && *adverts == other.adverts
            && *own_installations == other.own_installations
            && *push == other.push
    }
}

impl ContactState {
    /// Whether everything but the sessions per installation (their own records) is equal.
    pub(super) fn head_eq(&self, other: &Self) -> bool {
        let Self { bundles, newest, versions, devices: _, agreed, negotiated: _ } = self;
        *bundles == other.bundles && *newest == other.newest && *versions == other.versions && *agreed == other.agreed
    }
}

/// A push of our bundle to every contact after our devices changed. A contact that misses it
/// never learns the new device (nothing else tells it), so it is repeated with the delivery
/// backoff for [`DEVICE_PUSH_WINDOW`], like a Noise message 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct DevicePush {
    next: Timestamp,
    until: Timestamp,
    sends: u32,
}

/// How long a device-change push is repeated.
pub(crate) const DEVICE_PUSH_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);

/// How the peer stands with an identity (decides what its X3DH messages may make us store).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Standing {
    /// A contact (or our own identity): bundles and sessions are kept.
    Contact,
    /// A stranger whose contact request was shown: dropped until accepted.
    Requested,
    /// Blocked: dropped.
    Blocked,
    /// Anyone else: a decrypting first message becomes a contact request.
    Stranger,
}

/// What an X3DH message turned out to be.
pub(crate) enum X3dhInput {
    /// A stranger's first message decrypted: its device, the frame, and what accepting needs.
    Stranger(Device, Vec<u8>, Box<Held>),
    /// Only bundles (or nothing for us by design); the identities whose bundles were learned.
    Nothing(Vec<IdentityKey>),
    /// A decrypted frame from a device, and the identities whose bundles were learned.
    Frame(Device, Vec<u8>, Vec<IdentityKey>),
}

impl X3dhPath {
    /// Creates the prekey store on first use and rotates it when due (54, 24 h).
    pub(crate) fn maintain(&mut self, ctx: &mut Ctx<'_>) -> Result<(), PeerError> {
        match &mut self.prekeys {
            None => {
                self.prekeys = Some(PrekeyStore::new(ctx.now, ctx.entropy));
                self.bundle = None;
            }
            Some(store) => {
                if store
                    .rotate_if_due(ctx.now, ctx.entropy)
                    .map_err(|_| PeerError::InvalidContact("prekey versions exhausted"))?
                {
                    self.bundle = None;
                    self.next_publish = Some(ctx.now);
                }
            }
        }
        Ok(())
    }

    /// Our current bundle: this installation's prekey plus those of our enabled devices, signed
    /// (cached until something changes).
    fn own_bundle(&mut self, ctx: &Ctx<'_>, enabled: &BTreeSet<InstallationId>) -> Result<VerifiedBundle, PeerError> {
        if let Some(bundle) = &self.bundle {
            return Ok(bundle.clone());
        }
        let store = self.prekeys.as_ref().ok_or(PeerError::InvalidContact("prekeys not initialised"))?;
        let mut prekeys: BTreeMap<InstallationId, SignedPrekey> =
            self.own_prekeys.iter().filter(|(i, _)| enabled.contains(*i)).map(|(i, p)| (i.clone(), *p)).collect();
        let limit = ctx.config.max_devices.min(crate::x3dh::MAX_BUNDLE_INSTALLATIONS).saturating_sub(1);
        while prekeys.len() > limit {
            let Some(first) = prekeys.keys().next().cloned() else { break };
            prekeys.remove(&first);
        }
        prekeys.insert(ctx.me.installation.clone(), store.current().signed_prekey());
        let bundle = VerifiedBundle::sign(&ctx.me.identity, prekeys, ctx.now)
            .map_err(|_| PeerError::InvalidContact("own bundle"))?;
        self.bundle = Some(bundle.clone());
        Ok(bundle)
    }

    /// Our bundle in wire form, freshly signed (for contact codes); `None` before the first start.
    pub(crate) fn bundle_bytes(
        &self,
        identity: &crate::identity::IdentityKeyPair,
        installation: &InstallationId,
        now: Timestamp,
    ) -> Option<Vec<u8>> {
        use prost::Message as _;
        let store = self.prekeys.as_ref()?;
        let prekeys = BTreeMap::from([(installation.clone(), store.current().signed_prekey())]);
        VerifiedBundle::sign(identity, prekeys, now).ok().map(|b| b.to_proto().encode_to_vec())
    }

    /// Marks our bundle for re-signing and republication, and for a push to every contact (our
    /// devices changed).
    pub(crate) fn invalidate_bundle(&mut self, now: Timestamp) {
        self.bundle = None;
        self.next_publish = Some(now);
        self.push = Some(DevicePush { next: now, until: now.saturating_add(DEVICE_PUSH_WINDOW), sends: 0 });
    }

    /// Publishes our bundle on our partitioned topic when due, and pushes it to our contacts
    /// while a device-change push is running.
    pub(crate) fn publish_if_due(
        &mut self,
        ctx: &mut Ctx<'_>,
        enabled: &BTreeSet<InstallationId>,
    ) -> Result<(), PeerError> {
        let republish = self.next_publish.is_none_or(|t| t <= ctx.now);
        // A device-change push round also repeats the bundle on our own partitioned topic: our
        // other devices learn a new sibling's prekey only from it, and one lost publication
        // would leave their bundles without the sibling until the next republication.
        let pushing = self.push.is_some_and(|p| p.next <= ctx.now);
        if republish || pushing {
            let envelope = self.bundle_envelope(ctx, enabled)?;
            let topic = partition_topic(ctx.me.identity.public());
            publish_sealed(ctx, topic, Route::OwnBundle, &envelope.encode())?;
        }
        if republish {
            self.next_publish = Some(ctx.now.saturating_add(BUNDLE_REPUBLISH));
        }
        self.push_if_due(ctx, enabled)
    }

    fn bundle_envelope(
        &mut self,
        ctx: &mut Ctx<'_>,
        enabled: &BTreeSet<InstallationId>,
    ) -> Result<Envelope, PeerError> {
        let bundle = self.own_bundle(ctx, enabled)?;
        let mut envelope = Envelope::new(ctx.me.installation.clone());
        envelope.bundles.push(bundle.to_proto());
        Ok(envelope)
    }

    /// One round of the device-change push: our bundle to every contact we share a session with.
    fn push_if_due(&mut self, ctx: &mut Ctx<'_>, enabled: &BTreeSet<InstallationId>) -> Result<(), PeerError> {
        let Some(mut push) = self.push.filter(|p| p.next <= ctx.now) else { return Ok(()) };
        let envelope = self.bundle_envelope(ctx, enabled)?;
        let contacts: Vec<IdentityKey> =
            self.contacts.iter().filter(|(_, c)| !c.devices.is_empty()).map(|(i, _)| *i).collect();
        let body = envelope.encode();
        for contact in contacts {
            let targets = self.installations_of(&contact);
            let (topic, route) = self.route_for(ctx, &contact, &targets)?;
            publish_sealed(ctx, topic, route, &body)?;
        }
        push.sends += 1;
        let delivery = &ctx.config.delivery;
        let factor = 1u32.checked_shl(push.sends.saturating_sub(1)).unwrap_or(u32::MAX);
        push.next = ctx.now.saturating_add(delivery.first_retry.saturating_mul(factor).min(delivery.max_backoff));
        self.push = (push.next <= push.until).then_some(push);
        Ok(())
    }

    /// When the next publication or rotation is due.
    pub(crate) fn next_deadline(&self) -> Option<Timestamp> {
        let rotation =
            self.prekeys.as_ref().map(|p| p.current().created().saturating_add(crate::x3dh::ROTATION_INTERVAL));
        [self.next_publish, rotation, self.push.map(|p| p.next)].into_iter().flatten().min()
    }

    /// Records a contact's bundle (from a contact code), verified against its identity.
    pub(crate) fn learn_bundle_bytes(&mut self, identity: &IdentityKey, bytes: &[u8]) -> Result<(), PeerError> {
        use prost::Message as _;
        let wire =
            crate::proto::Bundle::decode(bytes).map_err(|_| PeerError::InvalidContact("bundle is not a protobuf"))?;
        let bundle = VerifiedBundle::verify_from(&wire, identity)
            .map_err(|_| PeerError::InvalidContact("bundle does not verify"))?;
        self.learn_bundle(bundle);
        Ok(())
    }

    /// Keeps, per installation, the bundle with its newest prekey, and supersedes sessions on
    /// older prekeys.
    fn learn_bundle(&mut self, bundle: VerifiedBundle) {
        let identity = *bundle.identity();
        let contact = self.contacts.entry_or_default(identity);
        for (installation, prekey) in bundle.prekeys() {
            let newer = contact.bundle_for(installation).is_none_or(|known| {
                let known_version = known.prekey(installation).map_or(0, |p| p.version);
                (known_version, known.timestamp_ns()) < (prekey.version, bundle.timestamp_ns())
            });
            if newer {
                contact.set_newest(installation, &bundle);
            }
            self.installations.insert(installation.clone(), identity);
            let known = contact.versions.entry(installation.clone()).or_insert(prekey.version);
            if prekey.version > *known {
                *known = prekey.version;
            }
            if let Some(device) = contact.devices.get_mut(installation) {
                for r in device.records.iter_mut().filter(|r| r.ours && r.prekey_version < prekey.version) {
                    r.superseded = true;
                }
            }
        }
        for forgotten in contact.enforce_installation_cap() {
            self.installations.remove(&forgotten);
        }
    }

    /// Installations of `contact` we can address (from its bundles and known sessions).
    pub(crate) fn installations_of(&self, contact: &IdentityKey) -> Vec<InstallationId> {
        let Some(state) = self.contacts.get(contact) else { return Vec::new() };
        let mut all: BTreeSet<InstallationId> = state.devices.keys().cloned().collect();
        all.extend(state.newest.keys().cloned());
        all.into_iter().collect()
    }

    /// Topics this path listens on: the negotiated topic of every contact we share a session with.
    pub(crate) fn topics(&self, me: &IdentityKeyPair, out: &mut BTreeSet<String>) {
        for (identity, state) in self.contacts.iter() {
            if !state.devices.is_empty()
                && let Some(topic) = state.negotiated_topic(me, identity)
            {
                out.insert(topic.to_owned());
            }
        }
    }

    /// Encrypts `frame` for one installation of `contact` (starting a session from its bundle
    /// if there is none), returning the entry for the envelope.
    fn encrypt_for(
        &mut self,
        ctx: &mut Ctx<'_>,
        contact: &IdentityKey,
        installation: &InstallationId,
        frame: &[u8],
    ) -> Result<Payload, PeerError> {
        let state = self.contacts.entry_or_default(*contact);
        let has_session = state.devices.get(installation).is_some_and(|d| d.active_index().is_some());
        if !has_session && !state.newest.contains_key(installation) {
            return Err(PeerError::UnknownContact(*contact));
        }
        let ContactState { devices, bundles, newest, .. } = state;
        let device = devices.entry(installation.clone()).or_default();
        let index = match device.active_index() {
            Some(i) => i,
            None => {
                let bundle = newest
                    .get(installation)
                    .and_then(|i| bundles.get(*i))
                    .ok_or(PeerError::UnknownContact(*contact))?;
                let prekey_version =
                    bundle.prekey(installation).map(|p| p.version).ok_or(PeerError::UnknownContact(*contact))?;
                let session = initiate(&ctx.me.identity, &ctx.me.installation, bundle, installation, ctx.entropy)
                    .map_err(|_| PeerError::UnknownContact(*contact))?;
                device.add(Record { session, ours: true, prekey_version, superseded: false });
                device.active_index().ok_or(PeerError::UnknownContact(*contact))?
            }
        };
        let record = &mut device.records[index];
        let session = record.session.clone();
        let (next, message) = session.encrypt(frame, ctx.entropy).map_err(|e| PeerError::Ratchet(e.reason))?;
        record.session = next;
        self.installations.insert(installation.clone(), *contact);
        Ok(Payload::Ratchet(message))
    }

    /// Builds and publishes one envelope to `contact` with an entry per installation in `frames`.
    /// Installations we cannot reach (no bundle entry) are skipped and returned.
    pub(crate) fn send(
        &mut self,
        ctx: &mut Ctx<'_>,
        contact: &IdentityKey,
        frames: &[(InstallationId, Vec<u8>)],
        enabled: &BTreeSet<InstallationId>,
    ) -> Result<Vec<InstallationId>, PeerError> {
        let mut envelope = Envelope::new(ctx.me.installation.clone());
        envelope.bundles.push(self.own_bundle(ctx, enabled)?.to_proto());
        let mut sent = Vec::new();
        for (installation, frame) in frames {
            match self.encrypt_for(ctx, contact, installation, frame) {
                Ok(payload) => {
                    envelope.payloads.insert(Recipient::Installation(installation.clone()), payload);
                    sent.push(installation.clone());
                }
                Err(PeerError::UnknownContact(_)) => {}
                Err(e) => return Err(e),
            }
        }
        if !sent.is_empty() {
            let (topic, route) = self.route_for(ctx, contact, &sent)?;
            publish_sealed(ctx, topic, route, &envelope.encode())?;
        }
        Ok(sent)
    }

    /// First contact without a bundle: a no-bundle message to any installation of `contact`.
    pub(crate) fn send_without_bundle(
        &mut self,
        ctx: &mut Ctx<'_>,
        contact: &IdentityKey,
        frame: &[u8],
        enabled: &BTreeSet<InstallationId>,
    ) -> Result<(), PeerError> {
        let sealed = NoBundleMessage::seal(&ctx.me.identity, &ctx.me.installation, contact, frame, ctx.entropy)
            .map_err(|_| PeerError::InvalidContact("contact key unusable"))?;
        let mut envelope = Envelope::new(ctx.me.installation.clone());
        envelope.bundles.push(self.own_bundle(ctx, enabled)?.to_proto());
        envelope.payloads.insert(Recipient::Any, Payload::NoBundle(sealed));
        let route = self.partitioned(ctx, contact)?;
        publish_sealed(ctx, partition_topic(contact), route, &envelope.encode())
    }

    /// The route to `contact`'s partitioned topic, its static secret memoized for our contacts
    /// and ourselves (the only senders we expect there, so the memo stays bounded).
    fn partitioned(&self, ctx: &Ctx<'_>, contact: &IdentityKey) -> Result<Route, PeerError> {
        let static_dh = match self.known_sender(ctx, contact.as_bytes()) {
            Some((_, static_dh)) => static_dh,
            None => seal::static_secret(&ctx.me.identity, contact)
                .map_err(|_| PeerError::InvalidContact("contact key unusable"))?,
        };
        Ok(Route::Partitioned(*contact, static_dh))
    }

    /// A sender we know by its key bytes: a contact or ourselves, with our static secret with it.
    fn known_sender(&self, ctx: &Ctx<'_>, bytes: &[u8; 32]) -> Option<seal::KnownSender> {
        if let Some(known) = self.senders.get(bytes) {
            return Some(known);
        }
        let me = ctx.me.identity.public();
        let identity = if me.as_bytes() == bytes {
            *me
        } else {
            *self.contacts.iter().map(|(id, _)| id).find(|c| c.as_bytes() == bytes)?
        };
        let known = (identity, seal::static_secret(&ctx.me.identity, &identity).ok()?);
        self.senders.insert(*bytes, known.clone());
        Some(known)
    }

    /// The negotiated topic once every targeted installation has shown it knows it, else the
    /// contact's partitioned topic.
    fn route_for(
        &self,
        ctx: &Ctx<'_>,
        contact: &IdentityKey,
        targets: &[InstallationId],
    ) -> Result<(String, Route), PeerError> {
        let agreed = self.contacts.get(contact).filter(|c| targets.iter().all(|t| c.agreed.contains(t)));
        match agreed.and_then(|c| c.negotiated(&ctx.me.identity, contact)) {
            Some((topic, key)) => Ok((topic.clone(), Route::Negotiated(key.clone()))),
            None => Ok((partition_topic(contact), self.partitioned(ctx, contact)?)),
        }
    }

    /// The contact whose negotiated topic `topic` is, from the index (rebuilt when it misses: a
    /// topic belongs to one pair for good, so entries never turn wrong, only missing or stale).
    fn contact_on_negotiated_topic(&self, me: &IdentityKeyPair, topic: &str) -> Option<IdentityKey> {
        let known = |id: &IdentityKey| self.contacts.get(id).is_some();
        if let Some(contact) = self.negotiated_index.get(topic).filter(known) {
            return Some(contact);
        }
        let entries =
            self.contacts.iter().filter_map(|(id, c)| c.negotiated_topic(me, id).map(|t| (t.to_owned(), *id)));
        self.negotiated_index.replace(entries.collect());
        self.negotiated_index.get(topic).filter(known)
    }

    /// Opens a sealed X3DH-path payload: the body, and the identities it may come from (the
    /// proven sender; the two parties of a negotiated topic; ourselves for our bundle posts).
    fn unseal(&self, ctx: &Ctx<'_>, message: &WakuMessage) -> Result<(Vec<u8>, Vec<IdentityKey>), PeerError> {
        let me = &ctx.me.identity;
        let topic = message.content_topic.as_str();
        match seal::kind(&message.payload) {
            Some(TAG_TO_IDENTITY) => {
                let known = |bytes: &[u8; 32]| self.known_sender(ctx, bytes);
                let (sender, body) =
                    seal::open_from_with(me, &message.payload, &known).map_err(|_| PeerError::NotForUs)?;
                Ok((body, vec![sender]))
            }
            Some(TAG_NEGOTIATED) => {
                let contact = self.contact_on_negotiated_topic(me, topic).ok_or(PeerError::NotForUs)?;
                let state = self.contacts.get(&contact).ok_or(PeerError::NotForUs)?;
                let (_, key) = state.negotiated(me, &contact).ok_or(PeerError::NotForUs)?;
                let body =
                    seal::open_symmetric(key.as_bytes(), topic, &message.payload).map_err(|_| PeerError::NotForUs)?;
                Ok((body, vec![contact, *me.public()]))
            }
            Some(TAG_BUNDLE) => {
                let key = seal::bundle_key(me.public());
                let body = seal::open_symmetric(&key, topic, &message.payload).map_err(|_| PeerError::NotForUs)?;
                Ok((body, vec![*me.public()]))
            }
            _ => Err(PeerError::NotForUs),
        }
    }

    /// Handles an unversioned WakuMessage carrying a `ProtocolMessage`.
    pub(crate) fn on_message(
        &mut self,
        ctx: &mut Ctx<'_>,
        message: &WakuMessage,
        enabled: &BTreeSet<InstallationId>,
        standing: &dyn Fn(&IdentityKey) -> Standing,
    ) -> Result<X3dhInput, PeerError> {
        let (body, senders) = self.unseal(ctx, message)?;
        let envelope = Envelope::decode(&body).map_err(|_| PeerError::NotForUs)?;
        if !names_only(&envelope, &senders) {
            return Err(PeerError::NotForUs);
        }
        let ours = envelope.payload_for(&ctx.me.installation).filter(|_| envelope.sender != ctx.me.installation);
        // The cheapest check: a blocked sender (or one whose request is pending: it retries
        // once accepted) costs no signature and no Diffie-Hellman.
        let claimed = ours.and_then(|p| self.claimed_sender(p, &envelope.sender));
        if claimed.is_some_and(|c| matches!(standing(&c), Standing::Blocked | Standing::Requested)) {
            return Ok(X3dhInput::Nothing(Vec::new()));
        }
        let me = *ctx.me.identity.public();
        let mut own_bundle_changed = false;
        let mut learned = Vec::new();
        let verified: Vec<VerifiedBundle> = envelope
            .bundles
            .iter()
            .take(BUNDLES_PER_MESSAGE)
            .filter_map(|wire| self.verify_bundle(wire).ok())
            .collect();
        for bundle in &verified {
            if *bundle.identity() == me {
                self.note_own_installations(bundle);
                own_bundle_changed |= self.learn_own_devices(ctx, bundle, enabled);
            } else if standing(bundle.identity()) == Standing::Contact {
                learned.push(*bundle.identity());
                self.learn_bundle(bundle.clone());
            }
        }
        if own_bundle_changed {
            self.invalidate_bundle(ctx.now);
        }
        let stranger = claimed.filter(|c| *c != me && standing(c) == Standing::Stranger);
        match ours {
            Some(Payload::Ratchet(encrypted)) if stranger.is_some() => {
                self.stranger_ratchet(ctx, &envelope.sender, encrypted, &verified)
            }
            Some(Payload::NoBundle(sealed)) if stranger.is_some() => {
                let plaintext = sealed.open(&ctx.me.identity, &envelope.sender).map_err(PeerError::X3dh)?;
                let device = Device { identity: sealed.sender, installation: envelope.sender.clone() };
                let bundle = sender_bundle(&verified, &device);
                Ok(X3dhInput::Stranger(
                    device,
                    plaintext,
                    Box::new(Held::X3dh { session: None, bundle: bundle.map(Box::new) }),
                ))
            }
            Some(Payload::Ratchet(encrypted)) => {
                let (device, plaintext) = self.on_ratchet(ctx, &envelope.sender, encrypted)?;
                Ok(X3dhInput::Frame(device, plaintext, learned))
            }
            Some(Payload::NoBundle(sealed)) => {
                let (device, plaintext) = self.on_no_bundle(ctx, &envelope.sender, sealed)?;
                Ok(X3dhInput::Frame(device, plaintext, learned))
            }
            None => {
                self.on_not_addressed(ctx, &envelope, &verified, enabled)?;
                Ok(X3dhInput::Nothing(learned))
            }
        }
    }

    /// Who an entry says it is from (unauthenticated until it decrypts).
    fn claimed_sender(&self, payload: &Payload, sender: &InstallationId) -> Option<IdentityKey> {
        match payload {
            Payload::Ratchet(m) => {
                m.initial.as_ref().map(|h| h.identity).or_else(|| self.installations.get(sender).copied())
            }
            Payload::NoBundle(sealed) => Some(sealed.sender),
        }
    }

    /// A stranger's first ratchet message: X3DH proves its identity, and the session it opens is
    /// handed out (for a contact request), not stored.
    fn stranger_ratchet(
        &self,
        ctx: &mut Ctx<'_>,
        sender: &InstallationId,
        message: &EncryptedMessage,
        verified: &[VerifiedBundle],
    ) -> Result<X3dhInput, PeerError> {
        let header = message.initial.as_ref().ok_or(PeerError::NotForUs)?;
        let prekeys = self.prekeys.as_ref().ok_or(PeerError::NotForUs)?;
        let (session, plaintext) = respond(&ctx.me.identity, &ctx.me.installation, prekeys, ctx.now, sender, message)
            .map_err(PeerError::X3dh)?;
        let version = prekeys.version_of(session.bundle_id(), ctx.now).unwrap_or(0);
        let device = Device { identity: header.identity, installation: sender.clone() };
        let bundle = sender_bundle(verified, &device);
        let held = Held::X3dh { session: Some(Box::new((session, version))), bundle: bundle.map(Box::new) };
        Ok(X3dhInput::Stranger(device, plaintext, Box::new(held)))
    }

    /// Keeps what an accepted contact request held: the sender's bundle and session.
    pub(crate) fn adopt_request(
        &mut self,
        device: &Device,
        session: Option<(Session, u32)>,
        bundle: Option<VerifiedBundle>,
    ) {
        if let Some(bundle) = bundle {
            self.learn_bundle(bundle);
        }
        let state = self.contacts.entry_or_default(device.identity);
        if let Some((session, prekey_version)) = session {
            let record = Record { session, ours: false, prekey_version, superseded: false };
            state.devices.entry(device.installation.clone()).or_default().add(record);
            state.agreed.insert(device.installation.clone());
        }
        self.installations.insert(device.installation.clone(), device.identity);
    }

    /// Retires every session with `contact` (the chat ended): they stay readable but are never
    /// used to send again, so the next message starts new sessions. Returns how many
    /// installations had a session to retire.
    pub(crate) fn end_sessions(&mut self, contact: &IdentityKey) -> usize {
        let Some(state) = self.contacts.get_mut(contact) else { return 0 };
        let mut ended = 0;
        for device in state.devices.values_mut() {
            if device.active_index().is_some() {
                device.records.iter_mut().for_each(|r| r.superseded = true);
                ended += 1;
            }
        }
        ended
    }

    /// Forgets everything about `identity` (it was blocked).
    pub(crate) fn forget(&mut self, identity: &IdentityKey) {
        self.contacts.remove(identity);
        self.installations.retain(|_, owner| owner != identity);
        self.adverts.remove(identity);
    }

    /// Sizes of the collections input can grow: contacts with state, known installations,
    /// recent adverts.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        (self.contacts.len(), self.installations.len(), self.adverts.len())
    }

    /// [`VerifiedBundle::verify`], without the Ed25519 verification and point decompression
    /// when the wire bundle is exactly one we hold for its identity: every message carries its
    /// sender's bundle, almost always unchanged, and verifying is a pure function of the bytes,
    /// so the earlier result stands.
    fn verify_bundle(&self, wire: &crate::proto::Bundle) -> Result<VerifiedBundle, crate::x3dh::BundleError> {
        let identity = IdentityKey::from_slice(&wire.identity).ok();
        let held = identity
            .and_then(|i| self.contacts.get(&i))
            .and_then(|contact| contact.bundles.iter().find(|b| b.signature().0[..] == wire.signature[..]))
            .filter(|b| b.to_proto() == *wire);
        match held {
            Some(bundle) => Ok(bundle.clone()),
            None => VerifiedBundle::verify(wire),
        }
    }

    /// Prekeys of our own enabled devices found in a bundle of our identity.
    fn learn_own_devices(
        &mut self,
        ctx: &Ctx<'_>,
        bundle: &VerifiedBundle,
        enabled: &BTreeSet<InstallationId>,
    ) -> bool {
        let mut changed = false;
        for (installation, prekey) in bundle.prekeys() {
            if installation == &ctx.me.installation || !enabled.contains(installation) {
                continue;
            }
            let known = self.own_prekeys.get(installation);
            if known.is_none_or(|k| k.version < prekey.version) {
                self.own_prekeys.insert(installation.clone(), *prekey);
                changed = true;
            }
        }
        changed
    }

    fn on_ratchet(
        &mut self,
        ctx: &mut Ctx<'_>,
        sender: &InstallationId,
        message: &EncryptedMessage,
    ) -> Result<(Device, Vec<u8>), PeerError> {
        let identity = match &message.initial {
            Some(header) => header.identity,
            None => *self.installations.get(sender).ok_or(PeerError::NotForUs)?,
        };
        if identity == *ctx.me.identity.public() {
            return Err(PeerError::NotForUs);
        }
        let me = *ctx.me.identity.public();
        let state = self.contacts.entry_or_default(identity);
        let device = state.devices.entry(sender.clone()).or_default();
        let existing = match &message.initial {
            Some(header) => device.find(&header.session_id(&me)),
            None => device
                .records
                .iter()
                .position(|r| {
                    r.session.bundle_id() == &message.bundle_id
                        && r.session.knows_ratchet_key(&message.header.ratchet_key)
                })
                .or_else(|| device.records.iter().position(|r| r.session.bundle_id() == &message.bundle_id)),
        };
        let plaintext = match existing {
            Some(i) => device.records[i].session.decrypt_in_place(message).map_err(PeerError::Ratchet)?,
            None => {
                let prekeys = self.prekeys.as_ref().ok_or(PeerError::NotForUs)?;
                let (session, plaintext) =
                    respond(&ctx.me.identity, &ctx.me.installation, prekeys, ctx.now, sender, message)
                        .map_err(PeerError::X3dh)?;
                let prekey_version = prekeys.version_of(session.bundle_id(), ctx.now).unwrap_or(0);
                device.add(Record { session, ours: false, prekey_version, superseded: false });
                ctx.actions.push(Action::Notice(Notice::SessionEstablished {
                    identity,
                    installation: sender.clone(),
                    key_exchange: KeyExchange::X3dh,
                }));
                plaintext
            }
        };
        state.agreed.insert(sender.clone());
        self.installations.insert(sender.clone(), identity);
        Ok((Device { identity, installation: sender.clone() }, plaintext))
    }

    fn on_no_bundle(
        &mut self,
        ctx: &mut Ctx<'_>,
        sender: &InstallationId,
        sealed: &NoBundleMessage,
    ) -> Result<(Device, Vec<u8>), PeerError> {
        if sealed.sender == *ctx.me.identity.public() {
            return Err(PeerError::NotForUs);
        }
        let plaintext = sealed.open(&ctx.me.identity, sender).map_err(PeerError::X3dh)?;
        self.installations.insert(sender.clone(), sealed.sender);
        self.contacts.entry_or_default(sealed.sender);
        Ok((Device { identity: sealed.sender, installation: sender.clone() }, plaintext))
    }

    /// 54 "Partitioned devices": entries for other installations of ours but none for this one.
    /// Only a message addressed to our identity is answered, only to the identity it proves,
    /// within the rate limits: a replay on our (shared) partition topic reflects nothing.
    fn on_not_addressed(
        &mut self,
        ctx: &mut Ctx<'_>,
        envelope: &Envelope,
        verified: &[VerifiedBundle],
        enabled: &BTreeSet<InstallationId>,
    ) -> Result<(), PeerError> {
        let ours = |r: &Recipient| match r {
            Recipient::Installation(i) => enabled.contains(i) || self.own_installations.contains(i),
            Recipient::Any => false,
        };
        if !envelope.payloads.keys().any(ours) {
            return Ok(());
        }
        let Some(sender) = proven_sender(envelope, verified, ctx.me.identity.public()) else { return Ok(()) };
        self.adverts.retain(|_, t| ctx.now.saturating_since(*t) < ADVERT_INTERVAL);
        if self.adverts.contains_key(&sender) || self.adverts.len() >= ADVERT_BUDGET {
            return Ok(());
        }
        self.adverts.insert(sender, ctx.now);
        self.send_without_bundle(ctx, &sender, &[], enabled)
    }

    /// Remembers the installations a bundle of our own identity lists.
    fn note_own_installations(&mut self, bundle: &VerifiedBundle) {
        self.own_installations.extend(bundle.prekeys().keys().cloned());
        while self.own_installations.len() > OWN_INSTALLATIONS {
            self.own_installations.pop_first();
        }
    }

    /// Number of sessions held (all contacts and installations), for bound checks.
    pub(crate) fn session_count(&self) -> usize {
        self.contacts.values().flat_map(|c| c.devices.values()).map(|d| d.records.len()).sum()
    }
}

/// The sender's bundle among a message's verified bundles (it lists the sending installation).
fn sender_bundle(verified: &[VerifiedBundle], device: &Device) -> Option<VerifiedBundle> {
    verified.iter().find(|b| *b.identity() == device.identity && b.prekey(&device.installation).is_some()).cloned()
}

/// Whether every identity an envelope names (its bundles, the X3DH headers and no-bundle senders
/// of its entries) is one the seal allows: a sealed sender cannot carry another identity's claims.
fn names_only(envelope: &Envelope, senders: &[IdentityKey]) -> bool {
    let bundles =
        envelope.bundles.iter().all(|b| senders.iter().any(|s| s.as_bytes().as_slice() == b.identity.as_slice()));
    let named = |p: &Payload| match p {
        Payload::Ratchet(m) => m.initial.as_ref().is_none_or(|h| senders.contains(&h.identity)),
        Payload::NoBundle(sealed) => senders.contains(&sealed.sender),
    };
    bundles && envelope.payloads.values().all(named)
}

/// The identity an envelope proves it comes from: a verified bundle of that identity lists the
/// sending installation, and every entry with a visible sender names the same identity. A bundle
/// alone proves nothing (anyone can replay it); `None` when the envelope proves no other identity.
fn proven_sender(envelope: &Envelope, verified: &[VerifiedBundle], me: &IdentityKey) -> Option<IdentityKey> {
    let bundle = verified.iter().find(|b| b.prekey(&envelope.sender).is_some())?;
    let identity = *bundle.identity();
    let named = |p: &Payload| match p {
        Payload::Ratchet(m) => m.initial.as_ref().is_none_or(|h| h.identity == identity),
        Payload::NoBundle(sealed) => sealed.sender == identity,
    };
    (identity != *me && envelope.payloads.values().all(named)).then_some(identity)
}

impl WakuMessage {
    /// The same message without a payload version (X3DH `ProtocolMessage`s are version 0).
    pub(crate) fn unversioned(mut self) -> Self {
        self.version = None;
        self.ephemeral = None;
        self
    }
}
