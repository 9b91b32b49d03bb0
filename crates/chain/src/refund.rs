//! Taking back the fee of a task nobody served: `TaskManager.refund` after the deadline, then,
//! for a task whose fee the FeeVault holds (a custom fee token, paid directly or by a client's
//! signature), `FeeVault.claim`, which credits the requester, and `FeeVault.withdraw`.
//! Anyone may send `refund` and `claim` (a gateway that relayed a signed request, the client):
//! the fee goes where the task's state says, never to the sender.

use crate::Result;
use crate::system::System;
use alloy::primitives::{Address, U256};
use vouch_bindings::fee_vault::FeeVault;

impl System {
    /// Refunds task `task` (nobody delivered by its deadline; a committee task never drawn or
    /// never committed): its fee in the TaskManager's token is credited to its requester; a
    /// fee the FeeVault holds is then claimed with [`System::claim_fee`].
    pub async fn refund(&self, task: U256) -> Result<()> {
        let t = self.task(task).await?;
        self.client()
            .send(
                "TaskManager.refund",
                self.task_manager().refund(task, t.record),
            )
            .await?;
        Ok(())
    }

    /// Credits the FeeVault-held fee of settled task `task` where its state says: the
    /// requester of a refunded or failed task, else the provider (or `members`, the drawn
    /// committee, for a committee task finalized without a dispute).
    pub async fn claim_fee(&self, task: U256, members: &[Address]) -> Result<()> {
        let vault = self.fee_vault()?;
        let t = self.task(task).await?;
        let rec = crate::convert_record!(&t.record, FeeVault::TaskRecord);
        let result = FeeVault::Claim {
            output: t.result.output,
            traceRoot: t.result.traceRoot,
        };
        self.client()
            .send(
                "FeeVault.claim",
                vault.claim(task, rec, result, members.to_vec()),
            )
            .await?;
        Ok(())
    }

    /// The FeeVault balance of `who` in `token` (`Address::ZERO`: ETH), withdrawable.
    pub async fn vault_credits(&self, token: Address, who: Address) -> Result<U256> {
        let vault = self.fee_vault()?;
        self.client()
            .call("FeeVault.balances", vault.balances(token, who))
            .await
    }

    /// Withdraws this system's whole FeeVault balance in `token`; returns the amount (zero:
    /// there was nothing to withdraw, and nothing was sent).
    pub async fn withdraw_vault(&self, token: Address) -> Result<U256> {
        let me = self.client().sender("FeeVault.withdraw")?;
        let amount = self.vault_credits(token, me).await?;
        if amount.is_zero() {
            return Ok(amount);
        }
        let vault = self.fee_vault()?;
        self.client()
            .send("FeeVault.withdraw", vault.withdraw(token))
            .await?;
        Ok(amount)
    }
}
