//! Every node's output is checked against its value's kind before it is stored: one value
//! outside the kind's range, wherever it sits (the check runs a chunk of 4,096 values at a
//! time, so at the chunks' edges too), fails the run with an error naming the node, on 1 and 2
//! threads, with and without the fast paths; an output inside the range passes unchanged.

use vouch_engine::vectors::{Case, Rng};
use vouch_engine::{Engine, Options, Tensor};
use vouch_model::{Kind, Op, Requant};

/// A `Rescale` by 1 whose clamp bounds are wider than its `Act16` output (a malformed
/// package: only the output check stops a value outside `i16`).
fn case(x: Tensor) -> Case {
    let n = x.data.len();
    Case {
        name: "wide_rescale".into(),
        op: Op::Rescale {
            rq: Requant {
                m: 1,
                s: 0,
                lo: -(1 << 20),
                hi: 1 << 20,
            },
        },
        inputs: vec![x],
        consts: vec![],
        out_shape: vec![1, n],
        out_kind: Kind::Act16,
    }
}

fn run(x: &Tensor, threads: usize, reference: bool) -> Result<Vec<i32>, String> {
    // SAFETY: this test binary's only test; set before the engine reads it.
    unsafe {
        std::env::set_var(
            vouch_engine::profile::REFERENCE_ENV,
            if reference { "1" } else { "0" },
        )
    };
    let pkg = case(x.clone()).package();
    let engine = Engine::new(
        &pkg,
        Options {
            threads,
            trace: false,
        },
    )
    .map_err(|e| e.to_string())?;
    engine
        .run(vec![x.clone()])
        .map(|ex| ex.outputs[0].data.clone())
        .map_err(|e| e.to_string())
}

#[test]
fn a_value_outside_the_kind_fails_the_node_wherever_it_sits() {
    let n = 3 * 4096 + 5;
    let mut r = Rng::new(7);
    let base = r.act16(&[1, n]);
    for threads in [1, 2] {
        for reference in [false, true] {
            assert_eq!(run(&base, threads, reference).as_ref(), Ok(&base.data));
            for at in [0, 1, 4095, 4096, 4097, 8191, 8192, n - 1] {
                for v in [32_768, -32_769, 1 << 20, -(1 << 20)] {
                    let mut x = base.clone();
                    x.data[at] = v;
                    let err = run(&x, threads, reference).expect_err("out of range");
                    assert!(
                        err.contains("wide_rescale") && err.contains("outside"),
                        "{err} (at {at}, {v}, threads {threads})"
                    );
                }
            }
        }
    }
}
