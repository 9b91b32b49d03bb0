//! Client-signed requests (`FeeVault.requestSigned`): the client signs an EIP-712 `Request`
//! (and, optionally, an EIP-2612 permit for the fee) and anyone (a gateway) submits it; the
//! task's requester is the client, who pays the fee; the submitter pays only gas.
//!
//! The typed data is the contract's `FeeVault.REQUEST_TYPEHASH` in the domain
//! `("VouchFeeVault", "1", chain id, vault address)`; [`SignedRequest`] is the JSON a client
//! hands to the gateway's `POST /tasks/signed`.

use crate::system::{Request, System};
use crate::{Error, Result};
use alloy::primitives::aliases::U88;
use alloy::primitives::{Address, B256, Bytes, U256, keccak256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Eip712Domain, SolStruct, SolValue, eip712_domain};
use serde::{Deserialize, Serialize};
use vouch_bindings::fee_vault::FeeVault::{self, FeeVaultInstance};
use vouch_bindings::fee_vault::TaskManager as VaultTypes;
use vouch_bindings::task_manager::TaskManager;

/// The EIP-712 type (its Rust name is the type's name, `Request`).
mod typed {
    alloy::sol! {
    /// The EIP-712 type a client signs (`FeeVault.REQUEST_TYPEHASH`).
    struct Request {
        address client;
        uint32 modelId;
        uint16 version;
        uint8 mode;
        address feeToken;
        uint88 fee;
        uint32 deadline;
        bytes32 inputCommitment;
        uint16 rows;
        string inputCid;
        bytes inlineInput;
        address callback;
        uint32 callbackGas;
        uint256 nonce;
        uint256 expiry;
    }
    }
}

/// The EIP-2612 permit type.
const PERMIT_TYPE: &str =
    "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)";

/// A request signed by its client, ready for anyone to submit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SignedRequest {
    /// The request (`TaskManager.RequestInput` fields).
    pub input: RequestFields,
    /// The client: the task's requester and the fee's payer.
    pub client: Address,
    /// The token the client agreed to pay in (the version's fee token, or the TaskManager's).
    pub fee_token: Address,
    /// A nonce of the client's, used once (any order).
    pub nonce: U256,
    /// The signature's last valid second.
    pub expiry: U256,
    /// The client's signature of the EIP-712 digest (65 bytes `r ‖ s ‖ v`).
    pub signature: Bytes,
    /// An EIP-2612 permit for the fee, if the client gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit: Option<PermitSig>,
}

/// The `TaskManager.RequestInput` fields, in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestFields {
    /// Model id.
    pub model_id: u32,
    /// Version.
    pub version: u16,
    /// Mode code (`vouch_task::Mode::code`).
    pub mode: u8,
    /// Fee in the fee token's base units (a decimal string in JSON; a JSON integer is read
    /// too).
    #[serde(with = "fee_string")]
    pub fee: u128,
    /// Submission deadline (unix seconds).
    pub deadline: u32,
    /// Input commitment.
    pub input_commitment: B256,
    /// Rows of the input.
    pub rows: u16,
    /// Input CID (empty when inline).
    pub input_cid: String,
    /// Inline input bytes.
    pub inline_input: Bytes,
    /// Consumer contract, or zero.
    pub callback: Address,
    /// Its gas cap.
    pub callback_gas: u32,
}

/// `u128` as a decimal string (JavaScript numbers cannot hold 18-decimal fees), read from a
/// string or an integer.
mod fee_string {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Int(u128),
    }

    pub(super) fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        match Either::deserialize(d)? {
            Either::Int(v) => Ok(v),
            Either::Text(t) if !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit()) => t
                .parse()
                .map_err(|_| D::Error::custom("`fee` does not fit uint128")),
            Either::Text(_) => Err(D::Error::custom(
                "`fee` must be a decimal string of base units",
            )),
        }
    }
}

/// An EIP-2612 permit signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermitSig {
    /// Allowance granted.
    pub value: U256,
    /// The permit's deadline (non-zero).
    pub deadline: U256,
    /// Signature `v`.
    pub v: u8,
    /// Signature `r`.
    pub r: B256,
    /// Signature `s`.
    pub s: B256,
}

impl RequestFields {
    /// The contract struct (as the FeeVault's binding names it); a fee over uint88 is refused.
    pub fn to_sol(&self) -> Result<VaultTypes::RequestInput> {
        Ok(VaultTypes::RequestInput {
            modelId: self.model_id,
            version: self.version,
            mode: self.mode,
            fee: fee88(self.fee)?,
            deadline: self.deadline,
            inputCommitment: self.input_commitment,
            rows: self.rows,
            inputCid: self.input_cid.clone(),
            inlineInput: self.inline_input.clone(),
            callback: self.callback,
            callbackGas: self.callback_gas,
        })
    }
}

