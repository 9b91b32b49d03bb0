//! The arguments every command that touches a chain shares (endpoint, data directory, key,
//! password), and the helpers they need: a runtime, token amounts.

use clap::Args;
use eyre::{Result, WrapErr, bail};
use std::path::PathBuf;
use vouch_chain::alloy::primitives::Address;
use vouch_chain::{Client, DEFAULT_RPC_URL, Keystore, System};

/// Where vouch keeps its state.
#[derive(Debug, Clone, Args)]
pub struct DataDirArgs {
    /// The data directory (keys, deployments, devnet state).
    #[arg(long, env = "VOUCH_DATA_DIR", default_value = ".vouch")]
    pub data_dir: PathBuf,
}

/// How to reach the chain and whom to sign as.
#[derive(Debug, Clone, Args)]
pub struct ChainArgs {
    /// The data directory.
    #[command(flatten)]
    pub dirs: DataDirArgs,
    /// JSON-RPC endpoint of any EVM chain, `http://` or `https://` (default: the local devnet).
    /// `https://` certificates are checked against the system's roots; SSL_CERT_FILE adds a CA.
    #[arg(long, env = "VOUCH_RPC_URL", default_value = DEFAULT_RPC_URL)]
    pub rpc_url: String,
    /// Key to sign with: a name or address from `vouch key list`.
    #[arg(long, short = 'k', env = "VOUCH_KEY")]
    pub key: Option<String>,
    /// File holding the key's password (else `VOUCH_PASSWORD`, else a prompt).
    #[arg(long, env = "VOUCH_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
}

impl DataDirArgs {
    /// The keystore folder.
    pub fn keystore(&self) -> Keystore {
        Keystore::new(self.data_dir.join("keys"))
    }
}

/// Reads a password: from a file (first line), `VOUCH_PASSWORD`, or a prompt (twice when
/// `confirm`).
pub fn password(file: Option<&PathBuf>, prompt: &str, confirm: bool) -> Result<String> {
    if let Some(f) = file {
        let text = std::fs::read_to_string(f)
            .wrap_err_with(|| format!("cannot read password file {}", f.display()))?;
        return Ok(text.lines().next().unwrap_or("").to_owned());
    }
    if let Ok(p) = std::env::var("VOUCH_PASSWORD") {
        return Ok(p);
    }
    let p = rpassword::prompt_password(prompt).wrap_err("cannot read a password")?;
    if confirm {
        let again = rpassword::prompt_password("repeat the password: ")
            .wrap_err("cannot read a password")?;
        if again != p {
            bail!("the passwords differ");
        }
    }
    Ok(p)
}

impl ChainArgs {
    /// Unlocks the key, if one was named.
    pub fn signer(&self) -> Result<Option<vouch_chain::alloy::signers::local::PrivateKeySigner>> {
        let Some(name) = &self.key else {
            return Ok(None);
        };
        let ks = self.dirs.keystore();
        ks.find(name)?;
        let pw = password(
            self.password_file.as_ref(),
            &format!("password for key `{name}`: "),
            false,
        )?;
        Ok(Some(ks.unlock(name, pw.as_bytes())?))
    }

    /// Connects, signing with the key when one was named.
    pub async fn client(&self) -> Result<Client> {
        let signer = self.signer()?;
        Ok(Client::connect(&self.rpc_url, signer).await?)
    }

    /// Connects and loads the deployment for the endpoint's chain.
    pub async fn system(&self) -> Result<System> {
        let client = self.client().await?;
        Ok(System::load(client, &self.dirs.data_dir)?)
    }

    /// Resolves an address or a key name.
    pub fn address_of(&self, who: &str) -> Result<Address> {
        if let Ok(a) = who.parse::<Address>() {
            return Ok(a);
        }
        self.dirs.keystore().find(who)?.address.ok_or_else(|| {
            eyre::eyre!(
                "key `{who}` has no address in its file yet: unlock it once (`--key {who}`) or import it with `vouch key import --keystore`"
            )
        })
    }
}

/// A tokio runtime for one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .wrap_err("cannot start the async runtime")
}

/// Parses a token amount in whole tokens with up to 18 decimals (`1.5`) into base units.
pub fn parse_tokens(s: &str) -> Result<u128> {
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if frac.len() > 18 || (int.is_empty() && frac.is_empty()) {
        bail!("bad token amount `{s}`");
    }
    let int: u128 = if int.is_empty() {
        0
    } else {
        int.parse()
            .wrap_err_with(|| format!("bad token amount `{s}`"))?
    };
    let frac_units: u128 = if frac.is_empty() {
        0
    } else {
        let f: u128 = frac
            .parse()
            .wrap_err_with(|| format!("bad token amount `{s}`"))?;
        f * 10u128.pow(u32::try_from(18 - frac.len())?)
    };
    int.checked_mul(vouch_chain::TOKEN)
        .and_then(|v| v.checked_add(frac_units))
        .ok_or_else(|| eyre::eyre!("token amount `{s}` too large"))
}

/// Formats base units as tokens.
pub fn fmt_tokens(units: vouch_chain::alloy::primitives::U256) -> String {
    let one = vouch_chain::alloy::primitives::U256::from(vouch_chain::TOKEN);
    let int = units / one;
    let frac = units % one;
    if frac.is_zero() {
        format!("{int}")
    } else {
        let f = format!("{:018}", frac);
        format!("{int}.{}", f.trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_amounts() {
        assert_eq!(parse_tokens("1").unwrap(), vouch_chain::TOKEN);
        assert_eq!(parse_tokens("1.5").unwrap(), 3 * vouch_chain::TOKEN / 2);
        assert_eq!(parse_tokens("0.000000000000000001").unwrap(), 1);
        assert!(parse_tokens("1.0000000000000000001").is_err());
        assert!(parse_tokens("x").is_err());
        let u = vouch_chain::alloy::primitives::U256::from(3 * vouch_chain::TOKEN / 2);
        assert_eq!(fmt_tokens(u), "1.5");
    }
}
