//! Both suites in one simulation: each user's devices run the real peer (ours) or a Suite S
//! endpoint, as [`Suite::of`] says, on one network and under one checker.

use std::rc::Rc;

use status_1to1::{SeededEntropy, Timestamp};

use crate::node::{DeviceSpec, NodeAction, NodeEvent, NodeFactory, RestoreError, SimNode, Stored};
use crate::peer_node::{PeerFactory, PeerNode};
use crate::scenario::Suite;
use crate::status_node::{StatusFactory, StatusNode};
use crate::workload::Directory;

/// Builds each device on its user's suite.
#[derive(Debug)]
pub struct SuiteFactory {
    suite: Suite,
    ours: PeerFactory,
    status: StatusFactory,
}

impl SuiteFactory {
    /// A factory for `suite` over the scenario's directory.
    pub fn new(dir: Rc<Directory>, suite: Suite) -> Self {
        Self { suite, ours: PeerFactory::new(Rc::clone(&dir)), status: StatusFactory::new(dir) }
    }
}

/// A device of either suite.
#[derive(Debug)]
pub enum SuiteNode {
    /// The real peer.
    Ours(Box<PeerNode>),
    /// A Suite S endpoint.
    Status(Box<StatusNode>),
}

impl SimNode for SuiteNode {
    fn handle(&mut self, now: Timestamp, event: NodeEvent<'_>, out: &mut Vec<NodeAction>) {
        match self {
            SuiteNode::Ours(node) => node.handle(now, event, out),
            SuiteNode::Status(node) => node.handle(now, event, out),
        }
    }

    fn state_bytes(&self) -> usize {
        match self {
            SuiteNode::Ours(node) => node.state_bytes(),
            SuiteNode::Status(node) => node.state_bytes(),
        }
    }
}

impl NodeFactory for SuiteFactory {
    type Node = SuiteNode;

    fn create(&mut self, spec: &DeviceSpec, entropy: SeededEntropy) -> SuiteNode {
        match self.suite.of(spec.user) {
            Suite::Status => SuiteNode::Status(Box::new(self.status.create(spec, entropy))),
            _ => SuiteNode::Ours(Box::new(self.ours.create(spec, entropy))),
        }
    }

    fn restore(
        &mut self,
        spec: &DeviceSpec,
        stored: &Stored,
        entropy: SeededEntropy,
    ) -> Result<SuiteNode, RestoreError> {
        Ok(match self.suite.of(spec.user) {
            Suite::Status => SuiteNode::Status(Box::new(self.status.restore(spec, stored, entropy)?)),
            _ => SuiteNode::Ours(Box::new(self.ours.restore(spec, stored, entropy)?)),
        })
    }
}
