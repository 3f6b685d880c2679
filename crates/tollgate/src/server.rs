//! [`Server`]: configuration plus the injected clock, random source and access-token
//! format; the entry point that starts flows and mints authorization codes.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::access_token::{AccessTokenFormat, OpaqueAccessTokens};
use crate::authorize::{AuthorizeFlow, AuthorizeOutcome, AuthorizeStep, Resume, Session};
use crate::client::ClientId;
use crate::client_auth::ClientAssertionVerifier;
use crate::clock::{Clock, SystemClock};
use crate::discovery::{Document, EndpointPaths};
use crate::error::Error;
use crate::form::FormLimits;
use crate::http::{Request, Response};
use crate::introspection::IntrospectionFlow;
use crate::jose::{Algorithm, KeySet, SigningKey};
use crate::pkce::{PkceChallenge, PkceMethod};
use crate::policy::Policies;
use crate::random::{SecureRandom, SystemRandom};
use crate::revocation::RevocationFlow;
use crate::scope::Scope;
use crate::store::{CodeRecord, Subject};
use crate::token::{mint_token, SecretString, TokenKind};
use crate::token_flow::{Step, TokenFlow};
use crate::userinfo::UserInfoFlow;

/// Longest authorization-code lifetime (RFC 6749 §4.1.2: "maximum … of 10 minutes").
pub const MAX_CODE_TTL: Duration = Duration::from_secs(600);

/// Whether browser-based public clients get refresh tokens at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpaRefreshTokens {
    /// Yes, always rotating (the default; OAuth 2.0 for Browser-Based Apps §6.4).
    #[default]
    Rotating,
    /// No: SPAs get access tokens only.
    Disabled,
}

/// Plain-data configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// The issuer identifier (`iss`).
    pub issuer: String,
    /// Lifetime and refresh rules.
    pub policies: Policies,
    /// Bounds on request bodies and queries.
    #[serde(skip)]
    pub form_limits: FormLimits,
    /// Authorization-code lifetime; default 60 s, at most 10 minutes.
    #[serde(with = "code_ttl_secs")]
    pub code_ttl: Duration,
    /// Refresh tokens for browser SPAs.
    pub spa_refresh_tokens: SpaRefreshTokens,
    /// Whether `code_challenge_method=plain` is accepted (RFC 7636 §4.2; off by default).
    pub allow_plain_pkce: bool,
    /// The realm in `WWW-Authenticate: Basic realm="…"` challenges.
    pub basic_realm: String,
    /// How long a login or consent page may take; default 10 minutes.
    #[serde(with = "code_ttl_secs")]
    pub interaction_ttl: Duration,
    /// ID-token lifetime; default one hour.
    #[serde(with = "code_ttl_secs")]
    pub id_token_ttl: Duration,
    /// The `aud` of JWT access tokens (RFC 9068 §3: the default resource); the issuer when
    /// empty.
    pub access_token_audience: String,
    /// Where each endpoint is mounted, for discovery.
    pub endpoints: EndpointPaths,
    /// Issuers whose JWTs are accepted by the JWT-bearer grant (RFC 7523 §2.1).
    pub trusted_issuers: Vec<crate::grant::jwt_bearer::TrustedIssuer>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            issuer: "https://localhost".to_string(),
            policies: Policies::default(),
            form_limits: FormLimits::default(),
            code_ttl: Duration::from_secs(60),
            spa_refresh_tokens: SpaRefreshTokens::default(),
            allow_plain_pkce: false,
            basic_realm: "tollgate".to_string(),
            interaction_ttl: Duration::from_secs(600),
            id_token_ttl: Duration::from_secs(3600),
            access_token_audience: String::new(),
            endpoints: EndpointPaths::default(),
            trusted_issuers: Vec::new(),
        }
    }
}

mod code_ttl_secs {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_secs)
    }
}

impl ServerConfig {
    /// Checks every field.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad field.
    pub fn validate(&self) -> Result<(), Error> {
        if self.issuer.is_empty() {
            return Err(Error::config("issuer", "must not be empty"));
        }
        if self.code_ttl.is_zero() || self.code_ttl > MAX_CODE_TTL {
            return Err(Error::config("code_ttl", "must be 1 s to 600 s"));
        }
        if self.form_limits.max_bytes == 0 || self.form_limits.max_params == 0 {
            return Err(Error::config("form_limits", "must be positive"));
        }
        if self.id_token_ttl.is_zero() || self.id_token_ttl > Duration::from_secs(86_400) {
            return Err(Error::config("id_token_ttl", "must be 1 s to 1 day"));
        }
        if self.interaction_ttl.is_zero() || self.interaction_ttl > Duration::from_secs(3600) {
            return Err(Error::config("interaction_ttl", "must be 1 s to 3600 s"));
        }
        if self.basic_realm.contains('"') || self.basic_realm.contains('\\') {
            return Err(Error::config(
                "basic_realm",
                "must not contain quotes or backslashes",
            ));
        }
        self.policies.validate()
    }
}

