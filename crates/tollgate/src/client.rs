//! Registered clients (RFC 6749 §2): identity, type, how they authenticate at the token
//! endpoint, what they may ask for, and their refresh-token settings.
//!
//! [`Client::validate`] rejects combinations the RFCs forbid, so an invalid client cannot be
//! handed to the engine: a public client has no secret and authenticates with `none`
//! (RFC 6749 §2.1, §3.2.1), may not use `client_credentials` (§4.4), and always rotates its
//! refresh tokens (RFC 9700 §4.14.2).

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::error::Error;
use crate::jose::{Algorithm, Jwks};
use crate::policy::RotationMode;
use crate::scope::Scope;
use crate::secret::SecretHash;
use crate::token::SecretString;

/// A client identifier (RFC 6749 §2.2): 1 to 255 visible ASCII characters or spaces.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ClientId(Arc<str>);

/// The text is not a valid client identifier.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a client_id is 1 to 255 characters in %x20-7E")]
pub struct ClientIdError;

impl ClientId {
    /// Checks and wraps an identifier.
    ///
    /// # Errors
    /// [`ClientIdError`] when empty, longer than 255 bytes, or not `VSCHAR`.
    pub fn new(id: impl Into<String>) -> Result<ClientId, ClientIdError> {
        ClientId::parse(&id.into())
    }

    /// Checks and wraps a borrowed identifier (one allocation, for the shared copy).
    ///
    /// # Errors
    /// [`ClientIdError`] when empty, longer than 255 bytes, or not `VSCHAR`.
    pub fn parse(id: &str) -> Result<ClientId, ClientIdError> {
        if id.is_empty() || id.len() > 255 || !id.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            return Err(ClientIdError);
        }
        Ok(ClientId(Arc::from(id)))
    }

    /// The identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for ClientId {
    type Error = ClientIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ClientId::new(s)
    }
}

impl From<ClientId> for String {
    fn from(c: ClientId) -> String {
        c.0.to_string()
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({:?})", self.0)
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// RFC 6749 §2.1 client types.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientType {
    /// Can keep a credential secret.
    Confidential,
    /// Cannot (native apps, browser apps).
    Public,
}

/// What kind of application the client is; policies and the SPA switch key on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ApplicationKind {
    /// A server-side web application.
    Web,
    /// A native (mobile or desktop) application (RFC 8252).
    Native,
    /// A browser-based single-page application.
    BrowserSpa,
    /// A machine-to-machine service.
    Service,
}

/// Token-endpoint authentication methods (OIDC Core §9, RFC 8414 §2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuthMethod {
    /// HTTP Basic with the form-encoded id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A JWT signed with the client's private key (RFC 7523 §2.2).
    PrivateKeyJwt,
    /// A JWT MACed with the client secret (OIDC Core §9).
    ClientSecretJwt,
    /// No authentication: a public client identified by `client_id` alone.
    None,
}

impl AuthMethod {
    /// The registered name.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::ClientSecretJwt => "client_secret_jwt",
            AuthMethod::None => "none",
        }
    }
}

/// The `grant_type` of RFC 7523 §2.1.
pub const JWT_BEARER_GRANT: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/// Grant types at the token endpoint (RFC 6749 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum GrantType {
    /// RFC 6749 §4.1.
    AuthorizationCode,
    /// RFC 6749 §6.
    RefreshToken,
    /// RFC 6749 §4.3 (resource-owner password credentials).
    Password,
    /// RFC 6749 §4.4.
    ClientCredentials,
    /// RFC 7523 §2.1: a JWT from a trusted issuer as the authorization grant.
    #[serde(rename = "urn:ietf:params:oauth:grant-type:jwt-bearer")]
    JwtBearer,
}

impl GrantType {
    /// The `grant_type` value.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::RefreshToken => "refresh_token",
            GrantType::Password => "password",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::JwtBearer => JWT_BEARER_GRANT,
        }
    }

    /// Parses a `grant_type` value; `None` for anything this server does not support.
    #[must_use]
    pub fn parse(s: &str) -> Option<GrantType> {
        match s {
            "authorization_code" => Some(GrantType::AuthorizationCode),
            "refresh_token" => Some(GrantType::RefreshToken),
            "password" => Some(GrantType::Password),
            "client_credentials" => Some(GrantType::ClientCredentials),
            JWT_BEARER_GRANT => Some(GrantType::JwtBearer),
            _ => None,
        }
    }
}

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    /// The identifier.
    pub id: ClientId,
    /// Confidential or public.
    pub client_type: ClientType,
    /// The application kind.
    pub kind: ApplicationKind,
    /// The one token-endpoint authentication method it may use (CA-06).
    pub auth_method: AuthMethod,
    /// The hashed secret, for the secret-based methods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretHash>,
    /// Registered redirect URIs, compared by exact string (RFC 9700 §4.1.3).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant types it may use; anything else is `unauthorized_client` (TK-06).
    pub grant_types: Vec<GrantType>,
    /// Scopes it may be granted.
    pub allowed_scopes: Scope,
    /// Scopes granted when a request names none (RFC 6749 §3.3).
    #[serde(default)]
    pub default_scopes: Scope,
    /// Overrides the policy's refresh-token rotation mode; public clients always rotate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_rotation: Option<RotationMode>,
    /// Token formats and JOSE keys (OIDC Dynamic Client Registration §2 names).
    #[serde(default)]
    pub oidc: ClientOidc,
}

