//! Decision-tree ensembles (`docs/semantics.md` section 3.1): not yet arithmetized. A package
//! holding a `TreeEnsemble` is refused for zk mode before a task is accepted
//! (`vouch_task::Mode::supports`); this module is where the tree constraints will go.

use super::NodeIn;
use crate::gadgets::Sig;
use crate::{Error, Result};

/// `TreeEnsemble`: refused until the circuit supports trees.
pub(super) fn tree_ensemble(nd: &NodeIn<'_>) -> Result<Vec<Sig>> {
    Err(Error::Unsupported(format!(
        "node {:?}: TreeEnsemble has no zk circuit yet (committee mode only)",
        nd.name
    )))
}
