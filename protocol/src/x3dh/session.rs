//! Sessions: an X3DH exchange followed by a Double Ratchet, bound to both identities and both
//! installation ids through the associated data.
//!
//! A session is created on the initiator by [`initiate`] (from a verified bundle) and on the
//! responder by [`respond`] (from a first message that decrypts; nothing is created otherwise).
//! Until the initiator receives a reply it is [`Stage::AwaitingReply`] and attaches its X3DH
//! header to every message (DR §5.1); afterwards it is [`Stage::Confirmed`].

use serde::{Deserialize, Serialize};

use super::agreement::{initiator_secret, responder_secret};
use super::encoding::{AssociatedData, SessionId};
use super::prekeys::PrekeyStore;
use super::{VerifiedBundle, X3dhError};
use crate::crypto::{KeyPair, PublicKey};
use crate::entropy::Entropy;
use crate::identity::{IdentityKey, IdentityKeyPair, InstallationId};
use crate::ratchet::{Header, Ratchet, RatchetError};
use crate::time::Timestamp;

/// The X3DH part of the initiator's messages (`X3DHHeader`): IK_A, EK_A and the SPK_B used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InitialHeader {
    /// The initiator's identity key IK_A.
    pub identity: IdentityKey,
    /// The initiator's ephemeral key EK_A.
    pub ephemeral: PublicKey,
    /// The responder's signed prekey SPK_B (the bundle id).
    pub prekey: PublicKey,
}

impl InitialHeader {
    /// The id of the session this header starts, with `responder` (our identity when we
    /// receive it). Look it up before calling [`respond`]: a header seen again (it is attached
    /// to every message until the reply, and it can be replayed) must reuse that session.
    pub fn session_id(&self, responder: &IdentityKey) -> SessionId {
        SessionId::compute(&self.identity, &self.ephemeral, &self.prekey, responder)
    }
}

/// One Double Ratchet message for one installation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncryptedMessage {
    /// The X3DH header, while the sender's session awaits a reply.
    pub initial: Option<InitialHeader>,
    /// The ratchet header.
    pub header: Header,
    /// The bundle id: the responder's signed prekey the session was built on (`DRHeader.id`).
    /// Not authenticated on its own; it only helps locate the session.
    pub bundle_id: PublicKey,
    /// AES-256-GCM ciphertext and tag.
    #[serde(with = "crate::serde_bytes::vec")]
    pub ciphertext: Vec<u8>,
}

/// Which side of the X3DH exchange we were.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// We fetched the peer's bundle and sent the first message (A).
    Initiator,
    /// We received the first message (B).
    Responder,
}

/// Where a session stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// We initiated and have not yet received anything on this session: every message carries
    /// `header`.
    AwaitingReply {
        /// Our X3DH header.
        header: InitialHeader,
    },
    /// We have received on this session: the peer holds it too.
    Confirmed,
}

impl Stage {
    /// The state's name in [`SESSION_STATE_MACHINE`].
    pub const fn name(&self) -> &'static str {
        match self {
            Self::AwaitingReply { .. } => "AwaitingReply",
            Self::Confirmed => "Confirmed",
        }
    }
}

/// A session's stages ([`crate::diagram`]). Only a message that authenticates creates or
/// advances a session; a refused `encrypt` returns it unchanged, a refused decrypt keeps it.
pub const SESSION_STATE_MACHINE: crate::diagram::Machine = {
    use crate::diagram::{OUTSIDE, Transition as T};
    crate::diagram::Machine {
        id: "x3dh_session",
        title: "X3DH session (53/WAKU2-X3DH, 54/WAKU2-X3DH-SESSIONS)",
        code: "`x3dh::Stage` (`Session::stage`), `protocol/src/x3dh/session.rs`",
        summary: "One X3DH + Double Ratchet session with one installation of a contact. The initiator attaches \
                  its X3DH header to every message until anything from the peer decrypts on the session; the \
                  responder's session exists only once the first message authenticated. The peer \
                  (`peer/x3dh_path.rs`) keeps up to six sessions per contact installation and sends on the \
                  non-superseded one with the smallest session id, so concurrent sessions converge.",
        transitions: &[
            T::new(OUTSIDE, "initiate", "AwaitingReply", "from a verified bundle"),
            T::new(OUTSIDE, "respond", "Confirmed", "the first message authenticates"),
            T::new("AwaitingReply", "encrypt", "AwaitingReply", "X3DH header attached"),
            T::new("AwaitingReply", "decrypt", "Confirmed", "a message from the peer authenticates"),
            T::new("Confirmed", "encrypt", "Confirmed", ""),
            T::new("Confirmed", "decrypt", "Confirmed", ""),
        ],
    }
};

