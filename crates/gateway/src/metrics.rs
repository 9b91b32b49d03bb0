//! Counters rendered in the Prometheus text exposition format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Gateway counters.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    rejections: Mutex<BTreeMap<String, u64>>,
    logins: Mutex<u64>,
    tasks_created: Mutex<u64>,
}

fn bump<K: Ord>(m: &Mutex<BTreeMap<K, u64>>, k: K) {
    let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
    *g.entry(k).or_insert(0) += 1;
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Counts a request by matched route, method and status.
    pub fn request(&self, route: &str, method: &str, status: u16) {
        bump(
            &self.requests,
            (route.to_owned(), method.to_owned(), status),
        );
    }

    /// Counts a rejection by error code.
    pub fn rejection(&self, code: &str) {
        bump(&self.rejections, code.to_owned());
    }

    /// Counts a successful login.
    pub fn login(&self) {
        *self.logins.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }

    /// Counts a created task.
    pub fn task_created(&self) {
        *self.tasks_created.lock().unwrap_or_else(|p| p.into_inner()) += 1;
    }

    /// Renders every counter, plus the gauges passed in.
    pub fn render(&self, sessions: usize, tasks_by_status: &[(String, u64)]) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "# HELP vouch_gateway_requests_total HTTP requests by route, method and status."
        );
        let _ = writeln!(s, "# TYPE vouch_gateway_requests_total counter");
        for ((route, method, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "vouch_gateway_requests_total{{route=\"{}\",method=\"{}\",status=\"{status}\"}} {n}",
                esc(route),
                esc(method)
            );
        }
        let _ = writeln!(
            s,
            "# HELP vouch_gateway_rejections_total Rejected requests by error code."
        );
        let _ = writeln!(s, "# TYPE vouch_gateway_rejections_total counter");
        for (code, n) in self
            .rejections
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
        {
            let _ = writeln!(
                s,
                "vouch_gateway_rejections_total{{code=\"{}\"}} {n}",
                esc(code)
            );
        }
        let logins = *self.logins.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            s,
            "# HELP vouch_gateway_logins_total Successful Sign-In with Ethereum logins."
        );
        let _ = writeln!(s, "# TYPE vouch_gateway_logins_total counter");
        let _ = writeln!(s, "vouch_gateway_logins_total {logins}");
        let created = *self.tasks_created.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(
            s,
            "# HELP vouch_gateway_tasks_created_total Tasks accepted through the gateway."
        );
        let _ = writeln!(s, "# TYPE vouch_gateway_tasks_created_total counter");
        let _ = writeln!(s, "vouch_gateway_tasks_created_total {created}");
        let _ = writeln!(s, "# HELP vouch_gateway_sessions Live sessions.");
        let _ = writeln!(s, "# TYPE vouch_gateway_sessions gauge");
        let _ = writeln!(s, "vouch_gateway_sessions {sessions}");
        let _ = writeln!(
            s,
            "# HELP vouch_tasks Tasks known to the backend by status."
        );
        let _ = writeln!(s, "# TYPE vouch_tasks gauge");
        for (status, n) in tasks_by_status {
            let _ = writeln!(s, "vouch_tasks{{status=\"{}\"}} {n}", esc(status));
        }
        s
    }
}
