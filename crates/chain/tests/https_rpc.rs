//! `https://` endpoints: the JSON-RPC client and the beacon reader through a TLS listener in
//! front of a real anvil (port 0), its certificate trusted through `SSL_CERT_FILE` as a user
//! adds a private CA; and the refusals a user must be able to read: a certificate nobody
//! vouches for, a certificate for another host.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer};
use vouch_chain::alloy::primitives::U256;
use vouch_chain::blob::{BeaconBlobs, BlockIds};
use vouch_chain::{Client, Error};
use vouch_testkit::Chain;

/// One test per process: `SSL_CERT_FILE` is set before any thread starts, then the runtime.
#[test]
fn https_rpc_and_beacon_urls_work_and_bad_certificates_are_refused_plainly() {
    let trusted = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    // another self-signed certificate for the same name, under a name of its own
    let stranger = {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "a stranger");
        let signing_key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&signing_key).unwrap();
        rcgen::CertifiedKey { cert, signing_key }
    };
    let dir = tempfile::tempdir().unwrap();
    let roots = dir.path().join("roots.pem");
    std::fs::write(&roots, trusted.cert.pem()).unwrap();
    // SAFETY: this binary's only test sets it before its runtime (or any thread of its own)
    // starts; nothing else reads the environment concurrently.
    unsafe { std::env::set_var("SSL_CERT_FILE", &roots) };
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(run(trusted, stranger));
}

async fn run(
    trusted: rcgen::CertifiedKey<rcgen::KeyPair>,
    stranger: rcgen::CertifiedKey<rcgen::KeyPair>,
) {
    let chain = Chain::start(vouch_testkit::test_config()).await;
    let upstream = chain.url.clone();
    let port = tls_proxy(&trusted, upstream.clone()).await;
    let https = format!("https://localhost:{port}");

    // the whole transaction path over TLS (nonce, gas, signing, receipt), read back over http
    let sys = chain.system_via(&https, 0).await;
    assert_eq!(sys.client().url(), https);
    let to = vouch_testkit::signer(9).address();
    let amount = U256::from(12_345_678_u64);
    sys.transfer(to, amount).await.unwrap();
    let plain = chain.system(0).await;
    assert_eq!(plain.balance(to).await.unwrap(), amount);
    assert_eq!(sys.balance(to).await.unwrap(), amount);

    // the beacon reader over TLS (anvil's beacon routes, found through web3_clientVersion)
    let beacon = BeaconBlobs::new(&https, sys.client().clone()).unwrap();
    assert_eq!(
        beacon.block_ids().await.unwrap(),
        BlockIds::ExecutionNumbers
    );

    // a certificate no root vouches for: refused, and the reason names the certificate
    let port = tls_proxy(&stranger, upstream.clone()).await;
    let e = Client::connect(&format!("https://localhost:{port}"), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    let e = e.to_string();
    assert!(
        e.contains("UnknownIssuer") && e.contains("SSL_CERT_FILE"),
        "{e}"
    );

    // the trusted certificate, but for another name than the URL's host
    let e = Client::connect(&format!("https://127.0.0.1:{}", url_port(&https)), None)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Tls { .. }), "{e:?}");
    let e = e.to_string();
    assert!(e.contains("not valid for name \"127.0.0.1\""), "{e}");

    // a beacon URL whose certificate is refused says so
    let e = BeaconBlobs::new(&format!("https://localhost:{port}"), sys.client().clone())
        .unwrap()
        .block_ids()
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("UnknownIssuer"), "{e}");
}

fn url_port(url: &str) -> u16 {
    url.rsplit(':').next().unwrap().parse().unwrap()
}

/// A TLS listener on loopback serving `cert` that forwards each HTTP/1.1 request (method, path,
/// body) to `upstream` over plain HTTP and writes back its status and body; its port.
async fn tls_proxy(cert: &rcgen::CertifiedKey<rcgen::KeyPair>, upstream: String) -> u16 {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.cert.der().clone()],
            PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into()),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let http = reqwest::Client::new();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, http, upstream) = (acceptor.clone(), http.clone(), upstream.clone());
            tokio::spawn(async move {
                // a handshake the client aborts (an untrusted certificate) ends here
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut conn = BufReader::new(tls);
                while let Some((method, path, body)) = read_request(&mut conn).await {
                    let answer = http
                        .request(method.parse().unwrap(), format!("{upstream}{path}"))
                        .header("content-type", "application/json")
                        .body(body)
                        .send()
                        .await
                        .unwrap();
                    let status = answer.status().as_u16();
                    let body = answer.bytes().await.unwrap();
                    let head = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                        body.len()
                    );
                    let w = conn.get_mut();
                    if w.write_all(head.as_bytes()).await.is_err()
                        || w.write_all(&body).await.is_err()
                        || w.flush().await.is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    port
}

/// One request's method, path and body; `None` at the end of the connection.
async fn read_request<R: tokio::io::AsyncRead + Unpin>(
    conn: &mut BufReader<R>,
) -> Option<(String, String, Vec<u8>)> {
    let mut start = String::new();
    while start.trim().is_empty() {
        start.clear();
        if conn.read_line(&mut start).await.ok()? == 0 {
            return None;
        }
    }
    let mut parts = start.split_whitespace();
    let (method, path) = (parts.next()?.to_owned(), parts.next()?.to_owned());
    let mut len = 0usize;
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            len = v.trim().parse().ok()?;
        }
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body).await.ok()?;
    Some((method, path, body))
}
