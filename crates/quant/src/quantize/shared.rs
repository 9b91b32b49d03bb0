//! Constants stored once. An unrolled recurrent cell quantizes each step's copy of its gates'
//! weights, and the gate tables of the steps whose windows coincide, to the same integers: the
//! package keeps the first such constant and every later node reads it (the semantics of a
//! node depend on its constants' values, never on which index holds them).

use super::Builder;
use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use vouch_model::Const;

impl Builder<'_> {
    /// Adds a constant to the package, or finds the equal one already there ([`Shared::add`]),
    /// and returns its index.
    pub(super) fn add_const(
        &mut self,
        name: String,
        scale: f64,
        shape: Vec<usize>,
        data: Vec<i32>,
    ) -> u32 {
        let shape = shape.iter().map(|&d| d as u32).collect();
        let c = Const {
            name,
            scale,
            shape,
            data,
        };
        self.shared.add(&mut self.consts, c)
    }
}

/// The constants added so far, by a hash of their scale, shape and values.
#[derive(Debug, Default)]
pub(super) struct Shared {
    by_hash: BTreeMap<u64, Vec<u32>>,
}

impl Shared {
    /// The index of a constant in `consts` equal to `c` (scale, shape and values; the name is
    /// for humans), after which `c` is not stored; otherwise pushes `c` and returns its index.
    pub(super) fn add(&mut self, consts: &mut Vec<Const>, c: Const) -> u32 {
        let key = key(&c);
        let same = self.by_hash.get(&key).and_then(|ids| {
            ids.iter().copied().find(|&id| {
                consts.get(id as usize).is_some_and(|d| {
                    d.scale.to_bits() == c.scale.to_bits() && d.shape == c.shape && d.data == c.data
                })
            })
        });
        if let Some(id) = same {
            return id;
        }
        let id = u32::try_from(consts.len()).unwrap_or(u32::MAX);
        consts.push(c);
        self.by_hash.entry(key).or_default().push(id);
        id
    }
}

/// A hash of what makes two constants equal (a collision only costs a comparison).
fn key(c: &Const) -> u64 {
    let mut h = DefaultHasher::new();
    c.scale.to_bits().hash(&mut h);
    c.shape.hash(&mut h);
    c.data.hash(&mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn konst(name: &str, scale: f64, shape: Vec<u32>, data: Vec<i32>) -> Const {
        Const {
            name: name.into(),
            scale,
            shape,
            data,
        }
    }

    #[test]
    fn equal_constants_are_stored_once() {
        let mut consts = Vec::new();
        let mut s = Shared::default();
        let a = s.add(&mut consts, konst("t0.w", 0.5, vec![2], vec![1, 2]));
        let b = s.add(&mut consts, konst("t1.w", 0.5, vec![2], vec![1, 2]));
        assert_eq!((a, b), (0, 0));
        assert_eq!(consts.len(), 1);
        assert_eq!(consts[0].name, "t0.w");
    }

    #[test]
    fn constants_differing_in_scale_shape_or_values_stay_apart() {
        let mut consts = Vec::new();
        let mut s = Shared::default();
        let ids = [
            s.add(&mut consts, konst("a", 0.5, vec![2], vec![1, 2])),
            s.add(&mut consts, konst("b", 0.25, vec![2], vec![1, 2])),
            s.add(&mut consts, konst("c", 0.5, vec![1, 2], vec![1, 2])),
            s.add(&mut consts, konst("d", 0.5, vec![2], vec![1, 3])),
        ];
        assert_eq!(ids, [0, 1, 2, 3]);
        assert_eq!(consts.len(), 4);
    }
}
