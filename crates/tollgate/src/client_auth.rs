//! Client authentication at the token endpoint (RFC 6749 §2.3, §3.2.1; OIDC Core §9).
//!
//! [`Credentials::extract`] reads what the client presented — HTTP Basic (§2.3.1, id and
//! secret each form-urlencoded before base64, CA-01), `client_id` + `client_secret` in the
//! body, a JWT assertion (RFC 7523 §2.2), or a bare `client_id` for public clients — and
//! refuses two methods at once (CA-05, CA-08) or credentials in the query string (GEN-06).
//! [`authenticate`] then checks them against the registered client: only its registered
//! method is accepted (CA-06), confidential clients must authenticate (CA-04), secrets are
//! compared in constant time. Every failure is `invalid_client`; with 401 and a `Basic`
//! challenge when the `Authorization` header was used (CA-03).

use crate::client::{AuthMethod, Client, ClientId, ClientType};
use crate::client_assertion::{verify_client_assertion, SpentJti};
use crate::clock::UnixTime;
use crate::error::OAuthError;
use crate::form::{decode_component_cow, Params};
use crate::http::{HeaderValue, Request};
use crate::token::SecretString;

/// `client_assertion_type` for JWT client authentication (RFC 7523 §2.2).
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Algorithms accepted for client assertions (RFC 7523; OIDC Core §9).
pub const ASSERTION_ALGORITHMS: &[crate::jose::Algorithm] = &[
    crate::jose::Algorithm::Es256,
    crate::jose::Algorithm::EdDsa,
    crate::jose::Algorithm::Rs256,
    crate::jose::Algorithm::Ps256,
    crate::jose::Algorithm::Hs256,
];

/// What the client presented to identify itself.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Credentials {
    /// `Authorization: Basic` (`client_secret_basic`).
    Basic {
        /// The decoded id.
        id: ClientId,
        /// The decoded secret.
        secret: SecretString,
    },
    /// `client_id` and `client_secret` in the body (`client_secret_post`).
    Post {
        /// The id.
        id: ClientId,
        /// The secret.
        secret: SecretString,
    },
    /// A JWT assertion (`private_key_jwt` or `client_secret_jwt`).
    Assertion {
        /// The `client_id` parameter, if sent.
        id: Option<ClientId>,
        /// The JWT.
        assertion: SecretString,
    },
    /// Only `client_id`: a public client (`none`).
    PublicId(ClientId),
}

