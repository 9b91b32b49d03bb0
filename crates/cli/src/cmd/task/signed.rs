//! `vouch task request --signed`: the client signs the request (EIP-712) and a permit of the
//! fee; a gateway, the client itself or a provider submits it.

use super::{RequestArgs, Run};
use crate::{io, out};
use eyre::{Result, bail};
use serde_json::json;
use vouch_chain::alloy::primitives::{Address, U256};
use vouch_chain::system::{Callback, Request};

/// `vouch task request --signed`: the client signs, a gateway (or the client) submits.
pub(super) async fn request_signed(a: &RequestArgs, run: Run) -> Result<()> {
    if a.gateway.is_none() && !a.direct && a.out.is_none() {
        bail!(
            "--signed needs --gateway URL (the gateway submits it), --direct (you submit it) or --out FILE (a provider submits it)"
        );
    }
    // one unlock: the key signs the request and (with --direct) sends it
    let Some(key) = a.chain.signer()? else {
        bail!("--signed needs --key: the request is signed with your key");
    };
    let client = vouch_chain::Client::connect(&a.chain.rpc_url, Some(key.clone())).await?;
    let sys = vouch_chain::System::load(client, &a.chain.dirs.data_dir)?;
    let route = sys.fee_route(a.model, a.version).await?;
    if route.token == Address::ZERO {
        bail!(
            "model {} version {} takes fees in ETH, which cannot be signed for: request without --signed",
            a.model,
            a.version
        );
    }
    let decimals = sys.token_decimals(route.token).await?;
    let fee: u128 = vouch_chain::alloy::primitives::utils::parse_units(&a.fee, decimals)
        .map_err(|e| eyre::eyre!("bad fee `{}` for a {decimals}-decimal token: {e}", a.fee))?
        .get_absolute()
        .try_into()
        .map_err(|_| eyre::eyre!("fee `{}` out of range", a.fee))?;
    // inline, as the gateway checks it against its own quantization of the input; by CID
    // for a provider, who is handed the input with the request
    let (input_cid, inline_input) = if a.out.is_some() {
        let cid = vouch_primitives::Cid::of_file(&run.input_bytes).to_string();
        (cid, Vec::new())
    } else {
        (String::new(), run.input_bytes)
    };
    let r = Request {
        model_id: a.model,
        version: a.version,
        mode: a.mode,
        fee,
        deadline_secs: a.deadline,
        input_commitment: run.input_commitment,
        rows: run.rows,
        input_cid,
        inline_input,
        callback: a.callback.map(|target| Callback {
            target,
            gas: a.callback_gas,
        }),
    };
    let nonce = match a.nonce {
        Some(n) => U256::from(n),
        None => U256::from(rand::random::<u64>()),
    };
    let signed = sys.sign_request(&key, &r, nonce, a.expiry).await?;
    let v = match (&a.gateway, &a.out) {
        (Some(url), _) => {
            let input = io::read_json(&a.work.input)?;
            vouch_gateway::client::submit_signed(url.trim_end_matches('/'), &signed, &input).await?
        }
        (_, Some(path)) => {
            let vault = *sys.fee_vault()?.address();
            let id = signed.digest(sys.client().chain_id(), vault)?;
            let bytes = serde_json::to_vec_pretty(&signed)?;
            std::fs::write(path, bytes)
                .map_err(|e| eyre::eyre!("cannot write {}: {e}", path.display()))?;
            json!({
                "id": id.to_string(),
                "requester": signed.client.to_string(),
                "mode": a.mode.as_str(),
                "max_fee": fee.to_string(),
                "input_cid": signed.input.input_cid,
                "file": path.display().to_string(),
                "status": "signed",
            })
        }
        _ => {
            let id = sys.request_signed(&signed).await?;
            json!({
                "id": format!("{id:#x}"),
                "requester": signed.client.to_string(),
                "mode": a.mode.as_str(),
                "max_fee": fee.to_string(),
                "status": "requested",
            })
        }
    };
    let shown = v.clone();
    if let Some(path) = &a.out {
        out::result(v, || {
            out::line(format!(
                "signed request written to {} (task id {} once a provider submits it with `vouch task submit-zk --signed`; fee {} {} paid by the signer)",
                path.display(),
                shown["id"].as_str().unwrap_or("?"),
                a.fee,
                route.token
            ));
        });
        return Ok(());
    }
    out::result(v, || {
        out::line(format!(
            "task {} requested, signed by {} (fee {} {} paid by the signer)",
            shown["id"].as_str().unwrap_or("?"),
            signed.client,
            a.fee,
            route.token
        ));
    });
    Ok(())
}
