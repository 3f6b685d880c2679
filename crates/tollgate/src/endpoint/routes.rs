//! Which endpoint a request path names, and which methods each endpoint accepts. The paths
//! come from the core's configuration ([`crate::discovery::EndpointPaths`]) so that what
//! discovery advertises and what is mounted cannot drift apart; both metadata documents sit
//! where OIDC Discovery §4 and RFC 8414 §3 put them.

use crate::discovery::EndpointPaths;

/// An endpoint the adapter mounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// `/authorize` (RFC 6749 §3.1): `GET` and `POST` (OIDC Core §3.1.2.1).
    Authorize,
    /// `/token` (RFC 6749 §3.2): `POST` only.
    Token,
    /// `/revoke` (RFC 7009 §2.1): `POST` only.
    Revoke,
    /// `/introspect` (RFC 7662 §2.1): `POST` only.
    Introspect,
    /// `/userinfo` (OIDC Core §5.3.1): `GET` and `POST`.
    UserInfo,
    /// The JWK Set: `GET`.
    Jwks,
    /// `/.well-known/openid-configuration`: `GET`.
    OpenIdConfiguration,
    /// `/.well-known/oauth-authorization-server`: `GET`.
    AuthorizationServerMetadata,
}

impl Endpoint {
    /// The methods the endpoint accepts, as an `Allow` header value (RFC 9110 §10.2.1).
    #[must_use]
    pub fn allow(self) -> &'static str {
        match self {
            Endpoint::Authorize | Endpoint::UserInfo => "GET, POST",
            Endpoint::Token | Endpoint::Revoke | Endpoint::Introspect => "POST",
            Endpoint::Jwks
            | Endpoint::OpenIdConfiguration
            | Endpoint::AuthorizationServerMetadata => "GET",
        }
    }

    /// Whether the endpoint accepts `method` (a method token, case-sensitive).
    #[must_use]
    pub fn accepts(self, method: &str) -> bool {
        self.allow().split(", ").any(|m| m == method)
    }

    /// A short name for logs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Authorize => "authorize",
            Endpoint::Token => "token",
            Endpoint::Revoke => "revoke",
            Endpoint::Introspect => "introspect",
            Endpoint::UserInfo => "userinfo",
            Endpoint::Jwks => "jwks",
            Endpoint::OpenIdConfiguration => "openid-configuration",
            Endpoint::AuthorizationServerMetadata => "oauth-authorization-server",
        }
    }
}

/// The mounted paths, matched exactly.
#[derive(Clone, Debug)]
pub struct Routes {
    base: String,
    table: Vec<(String, Endpoint)>,
}

impl Routes {
    /// Mounts every endpoint under `base` (e.g. `""` or `"/oauth"`; a trailing `/` is
    /// dropped). The OIDC document is served at `{base}/.well-known/openid-configuration`;
    /// the RFC 8414 document at `/.well-known/oauth-authorization-server{base}` and, for
    /// clients that append instead of insert, at `{base}/.well-known/oauth-authorization-server`.
    #[must_use]
    pub fn new(base: &str, paths: &EndpointPaths) -> Routes {
        let base = base.trim_end_matches('/').to_string();
        let at = |p: &str| format!("{base}{p}");
        let table = vec![
            (at(&paths.authorization), Endpoint::Authorize),
            (at(&paths.token), Endpoint::Token),
            (at(&paths.revocation), Endpoint::Revoke),
            (at(&paths.introspection), Endpoint::Introspect),
            (at(&paths.userinfo), Endpoint::UserInfo),
            (at(&paths.jwks), Endpoint::Jwks),
            (
                at("/.well-known/openid-configuration"),
                Endpoint::OpenIdConfiguration,
            ),
            (
                format!("/.well-known/oauth-authorization-server{base}"),
                Endpoint::AuthorizationServerMetadata,
            ),
            (
                at("/.well-known/oauth-authorization-server"),
                Endpoint::AuthorizationServerMetadata,
            ),
        ];
        Routes { base, table }
    }

    /// The path of an issuer URL (`https://as.example/t1` → `/t1`), the natural base path.
    #[must_use]
    pub fn issuer_path(issuer: &str) -> &str {
        let rest = issuer.split_once("://").map_or(issuer, |(_, r)| r);
        let path = rest.find('/').map_or("", |i| &rest[i..]);
        path.trim_end_matches('/')
    }

    /// The base path, without a trailing `/`.
    #[must_use]
    pub fn base(&self) -> &str {
        &self.base
    }

    /// The endpoint mounted at `path`, if any.
    #[must_use]
    pub fn find(&self, path: &str) -> Option<Endpoint> {
        self.table.iter().find(|(p, _)| p == path).map(|(_, e)| *e)
    }

    /// Every mounted path and its endpoint.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Endpoint)> {
        self.table.iter().map(|(p, e)| (p.as_str(), *e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_paths_and_discovery_locations() {
        let r = Routes::new("/t1/", &EndpointPaths::default());
        assert_eq!(r.find("/t1/token"), Some(Endpoint::Token));
        assert_eq!(r.find("/token"), None);
        assert_eq!(
            r.find("/t1/.well-known/openid-configuration"),
            Some(Endpoint::OpenIdConfiguration)
        );
        assert_eq!(
            r.find("/.well-known/oauth-authorization-server/t1"),
            Some(Endpoint::AuthorizationServerMetadata)
        );
        assert!(Endpoint::Token.accepts("POST") && !Endpoint::Token.accepts("GET"));
        assert_eq!(Routes::issuer_path("https://as.example/t1/"), "/t1");
        assert_eq!(Routes::issuer_path("http://127.0.0.1:8080"), "");
    }
}
