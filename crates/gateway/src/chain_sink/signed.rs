//! Client-signed requests on a chain: the draft a client signs (`POST /tasks/signed/draft`)
//! and the checks before the gateway forwards `FeeVault.requestSigned` (`POST /tasks/signed`;
//! the gateway pays the gas, the client the fee). Every check runs before anything is sent:
//! the version (registered, active, the mode offered), the time (signature expiry, task
//! deadline), the signature (ECDSA recovery to the client; a contract client's ERC-1271
//! signature is left to the contract), the nonce, the fee token, committee capacity and the
//! input (the gateway's own quantization must give the signed commitment, rows and inline
//! bytes). Whatever else the contract would refuse (balance, allowance, permit) is refused at
//! gas estimation with its decoded revert.

use super::local_run::Local;
use super::*;
use crate::sink::{DraftRequest, SignedDraft, SignedRefusal, SignedTask};
use vouch_chain::signed::{RequestFields, SignedRequest};

fn refuse(r: SignedRefusal) -> SinkError {
    SinkError::Rejected(r.into())
}

impl ChainSink {
    /// Runs the gateway's own copy of the task off the async runtime.
    pub(super) async fn run_local(
        &self,
        model: Cid,
        input: Vec<u8>,
        mode: Mode,
    ) -> Result<Local, SinkError> {
        let store = self.shared.store.clone();
        tokio::task::spawn_blocking(move || prepare(&store, &model, &input, mode))
            .await
            .map_err(unavailable)?
    }

    /// The request a client signs for `d`: the gateway quantizes the input as for a task it
    /// pays, the deadline is `deadline_secs` from the latest block.
    pub(super) async fn draft_inner(&self, d: DraftRequest) -> Result<SignedDraft, SinkError> {
        let s = &self.shared;
        if d.fee == 0 {
            return Err(refuse(SignedRefusal::ZeroFee));
        }
        let (model_id, version, _) = self.resolve(&d.model.to_string()).await?;
        let route = s
            .sys
            .fee_route(model_id, version)
            .await
            .map_err(chain_error)?;
        if route.custom && route.token == Address::ZERO {
            return Err(refuse(SignedRefusal::EthFee { model_id, version }));
        }
        let local = self.run_local(d.model, d.input_bytes, d.mode).await?;
        let r = Request {
            model_id,
            version,
            mode: d.mode,
            fee: d.fee,
            deadline_secs: s.cfg.deadline_secs,
            input_commitment: local.input_commitment,
            rows: local.rows,
            input_cid: String::new(),
            inline_input: local.inline,
            callback: None,
        };
        let request = s
            .sys
            .draft_signed(&r, d.client, d.nonce, d.expiry_secs)
            .await
            .map_err(chain_error)?;
        let vault = *s.sys.fee_vault().map_err(unavailable)?.address();
        Ok(SignedDraft {
            request,
            domain: serde_json::json!({
                "name": "VouchFeeVault",
                "version": "1",
                "chainId": s.sys.client().chain_id(),
                "verifyingContract": vault,
            }),
            permit_spender: route.spender,
        })
    }

