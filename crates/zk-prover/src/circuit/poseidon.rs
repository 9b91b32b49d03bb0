//! The in-circuit Poseidon hash: what commits the graph inputs to public input 0, matching
//! [`vouch_zk::poseidon::sponge`] (circomlib's permutation chained over blocks; an `x^5` S-box
//! costs three rows, the MDS mix is linear).

use crate::cs::{Cs, Lc};
use ark_ff::{Field, Zero};
use vouch_zk::{Fr, poseidon};

/// Partial Poseidon rounds between two materializations of the linear lanes.
const MATERIALIZE_EVERY: usize = 8;

/// In-circuit [`vouch_zk::poseidon::sponge`] of width `w`: `h = tag`, then for each block of
/// `rate` message elements (the last zero-padded; an empty message is one zero block) the state
/// `[h, block…]` is permuted and `h` becomes lane 0. Returns (lc, value) of the hash.
pub fn poseidon_gadget(cs: &mut Cs, w: poseidon::Width, msg: &[(Lc, Fr)], tag: u64) -> (Lc, Fr) {
    let p = poseidon::params(w);
    let mut h = (Lc(vec![(0, Fr::from(tag))]), Fr::from(tag));
    let empty: &[(Lc, Fr)] = &[];
    for block in msg.chunks(w.rate()).chain(msg.is_empty().then_some(empty)) {
        let mut st: Vec<(Lc, Fr)> = vec![(Lc::default(), Fr::zero()); w.width()];
        st[0] = h;
        for (s, m) in st[1..].iter_mut().zip(block) {
            *s = m.clone();
        }
        permute_gadget(cs, &mut st, p);
        h = st.swap_remove(0);
    }
    h
}

fn sbox_gadget(cs: &mut Cs, x: &(Lc, Fr)) -> (Lc, Fr) {
    let x2v = x.1.square();
    let x2 = cs.alloc(x2v);
    cs.enforce(x.0.clone(), x.0.clone(), Lc::var(x2));
    let x4v = x2v.square();
    let x4 = cs.alloc(x4v);
    cs.enforce(Lc::var(x2), Lc::var(x2), Lc::var(x4));
    let x5v = x4v * x.1;
    let x5 = cs.alloc(x5v);
    cs.enforce(Lc::var(x4), x.0.clone(), Lc::var(x5));
    (Lc::var(x5), x5v)
}

fn permute_gadget(cs: &mut Cs, st: &mut [(Lc, Fr)], p: &poseidon::Params) {
    let mut unmaterialized = 0;
    for (r, rc) in p.rc.iter().enumerate() {
        for (s, c) in st.iter_mut().zip(rc) {
            s.0.0.push((0, *c));
            s.1 += c;
        }
        let full = p.width.is_full(r);
        if full {
            for s in st.iter_mut() {
                *s = sbox_gadget(cs, s);
            }
        } else {
            st[0] = sbox_gadget(cs, &st[0]);
        }
        // The MDS mix is linear: the new state stays a linear combination and costs no row.
        let old = st.to_vec();
        for (s, row) in st.iter_mut().zip(&p.mds) {
            let mut lc = Lc::default();
            let mut v = Fr::zero();
            for (o, m) in old.iter().zip(row) {
                lc.add_scaled(&o.0, *m);
                v += *m * o.1;
            }
            *s = (lc.compact(), v);
        }
        // In the partial rounds the other lanes grow by one term a round; materializing them
        // every few rounds keeps rows short (long rows of full-width coefficients slow the
        // setup) for one row per lane each time.
        if !full {
            unmaterialized += 1;
            if unmaterialized == MATERIALIZE_EVERY {
                unmaterialized = 0;
                for s in st.iter_mut().skip(1) {
                    let var = cs.alloc(s.1);
                    cs.enforce_zero(s.0.clone().plus(&Lc::var(var), -1));
                    *s = (Lc::var(var), s.1);
                }
            }
        }
    }
}
