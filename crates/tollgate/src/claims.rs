//! Claims about the user, as the host's [`ClaimsSource`] provides them, selected by scope
//! (OIDC Core §5.4), for the UserInfo endpoint (§5.3) and ID tokens.

use serde_json::{Map, Value};

use crate::scope::Scope;

/// A user's claims: a JSON object.
pub type Claims = Map<String, Value>;

/// What the core asks the host's claims source for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// The user's `sub`.
    pub subject: String,
    /// The granted scope; only claims these scopes release will be used.
    pub scope: Scope,
}

/// The host's user directory as a source of claims.
pub trait ClaimsSource: Send + Sync {
    /// Every claim the host holds for `request.subject`, or `None` if the user is gone.
    /// The core filters them by scope; returning more is harmless.
    fn claims(&self, request: &ClaimsRequest) -> Option<Claims>;
}

/// A host without a user directory: every user has only a `sub`.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoClaims;

impl ClaimsSource for NoClaims {
    fn claims(&self, _request: &ClaimsRequest) -> Option<Claims> {
        Some(Claims::new())
    }
}

/// The standard claims each scope releases (OIDC Core §5.4).
#[must_use]
pub fn claims_for_scope(scope: &str) -> &'static [&'static str] {
    match scope {
        "profile" => &[
            "name",
            "family_name",
            "given_name",
            "middle_name",
            "nickname",
            "preferred_username",
            "profile",
            "picture",
            "website",
            "gender",
            "birthdate",
            "zoneinfo",
            "locale",
            "updated_at",
        ],
        "email" => &["email", "email_verified"],
        "address" => &["address"],
        "phone" => &["phone_number", "phone_number_verified"],
        _ => &[],
    }
}

/// Keeps only the claims `scope` releases, never `null`s (OIDC Core §5.3.2), and sets `sub`.
#[must_use]
pub fn filter_claims(subject: &str, scope: &Scope, all: &Claims) -> Claims {
    let mut out = Claims::new();
    out.insert("sub".to_string(), Value::String(subject.to_string()));
    for s in scope.iter() {
        for name in claims_for_scope(s) {
            if let Some(v) = all.get(*name) {
                if !v.is_null() {
                    out.insert((*name).to_string(), v.clone());
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_scoped_claims_are_released() {
        let all: Claims = serde_json::from_str(
            r#"{"name":"Alice","email":"a@x","phone_number":"1","sub":"evil","nickname":null}"#,
        )
        .unwrap();
        let c = filter_claims("alice", &Scope::parse("openid profile").unwrap(), &all);
        assert_eq!(c.get("sub").unwrap(), "alice");
        assert_eq!(c.get("name").unwrap(), "Alice");
        assert!(c.get("email").is_none());
        assert!(c.get("nickname").is_none(), "no nulls");
    }
}
