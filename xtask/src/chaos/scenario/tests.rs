use super::*;

fn decoder() -> RevertDecoder {
    let mut d = RevertDecoder::default();
    for (contract, sig) in [
        (Some("ScenarioBase"), "SetupCycleFailed(bytes)"),
        (Some("VaultCore"), "CycleTooSoon(uint256)"),
        (None, "DepositsPaused()"),
    ] {
        let error = alloy::json_abi::Error::parse(sig).unwrap();
        d.errors
            .insert(error.selector().0, (contract.map(str::to_owned), error));
    }
    d
}

fn encode(sig: &str, args: &[DynSolValue]) -> Vec<u8> {
    use alloy::dyn_abi::JsonAbiExt as _;
    alloy::json_abi::Error::parse(sig)
        .unwrap()
        .abi_encode_input(args)
        .unwrap()
}

#[test]
fn builtin_custom_nested_and_unknown_reverts_are_named() {
    let d = decoder();
    let panic = encode(
        "Panic(uint256)",
        &[DynSolValue::Uint(alloy::primitives::U256::from(0x11), 256)],
    );
    assert_eq!(
        d.decode(&panic),
        "Panic(0x11): arithmetic underflow or overflow"
    );
    let text = encode("Error(string)", &[DynSolValue::String("no vault".into())]);
    assert_eq!(d.decode(&text), r#"Error("no vault")"#);
    let soon = encode(
        "CycleTooSoon(uint256)",
        &[DynSolValue::Uint(
            alloy::primitives::U256::from(1_767_000_600u64),
            256,
        )],
    );
    assert_eq!(d.decode(&soon), "VaultCore.CycleTooSoon(1767000600)");
    let wrapped = encode(
        "SetupCycleFailed(bytes)",
        &[DynSolValue::Bytes(panic.clone())],
    );
    assert_eq!(
        d.decode(&wrapped),
        "ScenarioBase.SetupCycleFailed(Panic(0x11): arithmetic underflow or overflow)"
    );
    assert_eq!(
        d.decode(&encode("DepositsPaused()", &[])),
        "DepositsPaused()"
    );
    assert_eq!(
        d.decode(&[0xde, 0xad, 0xbe, 0xef, 1]),
        "unknown error 0xdeadbeef"
    );
    assert!(d.decode(&[]).starts_with("no revert data"));
    assert!(d
        .decode(&[1, 2])
        .starts_with("malformed revert data 0x0102"));
}
