//! A package holding an op without a one-step verifier (a tree ensemble) is refused for the
//! modes that need one, naming the node and the op, and still takes zk mode; other packages
//! take every mode.

use vouch_engine::vectors::all_cases;
use vouch_task::Mode;
use vouch_task::modes::{check_mode, supported_modes};

fn case_package(op: &str) -> vouch_model::Package {
    let groups = all_cases();
    let (_, cases) = groups.iter().find(|(n, _)| *n == op).expect("vector group");
    cases[0].package()
}

#[test]
fn tree_packages_are_refused_for_modes_that_cannot_settle_them() {
    let pkg = case_package("TreeEnsemble");
    for mode in [Mode::Optimistic, Mode::Committee] {
        let err = check_mode(&pkg, mode).unwrap_err().to_string();
        assert!(
            err.contains("TreeEnsemble")
                && err.contains("tree_sum_0")
                && err.contains(mode.as_str())
                && err.contains("one-step verifier"),
            "{err}"
        );
    }
}

/// The zk circuit constrains trees (every node mode and aggregate), so tree packages are
/// offered zk and only zk.
#[test]
fn tree_packages_take_zk_mode() {
    let groups = all_cases();
    let (_, cases) = groups
        .iter()
        .find(|(n, _)| *n == "TreeEnsemble")
        .expect("vector group");
    assert_eq!(cases.len(), 3, "SUM, MIN and MAX cases");
    for case in cases {
        let pkg = case.package();
        assert!(check_mode(&pkg, Mode::Zk).is_ok(), "{}", case.name);
        assert_eq!(supported_modes(&pkg), [Mode::Zk], "{}", case.name);
    }
}

#[test]
fn other_packages_take_every_mode() {
    for op in ["Linear", "Softmax", "Pad"] {
        let pkg = case_package(op);
        assert_eq!(supported_modes(&pkg), Mode::ALL, "{op}");
    }
}

/// A package older than the zk statement (semantics version 3) is not offered zk: its input
/// commitment is refused; the other modes stay.
#[test]
fn packages_older_than_the_zk_statement_are_not_offered_zk() {
    let mut pkg = case_package("Linear");
    for old in [1, 2] {
        pkg.semantics_version = old;
        assert_eq!(
            supported_modes(&pkg),
            [Mode::Optimistic, Mode::Committee],
            "version {old}"
        );
    }
}
