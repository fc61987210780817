//! Reading the vault from outside, at exact blocks, with the ABI forge wrote for it.
//!
//! Calls are encoded and decoded with `out/YieldVault.sol/YieldVault.json`, and struct fields
//! are looked up by their Solidity names, so the Rust side never carries a second copy of the
//! vault's ABI that could drift from the contract.

use alloy::dyn_abi::{DynSolValue, EventExt as _};
use alloy::eips::BlockId;
use alloy::json_abi::Param;
use alloy::primitives::{Address, Bytes, B256, I256, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{Log, TransactionRequest};
use anyhow::Context as _;

use crate::foundry::artifacts::Artifact;
use crate::project::Project;

/// The vault at one address, read through one provider.
#[derive(Clone)]
pub struct VaultReader {
    pub address: Address,
    pub artifact: Artifact,
    pub provider: DynProvider,
}

/// A decoded value with the ABI parameters that name its fields.
#[derive(Debug, Clone)]
pub struct Named {
    pub value: DynSolValue,
    pub params: Vec<Param>,
}

impl Named {
    /// The field `name` of a struct return value.
    pub fn field(&self, name: &str) -> anyhow::Result<&DynSolValue> {
        let index = self
            .params
            .iter()
            .position(|p| p.name == name)
            .with_context(|| format!("no field `{name}` (have: {})", names(&self.params)))?;
        let fields = self.value.as_tuple().context("not a struct")?;
        fields
            .get(index)
            .with_context(|| format!("field `{name}` missing from the value"))
    }

    pub fn uint(&self, name: &str) -> anyhow::Result<U256> {
        uint(self.field(name)?).with_context(|| format!("field `{name}`"))
    }

    pub fn int(&self, name: &str) -> anyhow::Result<I256> {
        self.field(name)?
            .as_int()
            .map(|(v, _)| v)
            .with_context(|| format!("field `{name}` is not an int"))
    }

    pub fn boolean(&self, name: &str) -> anyhow::Result<bool> {
        self.field(name)?
            .as_bool()
            .with_context(|| format!("field `{name}` is not a bool"))
    }
}

fn names(params: &[Param]) -> String {
    params
        .iter()
        .map(|p| p.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A uint of any width, or an enum (uint8).
pub fn uint(value: &DynSolValue) -> anyhow::Result<U256> {
    value.as_uint().map(|(v, _)| v).context("not a uint")
}

impl VaultReader {
    pub fn new(project: &Project, address: Address, provider: DynProvider) -> anyhow::Result<Self> {
        let artifact = Artifact::load(&project.forge_out(), "YieldVault.sol", "YieldVault")?;
        Ok(Self {
            address,
            artifact,
            provider,
        })
    }

    /// `eth_call` of `function(args)` at `block` (latest when `None`), decoded.
    pub async fn call(
        &self,
        function: &str,
        args: &[DynSolValue],
        block: Option<u64>,
    ) -> anyhow::Result<Vec<DynSolValue>> {
        let data = self.artifact.encode_call(function, args)?;
        let request = TransactionRequest::default()
            .to(self.address)
            .input(data.into());
        let block = block.map_or(BlockId::latest(), BlockId::number);
        let raw: Bytes = self
            .provider
            .call(request)
            .block(block)
            .await
            .with_context(|| format!("eth_call {function} at {block:?}"))?;
        self.artifact.decode_output(function, &raw)
    }

    /// A view returning one value.
    pub async fn one(
        &self,
        function: &str,
        args: &[DynSolValue],
        block: Option<u64>,
    ) -> anyhow::Result<DynSolValue> {
        let mut out = self.call(function, args, block).await?;
        anyhow::ensure!(out.len() == 1, "{function} returned {} values", out.len());
        Ok(out.remove(0))
    }

    pub async fn u256(
        &self,
        function: &str,
        args: &[DynSolValue],
        block: Option<u64>,
    ) -> anyhow::Result<U256> {
        uint(&self.one(function, args, block).await?).with_context(|| function.to_owned())
    }

    /// A view returning a struct, with its field names.
    pub async fn named(&self, function: &str, block: Option<u64>) -> anyhow::Result<Named> {
        let value = self.one(function, &[], block).await?;
        let params = self.artifact.function(function)?.outputs[0]
            .components
            .clone();
        Ok(Named { value, params })
    }

    /// A view returning several named values, as one `Named`.
    pub async fn named_outputs(&self, function: &str, block: Option<u64>) -> anyhow::Result<Named> {
        let values = self.call(function, &[], block).await?;
        let params = self.artifact.function(function)?.outputs.clone();
        Ok(Named {
            value: DynSolValue::Tuple(values),
            params,
        })
    }

    pub async fn digest(&self, block: Option<u64>) -> anyhow::Result<B256> {
        let value = self.one("stateDigest", &[], block).await?;
        let (word, _) = value
            .as_fixed_bytes()
            .context("stateDigest is not bytes32")?;
        Ok(B256::from_slice(word))
    }

    /// Decode the vault's event `name` from a receipt's logs (the first one emitted by the
    /// vault), with its parameters named.
    pub fn event(&self, name: &str, logs: &[Log]) -> anyhow::Result<Option<Named>> {
        let event = self
            .artifact
            .abi
            .event(name)
            .and_then(|events| events.first())
            .with_context(|| format!("the vault has no event `{name}`"))?;
        for log in logs.iter().filter(|l| l.address() == self.address) {
            if log.topics().first() != Some(&event.selector()) {
                continue;
            }
            let decoded = event
                .decode_log(&log.inner.data)
                .with_context(|| format!("decoding {name}"))?;
            // Put indexed and body values back in declaration order.
            let (mut indexed, mut body) = (decoded.indexed.into_iter(), decoded.body.into_iter());
            let values = event
                .inputs
                .iter()
                .map(|p| {
                    if p.indexed {
                        indexed.next()
                    } else {
                        body.next()
                    }
                })
                .collect::<Option<Vec<_>>>()
                .context("event arity")?;
            let params = event
                .inputs
                .iter()
                .map(|p| Param {
                    ty: p.ty.clone(),
                    name: p.name.clone(),
                    components: p.components.clone(),
                    internal_type: p.internal_type.clone(),
                })
                .collect();
            return Ok(Some(Named {
                value: DynSolValue::Tuple(values),
                params,
            }));
        }
        Ok(None)
    }
}