/// `fee` as a uint88, or an error.
pub(crate) fn fee88(fee: u128) -> Result<U88> {
    if fee >> 88 != 0 {
        return Err(Error::OutOfRange {
            what: "fee (over uint88)".to_owned(),
        });
    }
    Ok(U88::from(fee))
}

/// The EIP-712 domain of the vault at `vault` on `chain_id`.
pub fn domain(chain_id: u64, vault: Address) -> Eip712Domain {
    eip712_domain! {
        name: "VouchFeeVault",
        version: "1",
        chain_id: chain_id,
        verifying_contract: vault,
    }
}

impl SignedRequest {
    /// The EIP-712 digest of the request (what `FeeVault.hashRequest` returns).
    pub fn digest(&self, chain_id: u64, vault: Address) -> Result<B256> {
        let f = &self.input;
        let typed = typed::Request {
            client: self.client,
            modelId: f.model_id,
            version: f.version,
            mode: f.mode,
            feeToken: self.fee_token,
            fee: fee88(f.fee)?,
            deadline: f.deadline,
            inputCommitment: f.input_commitment,
            rows: f.rows,
            inputCid: f.input_cid.clone(),
            inlineInput: f.inline_input.clone(),
            callback: f.callback,
            callbackGas: f.callback_gas,
            nonce: self.nonce,
            expiry: self.expiry,
        };
        Ok(typed.eip712_signing_hash(&domain(chain_id, vault)))
    }

    /// Signs the request as `signer` (which becomes `client`).
    pub fn sign(
        mut self,
        signer: &PrivateKeySigner,
        chain_id: u64,
        vault: Address,
    ) -> Result<Self> {
        self.client = signer.address();
        let digest = self.digest(chain_id, vault)?;
        let sig = signer.sign_hash_sync(&digest).map_err(|e| Error::Signing {
            what: "request".to_owned(),
            message: e.to_string(),
        })?;
        self.signature = Bytes::from(sig.as_bytes().to_vec());
        Ok(self)
    }
}

/// Signs an EIP-2612 permit of `owner`'s token (domain separator and nonce read from the
/// token) for `spender`.
pub fn sign_permit(
    signer: &PrivateKeySigner,
    domain_separator: B256,
    spender: Address,
    value: U256,
    token_nonce: U256,
    deadline: U256,
) -> Result<PermitSig> {
    let struct_hash = keccak256(
        (
            keccak256(PERMIT_TYPE.as_bytes()),
            signer.address(),
            spender,
            value,
            token_nonce,
            deadline,
        )
            .abi_encode(),
    );
    let mut pre = Vec::with_capacity(66);
    pre.extend_from_slice(b"\x19\x01");
    pre.extend_from_slice(domain_separator.as_slice());
    pre.extend_from_slice(struct_hash.as_slice());
    let sig = signer
        .sign_hash_sync(&keccak256(&pre))
        .map_err(|e| Error::Signing {
            what: "permit".to_owned(),
            message: e.to_string(),
        })?;
    Ok(PermitSig {
        value,
        deadline,
        v: 27 + u8::from(sig.v()),
        r: B256::from(sig.r().to_be_bytes::<32>()),
        s: B256::from(sig.s().to_be_bytes::<32>()),
    })
}

/// The EIP-2612 and ERC-20 functions a client-signed request needs of its fee token.
mod permit_token {
    alloy::sol! {
    #[sol(rpc)]
    interface IPermitToken {
        function DOMAIN_SEPARATOR() external view returns (bytes32);
        function nonces(address owner) external view returns (uint256);
        function balanceOf(address who) external view returns (uint256);
        function decimals() external view returns (uint8);
        function allowance(address owner, address spender) external view returns (uint256);
    }
    }
}
pub use permit_token::IPermitToken;

/// Where a version's fees are paid and who takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeRoute {
    /// The token a client pays in (`Address::ZERO` for ETH).
    pub token: Address,
    /// Whether it is the version's own token (taken by the FeeVault) rather than the
    /// TaskManager's (taken by the TaskManager).
    pub custom: bool,
    /// The spender a permit or an approval must name: the FeeVault for a custom token, the
    /// TaskManager for its own.
    pub spender: Address,
}

