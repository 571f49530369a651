//! Peer snapshots: arbitrary bytes, flipped genuine snapshots, and bodies re-framed with a valid
//! checksum so that the decoder behind the checksum is reached.

use std::time::Duration;

use arbitrary::Unstructured;
use status_1to1::SeededEntropy;
use status_1to1::crypto::hash::sha256;
use status_1to1::peer::{Action, Event, Peer, Snapshot};
use status_1to1::time::Timestamp;

use super::peers::sample_snapshots;
use super::xor_at;

const MAGIC: &[u8; 8] = b"S1TO1SNP";
const HEADER_LEN: usize = 14;
const CHECKSUM_LEN: usize = 32;

/// Frames `body` as a version-1 snapshot with a correct length and checksum.
fn frame(body: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    let checksum = sha256(&[&out]);
    out.extend_from_slice(&checksum);
    out
}

/// Peer snapshots. The first byte picks a mode: arbitrary bytes; a genuine snapshot with bytes
/// flipped (checksum kept: must be refused unless nothing changed); a genuine body with bytes
/// flipped, cut or extended, re-framed with a valid checksum; an arbitrary body re-framed.
/// Invariants: nothing panics; a snapshot that is refused is refused whole (`restore` returns an
/// error, there is no partial peer); a genuine snapshot restores to a peer that re-encodes to
/// exactly the same bytes; only canonical bodies restore; any restored peer re-encodes to a snapshot that restores the same
/// peer; and a restored peer, driven by a few events, keeps the peer invariants (a refused event
/// changes nothing, a change is persisted first and the snapshot restores it).
pub fn snapshot(data: &[u8]) {
    let mut u = Unstructured::new(data);
    let Ok(selector) = u.arbitrary::<u8>() else { return };
    let samples = sample_snapshots();
    let pick = u.arbitrary::<u8>().map(usize::from).unwrap_or(0) % samples.len();
    let genuine = samples[pick].as_bytes();
    match selector % 4 {
        0 => {
            let bytes = u.take_rest().to_vec();
            if let Ok(peer) = Peer::restore(&Snapshot::from_bytes(bytes.clone())) {
                let again = check_restored(&peer);
                assert_eq!(again.as_bytes(), bytes.as_slice(), "an accepted snapshot re-encodes differently");
            }
        }
        1 => {
            let mut bytes = genuine.to_vec();
            let at = u.arbitrary::<u32>().unwrap_or(0) as usize;
            let changed = xor_at(&mut bytes, at, u.take_rest());
            match Peer::restore(&Snapshot::from_bytes(bytes)) {
                Ok(peer) => {
                    assert!(!changed, "a corrupted snapshot was accepted");
                    assert_eq!(check_restored(&peer).as_bytes(), genuine, "a genuine snapshot re-encodes differently");
                }
                Err(e) => assert!(changed, "a genuine snapshot was refused: {e}"),
            }
        }
        2 => {
            let mut body = genuine[HEADER_LEN..genuine.len() - CHECKSUM_LEN].to_vec();
            let at = u.arbitrary::<u32>().unwrap_or(0) as usize;
            let cut = u.arbitrary::<u16>().unwrap_or(0);
            let mask = u.arbitrary::<Vec<u8>>().unwrap_or_default();
            xor_at(&mut body, at, &mask);
            if cut % 4 == 1 {
                body.truncate(usize::from(cut) % (body.len() + 1));
            } else if cut % 4 == 2 {
                body.extend_from_slice(u.take_rest());
            }
            restore_reframed(&body);
        }
        _ => restore_reframed(u.take_rest()),
    }
}

/// A body re-framed with a valid length and checksum (a deliberate forger): if it restores, it is
/// canonical (re-encodes to exactly the same bytes), and the peer keeps the peer invariants.
fn restore_reframed(body: &[u8]) {
    let framed = frame(body);
    if let Ok(peer) = Peer::restore(&Snapshot::from_bytes(framed.clone())) {
        assert_eq!(check_restored(&peer).as_bytes(), framed.as_slice(), "a non-canonical snapshot was accepted");
        drive(peer);
    }
}

/// A restored peer re-encodes to a snapshot that restores the same peer and re-encodes the same.
fn check_restored(peer: &Peer) -> Snapshot {
    let snapshot = peer.snapshot().expect("a restored peer encodes");
    let again = Peer::restore(&snapshot).expect("a re-encoded snapshot restores");
    assert!(again == *peer, "a re-encoded snapshot restores a different peer");
    assert_eq!(again.snapshot().expect("encodes"), snapshot, "snapshot encoding is not a fixpoint");
    snapshot
}

/// Drives a restored peer through a few events, checking the peer invariants.
fn drive(mut peer: Peer) {
    let mut entropy = SeededEntropy::from_u64(0x5a5a);
    let mut now = Timestamp::from_millis(1_700_000_100_000);
    let contact = peer.contacts().keys().next().copied();
    let mut events = vec![Event::Start, Event::Timer];
    if let Some(to) = contact {
        events.push(Event::SendText { to, body: b"after restore".to_vec() });
        events.push(Event::EndChat { with: to, public: false });
    }
    events.push(Event::StartPairing);
    // The restored peer's store: its records, then every change set it returns.
    let mut store = peer.records().expect("a restored peer encodes");
    for event in events {
        now = now.saturating_add(Duration::from_secs(600));
        let before = peer.clone();
        match peer.handle(now, event, &mut entropy) {
            Err(_) => assert!(peer == before, "a refused event changed a restored peer"),
            Ok(actions) => {
                if peer != before {
                    super::peers::assert_persist_ordering(&actions);
                    let Some(Action::Persist(changes)) = actions.iter().find(|a| matches!(a, Action::Persist(_)))
                    else {
                        unreachable!("checked by assert_persist_ordering")
                    };
                    store.apply(changes).expect("change sets come in sequence");
                    let restored = Peer::from_records(&store).expect("the stored records load");
                    assert!(restored == peer, "the stored records load a different peer");
                }
            }
        }
    }
}
