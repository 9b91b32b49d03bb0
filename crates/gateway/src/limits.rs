//! Per-identity request rate limits (token buckets) and spend caps.
//!
//! Fees are paid from the identity's deposit held by the gateway operator: each task reserves
//! its `max_fee` against the identity's cap when it is accepted (see the crate docs). With a
//! journal (every real gateway has one) the reservations live in it, so a restart keeps them;
//! without one (unit tests) they live in memory.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use vouch_journal::Journal;

/// Limits applied to each identity.
#[derive(Debug, Clone, Copy)]
pub struct LimitConfig {
    /// Bucket size: the most requests in a burst.
    pub burst: f64,
    /// Tokens added per second.
    pub per_sec: f64,
    /// The most an identity may reserve in fees, in base units.
    pub spend_cap: u128,
}

impl Default for LimitConfig {
    fn default() -> Self {
        Self {
            burst: 60.0,
            per_sec: 20.0,
            spend_cap: 10u128.pow(18),
        }
    }
}

#[derive(Debug, Default)]
struct Bucket {
    tokens: f64,
    last_ms: u64,
}

/// Why a spend reservation was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpendRefused {
    /// The fee would pass the identity's cap; `left` is what remains of it.
    Cap {
        /// What the identity may still reserve.
        left: u128,
    },
    /// The journal holding the reservations failed (a full disk, a locked file): nothing was
    /// reserved.
    Ledger(String),
}

/// Buckets and spend per identity.
#[derive(Debug)]
pub struct Limits {
    cfg: LimitConfig,
    buckets: Mutex<BTreeMap<String, Bucket>>,
    spent: Mutex<BTreeMap<String, u128>>,
    ledger: Option<Arc<Journal>>,
}

impl Limits {
    /// New limits with the spend reservations in memory (lost on restart).
    pub fn new(cfg: LimitConfig) -> Self {
        Self {
            cfg,
            buckets: Mutex::new(BTreeMap::new()),
            spent: Mutex::new(BTreeMap::new()),
            ledger: None,
        }
    }

    /// New limits with the spend reservations kept in `journal` (they survive restarts).
    pub fn with_ledger(cfg: LimitConfig, journal: Arc<Journal>) -> Self {
        Self {
            ledger: Some(journal),
            ..Self::new(cfg)
        }
    }

    /// The settings.
    pub fn config(&self) -> LimitConfig {
        self.cfg
    }

    /// Takes one token for `id` at `now_ms`; `Err(seconds to wait)` when the bucket is empty.
    pub fn take(&self, id: &str, now_ms: u64) -> Result<(), u64> {
        let mut g = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = g.entry(id.to_owned()).or_insert(Bucket {
            tokens: self.cfg.burst,
            last_ms: now_ms,
        });
        let dt = now_ms.saturating_sub(b.last_ms) as f64 / 1000.0;
        b.tokens = (b.tokens + dt * self.cfg.per_sec).min(self.cfg.burst);
        b.last_ms = now_ms;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = if self.cfg.per_sec > 0.0 {
                ((1.0 - b.tokens) / self.cfg.per_sec).ceil() as u64
            } else {
                3600
            };
            Err(wait.max(1))
        }
    }

    /// Reserves `fee` for `id`, refused if that would pass the cap.
    pub fn reserve(&self, id: &str, fee: u128) -> Result<(), SpendRefused> {
        if let Some(j) = &self.ledger {
            return match j.reserve_spend(id, fee, self.cfg.spend_cap) {
                Ok(Ok(())) => Ok(()),
                Ok(Err(left)) => Err(SpendRefused::Cap { left }),
                Err(e) => Err(SpendRefused::Ledger(e.to_string())),
            };
        }
        let mut g = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        let spent = g.entry(id.to_owned()).or_insert(0);
        match spent.checked_add(fee) {
            Some(total) if total <= self.cfg.spend_cap => {
                *spent = total;
                Ok(())
            }
            _ => Err(SpendRefused::Cap {
                left: self.cfg.spend_cap.saturating_sub(*spent),
            }),
        }
    }

    /// Returns a reservation (a task that was not created, or settled for less).
    pub fn release(&self, id: &str, fee: u128) {
        if let Some(j) = &self.ledger {
            // on a journal failure the reservation stays: the identity is capped lower, never
            // higher
            let _ = j.release_spend(id, fee);
            return;
        }
        let mut g = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(s) = g.get_mut(id) {
            *s = s.saturating_sub(fee);
        }
    }

    /// What `id` has reserved so far.
    pub fn spent(&self, id: &str) -> u128 {
        if let Some(j) = &self.ledger {
            return j.spent(id).unwrap_or(self.cfg.spend_cap);
        }
        let g = self.spent.lock().unwrap_or_else(|p| p.into_inner());
        g.get(id).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_and_cap() {
        let l = Limits::new(LimitConfig {
            burst: 2.0,
            per_sec: 1.0,
            spend_cap: 100,
        });
        assert!(l.take("a", 0).is_ok());
        assert!(l.take("a", 0).is_ok());
        assert_eq!(l.take("a", 0), Err(1));
        assert!(l.take("b", 0).is_ok());
        assert!(l.take("a", 1000).is_ok());
        caps(&l);
    }

    fn caps(l: &Limits) {
        assert!(l.reserve("a", 60).is_ok());
        assert_eq!(l.reserve("a", 41), Err(SpendRefused::Cap { left: 40 }));
        assert!(l.reserve("a", 40).is_ok());
        l.release("a", 100);
        assert_eq!(l.spent("a"), 0);
        assert_eq!(
            l.reserve("a", u128::MAX),
            Err(SpendRefused::Cap { left: 100 })
        );
    }

    #[test]
    fn spend_reservations_in_the_journal_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("gateway.sqlite");
        let cfg = LimitConfig {
            burst: 2.0,
            per_sec: 1.0,
            spend_cap: 100,
        };
        caps(&Limits::with_ledger(
            cfg,
            Arc::new(Journal::open(&path).unwrap()),
        ));
        let l = Limits::with_ledger(cfg, Arc::new(Journal::open(&path).unwrap()));
        for _ in 0..3 {
            l.reserve("a", 30).unwrap();
        }
        drop(l);
        // a restarted gateway: the cap holds across the restart
        let l = Limits::with_ledger(cfg, Arc::new(Journal::open(&path).unwrap()));
        assert_eq!(l.spent("a"), 90);
        assert_eq!(l.reserve("a", 30), Err(SpendRefused::Cap { left: 10 }));
        assert_eq!(l.spent("b"), 0);
    }
}
