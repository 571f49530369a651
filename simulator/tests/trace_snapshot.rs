//! Pins the behaviour of a short scripted scenario: two users, one relay device each, a
//! clean network, a few messages. Any change to the event loop, the network model or the
//! stand-in shows up here as a reviewed snapshot diff (`INSTA_UPDATE=always` to accept).

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use status_1to1_sim::scenario::{Preset, ScenarioConfig};
use status_1to1_sim::{RunOptions, run_standin};

#[derive(Clone, Default)]
struct Shared(Rc<RefCell<Vec<u8>>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn scripted() -> ScenarioConfig {
    let mut c = Preset::Tiny.config(2026);
    c.faults = Default::default();
    c.workload.users = 2;
    c.workload.devices_per_user = (1, 1);
    c.workload.light_fraction = 0.0;
    c.workload.msgs_per_user_hour = 240.0;
    c.workload.body_len = (40, 40);
    c.net.service_nodes = 1;
    c.net.store_nodes = 1;
    c.fault_phase_ms = 40_000;
    c.catchup_ms = 20_000;
    c
}

#[test]
fn short_trace_is_pinned() {
    let sink = Shared::default();
    let r = run_standin(scripted(), RunOptions { trace_sink: Some(Box::new(sink.clone())), ..RunOptions::default() });
    assert!(r.passed());
    assert!(r.metrics.issued >= 2, "the scripted scenario should send a few messages");
    let text = String::from_utf8(sink.0.borrow().clone()).unwrap();
    let summary = format!(
        "trace hash {}\nrecords {}\nissued {} delivered {} acks {} retransmissions {}\nlatency p50 {} ms\n",
        r.trace_hex(),
        r.trace_records,
        r.metrics.issued,
        r.metrics.delivered,
        r.metrics.acks,
        r.metrics.retransmissions,
        r.metrics.latency_ms.quantile(0.5),
    );
    insta::assert_snapshot!("summary", summary);
    insta::assert_snapshot!("trace", text);
}