/// What `/authorize` hands the token endpoint through a code (RFC 6749 §4.1.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeGrant {
    /// The client.
    pub client_id: ClientId,
    /// The redirect URI the code is bound to.
    pub redirect_uri: String,
    /// Whether the authorization request carried `redirect_uri` (AC-05).
    pub redirect_uri_sent: bool,
    /// The consented scope; include `offline_access` only when it was consented.
    pub scope: Scope,
    /// The PKCE challenge.
    pub pkce: Option<PkceChallenge>,
    /// The OIDC nonce.
    pub nonce: Option<String>,
    /// The user who authorized.
    pub subject: Subject,
}

/// A minted code: the value for the redirect and the record to store
/// ([`crate::store::Commit::StoreCode`]).
#[derive(Clone, Debug)]
pub struct MintedCode {
    /// The value for the client.
    pub code: SecretString,
    /// The record for the store, allocated once and kept by an in-memory store as is.
    pub record: std::sync::Arc<CodeRecord>,
}

/// The authorization server core.
pub struct Server {
    config: ServerConfig,
    keys: RwLock<Arc<KeySet>>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn SecureRandom>,
    access_tokens: Arc<dyn AccessTokenFormat>,
    /// No custom format was set: access tokens are [`OpaqueAccessTokens`], made of their
    /// random bytes alone (what lets a rotation keep a derived successor).
    builtin_access_tokens: bool,
    assertions: Option<Arc<dyn ClientAssertionVerifier>>,
    /// The `iss` and `aud` members of every RFC 9068 access token, rendered once.
    jwt_claims_head: Box<[u8]>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Builds a [`Server`]; see [`Server::builder`].
#[must_use]
pub struct ServerBuilder {
    config: ServerConfig,
    keys: Option<KeySet>,
    clock: Arc<dyn Clock>,
    random: Arc<dyn SecureRandom>,
    access_tokens: Arc<dyn AccessTokenFormat>,
    builtin_access_tokens: bool,
    assertions: Option<Arc<dyn ClientAssertionVerifier>>,
}

impl ServerBuilder {
    /// Injects the clock (default: [`SystemClock`]).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Injects the random source (default: [`SystemRandom`]).
    pub fn random(mut self, random: impl SecureRandom + 'static) -> Self {
        self.random = Arc::new(random);
        self
    }

    /// Sets the access-token format (default: [`OpaqueAccessTokens`]).
    pub fn access_tokens(mut self, format: impl AccessTokenFormat + 'static) -> Self {
        self.access_tokens = Arc::new(format);
        self.builtin_access_tokens = false;
        self
    }

    /// Enables JWT client authentication through `verifier`.
    pub fn client_assertions(mut self, verifier: impl ClientAssertionVerifier + 'static) -> Self {
        self.assertions = Some(Arc::new(verifier));
        self
    }

    /// Sets the signing keys (default: one freshly generated ES256 key — fine for tests and
    /// a single process; a deployment loads its keys so tokens survive restarts).
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.keys = Some(keys);
        self
    }

    /// Validates the configuration and builds the server.
    ///
    /// # Errors
    /// [`Error::Config`] naming the first bad field; [`Error::Jose`] if the default key
    /// cannot be generated.
    pub fn build(self) -> Result<Server, Error> {
        self.config.validate()?;
        let keys = match self.keys {
            Some(k) => k,
            None => {
                let mut k = KeySet::new();
                k.add_active(SigningKey::generate(Algorithm::Es256, None)?)?;
                k
            }
        };
        if keys.signing_key().is_none() {
            return Err(Error::config(
                "keys",
                "no active key for the default signing algorithm",
            ));
        }
        let jwt_claims_head = crate::access_token::claims_head(&self.config);
        Ok(Server {
            jwt_claims_head,
            config: self.config,
            keys: RwLock::new(Arc::new(keys)),
            clock: self.clock,
            random: self.random,
            access_tokens: self.access_tokens,
            builtin_access_tokens: self.builtin_access_tokens,
            assertions: self.assertions,
        })
    }
}

