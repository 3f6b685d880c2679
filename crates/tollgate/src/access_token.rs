//! The pluggable access-token format (RFC 6749 §1.4 leaves it to the server). The default,
//! [`OpaqueAccessTokens`], mints 256-bit random handles; a JWT format (RFC 9068) plugs in
//! through the same [`AccessTokenFormat`] trait. Whatever the format, the store keeps a
//! hash of the token with its family, so revocation works the same for both: the token's
//! SHA-256, except for the JWT access tokens the server signs itself (RFC 9068, chosen per
//! client), which are stored under the SHA-256 of their signature alone
//! ([`signed_jwt_key`]) and verified against the server's keys before a lookup.

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::Error;
use crate::json_write::{JsonObject, JsonStr};
use crate::random::SecureRandom;
use crate::scope::Scope;
use crate::token::{mint_token, FamilyId, TokenHash, TokenKind};

/// What an access token asserts; a format may encode any of it.
#[derive(Clone, Copy, Debug)]
pub struct AccessTokenClaims<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The client it is issued to.
    pub client_id: &'a ClientId,
    /// The user's `sub`, or `None` for client-only grants.
    pub subject: Option<&'a str>,
    /// Its scope.
    pub scope: &'a Scope,
    /// Issue time.
    pub issued_at: UnixTime,
    /// Expiry.
    pub expires_at: UnixTime,
    /// The family it belongs to.
    pub family: FamilyId,
}

/// Mints access-token values.
///
/// Tokens of a custom format are stored and looked up by their SHA-256. A format that mints
/// JWTs must sign them with keys of its own, not with the server's [`crate::jose::KeySet`]:
/// a JWT that verifies under the server's keys is looked up as one of the server's own
/// RFC 9068 tokens ([`crate::Server::access_token_key`]) and would not be found.
pub trait AccessTokenFormat: Send + Sync {
    /// Mints the value handed to the client.
    ///
    /// # Errors
    /// When the token cannot be produced (random source, signer).
    fn mint(
        &self,
        claims: &AccessTokenClaims<'_>,
        random: &dyn SecureRandom,
    ) -> Result<String, Error>;

    /// Mints a value and its [`TokenHash`]; override when the format computes the hash
    /// anyway, to spare hashing twice.
    ///
    /// # Errors
    /// As [`AccessTokenFormat::mint`].
    fn mint_hashed(
        &self,
        claims: &AccessTokenClaims<'_>,
        random: &dyn SecureRandom,
    ) -> Result<(String, TokenHash), Error> {
        let v = self.mint(claims, random)?;
        let h = TokenHash::of(&v);
        Ok((v, h))
    }

    /// The `token_type` sent with it (RFC 6749 §7.1).
    fn token_type(&self) -> &'static str {
        "Bearer"
    }
}

/// A minted RFC 9068 access token and the claims it signs.
pub(crate) struct MintedJwt {
    /// The compact JWS handed to the client.
    pub value: String,
    /// What else is known of it from minting.
    pub parts: JwtParts,
}

/// What minting knows of a JWT access token besides its text.
pub(crate) struct JwtParts {
    /// The signed claims' JSON; `jti` is its last member, so the bytes before
    /// [`claims_before_jti`] do not depend on it.
    pub claims: Vec<u8>,
    /// Where the signature part starts in the JWS text (after its last `.`).
    pub signature_start: usize,
}

impl MintedJwt {
    /// Its storage key ([`minted_jwt_key`]) without searching for the signature.
    pub(crate) fn key(&self) -> TokenHash {
        signature_key(
            self.value
                .get(self.parts.signature_start..)
                .unwrap_or_default(),
        )
    }
}

/// Signed claims as [`mint_jwt`] writes them, up to the `jti` value's first character: with
/// the `jti` text and `"}` appended they are the claims again ([`crate::successor`] keeps
/// them). `None` for bytes that do not end that way.
pub(crate) fn claims_before_jti(claims: &[u8]) -> Option<&[u8]> {
    let cut = claims.len().checked_sub(JTI_TEXT_LEN + 2)?;
    let (before, rest) = claims.split_at(cut);
    (before.ends_with(b"\"jti\":\"") && rest.ends_with(b"\"}")).then_some(before)
}

