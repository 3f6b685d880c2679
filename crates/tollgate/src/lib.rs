//! Tollgate: a sans-IO OAuth 2.0 / OpenID Connect authorization-server core.
//!
//! The core performs no I/O, owns no threads and depends on no async runtime or HTTP
//! library: it turns a plain-data [`Request`] into a plain-data [`Response`]. Whatever it
//! needs from outside — a client record, a stored token, a password check, an atomic write —
//! it asks for as a [`Step`] and the caller answers; time and randomness are injected
//! ([`Clock`], [`SecureRandom`]), so the same inputs always give the same bytes.
//!
//! Most hosts never see the steps: [`Server::token`] (blocking) and [`Server::token_async`]
//! drive a flow against a [`Store`] / [`AsyncStore`](store::AsyncStore). The steps stay public for custom
//! storage, tests and fuzzing.
//!
//! ```
//! use tollgate::{Server, ServerConfig, MemoryStore, Request, NoPasswordUsers};
//! # use tollgate::{Client, ClientId, ClientType, ApplicationKind, AuthMethod, GrantType, Scope, SecretHash};
//! let server = Server::builder(ServerConfig::default()).build()?;
//! let store = MemoryStore::new();
//! # let secret = "s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t";
//! # store.insert_client(Client { id: ClientId::new("svc").unwrap(), client_type: ClientType::Confidential,
//! #   kind: ApplicationKind::Service, auth_method: AuthMethod::ClientSecretPost,
//! #   secret: Some(SecretHash::fast(secret)?), redirect_uris: vec![],
//! #   grant_types: vec![GrantType::ClientCredentials], allowed_scopes: Scope::parse("api").unwrap(),
//! #   default_scopes: Scope::parse("api").unwrap(), refresh_rotation: None, oidc: Default::default() })?;
//! let request = Request::form_post(format!(
//!     "grant_type=client_credentials&client_id=svc&client_secret={secret}"));
//! let response = server.token(&request, &store, &NoPasswordUsers);
//! assert_eq!(response.status, 200);
//! # Ok::<(), tollgate::Error>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access_token;
pub mod authorize;
mod b64;
pub mod claims;
pub mod client;
pub mod client_assertion;
pub mod client_auth;
pub mod clock;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod discovery;
pub mod driver;
pub mod endpoint;
pub mod error;
pub mod form;
pub mod grant;
pub mod http;
pub mod id_token;
pub mod introspection;
pub mod jose;
mod json_write;
pub mod pkce;
pub mod policy;
pub mod random;
pub mod revocation;
pub mod scope;
pub mod seal;
pub mod secret;
pub mod server;
mod sha256;
pub mod store;
mod successor;
pub mod token;
pub mod token_flow;
mod token_lookup;
pub mod userinfo;

pub use access_token::{AccessTokenClaims, AccessTokenFormat, OpaqueAccessTokens};
pub use authorize::{
    AuthorizeOutcome, AuthorizeStep, ConsentPrompt, InteractionPrompt, InteractionResult, Resume,
    Session,
};
pub use client::{ApplicationKind, AuthMethod, Client, ClientId, ClientType, GrantType};
pub use clock::{Clock, ManualClock, SystemClock, UnixTime};
pub use error::{Error, ErrorCode, OAuthError};
// The async traits are not re-exported here: their methods share names with the blocking
// ones (every `Store` is an `AsyncStore`), and a glob import of both would be ambiguous.
pub use grant::password::{NoPasswordUsers, PasswordCheck, PasswordVerdict, PasswordVerifier};
pub use http::{Method, Request, Response};
pub use pkce::{PkceChallenge, PkceMethod};
pub use policy::{Policies, PolicyMatch, PolicyRule, RotationMode, TokenPolicy};
pub use random::{SecureRandom, SeededRandom, SystemRandom};
pub use scope::Scope;
pub use secret::SecretHash;
pub use server::{CodeGrant, MintedCode, Server, ServerBuilder, ServerConfig, SpaRefreshTokens};
pub use store::{Commit, CommitOutcome, MemoryStore, Store, StoreError, Subject};
pub use token::{SecretString, TokenHash};
pub use token_flow::{Answer, Flow, Step, TokenFlow};

/// The README's examples, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