impl Server {
    /// Starts building a server from `config`, with the system clock and random source.
    pub fn builder(config: ServerConfig) -> ServerBuilder {
        ServerBuilder {
            config,
            keys: None,
            clock: Arc::new(SystemClock),
            random: Arc::new(SystemRandom::new()),
            access_tokens: Arc::new(OpaqueAccessTokens),
            builtin_access_tokens: true,
            assertions: None,
        }
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &ServerConfig {
        &self.config
    }

    /// [`crate::access_token::claims_head`] of this server's configuration.
    pub(crate) fn jwt_claims_head(&self) -> &[u8] {
        &self.jwt_claims_head
    }

    /// The current time according to the injected clock.
    #[must_use]
    pub fn now(&self) -> crate::clock::UnixTime {
        self.clock.now()
    }

    /// The key under which an access token is stored and looked up: its SHA-256 — or, for
    /// a JWT access token this server signed (checked against its keys, active or
    /// retiring), the SHA-256 of its signature part. For hosts and tests that read the
    /// store directly; the endpoints use it themselves.
    #[must_use]
    pub fn access_token_key(&self, token: &str) -> crate::TokenHash {
        crate::access_token::signed_jwt_key(self, token)
            .unwrap_or_else(|| crate::TokenHash::of(token))
    }

    /// The current signing keys.
    #[must_use]
    pub fn keys(&self) -> Arc<KeySet> {
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the signing keys, e.g. to rotate: add the new key as active and keep the old
    /// one as retiring so outstanding tokens still verify.
    ///
    /// # Errors
    /// [`Error::Config`] when the new set has no key for its default algorithm.
    pub fn replace_keys(&self, keys: KeySet) -> Result<(), Error> {
        if keys.signing_key().is_none() {
            return Err(Error::config(
                "keys",
                "no active key for the default signing algorithm",
            ));
        }
        let mut slot = match self.keys.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        *slot = Arc::new(keys);
        Ok(())
    }

    /// The JWK Set document (public keys only, JW-01).
    #[must_use]
    pub fn jwks(&self) -> Response {
        let mut r = Response::json(
            200,
            serde_json::to_vec(&self.keys().jwks()).unwrap_or_default(),
        );
        r.headers.retain(|(n, _)| *n == "Content-Type");
        r.headers
            .push(("Cache-Control", "public, max-age=300".into()));
        r
    }

    /// A discovery document.
    #[must_use]
    pub fn discovery(&self, document: Document) -> Response {
        crate::discovery::render(self, document)
    }

    /// The ID-token signing algorithms with an active key, for discovery.
    #[must_use]
    pub fn signing_algorithms(&self) -> Vec<&'static str> {
        self.keys()
            .algorithms()
            .into_iter()
            .map(Algorithm::as_str)
            .collect()
    }

    pub(crate) fn client_assertion_algorithms(&self) -> Vec<&'static str> {
        crate::client_auth::ASSERTION_ALGORITHMS
            .iter()
            .map(|a| a.as_str())
            .collect()
    }

