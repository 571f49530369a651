//! Replays a transcript's event log (`events` or `base_script_events`) with one
//! [`Installation`] per device, checking every value the log records.

use std::collections::BTreeMap;

use prost::Message as _;
use serde_json::Value;
use status_1to1::proto;
use status_1to1::statusgo::installation::{HandleError, Installation, SessionInfo, session_id};
use status_1to1::statusgo::{Bundle, PublicKey, SecretKey};

use super::draws::{DrawStream, all_draws};
use super::waku;
use crate::json::{VectorError, array_at, at, hex_at, hex_n_at, opt_str_at, str_at, u64_at};
use crate::report::Report;

/// What one send put on the wire, for the deliveries that follow.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The sender's identity.
    pub sender: PublicKey,
    /// The recipient's identity.
    pub recipient: PublicKey,
    /// The encoded WakuMessage, when the 26/ layer was built.
    pub waku_message: Option<Vec<u8>>,
}

/// The replay's state: every device, the draws still to hand out, and what was sent.
pub struct World {
    /// Installations by device name (`bob-1`).
    pub devices: BTreeMap<String, Installation>,
    /// Identity keys by party name.
    pub identities: BTreeMap<String, SecretKey>,
    /// The draws.
    pub draws: DrawStream,
    /// Sends by event number.
    pub sent: BTreeMap<u64, Sent>,
}

impl World {
    /// Builds the parties from `parties[]`, checking each identity key and installation id against
    /// the setup draw it names.
    pub fn new(doc: &Value, draws_path: &str, report: &mut Report) -> Result<Self, VectorError> {
        let setup: BTreeMap<usize, Vec<u8>> =
            all_draws(doc, draws_path)?.into_iter().map(|d| (d.index, d.bytes)).collect();
        let mut world = Self {
            devices: BTreeMap::new(),
            identities: BTreeMap::new(),
            draws: DrawStream::from_doc(doc, draws_path)?,
            sent: BTreeMap::new(),
        };
        for (i, _) in array_at(doc, "parties")?.iter().enumerate() {
            world.add_party(doc, &format!("parties.{i}"), &setup, report)?;
        }
        Ok(world)
    }

    fn add_party(
        &mut self,
        doc: &Value,
        p: &str,
        setup: &BTreeMap<usize, Vec<u8>>,
        report: &mut Report,
    ) -> Result<(), VectorError> {
        let name = str_at(doc, &format!("{p}.name"))?.to_owned();
        let secret = secret_at(doc, &format!("{p}.identity_private_key"))?;
        if let Ok(draw) = u64_at(doc, &format!("{p}.identity_private_key_draw")) {
            let drawn = setup.get(&(draw as usize)).cloned().unwrap_or_default();
            report.bytes(format!("{p}.identity_private_key_draw"), &drawn, secret.to_bytes().as_ref());
        }
        let public = secret.public_key();
        report.bytes(
            format!("{p}.identity_public_key_compressed"),
            &hex_at(doc, &format!("{p}.identity_public_key_compressed"))?,
            public.compressed(),
        );
        report.bytes(
            format!("{p}.identity_public_key_uncompressed"),
            &hex_at(doc, &format!("{p}.identity_public_key_uncompressed"))?,
            &public.uncompressed(),
        );
        report.value(format!("{p}.chat_id"), str_at(doc, &format!("{p}.chat_id"))?.to_owned(), public.chat_id());
        report.value(
            format!("{p}.address"),
            str_at(doc, &format!("{p}.address"))?.to_lowercase(),
            format!("0x{}", hex::encode(public.address())),
        );
        for (j, _) in array_at(doc, &format!("{p}.installations"))?.iter().enumerate() {
            let q = format!("{p}.installations.{j}");
            let id = str_at(doc, &format!("{q}.installation_id"))?.to_owned();
            if let Ok(draw) = u64_at(doc, &format!("{q}.installation_id_draw")) {
                let drawn = setup.get(&(draw as usize)).cloned().unwrap_or_default();
                let mut one = DrawStream::new(vec![super::draws::Draw {
                    index: draw as usize,
                    purpose: String::new(),
                    bytes: drawn,
                }]);
                report.value(format!("{q}.installation_id"), id.clone(), Installation::generate_id(&mut one));
            }
            let device = str_at(doc, &format!("{q}.device"))?.to_owned();
            self.devices.insert(device, Installation::new(secret.clone(), id));
        }
        self.identities.insert(name, secret);
        Ok(())
    }

