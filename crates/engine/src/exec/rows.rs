//! How many rows a run's inputs hold (`docs/semantics.md` section 8.5), and one row of a
//! batched tensor.

use crate::tensor::Tensor;
use crate::{Error, Result};
use vouch_model::Package;

/// The number of rows `inputs` hold for `pkg` (`docs/semantics.md` section 8.5): the size of
/// their batch dimension, 1 without one. More than one row needs a package that
/// [`Package::takes_rows`].
pub fn rows_of(pkg: &Package, inputs: &[Tensor]) -> Result<usize> {
    let rows = infer_batch(pkg, inputs)?;
    if rows > 1 && !pkg.takes_rows() {
        return Err(Error::Input {
            name: input_names(pkg),
            reason: format!(
                "{rows} rows given, but the model's inputs do not all have the batch dimension \
                 first: it runs one row at a time{}",
                if pkg.shares_inputs() {
                    " in a task (the engine runs several, each with the inputs that have no \
                     batch dimension)"
                } else {
                    ""
                }
            ),
        });
    }
    Ok(rows)
}

/// The number of rows the engine runs `inputs` as: [`rows_of`], or also for a package that
/// [`Package::shares_inputs`] (its batch-free inputs read whole by every row).
pub(super) fn run_rows_of(pkg: &Package, inputs: &[Tensor]) -> Result<usize> {
    if pkg.shares_inputs() {
        infer_batch(pkg, inputs)
    } else if pkg.runs_row_by_row() {
        // axis 0 holds the rows: the inputs must agree on their count (the rest of each shape
        // is checked per row)
        let mut rows = None;
        for (spec, t) in pkg.inputs.iter().zip(inputs) {
            let n = t.shape.first().copied().unwrap_or(1);
            match rows {
                None => rows = Some(n),
                Some(b) if b == n => {}
                Some(b) => {
                    return Err(Error::Input {
                        name: spec.name.clone(),
                        reason: format!("{n} rows (axis 0) differ from {b}"),
                    });
                }
            }
        }
        Ok(rows.unwrap_or(1).max(1))
    } else {
        rows_of(pkg, inputs)
    }
}

/// Rows `r0..r0 + n` of `rows` of a tensor whose batch dimension is axis 0.
pub(super) fn rows_in(t: &Tensor, rows: usize, r0: usize, n: usize) -> Tensor {
    let per = t.data.len() / rows.max(1);
    let mut shape = t.shape.clone();
    if let Some(d) = shape.first_mut() {
        *d = n;
    }
    Tensor {
        shape,
        data: t
            .data
            .get(r0 * per..(r0 + n) * per)
            .unwrap_or_default()
            .to_vec(),
    }
}

/// Puts the rows of a batched tensor end to end (`docs/semantics.md` section 1): its data is
/// `[outer, rows, inner]` (the batch axis after `outer` elements' worth of other axes) and
/// becomes `[rows, outer, inner]`; the shape, the declared one at `rows`, is kept.
pub(super) fn rows_first(t: &mut Tensor, outer: usize, rows: usize) {
    let block = outer.saturating_mul(rows);
    if outer <= 1 || rows <= 1 || block == 0 || !t.data.len().is_multiple_of(block) {
        return;
    }
    let inner = t.data.len() / block;
    let mut data = Vec::with_capacity(t.data.len());
    for r in 0..rows {
        for o in 0..outer {
            let at = (o * rows + r) * inner;
            data.extend_from_slice(t.data.get(at..at + inner).unwrap_or_default());
        }
    }
    t.data = data;
}

/// The size of the batch dimension `inputs` agree on (1 without one); a rank or batch that
/// disagrees with the package is an input error.
pub(super) fn infer_batch(pkg: &Package, inputs: &[Tensor]) -> Result<usize> {
    let mut batch = None;
    for (spec, t) in pkg.inputs.iter().zip(inputs) {
        let info = &pkg.values[spec.value as usize];
        if info.shape.len() != t.shape.len() {
            return Err(Error::Input {
                name: spec.name.clone(),
                reason: format!(
                    "rank {} (shape {:?}), the model expects rank {}",
                    t.shape.len(),
                    t.shape,
                    info.shape.len()
                ),
            });
        }
        for (d, &n) in info.shape.iter().zip(&t.shape) {
            if *d == vouch_model::Dim::Batch {
                match batch {
                    None => batch = Some(n),
                    Some(b) if b == n => {}
                    Some(b) => {
                        return Err(Error::Input {
                            name: spec.name.clone(),
                            reason: format!("batch {n} differs from {b}"),
                        });
                    }
                }
            }
        }
    }
    Ok(batch.unwrap_or(1))
}

/// The package's input names joined by commas: the `name` of an error about all of them.
pub(super) fn input_names(pkg: &Package) -> String {
    pkg.inputs
        .iter()
        .map(|i| i.name.as_str())
        .collect::<Vec<_>>()
        .join(",")
}
