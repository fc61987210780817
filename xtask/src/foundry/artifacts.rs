//! forge's compiled artifacts (`out/<File>.sol/<Contract>.json`) read with alloy's types.
//!
//! The xtask never hard-codes an ABI it can read: scenario results are decoded with the
//! function ABI forge wrote next to the bytecode, so a change on the Solidity side is caught
//! as a shape mismatch instead of being mis-decoded.

use std::path::{Path, PathBuf};

use alloy::dyn_abi::{DynSolValue, FunctionExt as _, JsonAbiExt as _};
use alloy::json_abi::{ContractObject, Function, JsonAbi};
use alloy::primitives::Bytes;
use anyhow::Context as _;

/// A contract's ABI and bytecode as forge wrote them.
#[derive(Debug, Clone)]
pub struct Artifact {
    pub path: PathBuf,
    pub abi: JsonAbi,
    pub bytecode: Option<Bytes>,
    pub deployed_bytecode: Option<Bytes>,
}

impl Artifact {
    /// Read `<out>/<source file name>/<contract>.json`, e.g. (`ForkChaosScenarios.s.sol`,
    /// `ForkChaosScenarios`).
    pub fn load(out_dir: &Path, source_file: &str, contract: &str) -> anyhow::Result<Self> {
        let path = out_dir.join(source_file).join(format!("{contract}.json"));
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "reading artifact {} (run `cargo xtask forge -- build`)",
                path.display()
            )
        })?;
        let object: ContractObject = serde_json::from_str(&text)
            .with_context(|| format!("parsing artifact {}", path.display()))?;
        let abi = object
            .abi
            .with_context(|| format!("artifact {} has no ABI", path.display()))?;
        Ok(Self {
            path,
            abi,
            bytecode: object.bytecode,
            deployed_bytecode: object.deployed_bytecode,
        })
    }

    /// The one function called `name` (overloads are refused: callers name a signature).
    pub fn function(&self, name: &str) -> anyhow::Result<&Function> {
        let overloads = self
            .abi
            .function(name)
            .with_context(|| format!("{} has no function `{name}`", self.path.display()))?;
        match overloads.as_slice() {
            [one] => Ok(one),
            _ => anyhow::bail!(
                "{} has {} overloads of `{name}`",
                self.path.display(),
                overloads.len()
            ),
        }
    }

    /// Decode the raw return data of `function` (forge's `returned` field).
    pub fn decode_output(
        &self,
        function: &str,
        returned: &[u8],
    ) -> anyhow::Result<Vec<DynSolValue>> {
        let function = self.function(function)?;
        function
            .abi_decode_output(returned)
            .with_context(|| format!("decoding the return data of {}", function.signature()))
    }

    /// ABI-encode a call of `function` with `args` (for `forge script --sig <calldata>`).
    pub fn encode_call(&self, function: &str, args: &[DynSolValue]) -> anyhow::Result<Bytes> {
        let function = self.function(function)?;
        Ok(function
            .abi_encode_input(args)
            .with_context(|| format!("encoding a call of {}", function.signature()))?
            .into())
    }
}
