//! What the fast-path tests share: the `requant` definition
//! in `i128` and the check that the engine agrees with a definition on 1 and 2 threads.

#![allow(dead_code, unreachable_pub)]

use proptest::prelude::*;
use vouch_engine::vectors::Case;
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Package, Requant};

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

/// The output size `[oH, oW]` of a window over `hw` (or `None` when it does not fit), plus
/// `extra` positions where the engine's window check allows them (their last taps fall in the
/// padding or beyond): what the convolution tests draw.
pub fn window_out(
    hw: [usize; 2],
    kernel: [usize; 2],
    strides: [usize; 2],
    dil: [usize; 2],
    pads: [usize; 4],
    extra: [usize; 2],
) -> Option<[usize; 2]> {
    let mut out = [0; 2];
    for ax in 0..2 {
        let span = hw[ax] + pads[ax] + pads[ax + 2];
        let o = span.checked_sub(dil[ax] * (kernel[ax] - 1) + 1)? / strides[ax] + 1;
        let o = o + extra[ax];
        if (o - 1) * strides[ax] >= span {
            return None;
        }
        out[ax] = o;
    }
    Some(out)
}

/// A requantized `Conv` of weight constant 0 and bias constant 1.
pub fn conv_op(
    kernel: [usize; 2],
    strides: [usize; 2],
    pads: [usize; 4],
    dil: [usize; 2],
    group: usize,
    rq: vouch_model::Requant,
) -> vouch_model::Op {
    let to_u32 = |a: [usize; 2]| a.map(|v| v as u32);
    vouch_model::Op::Conv {
        weight: 0,
        bias: Some(1),
        kernel: to_u32(kernel),
        strides: to_u32(strides),
        pads: pads.map(|p| p as u32),
        dilations: to_u32(dil),
        group: group as u32,
        rq,
        wide: false,
    }
}

/// The outputs of `pkg` on `inputs` on `threads` threads, on the reference path or the fast
/// paths, traced or not; `None` when the run fails (which node reports it first may differ
/// between the paths). Sets the reference switch for the whole process: for test binaries
/// with one test, which set it before every engine they make.
pub fn run_mode(
    pkg: &Package,
    inputs: &[Tensor],
    threads: usize,
    reference: bool,
    trace: bool,
) -> Option<Vec<Tensor>> {
    // SAFETY: the calling test binary runs one test; set before the engine reads it.
    unsafe {
        std::env::set_var(
            vouch_engine::profile::REFERENCE_ENV,
            if reference { "1" } else { "0" },
        )
    };
    let engine = Engine::new(pkg, Options { threads, trace }).expect("engine");
    engine.run(inputs.to_vec()).ok().map(|e| e.outputs)
}

/// The reference path's outputs of `pkg` on `inputs`, after asserting that a traced run (node
/// by node) and untraced fast runs on 1 and 2 threads give the same (`None`: every path
/// failed). `what` names the case in a failure.
pub fn paths_agree(pkg: &Package, inputs: &[Tensor], what: &str) -> Option<Vec<Tensor>> {
    let want = run_mode(pkg, inputs, 1, true, false);
    assert_eq!(
        run_mode(pkg, inputs, 1, false, true),
        want,
        "{what}: traced"
    );
    for threads in [1, 2] {
        let got = run_mode(pkg, inputs, threads, false, false);
        assert_eq!(got, want, "{what}, {threads} threads");
    }
    want
}