    fn device(&mut self, doc: &Value, path: &str) -> Result<&mut Installation, VectorError> {
        let name = str_at(doc, path)?;
        self.devices.get_mut(name).ok_or_else(|| VectorError::Unsupported { path: path.into(), value: name.into() })
    }

    /// Replays every event of `path`.
    pub fn run(&mut self, doc: &Value, path: &str, report: &mut Report) -> Result<(), VectorError> {
        self.run_until(doc, path, usize::MAX, report)
    }

    /// Replays the first `count` events of `path`.
    pub fn run_until(&mut self, doc: &Value, path: &str, count: usize, report: &mut Report) -> Result<(), VectorError> {
        for (i, _) in array_at(doc, path)?.iter().enumerate().take(count) {
            self.event(doc, &format!("{path}.{i}"), report)?;
        }
        Ok(())
    }

    /// The installation of a receiver `{party, device, installation_id}` and its party's identity
    /// key; a device the parties do not list is a fresh installation of that party.
    pub fn receiver(&mut self, doc: &Value, p: &str) -> Result<(&mut Installation, SecretKey), VectorError> {
        let party = str_at(doc, &format!("{p}.party"))?;
        let secret = self.identities.get(party).cloned().ok_or_else(|| VectorError::Missing(format!("{p}.party")))?;
        let device = str_at(doc, &format!("{p}.device"))?.to_owned();
        if !self.devices.contains_key(&device) {
            let id = str_at(doc, &format!("{p}.installation_id"))?.to_owned();
            self.devices.insert(device.clone(), Installation::new(secret.clone(), id));
        }
        Ok((self.device(doc, &format!("{p}.device"))?, secret))
    }

    /// A party's identity key.
    pub fn identity(&self, party: &str) -> Option<&SecretKey> {
        self.identities.get(party)
    }

    fn event(&mut self, doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
        let before = self.draws.mismatches.len();
        match str_at(doc, &format!("{p}.type"))? {
            "get_bundle" => self.get_bundle(doc, p, report)?,
            "process_public_bundle" => self.process_bundle(doc, p, report)?,
            "enable_installation" => {
                let id = str_at(doc, &format!("{p}.enabled_installation_id"))?.to_owned();
                let device = self.device(doc, &format!("{p}.device"))?;
                let own = device.identity();
                report.value(format!("{p}.enabled_installation_id"), true, device.set_enabled(&own, &id, true));
            }
            "send" => self.send(doc, p, report)?,
            "deliver" => self.deliver(doc, p, report)?,
            other => return Err(VectorError::Unsupported { path: format!("{p}.type"), value: other.into() }),
        }
        for mismatch in self.draws.mismatches.split_off(before) {
            report.fail(format!("{p} random draws"), "draws in status-go's order and sizes".into(), mismatch);
        }
        Ok(())
    }

    fn get_bundle(&mut self, doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
        let now = now_at(doc, p)?;
        let expected = hex_at(doc, &format!("{p}.bundle.bundle_protobuf"))?;
        let mut draws = std::mem::take(&mut self.draws);
        let result = self.device(doc, &format!("{p}.device"))?.bundle(now, &mut draws);
        self.draws = draws;
        match result {
            Ok(bundle) => {
                report.bytes(format!("{p}.bundle.bundle_protobuf"), &expected, &bundle.to_proto().encode_to_vec())
            }
            Err(e) => report.step_failed(format!("{p}.bundle"), e),
        }
        Ok(())
    }