impl SignedRequest {
    /// The address that signed the request (ECDSA recovery of [`Self::digest`]); the contract
    /// also accepts ERC-1271 signatures of contract accounts, which do not recover.
    pub fn recover(&self, chain_id: u64, vault: Address) -> Result<Address> {
        let digest = self.digest(chain_id, vault)?;
        let sig = alloy::primitives::Signature::try_from(self.signature.as_ref()).map_err(|e| {
            Error::Signing {
                what: "request (recovering its signer)".to_owned(),
                message: e.to_string(),
            }
        })?;
        sig.recover_address_from_prehash(&digest)
            .map_err(|e| Error::Signing {
                what: "request (recovering its signer)".to_owned(),
                message: e.to_string(),
            })
    }

    /// The contract's `Signed` struct.
    pub fn signed_sol(&self) -> FeeVault::Signed {
        FeeVault::Signed {
            client: self.client,
            feeToken: self.fee_token,
            nonce: self.nonce,
            expiry: self.expiry,
        }
    }

    /// The contract's `Permit` struct (all zero without a permit).
    pub fn permit_sol(&self) -> FeeVault::Permit {
        self.permit.map_or(
            FeeVault::Permit {
                value: U256::ZERO,
                deadline: U256::ZERO,
                v: 0,
                r: B256::ZERO,
                s: B256::ZERO,
            },
            |p| FeeVault::Permit {
                value: p.value,
                deadline: p.deadline,
                v: p.v,
                r: p.r,
                s: p.s,
            },
        )
    }
}

impl System {
    /// The FeeVault of the deployment.
    pub fn fee_vault(&self) -> Result<FeeVaultInstance<&alloy::providers::DynProvider>> {
        let a = self.deployment().contracts.fee_vault;
        if a == Address::ZERO {
            return Err(Error::MissingContract {
                name: "FeeVault".to_owned(),
            });
        }
        Ok(FeeVault::new(a, self.client().provider()))
    }

    /// The token fees of `model_id` version `version` are paid in, and the spender that takes
    /// them (`ModelRegistry.feeToken`).
    pub async fn fee_route(&self, model_id: u32, version: u16) -> Result<FeeRoute> {
        let reg = self.registry();
        let r = self
            .client()
            .call(
                "ModelRegistry.feeToken",
                reg.feeToken(model_id, u32::from(version)),
            )
            .await?;
        let c = &self.deployment().contracts;
        Ok(if r.custom {
            FeeRoute {
                token: r.token,
                custom: true,
                spender: *self.fee_vault()?.address(),
            }
        } else {
            FeeRoute {
                token: c.token,
                custom: false,
                spender: c.task_manager,
            }
        })
    }

    /// Whether `client` used (or cancelled) `nonce` (`FeeVault.nonceUsed`).
    pub async fn nonce_used(&self, client: Address, nonce: U256) -> Result<bool> {
        let vault = self.fee_vault()?;
        self.client()
            .call("FeeVault.nonceUsed", vault.nonceUsed(client, nonce))
            .await
    }

    /// `who`'s balance of the ERC-20 `token`.
    pub async fn token_balance(&self, token: Address, who: Address) -> Result<U256> {
        let t = IPermitToken::new(token, self.client().provider());
        self.client()
            .call("ERC20.balanceOf", t.balanceOf(who))
            .await
    }

    /// The decimals of the ERC-20 `token`.
    pub async fn token_decimals(&self, token: Address) -> Result<u8> {
        let t = IPermitToken::new(token, self.client().provider());
        self.client().call("ERC20.decimals", t.decimals()).await
    }

    /// The unsigned client request for `r` (its deadline counted from the latest block), paid
    /// in the version's fee token by `client`, its signature valid `expiry_secs` from the
    /// latest block. Sign it with [`SignedRequest::sign`].
    pub async fn draft_signed(
        &self,
        r: &Request,
        client: Address,
        nonce: U256,
        expiry_secs: u64,
    ) -> Result<SignedRequest> {
        let now = self.latest_timestamp().await?;
        let input = self.request_input(r, now)?;
        let route = self.fee_route(r.model_id, r.version).await?;
        Ok(SignedRequest {
            input: RequestFields {
                model_id: input.modelId,
                version: input.version,
                mode: input.mode,
                fee: r.fee,
                deadline: input.deadline,
                input_commitment: input.inputCommitment,
                rows: input.rows,
                input_cid: input.inputCid,
                inline_input: input.inlineInput,
                callback: input.callback,
                callback_gas: input.callbackGas,
            },
            client,
            fee_token: route.token,
            nonce,
            expiry: U256::from(now + expiry_secs),
            signature: Bytes::new(),
            permit: None,
        })
    }

