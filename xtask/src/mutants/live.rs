//! The live-fork engine against a compiled vault (`--engine both`): an anvil fork of the pinned
//! block, the vault deployed there from the artifacts (as DeployVault does: the module, then the
//! vault with the chain's own configuration), warmed up, then every keeper experiment of
//! [`crate::chaos::engine::live`] from one snapshot.

use std::path::Path;

use alloy::dyn_abi::{DynSolValue, JsonAbiExt as _};
use alloy::json_abi::JsonAbi;
use alloy::network::TransactionBuilder as _;
use alloy::primitives::{Address, Bytes};
use alloy::providers::Provider as _;
use alloy::rpc::types::TransactionRequest;
use anyhow::Context as _;

use super::run::ScenarioVerdict;
use crate::chain::addressbook::AddressBook;
use crate::chain::vault::VaultReader;
use crate::chaos::pin::PinnedBlock;
use crate::foundry::anvil::Anvil;
use crate::project::Project;
use crate::report;
use crate::toolchain::Toolchain;

pub struct LiveRunner {
    pub ids: Vec<String>,
    project: Project,
    toolchain: Toolchain,
    upstream: String,
    book: AddressBook,
}

impl LiveRunner {
    pub fn new(
        project: &Project,
        local: &crate::chain::LocalChain,
        ids: &[String],
    ) -> anyhow::Result<Self> {
        anyhow::ensure!(
            local.book.vault != Address::ZERO,
            "the local chain's address book names no vault: its configuration is what mutants are deployed with"
        );
        Ok(Self {
            ids: ids.to_vec(),
            project: project.clone(),
            toolchain: Toolchain::ensure(project)?,
            upstream: local.info.url.clone(),
            book: local.book.clone(),
        })
    }

    /// Every live experiment against the vault in `dir` at `block`.
    pub fn run(&self, block: &PinnedBlock, dir: &Path) -> Vec<(String, ScenarioVerdict)> {
        let runtime = match crate::runtime::shared() {
            Ok(r) => r,
            Err(e) => return self.all(ScenarioVerdict::Error(e.to_string())),
        };
        let anvil = match Anvil::builder()
            .arg("--fork-url")
            .arg(&self.upstream)
            .arg("--fork-block-number")
            .arg(block.number.to_string())
            .arg("--no-storage-caching")
            .spawn(&self.toolchain)
        {
            Ok(a) => a,
            Err(e) => return self.all(ScenarioVerdict::Error(format!("{e:#}"))),
        };
        let fork = runtime.block_on(async {
            let provider = crate::chain::connect(&anvil.url())?;
            let address = self.deploy(&provider, dir).await?;
            let vault = VaultReader::new(&self.project, address, provider)?;
            let fork =
                crate::chaos::engine::live::Fork::new(vault, self.book.clone(), true).await?;
            anyhow::Ok(fork)
        });
        let fork = match fork {
            Ok(f) => f,
            // The vault is the only thing that differs from the clean run, which held.
            Err(e) => {
                return self.all(ScenarioVerdict::Reverted(format!(
                    "deploy or warm-up: {e:#}"
                )))
            }
        };
        let out = self
            .ids
            .iter()
            .map(|id| {
                let e = runtime.block_on(fork.run(id));
                let v = match e.verdict {
                    report::Verdict::Held => ScenarioVerdict::Held,
                    report::Verdict::Disproved => ScenarioVerdict::Disproved(
                        e.checks
                            .iter()
                            .filter(|c| !c.passed())
                            .map(report::describe_check)
                            .collect(),
                    ),
                    report::Verdict::Error | report::Verdict::Interrupted => {
                        ScenarioVerdict::Reverted(e.error.unwrap_or_else(|| "error".into()))
                    }
                };
                (id.clone(), v)
            })
            .collect();
        drop(anvil);
        out
    }

    fn all(&self, v: ScenarioVerdict) -> Vec<(String, ScenarioVerdict)> {
        self.ids.iter().map(|id| (id.clone(), v.clone())).collect()
    }

    /// The module, then the vault bound to it, from anvil's first dev account.
    async fn deploy(
        &self,
        provider: &alloy::providers::DynProvider,
        dir: &Path,
    ) -> anyhow::Result<Address> {
        let b = &self.book;
        let addresses = DynSolValue::Tuple(
            [
                b.usdt,
                b.btcb,
                b.lp_pair,
                b.flash_pair,
                b.pancake_router,
                b.aster_diamond,
                b.alp,
                b.bnb_usd_feed,
                b.btcb,
            ]
            .into_iter()
            .map(DynSolValue::Address)
            .collect(),
        );
        // The chain's vault was deployed with DeployVault.defaultConfig(): the same here.
        let chain_vault = VaultReader::new(&self.project, b.vault, provider.clone())?;
        let config = chain_vault.one("getConfig", &[], None).await?;
        let module = create(
            provider,
            dir,
            "CycleModule",
            std::slice::from_ref(&addresses),
        )
        .await?;
        create(
            provider,
            dir,
            "YieldVault",
            &[addresses, config, DynSolValue::Address(module)],
        )
        .await
    }
}

async fn create(
    provider: &alloy::providers::DynProvider,
    dir: &Path,
    name: &str,
    args: &[DynSolValue],
) -> anyhow::Result<Address> {
    let path = dir.join(format!("{name}.json"));
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)?;
    let abi: JsonAbi = serde_json::from_value(json["abi"].clone())?;
    let code: Bytes = json["bytecode"]["object"]
        .as_str()
        .context("no bytecode")?
        .parse()?;
    let ctor_args = match abi.constructor() {
        Some(c) => c.abi_encode_input(args)?,
        None => vec![],
    };
    let mut data = code.to_vec();
    data.extend(ctor_args);
    let tx = TransactionRequest::default()
        .from(crate::chain::accounts::ADMIN)
        .with_deploy_code(Bytes::from(data))
        .gas_limit(30_000_000);
    let receipt = provider
        .send_transaction(tx)
        .await
        .with_context(|| format!("deploying {name}"))?
        .get_receipt()
        .await?;
    anyhow::ensure!(receipt.status(), "deploying {name} reverted");
    receipt
        .contract_address
        .with_context(|| format!("no address for {name}"))
}