/// One end of a session: an identity and one of its installations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Party {
    /// The identity key.
    pub identity: IdentityKey,
    /// The installation id.
    pub installation: InstallationId,
}

/// An X3DH + Double Ratchet session with one installation of a peer.
///
/// Serialize it after every operation and before sending or processing its result; the
/// serialized form restores exactly. `Debug` shows public data only.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    id: SessionId,
    role: Role,
    local: Party,
    peer: Party,
    bundle_id: PublicKey,
    stage: Stage,
    ratchet: Ratchet,
}

/// A refused encryption: the session comes back unchanged.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct EncryptError {
    /// The session, as it was.
    pub session: Box<Session>,
    /// Why.
    pub reason: RatchetError,
}

/// Starts a session with installation `peer_installation` of the bundle's identity: draws EK_A,
/// runs X3DH and initialises the ratchet (DR §3.3). The first message is sent with
/// [`Session::encrypt`].
pub fn initiate(
    identity: &IdentityKeyPair,
    installation: &InstallationId,
    bundle: &VerifiedBundle,
    peer_installation: &InstallationId,
    entropy: &mut dyn Entropy,
) -> Result<Session, X3dhError> {
    let prekey = bundle
        .prekey(peer_installation)
        .ok_or_else(|| X3dhError::NoPrekeyForInstallation(peer_installation.to_string()))?
        .key;
    let ephemeral = KeyPair::generate(entropy);
    let shared = initiator_secret(identity, &ephemeral, bundle.identity(), &prekey)?;
    let ratchet = Ratchet::initiator(shared, &prekey, entropy)?;
    let header = InitialHeader { identity: *identity.public(), ephemeral: *ephemeral.public(), prekey };
    Ok(Session {
        id: header.session_id(bundle.identity()),
        role: Role::Initiator,
        local: Party { identity: *identity.public(), installation: installation.clone() },
        peer: Party { identity: *bundle.identity(), installation: peer_installation.clone() },
        bundle_id: prekey,
        stage: Stage::AwaitingReply { header },
        ratchet,
    })
}

/// Creates the responder's session from a message carrying an X3DH header, and decrypts it. The
/// session exists only if the message authenticates; on error nothing was created.
///
/// Call it only when no session with `message.initial.session_id(our identity)` exists (decrypt
/// with that session instead): re-running X3DH on a replayed header would restart the ratchet.
/// `peer_installation` is the sender's installation id from the `ProtocolMessage`; it is bound
/// into the AD, so a relabelled message fails to decrypt.
pub fn respond(
    identity: &IdentityKeyPair,
    installation: &InstallationId,
    prekeys: &PrekeyStore,
    now: Timestamp,
    peer_installation: &InstallationId,
    message: &EncryptedMessage,
) -> Result<(Session, Vec<u8>), X3dhError> {
    let header = message.initial.ok_or(X3dhError::MissingInitialHeader)?;
    // EK_A's encoding is hashed into the session id: an alias would start a second session.
    if !header.ephemeral.is_canonical() {
        return Err(X3dhError::NonCanonicalKey);
    }
    if header.prekey != message.bundle_id {
        return Err(X3dhError::BundleIdMismatch);
    }
    let prekey = prekeys.find(&header.prekey, now).ok_or(X3dhError::UnknownPrekey)?;
    let shared = responder_secret(identity, prekey, &header.identity, &header.ephemeral)?;
    let ratchet = Ratchet::responder(shared, prekey, &message.header.ratchet_key)?;
    let mut session = Session {
        id: header.session_id(identity.public()),
        role: Role::Responder,
        local: Party { identity: *identity.public(), installation: installation.clone() },
        peer: Party { identity: header.identity, installation: peer_installation.clone() },
        bundle_id: header.prekey,
        stage: Stage::Confirmed,
        ratchet,
    };
    let plaintext = session.decrypt_in_place(message)?;
    Ok((session, plaintext))
}