    /// Signs `r` as `signer` as a client-signed request paid in the version's fee token, with
    /// a permit of the fee for its spender (an ETH fee cannot be signed for: [`Error::OutOfRange`]);
    /// nothing is sent. `expiry_secs` is how long the signature (and the permit) stays valid
    /// from the latest block.
    pub async fn sign_request(
        &self,
        signer: &PrivateKeySigner,
        r: &Request,
        nonce: U256,
        expiry_secs: u64,
    ) -> Result<SignedRequest> {
        let mut draft = self
            .draft_signed(r, signer.address(), nonce, expiry_secs)
            .await?;
        draft.permit = Some(self.sign_fee_permit(signer, &draft).await?);
        draft.sign(
            signer,
            self.client().chain_id(),
            *self.fee_vault()?.address(),
        )
    }

    /// An EIP-2612 permit of `s`'s fee (its fee token, the spender that takes it, the token's
    /// current nonce of the signer), valid until the request's expiry.
    pub async fn sign_fee_permit(
        &self,
        signer: &PrivateKeySigner,
        s: &SignedRequest,
    ) -> Result<PermitSig> {
        let route = self.fee_route(s.input.model_id, s.input.version).await?;
        if route.token == Address::ZERO {
            return Err(Error::OutOfRange {
                what: "fee token (ETH fees cannot be signed for: the client must send them)"
                    .to_owned(),
            });
        }
        let t = IPermitToken::new(route.token, self.client().provider());
        let sep = self
            .client()
            .call("ERC20Permit.DOMAIN_SEPARATOR", t.DOMAIN_SEPARATOR())
            .await?;
        let token_nonce = self
            .client()
            .call("ERC20Permit.nonces", t.nonces(signer.address()))
            .await?;
        sign_permit(
            signer,
            sep,
            route.spender,
            U256::from(s.input.fee),
            token_nonce,
            s.expiry,
        )
    }

    /// Submits a client-signed request (this system's key pays the gas only); returns the task
    /// id. A request the contract would refuse is refused at gas estimation with its decoded
    /// revert ([`Error::Reverted`]), before anything is sent.
    pub async fn request_signed(&self, s: &SignedRequest) -> Result<U256> {
        let vault = self.fee_vault()?;
        let rc = self
            .client()
            .send(
                "FeeVault.requestSigned",
                vault.requestSigned(
                    s.input.to_sol()?,
                    s.signed_sol(),
                    s.signature.clone(),
                    s.permit_sol(),
                ),
            )
            .await?;
        let ev: TaskManager::TaskRequested =
            crate::system::event(&rc, "FeeVault.requestSigned", "TaskRequested")?;
        Ok(ev.taskId)
    }
}

impl System {
    /// The one-transaction zk decision (`FeeVault.requestSignedZk`): submits a client-signed
    /// zk request together with its result, `output` (the keccak output commitment) and
    /// `proof` (the `abi.encode(uint256[8], int32[])` blob the version's verifier takes). The
    /// task is created, verified, settled and its values delivered to the callback in one
    /// transaction; this system's key is the provider (it is paid the fee) and pays the gas.
    /// A refused request or proof comes back as [`Error::Reverted`] from gas estimation, before
    /// anything is sent. Returns the task id and the receipt.
    pub async fn request_signed_zk(
        &self,
        s: &SignedRequest,
        output: B256,
        proof: Bytes,
    ) -> Result<(U256, alloy::rpc::types::TransactionReceipt)> {
        const CALL: &str = "FeeVault.requestSignedZk";
        let vault = self.fee_vault()?;
        let rc = self
            .client()
            .send(
                CALL,
                vault.requestSignedZk(
                    s.input.to_sol()?,
                    s.signed_sol(),
                    s.signature.clone(),
                    s.permit_sol(),
                    output,
                    proof,
                ),
            )
            .await?;
        let ev: TaskManager::TaskRequested = crate::system::event(&rc, CALL, "TaskRequested")?;
        Ok((ev.taskId, rc))
    }
}

#[cfg(test)]
mod tests {
    use super::{U88, fee88};

    #[test]
    fn a_fee_past_uint88_is_an_error_not_a_panic() {
        assert_eq!(fee88((1 << 88) - 1).unwrap(), U88::from((1u128 << 88) - 1));
        assert!(fee88(1 << 88).is_err());
        assert!(fee88(u128::MAX).is_err());
    }
}