    fn process_bundle(&mut self, doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
        let bytes = hex_at(doc, &format!("{p}.bundle.bundle_protobuf"))?;
        let bundle = match Bundle::decode(&bytes) {
            Ok(bundle) => bundle,
            Err(e) => {
                report.step_failed(format!("{p}.bundle"), e);
                return Ok(());
            }
        };
        let learned = self.device(doc, &format!("{p}.device"))?.process_bundle(&bundle);
        let expected = array_at(doc, &format!("{p}.new_installations"))?
            .iter()
            .filter_map(|v| v.get("installation_id").and_then(Value::as_str).map(str::to_owned))
            .collect::<Vec<_>>();
        report.value(format!("{p}.new_installations"), expected, learned);
        Ok(())
    }

    fn send(&mut self, doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
        let now = now_at(doc, p)?;
        let event = u64_at(doc, &format!("{p}.event"))?;
        let recipient = public_at(doc, &format!("{p}.recipient.identity_public_key"))?;
        let sender_secret = self.sender_secret(doc, p)?;
        let plaintext = super::application::check_send(doc, p, &sender_secret, report)?;
        let advert = str_at(doc, &format!("{p}.encryption.status_go_call"))?.ends_with("BuildBundleAdvertiseMessage");
        let mut draws = std::mem::take(&mut self.draws);
        let device = self.device(doc, &format!("{p}.sender.device"))?;
        let negotiated = !advert && device.negotiated(&recipient);
        let built = if advert {
            device.advert(&recipient, now, &mut draws)
        } else {
            device.build(&recipient, &plaintext, now, &mut draws)
        };
        let sender = device.identity();
        let sessions: Vec<(Vec<u8>, SessionInfo)> =
            device.sessions().map(|(id, info)| (id.to_vec(), info.clone())).collect();
        self.draws = draws;
        let message = match built {
            Ok(message) => message,
            Err(e) => {
                report.step_failed(format!("{p}.encryption"), e);
                return Ok(());
            }
        };
        check_entries(doc, p, &message, &sessions, report)?;
        let protocol_message = message.encode_to_vec();
        report.bytes(
            format!("{p}.protocol_message.protobuf"),
            &hex_at(doc, &format!("{p}.protocol_message.protobuf"))?,
            &protocol_message,
        );
        let recorded_route = str_at(doc, &format!("{p}.waku.transport.route"))?;
        report.value(
            format!("{p}.waku.transport.route (negotiated?)"),
            recorded_route.starts_with("negotiated"),
            negotiated,
        );
        let route = waku::Route { sender: &sender_secret, recipient: &recipient, negotiated };
        let waku_message = waku::seal(doc, p, &route, &protocol_message, &mut self.draws, report)?;
        self.sent.insert(event, Sent { sender, recipient, waku_message });
        Ok(())
    }

    fn sender_secret(&self, doc: &Value, p: &str) -> Result<SecretKey, VectorError> {
        let party = str_at(doc, &format!("{p}.sender.party"))?;
        self.identities
            .get(party)
            .cloned()
            .ok_or_else(|| VectorError::Unsupported { path: format!("{p}.sender.party"), value: party.into() })
    }

