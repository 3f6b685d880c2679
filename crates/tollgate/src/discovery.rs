//! Server metadata: OpenID Provider Metadata (OIDC Discovery §3, served at
//! `/.well-known/openid-configuration`) and OAuth 2.0 Authorization Server Metadata
//! (RFC 8414 §2, at `/.well-known/oauth-authorization-server`). Both list everything the
//! server supports and nothing it does not (DS-*): no `password` grant (RFC 9700 §2.4,
//! TK-08), no `plain` PKCE unless enabled, only `query` response mode.

use serde::Serialize;

use crate::http::Response;
use crate::server::Server;

/// Where each endpoint is mounted, relative to the issuer.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EndpointPaths {
    /// `/authorize`.
    pub authorization: String,
    /// `/token`.
    pub token: String,
    /// `/revoke`.
    pub revocation: String,
    /// `/introspect`.
    pub introspection: String,
    /// `/userinfo`.
    pub userinfo: String,
    /// `/jwks`.
    pub jwks: String,
}

impl Default for EndpointPaths {
    fn default() -> Self {
        EndpointPaths {
            authorization: "/authorize".into(),
            token: "/token".into(),
            revocation: "/revoke".into(),
            introspection: "/introspect".into(),
            userinfo: "/userinfo".into(),
            jwks: "/jwks".into(),
        }
    }
}

#[derive(Serialize)]
struct Metadata<'a> {
    issuer: &'a str,
    authorization_endpoint: String,
    token_endpoint: String,
    jwks_uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    userinfo_endpoint: Option<String>,
    revocation_endpoint: String,
    introspection_endpoint: String,
    response_types_supported: [&'a str; 1],
    response_modes_supported: [&'a str; 1],
    grant_types_supported: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject_types_supported: Option<[&'a str; 1]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    id_token_signing_alg_values_supported: Option<Vec<&'a str>>,
    scopes_supported: Vec<&'a str>,
    token_endpoint_auth_methods_supported: Vec<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    token_endpoint_auth_signing_alg_values_supported: Option<Vec<&'a str>>,
    revocation_endpoint_auth_methods_supported: Vec<&'a str>,
    introspection_endpoint_auth_methods_supported: Vec<&'a str>,
    code_challenge_methods_supported: Vec<&'a str>,
    authorization_response_iss_parameter_supported: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims_supported: Option<Vec<&'a str>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_parameter_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_uri_parameter_supported: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    claims_parameter_supported: Option<bool>,
}

/// Which document to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Document {
    /// `/.well-known/openid-configuration`.
    OpenIdConfiguration,
    /// `/.well-known/oauth-authorization-server`.
    OAuthAuthorizationServer,
}

/// Renders the metadata document.
#[must_use]
pub fn render(server: &Server, document: Document) -> Response {
    let config = server.config();
    let issuer = config.issuer.trim_end_matches('/');
    let url = |path: &str| format!("{issuer}{path}");
    let oidc = document == Document::OpenIdConfiguration;
    let signing = server.signing_algorithms();
    let mut grants = vec!["authorization_code", "refresh_token", "client_credentials"];
    grants.extend(server.extra_grant_types());
    let mut auth_methods = vec!["client_secret_basic", "client_secret_post", "none"];
    let assertion_algs = server.client_assertion_algorithms();
    if !assertion_algs.is_empty() {
        auth_methods.extend(["private_key_jwt", "client_secret_jwt"]);
    }
    let confidential_methods: Vec<&str> = auth_methods
        .iter()
        .copied()
        .filter(|m| *m != "none")
        .collect();
    let mut pkce = vec!["S256"];
    if config.allow_plain_pkce {
        pkce.push("plain");
    }
    let meta = Metadata {
        issuer: &config.issuer,
        authorization_endpoint: url(&config.endpoints.authorization),
        token_endpoint: url(&config.endpoints.token),
        jwks_uri: url(&config.endpoints.jwks),
        userinfo_endpoint: oidc.then(|| url(&config.endpoints.userinfo)),
        revocation_endpoint: url(&config.endpoints.revocation),
        introspection_endpoint: url(&config.endpoints.introspection),
        response_types_supported: ["code"],
        response_modes_supported: ["query"],
        grant_types_supported: grants,
        subject_types_supported: oidc.then_some(["public"]),
        id_token_signing_alg_values_supported: oidc.then(|| signing.clone()),
        scopes_supported: vec![
            "openid",
            "profile",
            "email",
            "address",
            "phone",
            "offline_access",
        ],
        token_endpoint_auth_methods_supported: auth_methods.clone(),
        token_endpoint_auth_signing_alg_values_supported: (!assertion_algs.is_empty())
            .then_some(assertion_algs),
        revocation_endpoint_auth_methods_supported: auth_methods,
        introspection_endpoint_auth_methods_supported: confidential_methods,
        code_challenge_methods_supported: pkce,
        authorization_response_iss_parameter_supported: true,
        claims_supported: oidc.then(|| {
            let mut c = vec![
                "sub",
                "iss",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
            ];
            for scope in ["profile", "email", "address", "phone"] {
                c.extend_from_slice(crate::claims::claims_for_scope(scope));
            }
            c
        }),
        request_parameter_supported: oidc.then_some(false),
        request_uri_parameter_supported: oidc.then_some(false),
        claims_parameter_supported: oidc.then_some(false),
    };
    let mut r = Response::json(200, serde_json::to_vec(&meta).unwrap_or_default());
    // Metadata is public and changes rarely: let clients cache it briefly.
    r.headers.retain(|(n, _)| *n == "Content-Type");
    r.headers
        .push(("Cache-Control", "public, max-age=300".into()));
    r
}
