//! `import` and `decode_tensor` must return (Ok or Err) on any bytes, never panic.

#![no_main]

use libfuzzer_sys::fuzz_target;
use vouch_onnx::{ImportOptions, decode_tensor, import};

fuzz_target!(|data: &[u8]| {
    let _ = decode_tensor(data);
    let _ = import(data, &ImportOptions::default());
    // Also exercise output selection and pruning with a name taken from the input.
    if let Some((&n, rest)) = data.split_first() {
        let name = String::from_utf8_lossy(rest.get(..usize::from(n % 8)).unwrap_or_default())
            .into_owned();
        let _ = import(
            rest,
            &ImportOptions {
                outputs: Some(vec![name]),
                ..Default::default()
            },
        );
    }
});
