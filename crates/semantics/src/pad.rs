//! `Pad` (`docs/semantics.md` section 3): which input element an output element of a padded
//! axis reads. Every checker that runs `Pad` (the float reference, the engine, the circuit)
//! maps indices through [`PadMode::source`]; the one-step verifier
//! (`contracts/src/onestep/Layout.sol`, `Layout.pad`) recomputes the same arithmetic.

use crate::{Error, Result};

/// How `Pad` fills the elements outside the input (ONNX `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum PadMode {
    /// The node's constant value (one-step code 0).
    Constant,
    /// The mirror image without the edge element: `x[-i]`, `x[2(d-1) - i]` (code 1; every pad
    /// is smaller than its axis).
    Reflect,
    /// The nearest edge element: `x[clamp(i, 0, d - 1)]` (code 2).
    Edge,
    /// Periodic: `x[i mod d]` (code 3; ONNX opset 19).
    Wrap,
}

impl PadMode {
    /// Every mode, in code order.
    pub const ALL: [Self; 4] = [Self::Constant, Self::Reflect, Self::Edge, Self::Wrap];

    /// The ONNX `mode` string (also the test vectors' `attrs.mode`).
    pub const fn name(self) -> &'static str {
        match self {
            Self::Constant => "constant",
            Self::Reflect => "reflect",
            Self::Edge => "edge",
            Self::Wrap => "wrap",
        }
    }

    /// The mode of an ONNX `mode` string.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }

    /// The code in the one-step descriptor (`attrs[0]`, `docs/semantics.md` section 8.1).
    pub const fn code(self) -> u8 {
        match self {
            Self::Constant => 0,
            Self::Reflect => 1,
            Self::Edge => 2,
            Self::Wrap => 3,
        }
    }

    /// The input index along one axis of size `dim` that output index `o` reads, where the
    /// axis is padded by `begin` elements in front; `None` is the constant value (`Constant`
    /// mode only). An `o` that no input element can fill (a reflection past the far edge,
    /// an edge or wrap of an empty axis) is outside the domain.
    pub fn source(self, o: usize, begin: usize, dim: usize) -> Result<Option<usize>> {
        let dom = Error::Domain {
            what: "pad beyond what its mode can fill",
        };
        let (o, begin, d) = (
            i64::try_from(o).map_err(|_| dom)?,
            i64::try_from(begin).map_err(|_| dom)?,
            i64::try_from(dim).map_err(|_| dom)?,
        );
        let i = o - begin;
        if (0..d).contains(&i) {
            return Ok(Some(i as usize));
        }
        let j = match self {
            Self::Constant => return Ok(None),
            Self::Reflect if i < 0 => -i,
            Self::Reflect => 2 * (d - 1) - i,
            Self::Edge if i < 0 => 0,
            Self::Edge => d - 1,
            Self::Wrap if d > 0 => i.rem_euclid(d),
            Self::Wrap => -1,
        };
        if (0..d).contains(&j) {
            Ok(Some(j as usize))
        } else {
            Err(dom)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PadMode;

    /// `np.pad(range(d), (b, e), mode)` as source indices.
    fn row(mode: PadMode, d: usize, b: usize, e: usize) -> Vec<Option<usize>> {
        (0..d + b + e)
            .map(|o| mode.source(o, b, d).unwrap())
            .collect()
    }

    #[test]
    fn modes_match_numpy_pad() {
        let s = |v: &[usize]| v.iter().map(|&i| Some(i)).collect::<Vec<_>>();
        // np.pad([0, 1, 2, 3], (2, 3), 'reflect') = [2, 1, 0, 1, 2, 3, 2, 1, 0]
        assert_eq!(
            row(PadMode::Reflect, 4, 2, 3),
            s(&[2, 1, 0, 1, 2, 3, 2, 1, 0])
        );
        assert_eq!(row(PadMode::Edge, 3, 2, 1), s(&[0, 0, 0, 1, 2, 2]));
        // np.pad([0, 1, 2], 4, 'wrap') = [2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0]
        assert_eq!(
            row(PadMode::Wrap, 3, 4, 4),
            s(&[2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
        );
        assert_eq!(
            row(PadMode::Constant, 2, 1, 2),
            vec![None, Some(0), Some(1), None, None]
        );
    }

    #[test]
    fn out_of_domain_is_an_error() {
        assert!(PadMode::Reflect.source(0, 3, 3).is_err());
        assert!(PadMode::Reflect.source(5, 0, 3).is_err());
        assert!(PadMode::Edge.source(0, 1, 0).is_err());
        assert!(PadMode::Wrap.source(0, 1, 0).is_err());
        for m in PadMode::ALL {
            assert_eq!(PadMode::from_name(m.name()), Some(m));
        }
    }
}
