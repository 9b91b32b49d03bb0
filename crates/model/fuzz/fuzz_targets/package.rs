//! Any bytes: decoding a package never panics, and a package that decodes can be prepared and
//! run on zero inputs of its declared shapes without panicking. The bytes are tried as they
//! are and sealed with their digest (`package::seal`), so mutations reach the decoder.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::package::seal;
use vouch_model::{Dim, Package};

fuzz_target!(|data: &[u8]| {
    check(data);
    check(&seal(data.to_vec()));
});

fn check(data: &[u8]) {
    let Ok(pkg) = Package::from_bytes(data) else { return };
    let _ = pkg.cid();
    let _ = pkg.weights_root();
    let Ok(engine) = Engine::new(&pkg, Options { threads: 1, trace: true }) else { return };
    let inputs = pkg
        .inputs
        .iter()
        .map(|i| {
            let shape: Vec<usize> = pkg.values[i.value as usize]
                .shape
                .iter()
                .map(|d| if let Dim::Fixed(n) = d { (*n as usize).min(64) } else { 1 })
                .collect();
            Tensor::zeros(shape)
        })
        .collect();
    let _ = engine.run(inputs);
}
