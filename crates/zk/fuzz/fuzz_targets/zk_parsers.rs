//! Never panics on untrusted bytes: proof files, proofs, verifying keys, keys-file headers.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = vouch_zk::ProofFile::from_bytes(data);
    let _ = vouch_zk::Proof::from_bytes(data);
    let _ = vouch_zk::VerifyingKey::from_bytes(data);
    let _ = vouch_zk::files::read_keys_vk(data);
});
