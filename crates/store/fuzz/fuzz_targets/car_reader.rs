//! The CAR v1 reader must never panic on arbitrary bytes, and every block it accepts must hash
//! to its CID. Run: `cargo +nightly fuzz run car_reader -- -max_total_time=60`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_store::car::{decode_header, read_car};

fuzz_target!(|data: &[u8]| {
    if let Ok(car) = read_car(data, 1 << 20) {
        for (cid, block) in &car.blocks {
            assert!(cid.verifies(block));
        }
    }
    let _ = decode_header(data);
});
