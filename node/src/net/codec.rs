//! The request-response codec: one postcard value per stream, bounded in
//! size, so a peer cannot make this node buffer more than it allows.

use std::io;
use std::marker::PhantomData;

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use serde::Serialize;
use serde::de::DeserializeOwned;

use curbside_protocol::recon;

/// The sync protocol's name and version.
pub const PROTOCOL: StreamProtocol = StreamProtocol::new("/curbside/sync/1");

/// Largest request a peer may send: a reconciliation message (up to
/// [`recon::MAX_MESSAGE_BYTES`], which two nodes some ten thousand events
/// apart reach) with room for its framing, or a list of ids to fetch.
pub const MAX_REQUEST_BYTES: u64 = recon::MAX_MESSAGE_BYTES as u64 + 64 * 1024;

/// Largest response: a batch of fetched events.
pub const MAX_RESPONSE_BYTES: u64 = 8 * 1024 * 1024;

/// Postcard over a stream: the writer closes its side after the value, so
/// the value's end is the stream's end and no length prefix is needed.
#[derive(Debug)]
pub struct PostcardCodec<Req, Resp>(PhantomData<fn() -> (Req, Resp)>);

impl<Req, Resp> Default for PostcardCodec<Req, Resp> {
    fn default() -> Self {
        Self(PhantomData)
    }
}

impl<Req, Resp> Clone for PostcardCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Reads one value of at most `limit` bytes: the whole stream, which must
/// be the value's canonical encoding and nothing else (no trailing bytes,
/// no over-long varints), so one value has one spelling on the wire.
async fn read_value<T, V>(io: &mut T, limit: u64) -> io::Result<V>
where
    T: AsyncRead + Unpin + Send,
    V: Serialize + DeserializeOwned,
{
    let mut bytes = Vec::new();
    io.take(limit + 1).read_to_end(&mut bytes).await?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message over the {limit}-byte limit"),
        ));
    }
    curbside_protocol::encoding::from_canonical_bytes(&bytes)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

async fn write_value<T, V>(io: &mut T, value: &V, limit: u64) -> io::Result<()>
where
    T: AsyncWrite + Unpin + Send,
    V: Serialize,
{
    let bytes = postcard::to_stdvec(value).map_err(io::Error::other)?;
    if bytes.len() as u64 > limit {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("message of {} bytes over the {limit}-byte limit", bytes.len()),
        ));
    }
    io.write_all(&bytes).await?;
    io.close().await
}

impl<Req, Resp> libp2p::request_response::Codec for PostcardCodec<Req, Resp>
where
    Req: Serialize + DeserializeOwned + Send + Sync,
    Resp: Serialize + DeserializeOwned + Send + Sync,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_value(io, MAX_REQUEST_BYTES).await
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        read_value(io, MAX_RESPONSE_BYTES).await
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_value(io, &req, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        resp: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_value(io, &resp, MAX_RESPONSE_BYTES).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;
    use libp2p::request_response::Codec;

    #[test]
    fn values_round_trip_and_oversized_ones_are_refused() {
        futures::executor::block_on(async {
            let mut codec = PostcardCodec::<Vec<u32>, String>::default();
            let mut buf = Cursor::new(Vec::new());
            codec.write_request(&PROTOCOL, &mut buf, vec![1, 2, 300]).await.unwrap();
            let mut read = Cursor::new(buf.into_inner());
            assert_eq!(codec.read_request(&PROTOCOL, &mut read).await.unwrap(), vec![1, 2, 300]);

            let huge = vec![0u8; MAX_REQUEST_BYTES as usize + 1];
            let mut read = Cursor::new(huge);
            let err = codec.read_request(&PROTOCOL, &mut read).await.unwrap_err();
            assert!(err.to_string().contains("limit"), "{err}");

            let mut read = Cursor::new(vec![0xff, 0xff, 0xff]);
            assert!(codec.read_request(&PROTOCOL, &mut read).await.is_err());
        });
    }

    /// Two sets 20,000 events apart: the initiator's messages grow to
    /// hundreds of KiB, and each must fit in a request both ways (it was
    /// once refused at 256 KiB, failing every sync between nodes that far
    /// apart).
    #[test]
    fn every_reconciliation_message_fits_in_a_request() {
        use crate::wire::Request;
        use crate::wire::Scope;
        use curbside_protocol::recon::{Item, SyncSet, initiate, reconcile, respond};
        let id = |n: u64| {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&n.to_be_bytes());
            id[8..16].copy_from_slice(&n.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_le_bytes());
            id
        };
        let a = SyncSet::from_items((0..20_000).map(|n| Item::new(n * 2, id(n * 2))));
        let b = SyncSet::from_items((0..20_000).map(|n| Item::new(n * 2 + 1, id(n * 2 + 1))));
        let mut message = Some(initiate(&a));
        let mut largest = 0;
        futures::executor::block_on(async {
            let mut codec = PostcardCodec::<Request, ()>::default();
            while let Some(m) = message.take() {
                largest = largest.max(m.encoded_len());
                let request = Request::Reconcile { scope: Scope::Content, message: m.clone() };
                let mut buf = Cursor::new(Vec::new());
                codec.write_request(&PROTOCOL, &mut buf, request).await.unwrap();
                let mut read = Cursor::new(buf.into_inner());
                codec.read_request(&PROTOCOL, &mut read).await.unwrap();
                let Some(reply) = respond(&b, &m).unwrap().next else { break };
                message = reconcile(&a, &reply).unwrap().next;
            }
        });
        assert!(largest > 256 * 1024, "the sets are far enough apart: {largest} bytes");
    }

    /// Found by the property that whatever the codec reads re-encodes to
    /// the bytes read (node/tests/fuzz_props.rs): postcard's `from_bytes`
    /// ignored bytes after the value and took over-long varints, so one
    /// request had many spellings.
    #[test]
    fn trailing_bytes_and_overlong_varints_are_refused() {
        use crate::wire::Request;
        futures::executor::block_on(async {
            let mut codec = PostcardCodec::<Request, Request>::default();
            let read = |bytes: &[u8]| {
                let mut io = Cursor::new(bytes.to_vec());
                let mut codec = codec.clone();
                async move { codec.read_request(&PROTOCOL, &mut io).await }
            };
            // `Fetch { ids: [] }`: variant 2, then an empty list.
            assert!(matches!(read(&[2, 0]).await, Ok(Request::Fetch { ids }) if ids.is_empty()));
            for bad in [&[2, 0, 0][..], &[2, 0, 0xff], &[0x82, 0, 0], &[2, 0x80, 0]] {
                let err = read(bad).await.unwrap_err();
                assert_eq!(err.kind(), io::ErrorKind::InvalidData, "{bad:?}: {err}");
            }
            let mut buf = Cursor::new(Vec::new());
            codec.write_request(&PROTOCOL, &mut buf, Request::Fetch { ids: vec![] }).await.unwrap();
            assert_eq!(buf.into_inner(), [2, 0]);
        });
    }
}
