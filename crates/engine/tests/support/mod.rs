//! What the fast-path tests (`elementwise_fast.rs`, `silu.rs`) share: the `requant` definition
//! in `i128` and the check that the engine agrees with a definition on 1 and 2 threads.

#![allow(dead_code, unreachable_pub)]

use proptest::prelude::*;
use vouch_engine::vectors::Case;
use vouch_model::Requant;

/// `requant` in `i128`, `None` where the product or the rounding leaves `i64`.
pub fn requant_ref(x: i128, rq: &Requant) -> Option<i32> {
    let p = x * i128::from(rq.m);
    let r = if rq.s == 0 {
        p
    } else {
        p + (1i128 << (rq.s - 1))
    };
    if i64::try_from(p).is_err() || i64::try_from(r).is_err() {
        return None;
    }
    Some((r >> rq.s).clamp(i128::from(rq.lo), i128::from(rq.hi)) as i32)
}

/// The engine runs `case` on 1 and 2 threads to `want`, or fails where the definition does
/// (`None`: some element leaves `i64`).
pub fn agrees_on_threads(case: &Case, want: Option<&Vec<i32>>) -> Result<(), TestCaseError> {
    for threads in [1, 2] {
        match (want, case.run_with_threads(threads)) {
            (Some(w), Ok(got)) => prop_assert_eq!(&got.data, w),
            (None, Err(_)) => {}
            (w, got) => prop_assert!(
                false,
                "definition {:?}, engine {:?}",
                w.is_some(),
                got.map(|_| ())
            ),
        }
    }
    Ok(())
}
