//! The pluggable access-token format (RFC 6749 §1.4 leaves it to the server). The default,
//! [`OpaqueAccessTokens`], mints 256-bit random handles; a JWT format (RFC 9068) plugs in
//! through the same [`AccessTokenFormat`] trait. Whatever the format, the store keeps the
//! token's SHA-256 with its family, so revocation works the same for both.

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::Error;
use crate::json_write::JsonObject;
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
    /// The signed claims' JSON; `jti` is its last member, so the bytes before
    /// [`claims_before_jti`] do not depend on it.
    pub claims: Vec<u8>,
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
    let audience = match server.config().access_token_audience.as_str() {
        "" => claims.issuer,
        a => a,
    };
    let mut body = JsonObject::with_capacity(256 + claims.scope.as_str().len());
    body.str("iss", claims.issuer)
        .u64("exp", claims.expires_at.secs())
        .str("aud", audience)
        .str("sub", claims.subject.unwrap_or(claims.client_id.as_str()))
        .str("client_id", claims.client_id.as_str())
        .u64("iat", claims.issued_at.secs());
    if !claims.scope.is_empty() {
        body.str("scope", claims.scope.as_str());
    }
    // Last, so that everything before it can be kept for a grace-window rebuild.
    body.str("jti", &jti_text(&jti));
    let claims = body.finish();
    let keys = server.keys();
    let key = keys
        .signing_key()
        .ok_or(crate::jose::JoseError::KeyNotFound)?;
    let value = crate::jose::sign_compact(key, Some("at+jwt"), &claims)?;
    Ok(MintedJwt { value, claims })
}

/// The `jti` claim for 128 random bits.
pub(crate) fn jti_text(jti: &[u8; JTI_BYTES]) -> String {
    let mut text = String::with_capacity(JTI_TEXT_LEN);
    base64::Engine::encode_string(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        jti,
        &mut text,
    );
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