/// Characters of a `jti`: 128 random bits in base64url.
pub(crate) const JTI_TEXT_LEN: usize = 22;

/// Bytes of randomness in a `jti`.
pub(crate) const JTI_BYTES: usize = 16;

/// JWT access tokens per RFC 9068, signed with the server's default key: header
/// `typ: at+jwt` (§2.1); claims `iss`, `exp`, `aud`, `sub`, `client_id`, `iat`, `scope`,
/// `jti` (§2.2). For client-only grants `sub` is the client id (§2.2, CC-02). A client
/// selects it with `oidc.access_token_format = "jwt"`.
pub(crate) fn mint_jwt(
    server: &crate::server::Server,
    claims: &AccessTokenClaims<'_>,
    random: &dyn SecureRandom,
) -> Result<MintedJwt, Error> {
    let mut jti = [0u8; JTI_BYTES];
    random.fill(&mut jti)?;
    let mut jti_buf = [0u8; JTI_TEXT_LEN];
    // 16 bytes are always 22 characters; the error cannot happen.
    let jti = crate::b64::url_encode_into(&jti, &mut jti_buf)
        .ok_or_else(|| Error::AccessTokenFormat("a jti does not fit its buffer".into()))?;
    // The head carries the server's issuer, which is what every grant passes as `issuer`.
    debug_assert_eq!(claims.issuer, server.config().issuer);
    let head = server.jwt_claims_head();
    let mut body = JsonObject::with_capacity(head.len() + 192 + claims.scope.as_str().len());
    body.members(head)
        .u64("exp", claims.expires_at.secs())
        .str("sub", claims.subject.unwrap_or(claims.client_id.as_str()))
        .str("client_id", claims.client_id.as_str())
        .u64("iat", claims.issued_at.secs());
    if !claims.scope.is_empty() {
        body.json_str("scope", JsonStr::Plain(claims.scope.as_str()));
    }
    // Last, so that everything before it can be kept for a grace-window rebuild.
    body.json_str("jti", JsonStr::Plain(jti));
    let claims = body.finish();
    let keys = server.keys();
    let key = keys
        .signing_key()
        .ok_or(crate::jose::JoseError::KeyNotFound)?;
    let (value, signature_start) =
        crate::jose::jws::sign_compact_split(key, Some("at+jwt"), &claims)?;
    Ok(MintedJwt {
        value,
        parts: JwtParts {
            claims,
            signature_start,
        },
    })
}

/// The claims every RFC 9068 access token of a server starts with, `"iss":…,"aud":…`
/// (the audience is the issuer unless `access_token_audience` is set): written once per
/// server, not escaped per token.
pub(crate) fn claims_head(config: &crate::server::ServerConfig) -> Box<[u8]> {
    let audience = match config.access_token_audience.as_str() {
        "" => config.issuer.as_str(),
        a => a,
    };
    let mut head = JsonObject::with_capacity(16 + config.issuer.len() + audience.len());
    head.str("iss", &config.issuer).str("aud", audience);
    head.members_of().into_boxed_slice()
}

/// Labels the storage key of a signed JWT access token, so it can never equal a token's
/// plain SHA-256.
const JWT_KEY_LABEL: &[u8] = b"tollgate-jwt-at-key-v1.";

/// The storage key of a JWT access token this server signed: SHA-256 over a label and the
/// token's signature part.
///
/// Hashing the whole JWT (about 500 bytes, eight SHA-256 blocks) cost about a sixth of a
/// refresh's work outside the signature; the signature (86 characters for ES256, two
/// blocks) identifies the token as well, because lookups first verify it
/// ([`signed_jwt_key`]): a key is only ever computed for a JWT whose header and claims that
/// signature covers. Nothing usable is at rest: the hash of a signature is no signature.
pub(crate) fn minted_jwt_key(jwt: &str) -> TokenHash {
    signature_key(jwt.rsplit_once('.').map_or(jwt, |(_, s)| s))
}

