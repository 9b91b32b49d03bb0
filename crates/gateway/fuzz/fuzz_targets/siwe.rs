//! Any text a client sends to `/auth/verify`: parsing a SIWE message, its timestamps and a
//! signature never panics, and a message that parses prints back to text that parses to the
//! same message.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_gateway::siwe::{SiweMessage, parse_rfc3339, recover_personal};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = parse_rfc3339(text);
    let _ = recover_personal(data, text);
    if let Ok(m) = SiweMessage::parse(text) {
        assert_eq!(SiweMessage::parse(&m.to_text()).as_ref(), Ok(&m));
    }
});
