//! Journal behaviour: idempotent transitions, disputes, and resuming after a crash (a child
//! process that writes and then aborts without closing the database).

use std::path::Path;
use std::process::Command;
use vouch_journal::{DisputeState, Error, Journal, NewTask, StepData, TaskState, Transition};

fn task(id: &str) -> NewTask {
    NewTask {
        id: id.to_owned(),
        requester: "did:pkh:eip155:31337:0x0000000000000000000000000000000000000001".into(),
        model_cid: "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku".into(),
        input_cid: "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e".into(),
        mode: "optimistic".into(),
        max_fee: "1000".into(),
    }
}

fn out(cid: &str) -> StepData {
    StepData {
        output_cid: Some(cid.into()),
        commitment: Some("0xabc".into()),
        detail: None,
    }
}

#[test]
fn transitions_are_idempotent_and_checked() {
    let dir = tempfile::tempdir().unwrap();
    let j = Journal::open(&dir.path().join("journal.sqlite")).unwrap();
    assert_eq!(j.journal_mode().unwrap(), "wal");
    assert!(j.accept(&task("0x01")).unwrap());
    assert!(!j.accept(&task("0x01")).unwrap());
    let mut other = task("0x01");
    other.max_fee = "2".into();
    assert!(matches!(j.accept(&other), Err(Error::Conflict { .. })));

    let s = StepData::default();
    assert_eq!(
        j.transition("0x01", TaskState::Executed, &out("bafyout"))
            .unwrap(),
        Transition::Applied
    );
    assert_eq!(
        j.transition("0x01", TaskState::Executed, &s).unwrap(),
        Transition::Unchanged
    );
    assert_eq!(
        j.transition("0x01", TaskState::Submitted, &s).unwrap(),
        Transition::Applied
    );
    // Replaying an older step is a no-op, not an error.
    assert_eq!(
        j.transition("0x01", TaskState::Executed, &s).unwrap(),
        Transition::Stale
    );
    assert_eq!(
        j.transition("0x01", TaskState::Accepted, &s).unwrap(),
        Transition::Stale
    );
    // Skipping the machine is an error.
    assert!(matches!(
        j.transition("0x01", TaskState::Slashed, &s),
        Err(Error::InvalidTransition {
            from: TaskState::Submitted,
            to: TaskState::Slashed,
            ..
        })
    ));
    assert!(matches!(
        j.transition("0x01", TaskState::Committed, &s),
        Err(Error::InvalidTransition { .. })
    ));
    assert!(matches!(
        j.transition("nope", TaskState::Executed, &s),
        Err(Error::UnknownTask { .. })
    ));
    let detail = StepData {
        detail: Some("0xtxhash".into()),
        ..StepData::default()
    };
    j.transition("0x01", TaskState::Finalized, &detail).unwrap();
    let t = j.task("0x01").unwrap().unwrap();
    assert_eq!(t.state, TaskState::Finalized);
    assert_eq!(t.output_cid.as_deref(), Some("bafyout"));
    assert_eq!(t.detail.as_deref(), Some("0xtxhash"));

    let ev = j.events(Some("0x01"), 0, 100).unwrap();
    let states: Vec<_> = ev.iter().map(|e| e.state).collect();
    assert_eq!(
        states,
        [
            TaskState::Accepted,
            TaskState::Executed,
            TaskState::Submitted,
            TaskState::Finalized
        ]
    );
    assert_eq!(j.events(Some("0x01"), ev[1].seq, 100).unwrap().len(), 2);
    assert!(j.resumable().unwrap().is_empty());
}

