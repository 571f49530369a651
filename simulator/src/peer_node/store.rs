//! Store catch-up for the peer: one peer query (any number of content topics, one time range)
//! becomes store v3 queries of at most 10 content topics on one pubsub topic each, paged and
//! retried; the pages are gathered and handed to the peer as one answer.

use std::collections::BTreeMap;

use status_1to1::time::Timestamp;
use status_1to1::waku::WakuMessage;

use crate::node::{DeviceSpec, StoreError, StorePage, StoreQuery};

/// Attempts per sub-query before its part of the range is left to the senders' retries.
pub(crate) const STORE_ATTEMPTS: u8 = 4;
/// Wait before a failed sub-query is sent again.
pub(crate) const STORE_RETRY_MS: u64 = 5_000;
/// nwaku's `MaxContentTopicsPerQuery`.
const MAX_TOPICS_PER_QUERY: usize = 10;
/// nwaku's `MaxPageSize`.
const PAGE_LIMIT: u32 = 100;

/// One store v3 query of a job.
#[derive(Debug, Clone)]
struct Part {
    query: StoreQuery,
    attempts: u8,
    state: PartState,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PartState {
    /// Waiting for the answer to this simulator request.
    InFlight(u64),
    /// Failed; to be sent again on the retry timer.
    Failed,
    /// Every page arrived, or it gave up.
    Done,
}

/// A peer query in progress.
#[derive(Debug, Clone)]
struct Job {
    parts: Vec<Part>,
    messages: Vec<WakuMessage>,
}

/// What to do after a store answer.
#[derive(Debug)]
pub(crate) enum StoreStep {
    /// Nothing yet (a request of ours that is still open, or not ours).
    Wait,
    /// Send this query (the next page).
    Query(u64, StoreQuery),
    /// A part failed: arm the retry timer.
    RetryLater,
    /// The peer query `request` is complete: hand these messages to the peer.
    Complete(u64, Vec<WakuMessage>),
}

/// Every peer query in progress on a device. Not persisted: a restarted peer queries again.
#[derive(Debug, Default)]
pub(crate) struct StoreJobs {
    jobs: BTreeMap<u64, Job>,
    next_request: u64,
}

impl StoreJobs {
    fn request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Splits a peer query into store queries; returns them with their request ids (none if no
    /// topic maps to a pubsub topic: the job is then complete at once).
    pub fn start(
        &mut self,
        spec: &DeviceSpec,
        peer_request: u64,
        topics: &[String],
        start: Timestamp,
        end: Timestamp,
    ) -> Vec<(u64, StoreQuery)> {
        let mut by_pubsub: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for topic in topics {
            if let Some(pubsub) = spec.pubsub_topic(topic) {
                by_pubsub.entry(pubsub).or_default().push(topic.clone());
            }
        }
        let mut parts = Vec::new();
        let mut out = Vec::new();
        for (pubsub, topics) in by_pubsub {
            for chunk in topics.chunks(MAX_TOPICS_PER_QUERY) {
                let query = StoreQuery {
                    include_data: true,
                    pubsub_topic: Some(pubsub.clone()),
                    content_topics: chunk.to_vec(),
                    time_start: Some(start.as_nanos_i64()),
                    // The peer's range is inclusive, the store's end bound exclusive.
                    time_end: Some(end.as_nanos_i64().saturating_add(1)),
                    forward: true,
                    page_limit: Some(PAGE_LIMIT),
                    ..StoreQuery::default()
                };
                let request = self.request_id();
                out.push((request, query.clone()));
                parts.push(Part { query, attempts: 0, state: PartState::InFlight(request) });
            }
        }
        self.jobs.insert(peer_request, Job { parts, messages: Vec::new() });
        out
    }

    /// Whether `peer_request` has nothing left to wait for (e.g. it had no topics).
    pub fn take_if_complete(&mut self, peer_request: u64) -> Option<Vec<WakuMessage>> {
        let done = self.jobs.get(&peer_request)?.parts.iter().all(|p| p.state == PartState::Done);
        done.then(|| self.jobs.remove(&peer_request).map(|j| j.messages).unwrap_or_default())
    }

    fn find(&mut self, request: u64) -> Option<(u64, usize)> {
        self.jobs.iter().find_map(|(peer_request, job)| {
            job.parts.iter().position(|p| p.state == PartState::InFlight(request)).map(|i| (*peer_request, i))
        })
    }

    /// Takes in a store answer.
    pub fn on_result(&mut self, request: u64, result: Result<&StorePage, StoreError>) -> StoreStep {
        let Some((peer_request, index)) = self.find(request) else { return StoreStep::Wait };
        let next_id = self.request_id();
        let Some(job) = self.jobs.get_mut(&peer_request) else { return StoreStep::Wait };
        let part = &mut job.parts[index];
        match result {
            Ok(page) => {
                job.messages.extend(page.entries.iter().filter_map(|e| e.message().cloned()));
                if let Some(cursor) = page.cursor {
                    part.query.cursor = Some(cursor);
                    part.state = PartState::InFlight(next_id);
                    return StoreStep::Query(next_id, part.query.clone());
                }
                part.state = PartState::Done;
            }
            Err(_) => {
                part.attempts += 1;
                if part.attempts < STORE_ATTEMPTS {
                    part.state = PartState::Failed;
                    return StoreStep::RetryLater;
                }
                part.state = PartState::Done;
            }
        }
        match self.take_if_complete(peer_request) {
            Some(messages) => StoreStep::Complete(peer_request, messages),
            None => StoreStep::Wait,
        }
    }

    /// Sends every failed part again (each to the next store node).
    pub fn retry_failed(&mut self) -> Vec<(u64, u8, StoreQuery)> {
        let mut out = Vec::new();
        let mut ids = Vec::new();
        let failed = self.jobs.values().flat_map(|j| &j.parts).filter(|p| p.state == PartState::Failed).count();
        for _ in 0..failed {
            ids.push(self.request_id());
        }
        let mut ids = ids.into_iter();
        for part in self.jobs.values_mut().flat_map(|j| j.parts.iter_mut()) {
            if part.state == PartState::Failed
                && let Some(id) = ids.next()
            {
                part.state = PartState::InFlight(id);
                out.push((id, part.attempts, part.query.clone()));
            }
        }
        out
    }

    /// Drops every job (a restart; the peer queries again).
    pub fn clear(&mut self) {
        self.jobs.clear();
    }
}
