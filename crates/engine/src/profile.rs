//! Per-op timing of a run, for finding where a model's time goes: set `VOUCH_ENGINE_PROFILE=1`
//! and every [`crate::Engine::run`] prints, on standard error, the wall time of each op kind
//! (and of the ten slowest nodes) in that run. Off by default; it never changes a result.
//! `VOUCH_ENGINE_REFERENCE=1` makes engines built afterwards skip the fast paths (the 16-bit
//! `Conv` kernel, the unchecked `Add`) so that one binary can time both: the same integers.

use std::time::{Duration, Instant};

/// The environment variable that turns the profile on (any value but `0` or empty).
pub const PROFILE_ENV: &str = "VOUCH_ENGINE_PROFILE";

/// The environment variable that turns the fast paths off (any value but `0` or empty).
pub const REFERENCE_ENV: &str = "VOUCH_ENGINE_REFERENCE";

/// Whether the environment variable `name` is set to something other than `0` or empty.
fn set(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// Whether [`PROFILE_ENV`] asks for a profile.
pub(crate) fn wanted() -> bool {
    set(PROFILE_ENV)
}

/// Whether [`REFERENCE_ENV`] turns the fast paths off.
pub(crate) fn reference_only() -> bool {
    set(REFERENCE_ENV)
}

/// The times of one run's nodes.
#[derive(Debug, Default)]
pub(crate) struct Profile {
    /// `(op, node, detail, time)` per node, in node order.
    nodes: Vec<(&'static str, String, String, Duration)>,
    /// `(shape class, multiply-adds, time)` per `Conv` node.
    convs: Vec<(String, u64, Duration)>,
}

/// A node's clock, started before it runs.
pub(crate) struct Clock(Instant);

impl Clock {
    /// Starts timing a node.
    pub(crate) fn start() -> Self {
        Self(Instant::now())
    }
}

impl Profile {
    /// Records a node's time since `clock` started (and a `Conv`'s shape class and
    /// multiply-adds).
    pub(crate) fn record(
        &mut self,
        op: &'static str,
        node: &str,
        detail: String,
        conv: Option<(String, u64)>,
        clock: Clock,
    ) {
        let d = clock.0.elapsed();
        if let Some((class, macs)) = conv {
            self.convs.push((class, macs, d));
        }
        self.nodes.push((op, node.to_owned(), detail, d));
    }

    /// The profile as text: per op kind (count, milliseconds, share), then the slowest nodes.
    pub(crate) fn report(&self) -> String {
        let total: Duration = self.nodes.iter().map(|n| n.3).sum();
        let share = |d: Duration| 100.0 * d.as_secs_f64() / total.as_secs_f64().max(1e-12);
        let mut kinds: Vec<(&'static str, usize, Duration)> = Vec::new();
        for (op, _, _, d) in &self.nodes {
            match kinds.iter_mut().find(|k| k.0 == *op) {
                Some(k) => {
                    k.1 += 1;
                    k.2 += *d;
                }
                None => kinds.push((op, 1, *d)),
            }
        }
        kinds.sort_by_key(|k| std::cmp::Reverse(k.2));
        let mut s = format!(
            "engine profile: {} nodes, {:.2} ms\n",
            self.nodes.len(),
            total.as_secs_f64() * 1e3
        );
        for (op, n, d) in &kinds {
            s += &format!(
                "  {op:<14}{n:>5} nodes {:>10.2} ms {:>5.1}%\n",
                d.as_secs_f64() * 1e3,
                share(*d)
            );
        }
        let mut classes: Vec<(&str, usize, u64, Duration)> = Vec::new();
        for (class, macs, d) in &self.convs {
            match classes.iter_mut().find(|k| k.0 == class) {
                Some(k) => {
                    k.1 += 1;
                    k.2 += macs;
                    k.3 += *d;
                }
                None => classes.push((class, 1, *macs, *d)),
            }
        }
        classes.sort_by_key(|k| std::cmp::Reverse(k.3));
        if !classes.is_empty() {
            s += "  Conv by shape (wall GMAC/s):\n";
        }
        for (class, n, macs, d) in &classes {
            s += &format!(
                "    {class:<24}{n:>4} nodes {:>10.2} ms {:>5.1}% {:>7.1} GMAC/s\n",
                d.as_secs_f64() * 1e3,
                share(*d),
                *macs as f64 / d.as_secs_f64().max(1e-12) / 1e9
            );
        }
        let mut slow: Vec<_> = self.nodes.iter().collect();
        slow.sort_by_key(|n| std::cmp::Reverse(n.3));
        s += "  slowest nodes:\n";
        for (op, name, detail, d) in slow.into_iter().take(10) {
            s += &format!(
                "    {:>8.2} ms {:>5.1}%  {op} {name} {detail}\n",
                d.as_secs_f64() * 1e3,
                share(*d)
            );
        }
        s
    }
}