impl Credentials {
    /// Reads credentials from the request and removes them from `params`.
    ///
    /// `Ok(None)` means the client presented nothing at all.
    ///
    /// # Errors
    /// `invalid_request` for two methods at once, a `client_id` that disagrees with the
    /// header, credentials in the query, or a repeated `Authorization` header;
    /// `invalid_client` for a malformed `Authorization` header.
    pub fn extract(
        request: &Request,
        params: &mut Params,
        query: &Params,
        realm: &str,
    ) -> Result<Option<Credentials>, OAuthError> {
        if query.contains("client_secret") || query.contains("client_assertion") {
            return Err(OAuthError::invalid_request(
                "client credentials must not be sent in the query string",
            ));
        }
        let header = match request.single_header("authorization") {
            HeaderValue::Absent => None,
            HeaderValue::Present(v) => Some(parse_basic(v, realm)?),
            HeaderValue::Repeated => {
                return Err(OAuthError::invalid_request(
                    "the Authorization header was repeated",
                ))
            }
        };
        let body_id = params.take("client_id");
        let body_secret = params.take("client_secret");
        let assertion_type = params.take("client_assertion_type");
        let assertion = params.take("client_assertion");

        let methods = usize::from(header.is_some())
            + usize::from(body_secret.is_some())
            + usize::from(assertion.is_some() || assertion_type.is_some());
        if methods > 1 {
            return Err(OAuthError::invalid_request(
                "more than one client authentication method was used",
            ));
        }
        let body_id = body_id
            .map(ClientId::new)
            .transpose()
            .map_err(|_| OAuthError::invalid_client("the client_id is malformed", None))?;

        if let Some((id, secret)) = header {
            if body_id.as_ref().is_some_and(|b| *b != id) {
                return Err(OAuthError::invalid_request(
                    "client_id does not match the Authorization header",
                ));
            }
            return Ok(Some(Credentials::Basic { id, secret }));
        }
        if let Some(secret) = body_secret {
            let Some(id) = body_id else {
                return Err(OAuthError::invalid_request(
                    "client_secret was sent without client_id",
                ));
            };
            return Ok(Some(Credentials::Post {
                id,
                secret: SecretString::new(secret),
            }));
        }
        if assertion.is_some() || assertion_type.is_some() {
            if assertion_type.as_deref() != Some(JWT_BEARER_ASSERTION) {
                return Err(OAuthError::invalid_request(
                    "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                ));
            }
            let Some(assertion) = assertion else {
                return Err(OAuthError::invalid_request("client_assertion is missing"));
            };
            return Ok(Some(Credentials::Assertion {
                id: body_id,
                assertion: SecretString::new(assertion),
            }));
        }
        Ok(body_id.map(Credentials::PublicId))
    }

    /// The client these credentials claim to be, when they name it directly.
    #[must_use]
    pub fn client_id(&self) -> Option<&ClientId> {
        match self {
            Credentials::Basic { id, .. }
            | Credentials::Post { id, .. }
            | Credentials::PublicId(id) => Some(id),
            Credentials::Assertion { id, .. } => id.as_ref(),
        }
    }

    /// Whether the `Authorization` header carried them (401 + challenge on failure).
    #[must_use]
    pub fn used_header(&self) -> bool {
        matches!(self, Credentials::Basic { .. })
    }
}

/// Decoded Basic credentials up to this size are decoded on the stack.
const BASIC_ON_STACK: usize = 384;

/// Decodes `Basic base64(urlencode(id) ":" urlencode(secret))` (RFC 6749 §2.3.1).
fn parse_basic(value: &str, realm: &str) -> Result<(ClientId, SecretString), OAuthError> {
    let bad = || {
        OAuthError::invalid_client(
            "the Authorization header is not valid Basic credentials",
            Some(realm),
        )
    };
    let (scheme, rest) = value.trim_ascii().split_once(' ').ok_or_else(bad)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(bad());
    }
    let rest = rest.trim_ascii();
    // Decoded on the stack when it fits (any realistic id and secret): the only allocations
    // are then the id and the secret themselves.
    let mut stack = [0u8; BASIC_ON_STACK];
    let heap;
    let decoded: &[u8] = if rest.len() / 4 * 3 <= BASIC_ON_STACK {
        crate::b64::std_decode_into(rest, &mut stack).ok_or_else(bad)?
    } else {
        heap = crate::b64::std_decode(rest).ok_or_else(bad)?;
        &heap
    };
    let colon = memchr::memchr(b':', decoded).ok_or_else(bad)?;
    let id = decode_component_cow(&decoded[..colon]).map_err(|_| bad())?;
    let id = ClientId::parse(&id).map_err(|_| bad())?;
    let secret = decode_component_cow(&decoded[colon + 1..])
        .map_err(|_| bad())?
        .into_owned();
    Ok((id, SecretString::new(secret)))
}

/// A custom verifier for JWT client assertions, replacing the built-in one
/// ([`crate::client_assertion`]) — for hosts with their own key discovery. It is
/// responsible for replay protection itself.
pub trait ClientAssertionVerifier: Send + Sync {
    /// The client an assertion claims to be (its `sub`), read without verification, for
    /// requests that omit `client_id`.
    fn claimed_client(&self, assertion: &str) -> Option<ClientId>;