    pub(crate) fn extra_grant_types(&self) -> Vec<&'static str> {
        if self.config.trusted_issuers.is_empty() {
            Vec::new()
        } else {
            vec![crate::client::JWT_BEARER_GRANT]
        }
    }

    pub(crate) fn random(&self) -> &dyn SecureRandom {
        &*self.random
    }

    pub(crate) fn access_token_format(&self) -> &dyn AccessTokenFormat {
        &*self.access_tokens
    }

    /// Whether access tokens are the built-in [`OpaqueAccessTokens`].
    pub(crate) fn builtin_access_tokens(&self) -> bool {
        self.builtin_access_tokens
    }

    pub(crate) fn assertion_verifier(&self) -> Option<&dyn ClientAssertionVerifier> {
        self.assertions.as_deref()
    }

    /// Starts a token-endpoint flow for `request` at the clock's current time. Drive it with
    /// [`TokenFlow::answer`] or hand it to a [`crate::driver`].
    pub fn token_flow(&self, request: &Request) -> (TokenFlow<'_>, Step) {
        TokenFlow::start(self, request, self.clock.now())
    }

    /// Starts an `/authorize` flow for the browser's `request`, given its current login
    /// `session` (see [`crate::authorize`]).
    pub fn authorize(
        &self,
        request: &Request,
        session: Option<Session>,
    ) -> (AuthorizeFlow<'_>, AuthorizeStep) {
        AuthorizeFlow::start(self, request, session, self.clock.now())
    }

    /// Continues an `/authorize` flow after the host's login or consent page.
    pub fn resume_authorize(&self, resume: Resume) -> (AuthorizeFlow<'_>, AuthorizeStep) {
        AuthorizeFlow::resume(self, resume, self.clock.now())
    }

    /// Runs [`Server::authorize`] to its outcome against a blocking store.
    pub fn authorize_with<S: crate::store::Store + ?Sized>(
        &self,
        request: &Request,
        session: Option<Session>,
        store: &S,
    ) -> AuthorizeOutcome {
        let (flow, step) = self.authorize(request, session);
        crate::driver::drive_authorize(flow, step, store)
    }

    /// Runs [`Server::resume_authorize`] to its outcome against a blocking store.
    pub fn resume_authorize_with<S: crate::store::Store + ?Sized>(
        &self,
        resume: Resume,
        store: &S,
    ) -> AuthorizeOutcome {
        let (flow, step) = self.resume_authorize(resume);
        crate::driver::drive_authorize(flow, step, store)
    }

    /// Answers a token request against a blocking store and password verifier.
    pub fn token<S, U>(&self, request: &Request, store: &S, users: &U) -> Response
    where
        S: crate::store::Store + ?Sized,
        U: crate::grant::password::PasswordVerifier + ?Sized,
    {
        let (flow, step) = self.token_flow(request);
        crate::driver::drive(flow, step, store, users).0
    }

    /// Answers a token request against an async store and password verifier.
    pub async fn token_async<S, U>(&self, request: &Request, store: &S, users: &U) -> Response
    where
        S: crate::store::AsyncStore + ?Sized,
        U: crate::grant::password::AsyncPasswordVerifier + ?Sized,
    {
        let (flow, step) = self.token_flow(request);
        crate::driver::drive_async(flow, step, store, users).await.0
    }

    /// Starts a revocation flow (RFC 7009) for `request`.
    pub fn revocation_flow(&self, request: &Request) -> (RevocationFlow<'_>, Step) {
        RevocationFlow::start(self, request, self.clock.now())
    }

    /// Starts an introspection flow (RFC 7662) for `request`.
    pub fn introspection_flow(&self, request: &Request) -> (IntrospectionFlow<'_>, Step) {
        IntrospectionFlow::start(self, request, self.clock.now())
    }

    /// Starts a UserInfo flow (OIDC Core §5.3) for `request`.
    pub fn userinfo_flow(&self, request: &Request) -> (UserInfoFlow, Step) {
        UserInfoFlow::start(self, request, self.clock.now())
    }

    /// Answers a revocation request against a blocking store.
    pub fn revoke<S: crate::store::Store + ?Sized>(
        &self,
        request: &Request,
        store: &S,
    ) -> Response {
        let (flow, step) = self.revocation_flow(request);
        crate::driver::drive(flow, step, store, &crate::grant::password::NoPasswordUsers).0
    }

    /// Answers an introspection request against a blocking store.
    pub fn introspect<S: crate::store::Store + ?Sized>(
        &self,
        request: &Request,
        store: &S,
    ) -> Response {
        let (flow, step) = self.introspection_flow(request);
        crate::driver::drive(flow, step, store, &crate::grant::password::NoPasswordUsers).0
    }

    /// Answers a UserInfo request against a blocking store and the host's claims.
    pub fn userinfo<S, C>(&self, request: &Request, store: &S, claims: &C) -> Response
    where
        S: crate::store::Store + ?Sized,
        C: crate::claims::ClaimsSource + ?Sized,
    {
        let (flow, step) = self.userinfo_flow(request);
        crate::driver::drive_with(
            flow,
            step,
            store,
            &crate::grant::password::NoPasswordUsers,
            claims,
        )
        .0
    }

    /// Mints an authorization code for `grant` (the `/authorize` side). Store the record
    /// with [`crate::store::Commit::StoreCode`] before sending the code.
    ///
    /// # Errors
    /// [`Error::Config`] for a `plain` challenge when plain PKCE is off; [`Error::Random`]
    /// when the random source fails.
    pub fn mint_code(&self, grant: CodeGrant) -> Result<MintedCode, Error> {
        if grant
            .pkce
            .as_ref()
            .is_some_and(|p| p.method() == PkceMethod::Plain && !self.config.allow_plain_pkce)
        {
            return Err(Error::config("allow_plain_pkce", "plain PKCE is disabled"));
        }
        let now = self.clock.now();
        let t = mint_token(TokenKind::Code, &*self.random)?;
        Ok(MintedCode {
            record: std::sync::Arc::new(CodeRecord {
                hash: t.hash,
                client_id: grant.client_id,
                redirect_uri: grant.redirect_uri,
                redirect_uri_sent: grant.redirect_uri_sent,
                pkce: grant.pkce,
                scope: grant.scope,
                nonce: grant.nonce,
                subject: grant.subject,
                issued_at: now,
                expires_at: now.plus(self.config.code_ttl),
                redeemed_into: None,
            }),
            code: t.value,
        })
    }
}
