//! Token lifetimes and refresh behaviour as ordered policy rules, in the manner of Okta's
//! authorization-server access policies: the first rule whose conditions match a request
//! (client, grant type, scope, user group) decides access-token TTL, refresh-token idle and
//! absolute lifetimes, rotation and the grace window (RFC 9700 §4.14.2; OAuth 2.1 "Refresh
//! Token Recommendations").
//!
//! Defaults when no rule matches ([`TokenPolicy::default`]): access tokens live one hour;
//! refresh tokens rotate, expire after 7 days unused and 90 days after the original grant,
//! and a just-rotated token may be retried for 30 seconds.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::client::{ApplicationKind, ClientId, GrantType};
use crate::error::Error;
use crate::scope::Scope;

/// Longest grace window: Okta, Cognito and Auth0 all cap it at 60 s.
pub const MAX_GRACE: Duration = Duration::from_secs(60);
/// Longest access-token lifetime (the conformance suite's `expires_in` bound is one year).
pub const MAX_ACCESS_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// How a refresh grant treats the presented refresh token.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RotationMode {
    /// Every refresh returns a new refresh token; the old one is retired, and presenting it
    /// after the grace window revokes the family (RFC 9700 §4.14.2).
    Rotate,
    /// The same refresh token stays valid until it expires (Okta's "persistent").
    Static,
}

/// What a matched rule decides.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TokenPolicy {
    /// Access-token lifetime.
    #[serde(with = "secs")]
    pub access_token_ttl: Duration,
    /// A refresh token expires if not used for this long; `None` = no idle limit.
    #[serde(with = "opt_secs")]
    pub refresh_idle: Option<Duration>,
    /// Every token of a family expires this long after the original grant; `None` = never.
    #[serde(with = "opt_secs")]
    pub refresh_absolute: Option<Duration>,
    /// Rotation mode (a client's own setting overrides it; public clients always rotate).
    pub rotation: RotationMode,
    /// How long a just-rotated refresh token may be retried and get the same response.
    #[serde(with = "secs")]
    pub grace: Duration,
    /// Most retries inside the grace window; `None` = only the window bounds them.
    pub max_reuse: Option<u32>,
    /// Whether refresh tokens may be issued at all under this rule.
    pub issue_refresh_tokens: bool,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        TokenPolicy {
            access_token_ttl: Duration::from_secs(3600),
            refresh_idle: Some(Duration::from_secs(7 * 24 * 3600)),
            refresh_absolute: Some(Duration::from_secs(90 * 24 * 3600)),
            rotation: RotationMode::Rotate,
            grace: Duration::from_secs(30),
            max_reuse: None,
            issue_refresh_tokens: true,
        }
    }
}

impl TokenPolicy {
    /// Checks the bounds.
    ///
    /// # Errors
    /// [`Error::Config`] naming `field` and the bound broken.
    pub fn validate(&self, field: &str) -> Result<(), Error> {
        if self.access_token_ttl.as_secs() == 0 || self.access_token_ttl > MAX_ACCESS_TTL {
            return Err(Error::config(
                format!("{field}.access_token_ttl"),
                "must be 1 s to 365 days",
            ));
        }
        if self.grace > MAX_GRACE {
            return Err(Error::config(format!("{field}.grace"), "must be 0 to 60 s"));
        }
        if self.grace >= self.access_token_ttl {
            return Err(Error::config(format!("{field}.grace"), "must be shorter than access_token_ttl, or a replayed response would carry an expired token"));
        }
        if self.refresh_idle.is_some_and(|d| d.as_secs() == 0) {
            return Err(Error::config(
                format!("{field}.refresh_idle"),
                "must be positive or absent",
            ));
        }
        if self
            .refresh_absolute
            .is_some_and(|d| d < self.access_token_ttl)
        {
            return Err(Error::config(
                format!("{field}.refresh_absolute"),
                "must be at least access_token_ttl",
            ));
        }
        Ok(())
    }
}

/// Conditions of a rule; an absent condition matches everything.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyMatch {
    /// Matches when the client is one of these.
    pub clients: Option<Vec<ClientId>>,
    /// Matches when the client is of one of these kinds.
    pub kinds: Option<Vec<ApplicationKind>>,
    /// Matches when the grant type is one of these.
    pub grant_types: Option<Vec<GrantType>>,
    /// Matches when the granted scope contains any of these.
    pub scopes_any: Option<Scope>,
    /// Matches when the user is in any of these groups.
    pub groups_any: Option<Vec<String>>,
}

