//! How on-chain states become journal steps, and journal records become API views.

use super::*;

/// The shortest path of journal steps from `from` to `to` (excluding `from`).
pub(super) fn path(from: TaskState, to: TaskState) -> Option<Vec<TaskState>> {
    let mut prev: Vec<(TaskState, TaskState)> = Vec::new();
    let mut queue = std::collections::VecDeque::from([from]);
    let mut seen = vec![from];
    while let Some(s) = queue.pop_front() {
        if s == to {
            let mut out = vec![to];
            let mut cur = to;
            while let Some(&(_, p)) = prev.iter().find(|(n, _)| *n == cur) {
                if p == from {
                    break;
                }
                out.push(p);
                cur = p;
            }
            out.reverse();
            return Some(out);
        }
        for &n in s.next() {
            if !seen.contains(&n) {
                seen.push(n);
                prev.push((n, s));
                queue.push_back(n);
            }
        }
    }
    None
}

/// Moves task `id` to `to` through whatever steps the journal needs; `data` goes with the
/// last step. Nothing happens when the task is already there or past it.
pub(super) fn advance(
    j: &Journal,
    id: &str,
    to: TaskState,
    data: &StepData,
) -> Result<(), SinkError> {
    let Some(rec) = j.task(id).map_err(unavailable)? else {
        return Ok(());
    };
    if rec.state == to || rec.state.is_terminal() {
        return Ok(());
    }
    let Some(steps) = path(rec.state, to) else {
        return Err(unavailable(format!(
            "task {id}: the journal has no way from {} to {}",
            rec.state.as_str(),
            to.as_str()
        )));
    };
    let last = steps.len().saturating_sub(1);
    for (i, s) in steps.into_iter().enumerate() {
        let d = if i == last {
            data.clone()
        } else {
            StepData::default()
        };
        j.transition(id, s, &d).map_err(unavailable)?;
    }
    Ok(())
}

/// The state a gateway reports (a task the provider lost is `failed`).
pub(super) fn status_name(s: TaskState) -> &'static str {
    match s {
        TaskState::Slashed => "failed",
        other => other.as_str(),
    }
}

pub(super) fn view(r: TaskRecord) -> TaskView {
    let shown =
        r.state == TaskState::Finalized && !r.detail.as_deref().unwrap_or("").starts_with(MISMATCH);
    TaskView {
        id: r.task.id,
        requester: r.task.requester,
        model: r.task.model_cid,
        input_cid: r.task.input_cid,
        mode: r.task.mode,
        max_fee: r.task.max_fee,
        status: status_name(r.state).to_owned(),
        terminal: r.state.is_terminal(),
        output_cid: if shown { r.output_cid } else { None },
        commitment: if shown { r.commitment } else { None },
        detail: r.detail,
    }
}
