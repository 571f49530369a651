//! Request-response framing of the Waku service protocols: one protobuf each way, prefixed by its
//! length as an unsigned varint (js-waku's `it-length-prefixed`, nwaku's `readLp`/`writeLp`).

use std::io;
use std::marker::PhantomData;

use futures::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use libp2p::StreamProtocol;
use libp2p::request_response::Codec;

/// The longest varint a `u64` length takes.
const MAX_VARINT_LEN: usize = 10;

/// Reads and writes `Req` and `Resp` as length-prefixed protobufs of at most `max_len` bytes.
pub(crate) struct ProtoCodec<Req, Resp> {
    max_len: usize,
    _messages: PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> ProtoCodec<Req, Resp> {
    pub(crate) fn new(max_len: usize) -> Self {
        Self { max_len, _messages: PhantomData }
    }
}

// By hand: a derive would needlessly ask `Req: Clone, Resp: Clone`.
impl<Req, Resp> Clone for ProtoCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self::new(self.max_len)
    }
}

impl<Req, Resp> Codec for ProtoCodec<Req, Resp>
where
    Req: prost::Message + Default + Send + 'static,
    Resp: prost::Message + Default + Send + 'static,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> impl Future<Output = io::Result<Req>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_len)
    }

    fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> impl Future<Output = io::Result<Resp>> + Send
    where
        T: AsyncRead + Unpin + Send,
    {
        read_frame(io, self.max_len)
    }

    fn write_request<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: Req,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, req)
    }

    fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Resp,
    ) -> impl Future<Output = io::Result<()>> + Send
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_frame(io, res)
    }
}

/// Reads one frame. The buffer grows only with bytes actually received, so a peer announcing a
/// huge length costs us nothing until it sends them, and more than `max_len` is refused.
async fn read_frame<M: prost::Message + Default, T: AsyncRead + Unpin>(io: &mut T, max_len: usize) -> io::Result<M> {
    let len = read_varint(io).await?;
    if len > max_len as u64 {
        return Err(io::Error::new(io::ErrorKind::InvalidData, format!("frame of {len} bytes exceeds {max_len}")));
    }
    let mut frame = Vec::new();
    io.take(len).read_to_end(&mut frame).await?;
    if frame.len() as u64 != len {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    M::decode(frame.as_slice()).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// An unsigned LEB128 varint, at most ten bytes.
async fn read_varint<T: AsyncRead + Unpin>(io: &mut T) -> io::Result<u64> {
    let mut value = 0u64;
    for i in 0..MAX_VARINT_LEN {
        let mut byte = [0u8; 1];
        io.read_exact(&mut byte).await?;
        value |= u64::from(byte[0] & 0x7f) << (7 * i);
        if byte[0] & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(io::Error::new(io::ErrorKind::InvalidData, "length varint longer than ten bytes"))
}

async fn write_frame<M: prost::Message, T: AsyncWrite + Unpin>(io: &mut T, message: M) -> io::Result<()> {
    io.write_all(&message.encode_length_delimited_to_vec()).await?;
    io.flush().await
}

#[cfg(test)]
mod tests {
    use futures::executor::block_on;

    use super::*;
    use crate::waku::store::wire::WakuMetadata;

    #[test]
    fn frames_round_trip_and_oversize_or_truncated_frames_fail() {
        let message = WakuMetadata { cluster_id: Some(16), shards: vec![32] };
        let mut wire = Vec::new();
        block_on(write_frame(&mut wire, message.clone())).unwrap();
        assert_eq!(wire[0] as usize, wire.len() - 1, "a one-byte varint length");
        let read: WakuMetadata = block_on(read_frame(&mut wire.as_slice(), 64)).unwrap();
        assert_eq!(read, message);
        let too_long = block_on(read_frame::<WakuMetadata, _>(&mut wire.as_slice(), 2)).unwrap_err();
        assert_eq!(too_long.kind(), io::ErrorKind::InvalidData);
        let truncated = block_on(read_frame::<WakuMetadata, _>(&mut &wire[..wire.len() - 1], 64)).unwrap_err();
        assert_eq!(truncated.kind(), io::ErrorKind::UnexpectedEof);
        let endless = [0xffu8; 11];
        assert_eq!(block_on(read_varint(&mut &endless[..])).unwrap_err().kind(), io::ErrorKind::InvalidData);
    }
}