impl Session {
    /// Encrypts `plaintext`, returning the advanced session together with the message, so that
    /// the state that produced a ciphertext is always the one kept. Persist the returned session
    /// before sending: sending from an older copy would reuse an AES-GCM key and nonce.
    pub fn encrypt(
        mut self,
        plaintext: &[u8],
        entropy: &mut dyn Entropy,
    ) -> Result<(Session, EncryptedMessage), EncryptError> {
        let ad = self.associated_data();
        match self.ratchet.encrypt(plaintext, ad.as_bytes(), entropy) {
            Ok((header, ciphertext)) => {
                let initial = match &self.stage {
                    Stage::AwaitingReply { header } => Some(*header),
                    Stage::Confirmed => None,
                };
                let message = EncryptedMessage { initial, header, bundle_id: self.bundle_id, ciphertext };
                Ok((self, message))
            }
            Err(reason) => Err(EncryptError { session: Box::new(self), reason }),
        }
    }

    /// Decrypts `message`, returning the advanced session and the plaintext; `self` is untouched,
    /// so on error the caller simply keeps it.
    pub fn decrypt(&self, message: &EncryptedMessage) -> Result<(Session, Vec<u8>), RatchetError> {
        let mut next = self.clone();
        let plaintext = next.decrypt_in_place(message)?;
        Ok((next, plaintext))
    }

    /// Decrypts `message` in place: the session advances only if the message authenticates,
    /// and is left exactly as it was on any error (no clone, for the hot path).
    pub fn decrypt_in_place(&mut self, message: &EncryptedMessage) -> Result<Vec<u8>, RatchetError> {
        if message.bundle_id != self.bundle_id {
            return Err(RatchetError::WrongSession);
        }
        if let Some(initial) = &message.initial
            && initial.session_id(&self.local.identity) != self.id
        {
            return Err(RatchetError::WrongSession);
        }
        let ad = self.associated_data();
        let plaintext = self.ratchet.decrypt(&message.header, &message.ciphertext, ad.as_bytes())?;
        self.stage = Stage::Confirmed;
        Ok(plaintext)
    }

    /// The AD: the initiator's identity and installation first, in both directions.
    pub fn associated_data(&self) -> AssociatedData {
        let (a, b) = match self.role {
            Role::Initiator => (&self.local, &self.peer),
            Role::Responder => (&self.peer, &self.local),
        };
        AssociatedData::new(&a.identity, &b.identity, &a.installation, Some(&b.installation))
    }

    /// The session id.
    pub fn id(&self) -> SessionId {
        self.id
    }

    /// Our side of the exchange.
    pub fn role(&self) -> Role {
        self.role
    }

    /// Awaiting a reply or confirmed.
    pub fn stage(&self) -> &Stage {
        &self.stage
    }

    /// Whether the peer has answered on this session (always true for a responder).
    pub fn is_confirmed(&self) -> bool {
        self.stage == Stage::Confirmed
    }

    /// Us: identity and installation.
    pub fn local(&self) -> &Party {
        &self.local
    }

    /// The peer: identity and installation. These are authenticated (through the AD) for every
    /// message this session decrypts, unlike the `ProtocolMessage` fields.
    pub fn peer(&self) -> &Party {
        &self.peer
    }

    /// The responder's signed prekey this session was built on (`DRHeader.id`).
    pub fn bundle_id(&self) -> &PublicKey {
        &self.bundle_id
    }

    /// Whether `ratchet_key` is a receiving chain of this session: a cheap way to pick the
    /// session to try first among several with the same peer installation.
    pub fn knows_ratchet_key(&self, ratchet_key: &PublicKey) -> bool {
        self.ratchet.knows_ratchet_key(ratchet_key)
    }

    /// The ratchet state (inspection).
    pub fn ratchet(&self) -> &Ratchet {
        &self.ratchet
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("local", &self.local)
            .field("peer", &self.peer)
            .field("bundle_id", &self.bundle_id)
            .field("stage", &self.stage)
            .field("ratchet", &self.ratchet)
            .finish()
    }
}