    fn deliver(&mut self, doc: &Value, p: &str, report: &mut Report) -> Result<(), VectorError> {
        let event = u64_at(doc, &format!("{p}.sent_in_event"))?;
        let sent = self.sent.get(&event).cloned().ok_or_else(|| VectorError::Missing(format!("{p}.sent_in_event")))?;
        let receiver = str_at(doc, &format!("{p}.receiver.party"))?;
        let receiver_secret = self
            .identities
            .get(receiver)
            .cloned()
            .ok_or_else(|| VectorError::Missing(format!("{p}.receiver.party")))?;
        let Some((signer, bytes)) = waku::open(doc, p, &receiver_secret, &sent, report)? else {
            return Ok(());
        };
        let message = match proto::ProtocolMessage::decode(&bytes[..]) {
            Ok(message) => message,
            Err(e) => {
                report.step_failed(format!("{p} ProtocolMessage"), e);
                return Ok(());
            }
        };
        let mut draws = std::mem::take(&mut self.draws);
        let device = self.device(doc, &format!("{p}.receiver.device"))?;
        let handled = device.handle(&signer, &message, &mut draws);
        let sessions: Vec<(Vec<u8>, SessionInfo)> =
            device.sessions().map(|(id, info)| (id.to_vec(), info.clone())).collect();
        self.draws = draws;
        let expected_ok = str_at(doc, &format!("{p}.result"))? == "ok";
        match handled {
            Ok(handled) if expected_ok => {
                let expected = hex_at(doc, &format!("{p}.decrypted_dr_plaintext")).unwrap_or_default();
                report.bytes(format!("{p}.decrypted_dr_plaintext"), &expected, &handled.plaintext);
                if at(doc, &format!("{p}.dr.session_id")).is_ok() {
                    check_session(doc, &format!("{p}.dr"), &sessions, report)?;
                }
                super::application::check_delivery(doc, p, &signer, &handled.plaintext, report)?;
            }
            Ok(_) => report.fail(format!("{p}.result"), "rejected".into(), "accepted".into()),
            Err(e) if expected_ok => report.step_failed(format!("{p}.result"), e),
            Err(e) => {
                let expected = opt_str_at(doc, &format!("{p}.error")).unwrap_or("rejected");
                report.value(format!("{p}.error"), expected_error_kind(expected), error_kind(&e));
            }
        }
        Ok(())
    }
}

fn check_entries(
    doc: &Value,
    p: &str,
    message: &proto::ProtocolMessage,
    sessions: &[(Vec<u8>, SessionInfo)],
    report: &mut Report,
) -> Result<(), VectorError> {
    let entries = array_at(doc, &format!("{p}.encryption.entries"))?;
    let expected_ids: Vec<String> =
        entries.iter().filter_map(|e| e.get("installation_id").and_then(Value::as_str).map(str::to_owned)).collect();
    report.value(
        format!("{p}.encryption.entries (installations)"),
        expected_ids,
        message.encrypted_message.keys().cloned().collect(),
    );
    for (i, _) in entries.iter().enumerate() {
        let q = format!("{p}.encryption.entries.{i}");
        let id = str_at(doc, &format!("{q}.installation_id"))?;
        let actual = message.encrypted_message.get(id).map(|e| e.encode_to_vec()).unwrap_or_default();
        report.bytes(
            format!("{q}.encrypted_message_protocol_protobuf"),
            &hex_at(doc, &format!("{q}.encrypted_message_protocol_protobuf"))?,
            &actual,
        );
        if at(doc, &format!("{q}.dr.session_id")).is_ok() {
            check_session(doc, &format!("{q}.dr"), sessions, report)?;
        }
    }
    Ok(())
}

