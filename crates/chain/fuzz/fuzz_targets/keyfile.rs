//! Any bytes as a keystore file (`vouch key import --keystore FILE`): the v3 parser never
//! panics, and a file it accepts decrypts or fails with a typed error, never a panic. Files
//! whose key derivation is costly are parsed only (the parser caps it at 2^24 scrypt block
//! mixes; a fuzzer wants microseconds).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_chain::keyfile::Keyfile;

fuzz_target!(|data: &[u8]| {
    let Ok(kf) = Keyfile::parse(data) else { return };
    let _ = kf.to_json();
    if kf.kdf.work() <= 1 << 12 {
        let _ = kf.decrypt(b"pw");
    }
});