/// How a client's access tokens are encoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccessTokenKind {
    /// Opaque random handles (the default).
    #[default]
    Opaque,
    /// Signed JWTs per RFC 9068.
    Jwt,
}

/// A client's JOSE settings.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClientOidc {
    /// The public keys its `private_key_jwt` assertions are signed with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwks: Option<Jwks>,
    /// The shared key of `client_secret_jwt` (RFC 7523 with HS256). HMAC needs the key
    /// itself, so this is the one client credential not stored as a hash; prefer
    /// `private_key_jwt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jwt_secret: Option<SecretString>,
    /// The ID-token signing algorithm (`id_token_signed_response_alg`); the server's default
    /// when absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_signed_response_alg: Option<Algorithm>,
    /// Opaque or JWT access tokens.
    pub access_token_format: AccessTokenKind,
}

impl Client {
    /// Whether the client may use `grant`.
    #[must_use]
    pub fn allows(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// Checks the registration for combinations the RFCs forbid.
    ///
    /// # Errors
    /// [`Error::Config`] naming the field at fault.
    pub fn validate(&self) -> Result<(), Error> {
        let field = |f: &str| format!("clients[{}].{f}", self.id);
        match self.client_type {
            ClientType::Public => {
                if self.auth_method != AuthMethod::None {
                    return Err(Error::config(
                        field("auth_method"),
                        "a public client authenticates with none",
                    ));
                }
                if self.secret.is_some() {
                    return Err(Error::config(
                        field("secret"),
                        "a public client has no secret",
                    ));
                }
                if self.allows(GrantType::ClientCredentials) {
                    return Err(Error::config(
                        field("grant_types"),
                        "client_credentials needs a confidential client",
                    ));
                }
                if self.refresh_rotation == Some(RotationMode::Static) {
                    return Err(Error::config(
                        field("refresh_rotation"),
                        "public clients must rotate refresh tokens (RFC 9700 4.14.2)",
                    ));
                }
            }
            ClientType::Confidential => match self.auth_method {
                AuthMethod::None => {
                    return Err(Error::config(
                        field("auth_method"),
                        "a confidential client must authenticate",
                    ));
                }
                AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => {
                    if self.secret.is_none() {
                        return Err(Error::config(
                            field("secret"),
                            "this auth_method needs a secret",
                        ));
                    }
                }
                AuthMethod::ClientSecretJwt => {
                    if self
                        .oidc
                        .jwt_secret
                        .as_ref()
                        .is_none_or(|s| s.expose().len() < 32)
                    {
                        return Err(Error::config(
                            field("oidc.jwt_secret"),
                            "client_secret_jwt needs a shared key of at least 32 bytes",
                        ));
                    }
                }
                AuthMethod::PrivateKeyJwt => {
                    if self.oidc.jwks.as_ref().is_none_or(|k| k.keys.is_empty()) {
                        return Err(Error::config(
                            field("oidc.jwks"),
                            "private_key_jwt needs the client's public keys",
                        ));
                    }
                }
            },
        }
        if !self.default_scopes.is_subset_of(&self.allowed_scopes) {
            return Err(Error::config(
                field("default_scopes"),
                "default scopes must be allowed scopes",
            ));
        }
        for (i, uri) in self.redirect_uris.iter().enumerate() {
            if uri.contains('#') || !has_scheme(uri) {
                return Err(Error::config(
                    field(&format!("redirect_uris[{i}]")),
                    "must be absolute and have no fragment (RFC 6749 3.1.2)",
                ));
            }
        }
        Ok(())
    }
}

/// Whether `uri` starts with an RFC 3986 §3.1 scheme and a colon, i.e. is absolute.
fn has_scheme(uri: &str) -> bool {
    let Some((scheme, _)) = uri.split_once(':') else {
        return false;
    };
    let mut b = scheme.bytes();
    b.next().is_some_and(|c| c.is_ascii_alphabetic())
        && b.all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'))
}
