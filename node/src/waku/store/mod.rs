//! The service side a js-waku light client needs: a Store v3 server (`/vac/waku/store-query/3.0.0`)
//! over an in-memory archive of what the node relays and publishes, and the Waku Metadata
//! handshake (`/vac/waku/metadata/1.0.0`) through which a light client learns our cluster and
//! shards before it will query us.

mod archive;
mod codec;
mod wire;

use libp2p::StreamProtocol;
use libp2p::request_response::{self, ProtocolSupport};

pub(crate) use archive::Archive;
use codec::ProtoCodec;
pub(crate) use wire::{StoreQueryRequest, StoreQueryResponse, WakuMetadata};

/// The Store v3 query protocol id.
pub const STORE_PROTOCOL: &str = "/vac/waku/store-query/3.0.0";
/// The Waku Metadata protocol id.
pub const METADATA_PROTOCOL: &str = "/vac/waku/metadata/1.0.0";
/// Most content topics one store query may name (WAKU2-STORE v3; nwaku's limit).
pub const MAX_CONTENT_TOPICS: usize = 10;
/// Page size when a query names none (nwaku's and js-waku's `DEFAULT_PAGE_SIZE`).
pub const DEFAULT_PAGE_SIZE: usize = 20;
/// Largest page served, whatever the query asks (nwaku's `MaxPageSize`).
pub const MAX_PAGE_SIZE: usize = 100;
/// Largest request read. Queries are small (ten topics, a cursor, some hashes); responses are
/// only written, never read, by this server.
const MAX_REQUEST_LEN: usize = 64 * 1024;

/// The store server's libp2p behaviour.
pub(crate) type StoreBehaviour = request_response::Behaviour<ProtoCodec<StoreQueryRequest, StoreQueryResponse>>;
/// The metadata server's libp2p behaviour (request and response are the same message).
pub(crate) type MetadataBehaviour = request_response::Behaviour<ProtoCodec<WakuMetadata, WakuMetadata>>;

/// Serves store queries; never sends any.
pub(crate) fn store_behaviour() -> StoreBehaviour {
    server(STORE_PROTOCOL)
}

/// Answers metadata handshakes; never starts one.
pub(crate) fn metadata_behaviour() -> MetadataBehaviour {
    server(METADATA_PROTOCOL)
}

fn server<Req, Resp>(protocol: &'static str) -> request_response::Behaviour<ProtoCodec<Req, Resp>>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Default + Send + 'static,
{
    request_response::Behaviour::with_codec(
        ProtoCodec::new(MAX_REQUEST_LEN),
        [(StreamProtocol::new(protocol), ProtocolSupport::Inbound)],
        request_response::Config::default(),
    )
}
