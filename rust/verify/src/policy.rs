//! Scope policy: which scopes a method (and target name) requires. Rule keys are
//! `"<method>:<name>"`, `"<method>"` and `"*"`; the most specific key present wins and its scopes
//! must all be held. No matching key, or an empty list, allows the request.

use std::collections::HashMap;

use crate::errors::{msg, Check, VerifyError};

/// Whether `scope` is an RFC 6749 §3.3 scope-token (`%x21 / %x23-5B / %x5D-7E`, at least one),
/// so that it can be quoted in a `WWW-Authenticate` challenge as it is.
pub fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// A rule whose scopes are not all scope-tokens (its position among the rules given).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadScope {
    pub rule: usize,
}

/// The rules, by key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopePolicy {
    /// Keys in the order given; a key given twice keeps its last scopes at its first place.
    rules: Vec<(String, Vec<String>)>,
    by_key: HashMap<String, usize>,
}

impl ScopePolicy {
    /// A policy of `rules` (key, scopes). Each rule's scopes are kept once each, in order.
    pub fn new(rules: impl IntoIterator<Item = (String, Vec<String>)>) -> Result<Self, BadScope> {
        let mut policy = ScopePolicy::default();
        for (index, (key, scopes)) in rules.into_iter().enumerate() {
            if !scopes.iter().all(|s| is_scope_token(s)) {
                return Err(BadScope { rule: index });
            }
            let mut unique: Vec<String> = Vec::with_capacity(scopes.len());
            for scope in scopes {
                if !unique.contains(&scope) {
                    unique.push(scope);
                }
            }
            match policy.by_key.get(&key) {
                Some(&at) => policy.rules[at].1 = unique,
                None => {
                    policy.by_key.insert(key.clone(), policy.rules.len());
                    policy.rules.push((key, unique));
                }
            }
        }
        Ok(policy)
    }

    /// The rules, in the order given.
    pub fn rules(&self) -> &[(String, Vec<String>)] {
        &self.rules
    }

    fn rule(&self, key: &str) -> Option<&[String]> {
        self.by_key.get(key).map(|&i| self.rules[i].1.as_slice())
    }

    /// The scopes the most specific matching rule requires (none when no rule matches).
    pub fn required(&self, method: &str, name: Option<&str>) -> &[String] {
        if let Some(name) = name {
            if let Some(scopes) = self.rule(&format!("{method}:{name}")) {
                return scopes;
            }
        }
        self.rule(method).unwrap_or_else(|| self.wildcard())
    }

    /// The `"*"` rule's scopes (none without one): what a method no key names requires.
    pub fn wildcard(&self) -> &[String] {
        self.rule("*").unwrap_or(&[])
    }

    /// Whether `held` (the principal's scopes; `None` without a principal) satisfies `required`:
    /// -32011 "insufficient scope: <missing>" naming the scopes missing, or -32010
    /// "authentication required" when scopes are required and there is no principal.
    pub fn check(required: &[String], held: Option<&[String]>) -> Result<(), VerifyError> {
        if required.is_empty() {
            return Ok(());
        }
        let Some(held) = held else {
            return Err(VerifyError::new(
                Check::AuthenticationRequired,
                msg::AUTHENTICATION_REQUIRED,
            ));
        };
        let missing: Vec<&str> = required
            .iter()
            .filter(|scope| !held.contains(scope))
            .map(String::as_str)
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(VerifyError::insufficient_scope(&missing))
    }

    /// [`ScopePolicy::check`] of the rule for `method` (and `name`).
    pub fn check_request(
        &self,
        method: &str,
        name: Option<&str>,
        held: Option<&[String]>,
    ) -> Result<(), VerifyError> {
        ScopePolicy::check(self.required(method, name), held)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;

    fn policy(rules: &[(&str, &[&str])]) -> ScopePolicy {
        ScopePolicy::new(rules.iter().map(|(k, scopes)| {
            (
                (*k).to_owned(),
                scopes.iter().map(|s| (*s).to_owned()).collect(),
            )
        }))
        .unwrap()
    }

    fn owned(scopes: &[&str]) -> Vec<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn most_specific_rule_wins() {
        let p = policy(&[
            ("tools/call:add", &["tools.add"]),
            ("tools/call", &["tools.call"]),
            ("tools/list", &[]),
            ("*", &["mcp"]),
        ]);
        assert_eq!(p.required("tools/call", Some("add")), ["tools.add"]);
        assert_eq!(p.required("tools/call", Some("sub")), ["tools.call"]);
        assert_eq!(p.required("tools/call", None), ["tools.call"]);
        assert!(p.required("tools/list", None).is_empty());
        assert_eq!(p.required("prompts/get", Some("x")), ["mcp"]);
        assert_eq!(p.wildcard(), ["mcp"]);
        assert!(policy(&[]).required("x", None).is_empty());
        assert!(policy(&[]).wildcard().is_empty());
    }

    #[test]
    fn scopes_are_tokens_kept_once() {
        let p = policy(&[("a", &["x", "y", "x"]), ("a", &["z", "z"])]);
        assert_eq!(p.rules(), [("a".to_owned(), owned(&["z"]))]);
        for bad in ["", "a b", "a\"b", "a\\b", "é", "\u{7f}"] {
            let rules = vec![
                ("ok".to_owned(), owned(&["fine"])),
                ("k".to_owned(), vec![bad.to_owned()]),
            ];
            assert_eq!(
                ScopePolicy::new(rules),
                Err(BadScope { rule: 1 }),
                "{bad:?}"
            );
        }
        assert!(is_scope_token("!#[]~"));
    }

    #[test]
    fn check_names_the_missing_scopes() {
        let p = policy(&[("tools/call:add", &["a", "b"]), ("*", &[])]);
        let err = p
            .check_request("tools/call", Some("add"), Some(&owned(&["b"])))
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Forbidden);
        assert_eq!(err.message(), "insufficient scope: a");
        assert_eq!(
            err.challenge().header_value(),
            "Bearer error=\"insufficient_scope\", scope=\"a\""
        );
        assert!(p
            .check_request("tools/call", Some("add"), Some(&owned(&["b", "a"])))
            .is_ok());
        let err = p
            .check_request("tools/call", Some("add"), Some(&[]))
            .unwrap_err();
        assert_eq!(err.message(), "insufficient scope: a b");
        let err = p
            .check_request("tools/call", Some("add"), None)
            .unwrap_err();
        assert_eq!(err.check(), Check::AuthenticationRequired);
        assert_eq!(err.code(), Some(-32010));
        // No rule, or an empty one: allowed, even without a principal.
        assert!(p.check_request("tools/list", None, None).is_ok());
    }
}
