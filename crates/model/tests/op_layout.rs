//! The op layout of `docs/adding-an-op.md`: every checker keeps one module per op family.
//! A checker that grows an op outside its family modules, or loses one, fails here.

use std::path::{Path, PathBuf};

use vouch_model::Family;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The file name of a family's module in one checker.
type FileOf = fn(Family) -> String;

/// The directory of each checker's family modules, and the file name of a family in it.
fn checkers() -> Vec<(&'static str, FileOf)> {
    fn rust(f: Family) -> String {
        format!("{}.rs", f.module())
    }
    fn sol(f: Family) -> String {
        format!("{}.sol", f.solidity())
    }
    vec![
        ("crates/onnx/src/lower", rust),
        ("crates/quant/src/float", rust),
        ("crates/quant/src/quantize", rust),
        ("crates/engine/src/ops", rust),
        ("crates/zk-prover/src/circuit", rust),
        ("contracts/src/onestep", sol),
    ]
}

#[test]
fn every_checker_has_one_module_per_family() {
    let mut missing = Vec::new();
    for (dir, file) in checkers() {
        for family in Family::ALL {
            let path = root().join(dir).join(file(family));
            if !path.is_file() {
                missing.push(format!("{dir}/{}", file(family)));
            }
        }
    }
    assert!(missing.is_empty(), "missing family modules: {missing:?}");
}

#[test]
fn no_checker_source_file_is_over_800_lines() {
    let mut long = Vec::new();
    for entry in std::fs::read_dir(root().join("crates")).expect("crates/") {
        let src = entry.expect("entry").path().join("src");
        visit(&src, &mut |p| {
            let lines = std::fs::read_to_string(p).map_or(0, |s| s.lines().count());
            if lines > 800 {
                long.push(format!("{} ({lines} lines)", p.display()));
            }
        });
    }
    assert!(long.is_empty(), "source files over 800 lines: {long:?}");
}

fn visit(dir: &Path, f: &mut dyn FnMut(&Path)) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            visit(&p, f);
        } else if p.extension().is_some_and(|x| x == "rs") {
            f(&p);
        }
    }
}
