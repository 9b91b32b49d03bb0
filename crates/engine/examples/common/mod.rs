//! What the speed examples share.

/// CPU time of the whole process so far (all threads), from `/proc/self/stat`, in seconds: on a
/// shared machine, work per CPU second says more about the code than work per wall second.
pub(crate) fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or_default();
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    // utime and stime are fields 14 and 15 of the line, in clock ticks (100 per second).
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

/// Runs `run` for at least a second (and at least twice): the wall and CPU seconds of one run.
#[allow(dead_code)]
pub(crate) fn per_run<T>(run: impl Fn() -> T) -> (f64, f64) {
    let (t, cpu0, mut runs) = (std::time::Instant::now(), cpu_secs(), 0u32);
    while runs < 2 || t.elapsed().as_secs_f64() < 1.0 {
        std::hint::black_box(run());
        runs += 1;
    }
    (
        t.elapsed().as_secs_f64() / f64::from(runs),
        (cpu_secs() - cpu0) / f64::from(runs),
    )
}