    /// Checks `t` (see the module notes) and forwards it.
    pub(super) async fn submit_signed_inner(&self, t: SignedTask) -> Result<TaskView, SinkError> {
        let s = &self.shared;
        let q = &t.request;
        let f = &q.input;
        let mode = Mode::from_code(f.mode).ok_or_else(|| {
            refuse(SignedRefusal::InputMismatch {
                what: format!("mode code {} is no mode", f.mode),
            })
        })?;
        if f.fee == 0 {
            return Err(refuse(SignedRefusal::ZeroFee));
        }
        let (cid, entry) = self.version_entry(f.model_id, f.version).await?;
        if entry.status != 1 {
            return Err(SinkError::Rejected(Rejection::NotActive {
                model: cid,
                model_id: f.model_id.to_string(),
                version: f.version.to_string(),
            }));
        }
        let now = s.sys.latest_timestamp().await.map_err(unavailable)?;
        // the transaction lands in a later block: a signature valid only now is refused
        if q.expiry <= U256::from(now) {
            return Err(refuse(SignedRefusal::Expired {
                expiry: q.expiry.to_string(),
                now,
            }));
        }
        if u64::from(f.deadline) <= now {
            return Err(refuse(SignedRefusal::DeadlinePassed {
                deadline: f.deadline,
                now,
            }));
        }
        self.check_signature(q).await?;
        if s.sys
            .nonce_used(q.client, q.nonce)
            .await
            .map_err(unavailable)?
        {
            return Err(refuse(SignedRefusal::NonceUsed {
                client: q.client.to_string(),
                nonce: q.nonce.to_string(),
            }));
        }
        let route = s
            .sys
            .fee_route(f.model_id, f.version)
            .await
            .map_err(chain_error)?;
        if route.custom && route.token == Address::ZERO {
            return Err(refuse(SignedRefusal::EthFee {
                model_id: f.model_id,
                version: f.version,
            }));
        }
        if route.token != q.fee_token {
            return Err(refuse(SignedRefusal::WrongFeeToken {
                model_id: f.model_id,
                version: f.version,
                expected: route.token.to_string(),
                got: q.fee_token.to_string(),
            }));
        }
        if mode == Mode::Committee {
            let c = s
                .sys
                .committee_capacity(f.model_id)
                .await
                .map_err(unavailable)?;
            if !c.suffices() {
                return Err(chain_error(vouch_chain::Error::NoCommittee {
                    model_id: f.model_id,
                    needed: c.needed,
                    eligible: c.eligible,
                    bond: c.bond,
                }));
            }
        }
        let model: Cid = cid.parse().map_err(|e| {
            SinkError::Rejected(Rejection::BadPackage {
                model: cid.clone(),
                reason: format!("the registered CID does not parse: {e}"),
            })
        })?;
        let local = self.run_local(model, t.input_bytes.clone(), mode).await?;
        input_matches(f, &local)?;
        // gas estimation runs the call first: a revert is decoded and nothing is sent
        let id = s.sys.request_signed(q).await.map_err(chain_error)?;
        let task = NewTask {
            id: task_key(id),
            requester: t.requester,
            model_cid: cid,
            input_cid: t.input_cid.to_string(),
            mode: mode.as_str().to_owned(),
            max_fee: f.fee.to_string(),
        };
        let detail = format!(
            "requested on-chain as task {id} from a request {} signed; the client paid the fee",
            q.client
        );
        self.record(id, task, &local, detail).await
    }

    /// The package CID and directory entry of `model_id` version `version` (polling once on
    /// a miss).
    async fn version_entry(
        &self,
        model_id: u32,
        version: u16,
    ) -> Result<(String, ModelEntry), SinkError> {
        let key = (model_id, u32::from(version));
        let get = || read(&self.shared.dir.models).get(&key).cloned();
        let entry = match get() {
            Some(e) => Some(e),
            None => {
                self.shared.poll().await?;
                get()
            }
        };
        let e = entry.ok_or_else(|| {
            SinkError::Rejected(Rejection::NotRegistered {
                model: format!("model {model_id} version {version}"),
            })
        })?;
        Ok((e.cid.clone(), e))
    }

    /// Refuses a signature that does not recover to the client, unless the client is a
    /// contract (its ERC-1271 check is the contract's, at gas estimation).
    async fn check_signature(&self, q: &SignedRequest) -> Result<(), SinkError> {
        let s = &self.shared;
        let vault = *s.sys.fee_vault().map_err(unavailable)?.address();
        let why = match q.recover(s.sys.client().chain_id(), vault) {
            Ok(a) if a == q.client => return Ok(()),
            Ok(a) => format!("it recovers to {a}"),
            Err(e) => e.to_string(),
        };
        let code = s
            .sys
            .client()
            .provider()
            .get_code_at(q.client)
            .await
            .map_err(unavailable)?;
        if !code.is_empty() {
            return Ok(());
        }
        Err(refuse(SignedRefusal::BadSignature {
            client: q.client.to_string(),
            reason: why,
        }))
    }
}

/// Refuses signed input fields the gateway's own quantization of the posted input does not
/// give.
fn input_matches(f: &RequestFields, local: &Local) -> Result<(), SinkError> {
    let what = if f.input_commitment != local.input_commitment {
        format!(
            "inputCommitment is {}, the input gives {}",
            f.input_commitment, local.input_commitment
        )
    } else if f.rows != local.rows {
        format!("rows is {}, the input has {}", f.rows, local.rows)
    } else if !f.input_cid.is_empty() {
        "inputCid must be empty: the input travels inline".to_owned()
    } else if f.inline_input.as_ref() != local.inline.as_slice() {
        "inlineInput differs from the input's canonical tensor bytes".to_owned()
    } else {
        return Ok(());
    };
    Err(refuse(SignedRefusal::InputMismatch { what }))
}
