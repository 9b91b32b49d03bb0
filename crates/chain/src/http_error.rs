//! What an HTTP transport failure was, in words a user can act on: the whole chain of causes
//! (reqwest's own message stops at "error sending request"), and whether TLS refused the peer.

use std::error::Error as StdError;

/// `e` and each of its causes, joined by `": "`; a cause whose text the previous one already
/// holds is skipped. An `io::Error` wrapping another error shows that error (its own `source`
/// skips it).
pub(crate) fn describe(e: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in causes(e) {
        let text = cause.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
    }
    parts.join(": ")
}

/// The TLS error among `e`'s causes: a certificate no trusted root vouches for, one for
/// another name, an expired one, a failed handshake. Such a failure is not retried: sending
/// again meets the same certificate.
pub(crate) fn tls_failure<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    causes(e).find_map(|c| c.downcast_ref::<rustls::Error>())
}

/// `e`, then its causes, looking inside `io::Error`s.
fn causes<'a>(
    e: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(e), |&c: &&'a (dyn StdError + 'static)| {
        match c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(inner) => Some(inner as &(dyn StdError + 'static)),
            None => c.source(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_io_error_shows_the_error_it_wraps_and_its_tls_cause_is_found() {
        let tls = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, tls);
        let text = describe(&io);
        assert!(text.contains("UnknownIssuer"), "{text}");
        assert!(matches!(
            tls_failure(&io),
            Some(rustls::Error::InvalidCertificate(_))
        ));
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        assert!(tls_failure(&refused).is_none());
        assert_eq!(describe(&refused), refused.to_string());
    }
}
