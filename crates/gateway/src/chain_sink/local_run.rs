//! The gateway's own run of a task before it goes on-chain: the package from the store, the
//! input through the task codec, the input commitment of the mode, and the output it will
//! compare with the settled one; the version a package CID names and the journal record of a
//! task once requested.

use super::*;

/// What the gateway computed for one task before requesting it.
pub(super) struct Local {
    pub(super) input_commitment: B256,
    pub(super) rows: u16,
    pub(super) inline: Vec<u8>,
    pub(super) output_commitment: B256,
    pub(super) output_cid: Cid,
}

pub(super) fn prepare(
    store: &Store,
    model: &Cid,
    input_bytes: &[u8],
    mode: Mode,
) -> Result<Local, SinkError> {
    let bytes = store.get(model).map_err(|e| {
        SinkError::Rejected(Rejection::ModelNotStored {
            model: model.to_string(),
            reason: e.to_string(),
        })
    })?;
    let pkg = Package::from_bytes(&bytes).map_err(|e| bad_package(model, &e))?;
    // refused before anything is accepted: a task the mode cannot settle is never created
    vouch_task::modes::check_mode(&pkg, mode)
        .map_err(|e| SinkError::Rejected(Rejection::ModeUnsupported(e)))?;
    let input: serde_json::Value = serde_json::from_slice(input_bytes)
        .map_err(|e| bad_input(format!("input is not JSON: {e}")))?;
    let floats =
        codec::package_inputs_from_json(&pkg, &input).map_err(|e| bad_input(e.to_string()))?;
    let inputs = codec::quantize_inputs(&pkg, &floats);
    // every row of a task can be disputed on its own (docs/semantics.md section 8.5); a zk
    // proof covers one row, and the contract takes at most 65,535
    let rows = vouch_engine::exec::rows_of(&pkg, &inputs)
        .map_err(|e| bad_input(format!("input does not fit the model: {e}")))?;
    if mode == Mode::Zk && rows != 1 {
        return Err(SinkError::Rejected(Rejection::ZkNeedsOneRow { rows }));
    }
    let rows =
        u16::try_from(rows).map_err(|_| SinkError::Rejected(Rejection::TooManyRows { rows }))?;
    let input_commitment = B256::from(
        codec::input_commitment(mode, &pkg, &inputs).map_err(|e| bad_input(e.to_string()))?,
    );
    let inline = codec::inline_bytes(&inputs);
    let engine = vouch_engine::Engine::new(
        &pkg,
        vouch_engine::Options {
            threads: 1,
            trace: false,
        },
    )
    .map_err(|e| bad_package(model, &e))?;
    let exec = engine
        .run(inputs)
        .map_err(|e| bad_input(format!("input does not fit the model: {e}")))?;
    let mut outputs = serde_json::Map::new();
    for (i, t) in exec.outputs.iter().enumerate() {
        let deq = codec::dequantize(&pkg, i, t);
        let name = pkg
            .outputs
            .get(i)
            .map_or_else(|| format!("output{i}"), |o| o.name.clone());
        outputs.insert(name, codec::json::tensor_to_nested(&t.shape, &deq));
    }
    let output_commitment = B256::from(exec.output_commitment());
    // `outputs` is keyed by name (sorted); `names` keeps the package order, the order of the
    // output commitment's list and of `ModelRegistry.outputsOf`
    let names: Vec<&str> = pkg.outputs.iter().map(|o| o.name.as_str()).collect();
    let out = serde_json::json!({
        "outputs": outputs,
        "names": names,
        "commitment": hex0x(output_commitment.as_slice()),
    });
    let out_bytes = serde_json::to_vec(&out).map_err(unavailable)?;
    store.put(input_bytes).map_err(unavailable)?;
    let output_cid = store.put(&out_bytes).map_err(unavailable)?;
    Ok(Local {
        input_commitment,
        rows,
        inline,
        output_commitment,
        output_cid,
    })
}

fn bad_package(model: &Cid, e: &dyn std::fmt::Display) -> SinkError {
    SinkError::Rejected(Rejection::BadPackage {
        model: model.to_string(),
        reason: e.to_string(),
    })
}

fn bad_input(reason: String) -> SinkError {
    SinkError::Rejected(Rejection::BadInput { reason })
}

impl ChainSink {
    /// The newest registered version of package `cid`, active (polling once on a miss).
    pub(super) async fn resolve(&self, cid: &str) -> Result<(u32, u16, ModelEntry), SinkError> {
        let s = &self.shared;
        let found = match s.dir.by_cid(cid) {
            Some(e) => Some(e),
            None => {
                s.poll().await?;
                s.dir.by_cid(cid)
            }
        };
        let Some(((model_id, version), entry)) = found else {
            return Err(SinkError::Rejected(Rejection::NotRegistered {
                model: cid.to_owned(),
            }));
        };
        if entry.status != 1 {
            return Err(SinkError::Rejected(Rejection::NotActive {
                model: cid.to_owned(),
                model_id: model_id.to_string(),
                version: version.to_string(),
            }));
        }
        let version16 = u16::try_from(version).map_err(|_| {
            SinkError::Rejected(Rejection::VersionTooLarge {
                model: cid.to_owned(),
                version: version.to_string(),
            })
        })?;
        Ok((model_id, version16, entry))
    }

    /// Journals task `id` (requested on-chain) as executed with the gateway's own output, and
    /// follows it.
    pub(super) async fn record(
        &self,
        id: U256,
        task: NewTask,
        local: &Local,
        detail: String,
    ) -> Result<TaskView, SinkError> {
        let s = &self.shared;
        let key = task.id.clone();
        let j = s.journal.clone();
        let commitment = hex0x(local.output_commitment.as_slice());
        let output_cid = local.output_cid.to_string();
        let k2 = key.clone();
        let rec = tokio::task::spawn_blocking(move || {
            j.accept(&task).map_err(unavailable)?;
            j.transition(
                &k2,
                TaskState::Executed,
                &StepData {
                    output_cid: Some(output_cid),
                    commitment: Some(commitment),
                    detail: Some(detail),
                },
            )
            .map_err(unavailable)?;
            j.task(&k2).map_err(unavailable)
        })
        .await
        .map_err(unavailable)??;
        {
            let mut t = lock(&s.track);
            t.tasks.insert(id, None);
            t.dirty.insert(id);
        }
        rec.map(view)
            .ok_or_else(|| unavailable(format!("task {key} vanished after accept")))
    }
}
