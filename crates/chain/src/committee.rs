//! Whether a committee task can be drawn, asked before it is requested.
//!
//! `TaskManager.request` accepts a committee task whatever the providers: the committee is drawn
//! later (`ProviderStaking.sample` over the providers opted in to the model, each with at least
//! `committeeBond` of stake at the request's snapshot), and a task whose draw comes up short is
//! only refunded after its deadline. A client that asks first is refused at once instead of
//! escrowing a fee for a task nobody can serve; [`System::request`] asks for every committee
//! request.

use crate::system::System;
use crate::{Error, Result};
use alloy::eips::BlockId;
use alloy::primitives::aliases::U48;
use alloy::primitives::{B256, U256};
use alloy::providers::Provider as _;

/// The committee a task of one model would draw if requested now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitteeCapacity {
    /// Members a committee task draws (`committeeSize`).
    pub needed: usize,
    /// Providers eligible for the draw, counted up to `needed`.
    pub eligible: usize,
    /// Stake each member must hold (`committeeBond`, token base units).
    pub bond: U256,
}

impl CommitteeCapacity {
    /// Whether the draw would find a full committee.
    pub fn suffices(&self) -> bool {
        self.eligible >= self.needed
    }
}

impl System {
    /// How many providers a committee task of `model_id` would draw now, and how many it
    /// needs: `ProviderStaking.sample` run as the draw runs it (weights of at least
    /// `committeeBond` as of the last final block), read with view calls only.
    pub async fn committee_capacity(&self, model_id: u32) -> Result<CommitteeCapacity> {
        let params = self
            .client()
            .call("TaskManager.getParams", self.task_manager().getParams())
            .await?;
        let bond = self
            .client()
            .call(
                "TaskManager.committeeBond",
                self.task_manager().committeeBond(),
            )
            .await?;
        let latest = self
            .client()
            .provider()
            .get_block_number()
            .await
            .map_err(|e| Error::Rpc {
                call: "eth_blockNumber".to_owned(),
                message: e.to_string(),
            })?;
        // A request mined next draws from the state at the end of `latest` (its block minus
        // one): ask in the pending block for exactly that snapshot. An endpoint without a
        // pending block is asked one block earlier (one block apart; a short draw only refunds).
        let needed = usize::from(params.committeeSize);
        let staking = self.staking();
        let sample = |snapshot: u64| {
            staking.sample(
                model_id,
                B256::ZERO,
                U256::from(needed),
                U256::from(bond),
                U48::from(snapshot),
            )
        };
        let drawn = match self
            .client()
            .call(
                "ProviderStaking.sample",
                sample(latest).block(BlockId::pending()),
            )
            .await
        {
            Ok(drawn) => drawn,
            Err(_) => {
                self.client()
                    .call("ProviderStaking.sample", sample(latest.saturating_sub(1)))
                    .await?
            }
        };
        Ok(CommitteeCapacity {
            needed,
            eligible: drawn.len(),
            bond: U256::from(bond),
        })
    }

    /// Refuses a committee request for `model_id` that could not draw a full committee now.
    pub(crate) async fn require_committee(&self, model_id: u32) -> Result<()> {
        let c = self.committee_capacity(model_id).await?;
        if c.suffices() {
            return Ok(());
        }
        Err(Error::NoCommittee {
            model_id,
            needed: c.needed,
            eligible: c.eligible,
            bond: c.bond,
        })
    }
}
