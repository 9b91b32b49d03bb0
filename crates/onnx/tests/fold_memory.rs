//! Memory of importing large constants (issue 15): the peak of heap bytes an import holds, as
//! a counting allocator sees it, stays within a small number of copies of the largest weight.
//! A generated weight larger than the old fold cap (2^24 elements) folds; a stored one is not
//! held encoded and decoded all at once by [`vouch_onnx::import_owned`].
//!
//! The tests run one at a time (a lock), so each peak is its own test's.

#![allow(unsafe_code, clippy::unwrap_used)]

mod common;

use common::*;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use vouch_onnx::{FOp, ImportOptions};

/// Counts live heap bytes and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::SeqCst) + by;
    PEAK.fetch_max(now, Ordering::SeqCst);
}

// SAFETY: every call is forwarded to the system allocator unchanged; only counters are kept.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is the system allocator's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::SeqCst);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as above.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                grew(new_size - layout.size());
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::SeqCst);
            }
        }
        p
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f` and returns its result and the peak heap bytes above what was live before it.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let base = LIVE.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let out = f();
    (out, PEAK.load(Ordering::SeqCst).saturating_sub(base))
}

/// Output features and input features of the test weights: `3 * 2^23` elements, above the
/// 2^24-element cap that folding had.
const M: usize = 3 << 13;
const K: usize = 1 << 10;

#[test]
fn a_generated_weight_above_the_old_fold_cap_folds_in_a_bounded_number_of_copies() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // W = Expand(0.5, [M, K]), y = x · Wᵀ (Gemm transB): a weight the model generates
    let bytes = model(
        13,
        vec![
            node("Expand", &["half", "shape"], &["w"], vec![]),
            node("Gemm", &["x", "w"], &["y"], vec![A::I("transB", 1)]),
        ],
        vec![
            tf("half", &[1], &[0.5]),
            ti("shape", &[2], &[M as i64, K as i64]),
        ],
        vec![input("x", &[-1, K as i64])],
        &["y"],
    );
    let (g, peak) = peak_of(|| vouch_onnx::import(&bytes, &ImportOptions::default()));
    let g = g.unwrap();
    let FOp::Linear { weight, .. } = g.nodes[0].op else {
        panic!("not a Linear: {:?}", g.nodes[0].op);
    };
    let w = &g.consts[weight];
    assert_eq!(w.shape, [M, K]);
    assert!(w.data.iter().all(|&x| x == 0.5));
    // the folded tensor, its copy as the graph's constant, and headroom: never an index of
    // the elements (8 bytes each) nor several intermediate copies
    let size = M * K * 4;
    assert!(
        peak <= 2 * size + size / 4,
        "peak {peak} bytes for a {size}-byte weight"
    );
}

#[test]
fn a_generated_weight_past_the_derived_budget_is_refused_before_it_is_allocated() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    // 2^31 elements of ConstantOfShape: past any budget a small model has
    let bytes = model(
        13,
        vec![
            node("ConstantOfShape", &["shape"], &["w"], vec![]),
            node("Gemm", &["x", "w"], &["y"], vec![A::I("transB", 1)]),
        ],
        vec![ti("shape", &[2], &[1 << 21, 1 << 10])],
        vec![input("x", &[-1, 1 << 10])],
        &["y"],
    );
    let (r, peak) = peak_of(|| vouch_onnx::import(&bytes, &ImportOptions::default()));
    let e = r.unwrap_err().to_string();
    assert!(e.contains("n_w") && e.contains("more than"), "{e}");
    assert!(peak < 1 << 20, "peak {peak} bytes");
}

#[test]
fn an_owned_import_holds_a_stored_weight_about_twice_not_four_times() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let w: Vec<f32> = (0..M * K).map(|i| (i % 7) as f32 - 3.0).collect();
    let bytes = model(
        13,
        vec![node("Gemm", &["x", "w"], &["y"], vec![A::I("transB", 1)])],
        vec![tf_raw("w", &[M as i64, K as i64], &w)],
        vec![input("x", &[-1, K as i64])],
        &["y"],
    );
    drop(w);
    let size = M * K * 4;
    // both peaks are above the live bytes before the call, the encoded model among them
    // borrowed: the decoded message, the decoded tensor and the graph's copy (and the bytes)
    let (g, borrowed) = peak_of(|| vouch_onnx::import(&bytes, &ImportOptions::default()));
    let g = g.unwrap();
    // owned: the bytes are dropped once decoded and each initializer's stored bytes once
    // converted, so past the bytes about one more copy is held at any time
    let (owned_g, owned) = peak_of(|| vouch_onnx::import_owned(bytes, &ImportOptions::default()));
    assert_eq!(owned_g.unwrap(), g, "the same graph either way");
    assert!(
        owned <= size + size / 4,
        "owned import peak {owned} bytes above its input for a {size}-byte weight"
    );
    assert!(
        borrowed >= 2 * size + size / 2,
        "the borrowed import held {borrowed} bytes above its input: several copies were expected"
    );
}