#[test]
fn disputes_open_progress_close() {
    let j = Journal::in_memory().unwrap();
    j.accept(&task("0x02")).unwrap();
    assert!(j.open_dispute("d1", "0x02", "defender").unwrap());
    assert!(!j.open_dispute("d1", "0x02", "defender").unwrap());
    j.dispute_progress("d1", r#"{"step":3}"#).unwrap();
    assert_eq!(j.open_disputes().unwrap()[0].progress, r#"{"step":3}"#);
    assert_eq!(
        j.close_dispute("d1", DisputeState::Won).unwrap(),
        Transition::Applied
    );
    assert_eq!(
        j.close_dispute("d1", DisputeState::Lost).unwrap(),
        Transition::Unchanged
    );
    assert_eq!(j.dispute("d1").unwrap().unwrap().state, DisputeState::Won);
    assert!(j.open_disputes().unwrap().is_empty());
    assert!(matches!(
        j.close_dispute("zz", DisputeState::Won),
        Err(Error::UnknownDispute { .. })
    ));
    assert!(matches!(
        j.dispute_progress("zz", "{}"),
        Err(Error::UnknownDispute { .. })
    ));
}

const CHILD_ENV: &str = "VOUCH_JOURNAL_CRASH_CHILD";

/// Runs in the child: writes several tasks at different stages, then aborts the process, so
/// no destructor runs and SQLite is never closed (the WAL is not checkpointed).
fn child(path: &Path) -> ! {
    let j = Journal::open(path).unwrap();
    for i in 0..50 {
        j.accept(&task(&format!("0x{i:02x}"))).unwrap();
    }
    for i in 0..30 {
        j.transition(&format!("0x{i:02x}"), TaskState::Executed, &out("bafyout"))
            .unwrap();
    }
    for i in 0..10 {
        j.transition(
            &format!("0x{i:02x}"),
            TaskState::Submitted,
            &StepData::default(),
        )
        .unwrap();
        j.transition(
            &format!("0x{i:02x}"),
            TaskState::Finalized,
            &StepData::default(),
        )
        .unwrap();
    }
    j.open_dispute("d-7", "0x0b", "challenger").unwrap();
    j.dispute_progress("d-7", r#"{"layer":2}"#).unwrap();
    std::process::abort();
}

#[test]
fn resumes_after_crash() {
    if let Ok(p) = std::env::var(CHILD_ENV) {
        child(Path::new(&p));
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let status = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "resumes_after_crash",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .status()
        .unwrap();
    assert!(!status.success(), "the child must crash");
    assert!(
        dir.path().join("journal.sqlite-wal").exists(),
        "WAL left behind by the crash"
    );

    let j = Journal::open(&path).unwrap();
    let pending = j.resume().unwrap();
    assert_eq!(pending.len(), 40);
    let executed = pending
        .iter()
        .filter(|t| t.state == TaskState::Executed)
        .count();
    let accepted = pending
        .iter()
        .filter(|t| t.state == TaskState::Accepted)
        .count();
    assert_eq!((executed, accepted), (20, 20));
    assert!(pending.iter().all(|t| t.resumes == 1));
    assert_eq!(
        j.task("0x0a").unwrap().unwrap().output_cid.as_deref(),
        Some("bafyout")
    );
    let open = j.open_disputes().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].progress, r#"{"layer":2}"#);

    // Drive every pending task on; replays of the pre-crash steps are harmless.
    for t in &pending {
        if t.state == TaskState::Accepted {
            j.transition(&t.task.id, TaskState::Executed, &out("bafyout2"))
                .unwrap();
        }
        assert_eq!(
            j.transition(&t.task.id, TaskState::Executed, &StepData::default())
                .unwrap(),
            Transition::Unchanged
        );
        j.transition(&t.task.id, TaskState::Submitted, &StepData::default())
            .unwrap();
        j.transition(&t.task.id, TaskState::Finalized, &StepData::default())
            .unwrap();
    }
    drop(j);
    let j = Journal::open(&path).unwrap();
    assert!(j.resume().unwrap().is_empty());
    let counts = j.counts().unwrap();
    assert_eq!(counts, vec![(TaskState::Finalized, 50)]);
}