    /// Verifies `assertion` as authentication of `client` at `now`.
    ///
    /// # Errors
    /// `invalid_client` when the assertion does not authenticate the client.
    fn verify(&self, client: &Client, assertion: &str, now: UnixTime) -> Result<(), OAuthError>;
}

/// Checks `credentials` against the registered `client` (`None` when unknown). For a JWT
/// assertion checked by the built-in verifier, returns its `jti`, which the caller must
/// spend with [`crate::store::Commit::ConsumeJti`] before going on (JA-06).
///
/// # Errors
/// `invalid_client` (401 with a challenge when the header was used).
pub fn authenticate(
    server: &crate::server::Server,
    credentials: &Credentials,
    client: Option<&Client>,
    now: UnixTime,
) -> Result<Option<SpentJti>, OAuthError> {
    let realm = &server.config().basic_realm;
    let challenge = credentials.used_header().then_some(realm.as_str());
    let fail = |d: &'static str| OAuthError::invalid_client(d, challenge);
    let Some(client) = client else {
        return Err(fail("client authentication failed"));
    };
    match (credentials, client.auth_method) {
        (Credentials::Basic { secret, .. }, AuthMethod::ClientSecretBasic)
        | (Credentials::Post { secret, .. }, AuthMethod::ClientSecretPost) => {
            match &client.secret {
                Some(h) if h.verify(secret.expose()) => Ok(None),
                _ => Err(fail("client authentication failed")),
            }
        }
        (
            Credentials::Assertion { id, assertion },
            AuthMethod::PrivateKeyJwt | AuthMethod::ClientSecretJwt,
        ) => {
            if id.as_ref().is_some_and(|i| *i != client.id) {
                return Err(fail("client_id does not match the assertion"));
            }
            match server.assertion_verifier() {
                Some(v) => v.verify(client, assertion.expose(), now).map(|()| None),
                None => verify_client_assertion(server, client, assertion.expose(), now).map(Some),
            }
        }
        (Credentials::PublicId(_), AuthMethod::None)
            if client.client_type == ClientType::Public =>
        {
            Ok(None)
        }
        (Credentials::PublicId(_), _) => Err(fail("client authentication is required")),
        _ => Err(fail(
            "the client must use its registered authentication method",
        )),
    }
}

/// The client the credentials name, reading an assertion's `sub` when `client_id` is absent.
#[must_use]
pub fn identify(server: &crate::server::Server, credentials: &Credentials) -> Option<ClientId> {
    if let Some(id) = credentials.client_id() {
        return Some(id.clone());
    }
    let Credentials::Assertion { assertion, .. } = credentials else {
        return None;
    };
    match server.assertion_verifier() {
        Some(v) => v.claimed_client(assertion.expose()),
        None => crate::client_assertion::claimed_client(assertion.expose()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;

    fn basic(id: &str, secret: &str) -> String {
        format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
    }

    /// CA-01: id and secret are each form-urlencoded inside the base64.
    #[test]
    fn basic_credentials_decode_on_the_stack() {
        let (id, secret) = parse_basic(&basic("web%20app", "s%3Acret+x"), "r").unwrap();
        assert_eq!(id.as_str(), "web app");
        assert_eq!(secret.expose(), "s:cret x");
    }

    /// A value too long for the stack buffer takes the heap path and decodes the same.
    #[test]
    fn long_basic_credentials_decode_on_the_heap() {
        let secret = "k".repeat(BASIC_ON_STACK * 2);
        let value = basic("web", &secret);
        assert!(base64::decoded_len_estimate(value.len() - 6) > BASIC_ON_STACK);
        let (id, got) = parse_basic(&value, "r").unwrap();
        assert_eq!(id.as_str(), "web");
        assert_eq!(got.expose(), secret);
    }

    /// Bad base64, a missing colon or another scheme are `invalid_client` with a challenge.
    #[test]
    fn malformed_basic_credentials_are_refused() {
        for v in [
            "Basic !!!!",
            &format!("Basic {}", STANDARD.encode("no-colon")),
            &format!("Bearer {}", STANDARD.encode("a:b")),
            "Basic",
        ] {
            let e = parse_basic(v, "realm").unwrap_err();
            assert_eq!(e.code(), crate::error::ErrorCode::InvalidClient, "{v}");
        }
    }
}
