//! The pluggable access-token format (RFC 6749 §1.4 leaves it to the server). The default,
//! [`OpaqueAccessTokens`], mints 256-bit random handles; a JWT format (RFC 9068) plugs in
//! through the same [`AccessTokenFormat`] trait. Whatever the format, the store keeps the
//! token's SHA-256 with its family, so revocation works the same for both.

use crate::client::ClientId;
use crate::clock::UnixTime;
use crate::error::Error;
use crate::random::SecureRandom;
use crate::scope::Scope;
use crate::token::{mint_token, FamilyId, TokenKind};

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

    /// The `token_type` sent with it (RFC 6749 §7.1).
    fn token_type(&self) -> &'static str {
        "Bearer"
    }
}

/// Opaque random access tokens: `tga_` and 256 bits in base64url. The default.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpaqueAccessTokens;

impl AccessTokenFormat for OpaqueAccessTokens {
    fn mint(
        &self,
        _claims: &AccessTokenClaims<'_>,
        random: &dyn SecureRandom,
    ) -> Result<String, Error> {
        Ok(mint_token(TokenKind::Access, random)?
            .value
            .expose()
            .to_string())
    }
}
