//! The SimNode trait is generic: any device program plugs in through a NodeFactory (the real
//! peer will, through an adapter). These deliberately broken nodes prove the wire and state
//! invariants fire for programs other than the stand-in.

use std::rc::Rc;

use status_1to1::waku::WakuMessage;
use status_1to1::{SeededEntropy, Timestamp};
use status_1to1_sim::node::{
    AppCommand, DeviceSpec, NodeAction, NodeEvent, NodeFactory, Notification, PublishVia, RestoreError, SimNode, Stored,
};
use status_1to1_sim::scenario::{Preset, ScenarioConfig};
use status_1to1_sim::{Directory, RunOptions, ViolationKind, World};

#[derive(Clone, Copy, PartialEq)]
enum Flaw {
    Plaintext,
    ZeroTimestamp,
    Oversize,
    Unbounded,
    BadSnapshot,
    Forger,
    Blackhole,
}

struct Broken {
    flaw: Flaw,
    spec: DeviceSpec,
    sent: u64,
}

impl SimNode for Broken {
    fn handle(&mut self, now: Timestamp, event: NodeEvent<'_>, out: &mut Vec<NodeAction>) {
        match event {
            NodeEvent::Start { .. } => out.push(NodeAction::Persist { snapshot: vec![1] }),
            NodeEvent::App(AppCommand::SendText { id, .. }) if self.flaw == Flaw::Blackhole => {
                out.push(NodeAction::Notify(Notification::Accepted { id: *id }));
            }
            NodeEvent::App(AppCommand::SendText { body, .. }) => {
                self.sent += 1;
                let payload = match self.flaw {
                    Flaw::Plaintext => body.clone(),
                    Flaw::Oversize => vec![0; 200 * 1024],
                    _ => vec![0xAB; 16],
                };
                let ts = if self.flaw == Flaw::ZeroTimestamp { 0 } else { now.as_nanos_i64() };
                let mut message = WakuMessage::noise(payload, "/broken/1/x/proto", ts, false);
                message.version = None;
                out.push(NodeAction::Publish { request: self.sent, message, via: PublishVia::Relay });
                if self.flaw == Flaw::Unbounded {
                    out.push(NodeAction::Notify(Notification::Bound { name: "queue", value: self.sent, limit: 1 }));
                }
                if self.flaw == Flaw::Forger {
                    out.push(NodeAction::Notify(Notification::Delivered {
                        from_user: self.spec.user,
                        from_device: self.spec.device,
                        body: b"sim-plaintext:ffffffffffffffff:never-sent".to_vec(),
                    }));
                }
            }
            _ => {}
        }
    }
}

struct Factory(Flaw);

impl NodeFactory for Factory {
    type Node = Broken;

    fn create(&mut self, spec: &DeviceSpec, _: SeededEntropy) -> Broken {
        Broken { flaw: self.0, spec: spec.clone(), sent: 0 }
    }

    fn restore(&mut self, spec: &DeviceSpec, _: &Stored, _: SeededEntropy) -> Result<Broken, RestoreError> {
        if self.0 == Flaw::BadSnapshot {
            return Err(RestoreError("corrupt".into()));
        }
        Ok(self.create(spec, SeededEntropy::from_u64(0)))
    }
}

fn config(crashes: bool) -> ScenarioConfig {
    let mut c = Preset::Tiny.config(9);
    c.faults = Default::default();
    if crashes {
        c.faults.crashes_per_device_hour = 60.0;
        c.faults.restart_mean_ms = 5_000;
    }
    c.liveness = false;
    c
}

fn first_violation(flaw: Flaw, crashes: bool) -> Option<ViolationKind> {
    let r = World::new(config(crashes), |_: Rc<Directory>| Factory(flaw), RunOptions::default()).run();
    r.violations.first().map(|v| v.kind)
}

#[test]
fn wire_and_state_invariants_fire_on_broken_programs() {
    assert_eq!(first_violation(Flaw::Plaintext, false), Some(ViolationKind::PlaintextOnWire));
    assert_eq!(first_violation(Flaw::ZeroTimestamp, false), Some(ViolationKind::MalformedWire));
    assert_eq!(first_violation(Flaw::Oversize, false), Some(ViolationKind::MalformedWire));
    assert_eq!(first_violation(Flaw::Unbounded, false), Some(ViolationKind::BoundExceeded));
    assert_eq!(first_violation(Flaw::BadSnapshot, true), Some(ViolationKind::RestoreFailed));
    assert_eq!(first_violation(Flaw::Forger, false), Some(ViolationKind::Forged));
}

#[test]
fn a_node_that_accepts_but_never_sends_fails_liveness() {
    let mut c = config(false);
    c.liveness = true;
    let r = World::new(c, |_: Rc<Directory>| Factory(Flaw::Blackhole), RunOptions::default()).run();
    assert!(r.owed > 0);
    assert_eq!(r.completed, 0);
    assert_eq!(r.violations.first().map(|v| v.kind), Some(ViolationKind::NotDelivered));
    assert_eq!(r.violation_count, r.owed, "one violation per owed delivery");
}