/// Compares a session's state with `{dr}.session_state_after`, found by `{dr}.session_id`.
fn check_session(
    doc: &Value,
    dr: &str,
    sessions: &[(Vec<u8>, SessionInfo)],
    report: &mut Report,
) -> Result<(), VectorError> {
    let id = hex_at(doc, &format!("{dr}.session_id"))?;
    let Some((_, info)) = sessions.iter().find(|(sid, _)| *sid == id) else {
        report.fail(format!("{dr}.session_id"), hex::encode(&id), "no such session".into());
        return Ok(());
    };
    let bundle_id = PublicKey::from_sec1(&id[..33.min(id.len())]).ok();
    report.value(
        format!("{dr}.session_id (rule)"),
        Some(id.clone()),
        bundle_id.map(|b| session_id(&b, &info.installation_id)),
    );
    let s = format!("{dr}.session_state_after");
    let ratchet = &info.ratchet;
    report.bytes(
        format!("{s}.dh_self_public_key"),
        &hex_at(doc, &format!("{s}.dh_self_public_key"))?,
        ratchet.dhs.public_key().compressed(),
    );
    report.bytes(
        format!("{s}.dh_self_private_key"),
        &hex_at(doc, &format!("{s}.dh_self_private_key"))?,
        ratchet.dhs.to_bytes().as_ref(),
    );
    let remote = opt_str_at(doc, &format!("{s}.dh_remote_public_key"))
        .map(|h| hex::decode(h).unwrap_or_default())
        .unwrap_or_default();
    report.bytes(
        format!("{s}.dh_remote_public_key"),
        &remote,
        ratchet.dhr.map(|k| k.compressed().to_vec()).unwrap_or_default().as_slice(),
    );
    report.bytes(format!("{s}.root_key"), &hex_n_at::<32>(doc, &format!("{s}.root_key"))?, ratchet.root.as_bytes());
    report.bytes(
        format!("{s}.send_chain_key"),
        &hex_n_at::<32>(doc, &format!("{s}.send_chain_key"))?,
        ratchet.send.key.as_bytes(),
    );
    report.bytes(
        format!("{s}.recv_chain_key"),
        &hex_n_at::<32>(doc, &format!("{s}.recv_chain_key"))?,
        ratchet.recv.key.as_bytes(),
    );
    report.value(format!("{s}.send_n"), u64_at(doc, &format!("{s}.send_n"))?, u64::from(ratchet.send.n));
    report.value(format!("{s}.recv_n"), u64_at(doc, &format!("{s}.recv_n"))?, u64::from(ratchet.recv.n));
    report.value(format!("{s}.pn"), u64_at(doc, &format!("{s}.pn"))?, u64::from(ratchet.pn));
    report.value(format!("{s}.keys_count"), u64_at(doc, &format!("{s}.keys_count"))?, ratchet.keys_count);
    Ok(())
}

/// Our error, named as the kind of refusal status-go reports.
pub fn error_kind(error: &HandleError) -> &'static str {
    match error {
        HandleError::Bundle(_) | HandleError::ForeignBundle => "bundle",
        HandleError::DeviceNotFound => "device not found",
        HandleError::NotPairedDevice => "not paired device",
        HandleError::SessionNotFound => "session not found",
        HandleError::Ratchet(_) | HandleError::DhDecrypt => "decrypt",
        _ => "malformed",
    }
}

/// status-go's error message, reduced to the same kinds.
pub fn expected_error_kind(message: &str) -> &'static str {
    if message.contains("device not found") {
        "device not found"
    } else if message.contains("not paired device") {
        "not paired device"
    } else if message.contains("session not found") {
        "session not found"
    } else if message.contains("recovery") || message.contains("identity key and signature mismatch") {
        "bundle"
    } else {
        "decrypt"
    }
}

fn now_at(doc: &Value, p: &str) -> Result<i64, VectorError> {
    i64::try_from(u64_at(doc, &format!("{p}.wall_clock_ns"))?)
        .map_err(|_| VectorError::Missing(format!("{p}.wall_clock_ns")))
}

/// A secp256k1 private key field.
pub fn secret_at(doc: &Value, path: &str) -> Result<SecretKey, VectorError> {
    SecretKey::from_bytes(&hex_n_at::<32>(doc, path)?).map_err(|_| VectorError::BadHex(path.to_owned()))
}

/// A secp256k1 public key field (either SEC1 form).
pub fn public_at(doc: &Value, path: &str) -> Result<PublicKey, VectorError> {
    PublicKey::from_sec1(&hex_at(doc, path)?).map_err(|_| VectorError::BadHex(path.to_owned()))
}
