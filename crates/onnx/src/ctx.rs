//! The node being lowered ([`Ctx`]): its attributes, inputs and outputs, and the errors that
//! name it.

use crate::error::{Error, Result};
use crate::proto::{AttributeProto, NodeProto};
use crate::tensor::MAX_ELEMS;

/// A node being lowered, with helpers for attributes and errors.
pub(crate) struct Ctx<'n> {
    /// The ONNX node.
    pub(crate) node: &'n NodeProto,
    /// The node's name (`op_type#index` when unnamed), for errors and derived names.
    pub(crate) name: String,
    /// The node's `op_type`.
    pub(crate) op: &'n str,
}

impl Ctx<'_> {
    pub(crate) fn attr(&self, name: &str) -> Option<&AttributeProto> {
        self.node.attribute.iter().find(|a| a.name == name)
    }

    pub(crate) fn bad_attr(&self, attr: &str, reason: impl Into<String>) -> Error {
        Error::BadAttribute {
            node: self.name.clone(),
            attr: attr.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn shape_err(&self, reason: impl Into<String>) -> Error {
        Error::Shape {
            node: self.name.clone(),
            reason: reason.into(),
        }
    }

    pub(crate) fn unsupported(&self, reason: impl Into<String>) -> Error {
        Error::UnsupportedForm {
            node: self.name.clone(),
            op: self.op.to_owned(),
            reason: reason.into(),
        }
    }

    pub(crate) fn bad_input(&self, index: usize, reason: impl Into<String>) -> Error {
        Error::BadInput {
            node: self.name.clone(),
            index,
            reason: reason.into(),
        }
    }

    pub(crate) fn int(&self, name: &str, default: i64) -> i64 {
        self.attr(name).map_or(default, |a| a.i)
    }

    pub(crate) fn float(&self, name: &str, default: f32) -> f32 {
        self.attr(name).map_or(default, |a| a.f)
    }

    pub(crate) fn ints(&self, name: &str) -> Option<&[i64]> {
        self.attr(name).map(|a| a.ints.as_slice())
    }

    pub(crate) fn string(&self, name: &str) -> Option<&[u8]> {
        self.attr(name).map(|a| a.s.as_slice())
    }

    /// The name of input `i`, `None` if absent or empty (an omitted optional input).
    pub(crate) fn input(&self, i: usize) -> Option<&str> {
        self.node
            .input
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    pub(crate) fn output(&self, i: usize) -> Option<&str> {
        self.node
            .output
            .get(i)
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// Normalizes a possibly negative axis against `rank`.
    pub(crate) fn axis(&self, attr: &str, axis: i64, rank: usize) -> Result<usize> {
        let r = i64::try_from(rank).map_err(|_| self.bad_attr(attr, "rank too large"))?;
        let a = if axis < 0 {
            axis.saturating_add(r)
        } else {
            axis
        };
        if (0..r).contains(&a) {
            usize::try_from(a).map_err(|_| self.bad_attr(attr, "axis out of range"))
        } else {
            let shown = crate::tensor::show_ints(&[axis]);
            let shown = shown.trim_matches(['[', ']']);
            Err(self.bad_attr(attr, format!("axis {shown} out of range for rank {rank}")))
        }
    }

    /// Non-negative, positive-valued `usize`s from an ints attribute.
    pub(crate) fn positive(&self, attr: &str, v: &[i64]) -> Result<Vec<usize>> {
        v.iter()
            .map(|&x| {
                usize::try_from(x)
                    .ok()
                    .filter(|&u| u > 0 && u <= MAX_ELEMS)
                    .ok_or_else(|| self.bad_attr(attr, format!("value {x} must be positive")))
            })
            .collect()
    }
}
