use super::*;

const SOURCE: &str = r#"// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

library M {
    function min(uint256 a, uint256 b) internal pure returns (uint256) {
        return a < b ? a : b;
    }
}

contract C {
    uint256 internal constant BPS = 10_000;
    uint256 public x;
    error Bad();

    function f(uint256 a, uint256 b) external returns (uint256 r) {
        require(a != 0, "zero");
        if (a > b) revert Bad();
        x = a * b / BPS;
        g(a);
        r = M.min(a, 3);
        emit E(a + 1);
    }

    function g(uint256 a) internal view returns (bool) {
        return a >= x && true;
    }

    event E(uint256 v);
}
"#;

fn find<'a>(ms: &'a [Mutant], op: Operator, original: &str) -> Vec<&'a Mutant> {
    ms.iter()
        .filter(|m| m.operator == op && m.original == original)
        .collect()
}

#[test]
fn every_family_is_found_on_the_syntax_tree() {
    let ms = mutants_of("src/C.sol", SOURCE).unwrap();
    let ops: std::collections::BTreeSet<Operator> = ms.iter().map(|m| m.operator).collect();
    for op in Operator::ALL {
        assert!(ops.contains(&op), "no {op} mutant in {ms:#?}");
    }
    // require removed, negated; the revert guard made false.
    assert_eq!(
        find(&ms, Operator::RemoveGuard, "require(a != 0, \"zero\");")[0].replacement,
        "{}"
    );
    assert_eq!(
        find(&ms, Operator::RemoveGuard, "a > b")[0].replacement,
        "false"
    );
    assert_eq!(find(&ms, Operator::Comparison, ">")[0].replacement, ">=");
    assert_eq!(
        find(&ms, Operator::Literal, "10_000")[0].replacement,
        "1_000"
    );
    assert_eq!(find(&ms, Operator::Literal, "3")[0].replacement, "4");
    assert_eq!(find(&ms, Operator::Literal, "true")[0].replacement, "false");
    assert_eq!(
        find(&ms, Operator::Rounding, "a * b / BPS")[0].replacement,
        "((a * b) + (BPS) - 1) / (BPS)"
    );
    assert_eq!(find(&ms, Operator::MinMax, "a : b")[0].replacement, "b : a");
    assert_eq!(
        find(&ms, Operator::MinMax, "M.min(a, 3)")[0].replacement,
        "((a) > (3) ? (a) : (3))"
    );
    assert_eq!(find(&ms, Operator::DeleteCall, "g(a);").len(), 1);
    assert_eq!(
        find(&ms, Operator::DeleteAssignment, "x = a * b / BPS;").len(),
        1
    );
    // Nothing inside the emit.
    assert!(ms
        .iter()
        .all(|m| !m.original.contains("a + 1") && m.line != 21));
    // Early return: named return -> `return r;`; bool -> `return false;`.
    let early: Vec<_> = ms
        .iter()
        .filter(|m| m.operator == Operator::EarlyReturn)
        .map(|m| (m.function.as_str(), m.replacement.as_str()))
        .collect();
    assert!(early.contains(&("f", " return r;")));
    assert!(early.contains(&("g", " return false;")));
}

#[test]
fn ids_are_stable_and_unique_and_survive_edits_elsewhere() {
    let a = mutants_of("src/C.sol", SOURCE).unwrap();
    let b = mutants_of("src/C.sol", SOURCE).unwrap();
    assert_eq!(a, b);
    let ids: std::collections::BTreeSet<&str> = a.iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids.len(), a.len(), "ids collide");
    // An edit in another function moves every offset but keeps g's ids.
    let edited = SOURCE.replace("x = a * b / BPS;", "x = a * b / BPS;\n        x += 1;");
    let c = mutants_of("src/C.sol", &edited).unwrap();
    let g_ids = |ms: &[Mutant]| -> Vec<String> {
        ms.iter()
            .filter(|m| m.function == "g")
            .map(|m| m.id.clone())
            .collect()
    };
    assert_eq!(g_ids(&a), g_ids(&c));
    assert_ne!(a.len(), c.len());
}

#[test]
fn applied_mutants_parse_and_diffs_show_the_line() {
    for m in mutants_of("src/C.sol", SOURCE).unwrap() {
        let mutated = m.apply(SOURCE);
        assert!(
            imports_of("src/C.sol", &mutated).is_ok(),
            "{} does not parse:\n{mutated}",
            m.describe()
        );
        let diff = m.diff(SOURCE);
        assert!(diff.contains(&format!("@@ -{},", m.line)), "{diff}");
    }
    let m = &find(
        &mutants_of("src/C.sol", SOURCE).unwrap(),
        Operator::Comparison,
        ">",
    )[0]
    .clone();
    assert!(m
        .diff(SOURCE)
        .contains("-        if (a > b) revert Bad();\n+        if (a >= b) revert Bad();\n"));
}

#[test]
fn invalid_solidity_is_bad_input() {
    let err = mutants_of("src/X.sol", "contract {").unwrap_err();
    assert!(err.cause.contains("not valid Solidity"), "{}", err.cause);
}