fn signature_key(signature: &str) -> TokenHash {
    TokenHash(crate::sha256::digest_parts(&[
        JWT_KEY_LABEL,
        signature.as_bytes(),
    ]))
}

/// The storage key of `token` if it is a JWT whose signature verifies under one of the
/// server's keys (active or retiring), else `None` (opaque tokens, a custom format's
/// tokens, forgeries: those are looked up by their SHA-256 and so not found as this
/// server's JWTs). Verifying first is what makes the signature-only key sound: a JWT with
/// the right signature and altered claims does not verify and is never looked up under
/// the genuine token's key.
pub(crate) fn signed_jwt_key(server: &crate::server::Server, token: &str) -> Option<TokenHash> {
    use crate::jose::Algorithm;
    if token.bytes().filter(|&b| b == b'.').count() != 2 {
        return None;
    }
    let keys = server.keys();
    keys.verify(
        token,
        &[
            Algorithm::Es256,
            Algorithm::EdDsa,
            Algorithm::Rs256,
            Algorithm::Ps256,
        ],
        crate::jose::jws::DEFAULT_MAX_LEN,
    )
    .ok()?;
    Some(minted_jwt_key(token))
}

/// The `jti` claim for 128 random bits.
pub(crate) fn jti_text(jti: &[u8; JTI_BYTES]) -> String {
    let mut text = String::with_capacity(JTI_TEXT_LEN);
    crate::b64::url_encode_append(jti, &mut text);
    text
}

/// Opaque random access tokens: `tga_` and 256 bits in base64url. The default.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpaqueAccessTokens;

/// The `token_type` of [`OpaqueAccessTokens`].
pub(crate) const BUILTIN_TOKEN_TYPE: &str = "Bearer";

impl AccessTokenFormat for OpaqueAccessTokens {
    fn mint(
        &self,
        claims: &AccessTokenClaims<'_>,
        random: &dyn SecureRandom,
    ) -> Result<String, Error> {
        Ok(self.mint_hashed(claims, random)?.0)
    }

    /// The minted token already carries its hash: no second hash, no copy of the value.
    fn mint_hashed(
        &self,
        _claims: &AccessTokenClaims<'_>,
        random: &dyn SecureRandom,
    ) -> Result<(String, TokenHash), Error> {
        let minted = mint_token(TokenKind::Access, random)?;
        Ok((minted.value.into_inner(), minted.hash))
    }

    fn token_type(&self) -> &'static str {
        BUILTIN_TOKEN_TYPE
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::ServerConfig;

    fn head_json(config: &ServerConfig) -> serde_json::Value {
        let mut object = b"{".to_vec();
        object.extend_from_slice(&claims_head(config));
        object.push(b'}');
        serde_json::from_slice(&object).unwrap()
    }

    /// RFC 9068 §2.2: `aud` is the configured audience, else the issuer; the once-rendered
    /// head escapes like any member (AT-03, AT-05).
    #[test]
    fn the_claims_head_names_the_issuer_and_the_audience() {
        let mut config = ServerConfig {
            issuer: "https://as.test".into(),
            ..Default::default()
        };
        assert_eq!(
            head_json(&config),
            serde_json::json!({"iss": "https://as.test", "aud": "https://as.test"})
        );
        config.access_token_audience = "api \"v2\"\\\u{1}".into();
        assert_eq!(
            head_json(&config),
            serde_json::json!({"iss": "https://as.test", "aud": "api \"v2\"\\\u{1}"})
        );
    }

    /// The `jti` written on the stack is the one a grace-window rebuild writes.
    #[test]
    fn the_stack_jti_is_the_rebuilt_one() {
        let bytes = [0xfb; JTI_BYTES];
        let mut buf = [0u8; JTI_TEXT_LEN];
        assert_eq!(
            crate::b64::url_encode_into(&bytes, &mut buf),
            Some(jti_text(&bytes).as_str())
        );
    }
}