/// A named rule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyRule {
    /// A name for logs and errors.
    pub name: String,
    /// When it applies.
    #[serde(default)]
    pub when: PolicyMatch,
    /// What it decides.
    pub then: TokenPolicy,
}

/// What a request looks like to the rules.
#[derive(Clone, Copy, Debug)]
pub struct PolicyInput<'a> {
    /// The client.
    pub client: &'a ClientId,
    /// Its kind.
    pub kind: ApplicationKind,
    /// The grant type of the request.
    pub grant_type: GrantType,
    /// The scope being granted.
    pub scope: &'a Scope,
    /// The user's groups (empty for client-only grants).
    pub groups: &'a [String],
}

/// Ordered rules and the fallback.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policies {
    /// Tried in order; the first match wins.
    pub rules: Vec<PolicyRule>,
    /// Used when no rule matches.
    pub fallback: TokenPolicy,
}

impl Policies {
    /// The policy for `input`.
    #[must_use]
    pub fn select(&self, input: &PolicyInput<'_>) -> &TokenPolicy {
        self.rules
            .iter()
            .find(|r| r.when.matches(input))
            .map_or(&self.fallback, |r| &r.then)
    }

    /// Checks every rule.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad field.
    pub fn validate(&self) -> Result<(), Error> {
        self.fallback.validate("policies.fallback")?;
        for (i, r) in self.rules.iter().enumerate() {
            r.then.validate(&format!("policies.rules[{i}].then"))?;
        }
        Ok(())
    }
}

impl PolicyMatch {
    /// Whether every present condition holds.
    #[must_use]
    pub fn matches(&self, input: &PolicyInput<'_>) -> bool {
        self.clients
            .as_ref()
            .is_none_or(|c| c.contains(input.client))
            && self.kinds.as_ref().is_none_or(|k| k.contains(&input.kind))
            && self
                .grant_types
                .as_ref()
                .is_none_or(|g| g.contains(&input.grant_type))
            && self
                .scopes_any
                .as_ref()
                .is_none_or(|s| s.intersects(input.scope))
            && self
                .groups_any
                .as_ref()
                .is_none_or(|g| g.iter().any(|x| input.groups.contains(x)))
    }
}

mod secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

mod opt_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&d.as_secs()),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Option::<u64>::deserialize(d).map(|o| o.map(Duration::from_secs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input<'a>(client: &'a ClientId, scope: &'a Scope, groups: &'a [String]) -> PolicyInput<'a> {
        PolicyInput {
            client,
            kind: ApplicationKind::Web,
            grant_type: GrantType::RefreshToken,
            scope,
            groups,
        }
    }

    #[test]
    fn first_matching_rule_wins_and_fallback_applies() {
        let admins = PolicyRule {
            name: "admins".into(),
            when: PolicyMatch {
                groups_any: Some(vec!["admin".into()]),
                ..PolicyMatch::default()
            },
            then: TokenPolicy {
                access_token_ttl: Duration::from_secs(300),
                ..TokenPolicy::default()
            },
        };
        let api = PolicyRule {
            name: "api".into(),
            when: PolicyMatch {
                scopes_any: Some(Scope::parse("api:write").unwrap()),
                ..PolicyMatch::default()
            },
            then: TokenPolicy {
                access_token_ttl: Duration::from_secs(600),
                ..TokenPolicy::default()
            },
        };
        let p = Policies {
            rules: vec![admins, api],
            fallback: TokenPolicy::default(),
        };
        let c = ClientId::new("c").unwrap();
        let s = Scope::parse("api:write").unwrap();
        let admin = vec!["admin".to_string()];
        assert_eq!(
            p.select(&input(&c, &s, &admin)).access_token_ttl.as_secs(),
            300
        );
        assert_eq!(
            p.select(&input(&c, &s, &[])).access_token_ttl.as_secs(),
            600
        );
        let other = Scope::parse("read").unwrap();
        assert_eq!(
            p.select(&input(&c, &other, &[])).access_token_ttl.as_secs(),
            3600
        );
    }

    #[test]
    fn grace_over_sixty_seconds_is_a_config_error() {
        let p = TokenPolicy {
            grace: Duration::from_secs(61),
            ..TokenPolicy::default()
        };
        let e = p.validate("policies.fallback").unwrap_err().to_string();
        assert!(e.contains("policies.fallback.grace"), "{e}");
    }
}
