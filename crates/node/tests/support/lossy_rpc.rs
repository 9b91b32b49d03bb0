//! A JSON-RPC proxy on loopback that loses and delays requests, in front of a real anvil: of
//! every ten requests one is dropped before it reaches the endpoint (the connection closes
//! unanswered), one is forwarded but its answer dropped (the endpoint acted; the caller never
//! hears), and one is held back for 300–800 ms; the rest pass at once. The choice is a
//! deterministic function of a seed and the request's sequence number.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy did, by kind.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    /// Requests forwarded and answered.
    pub(crate) passed: AtomicU64,
    /// Requests dropped before the endpoint saw them.
    pub(crate) dropped_before: AtomicU64,
    /// Requests the endpoint answered, answer dropped.
    pub(crate) dropped_after: AtomicU64,
    /// Requests delayed (then answered).
    pub(crate) delayed: AtomicU64,
}

impl Counts {
    /// Requests lost or delayed.
    pub(crate) fn faults(&self) -> u64 {
        self.dropped_before.load(Ordering::Relaxed)
            + self.dropped_after.load(Ordering::Relaxed)
            + self.delayed.load(Ordering::Relaxed)
    }

    /// Every request seen.
    pub(crate) fn total(&self) -> u64 {
        self.faults() + self.passed.load(Ordering::Relaxed)
    }
}

/// Starts the proxy in front of `upstream` (`host:port`); returns its URL and its counters.
pub(crate) async fn start(upstream: String, seed: u64) -> (String, Arc<Counts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let counts = Arc::new(Counts::default());
    let seq = Arc::new(AtomicU64::new(0));
    let c = counts.clone();
    tokio::spawn(async move {
        while let Ok((conn, _)) = listener.accept().await {
            let (up, c, seq) = (upstream.clone(), c.clone(), seq.clone());
            tokio::spawn(async move {
                let _ = serve(conn, &up, &c, &seq, seed).await;
            });
        }
    });
    (url, counts)
}

fn mix(mut x: u64) -> u64 {
    // splitmix64
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// One client connection: requests in turn (HTTP/1.1 keep-alive).
async fn serve(
    conn: TcpStream,
    upstream: &str,
    counts: &Counts,
    seq: &AtomicU64,
    seed: u64,
) -> std::io::Result<()> {
    let mut conn = BufReader::new(conn);
    loop {
        let Some(body) = read_request(&mut conn).await? else {
            return Ok(());
        };
        let n = seq.fetch_add(1, Ordering::Relaxed);
        let r = mix(seed ^ n);
        match r % 10 {
            0 => {
                counts.dropped_before.fetch_add(1, Ordering::Relaxed);
                return Ok(()); // closes the connection unanswered
            }
            1 => {
                let _ = forward(upstream, &body).await?;
                counts.dropped_after.fetch_add(1, Ordering::Relaxed);
                return Ok(());
            }
            2 => {
                counts.delayed.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(300 + (r >> 8) % 500)).await;
            }
            _ => {
                counts.passed.fetch_add(1, Ordering::Relaxed);
            }
        }
        let answer = forward(upstream, &body).await?;
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
            answer.len()
        );
        let w = conn.get_mut();
        w.write_all(head.as_bytes()).await?;
        w.write_all(&answer).await?;
        w.flush().await?;
    }
}

/// Reads one HTTP request's body; `None` at the end of the connection.
async fn read_request(conn: &mut BufReader<TcpStream>) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = 0usize;
    let mut first = true;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await? == 0 {
            return Ok(None);
        }
        if line == "\r\n" || line == "\n" {
            if first {
                continue;
            }
            break;
        }
        first = false;
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Sends `body` to the endpoint on a fresh connection and returns the answer's body.
async fn forward(upstream: &str, body: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut s = TcpStream::connect(upstream).await?;
    let head = format!(
        "POST / HTTP/1.1\r\nhost: {upstream}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await?;
    s.write_all(body).await?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(raw.len(), |p| p + 4);
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    let mut out = raw[split..].to_vec();
    if head.contains("transfer-encoding: chunked") {
        out = dechunk(&out);
    }
    Ok(out)
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(p) = b.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size = usize::from_str_radix(String::from_utf8_lossy(&b[..p]).trim(), 16).unwrap_or(0);
        if size == 0 {
            return out;
        }
        let start = p + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
}
