//! The server's configuration file (TOML): issuer, listen address, data directory, store,
//! token lifetimes and policies, CORS origins, signing keys, clients, users and trusted
//! JWT-bearer issuers. [`Config::parse`] reads it strictly — an unknown or misspelt field
//! is an error — and [`Config::validate`] turns it into the core's types, failing with a
//! [`ConfigError`] that names the field at fault.
//!
//! Without `--config` the server runs [`DEFAULT_CONFIG`], a demo setup on `127.0.0.1:8080`.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tollgate::client::{AccessTokenKind, ClientOidc};
use tollgate::grant::jwt_bearer::TrustedIssuer;
use tollgate::jose::{Algorithm, Jwks};
use tollgate::{
    ApplicationKind, AuthMethod, Client, ClientId, ClientType, GrantType, Policies, RotationMode,
    Scope, SecretHash, SecretString, ServerConfig, SpaRefreshTokens,
};

/// The embedded default configuration: a demo confidential web client, a public SPA, a
/// service client and the user `alice`. Its secrets are public: for trying the server out
/// on a laptop, never for a deployment.
pub const DEFAULT_CONFIG: &str = include_str!("default-config.toml");

/// The demo web client's secret in [`DEFAULT_CONFIG`].
pub const DEMO_WEB_SECRET: &str = "demo-web-secret-change-me-0123456789abcdefghij";
/// The demo service client's secret in [`DEFAULT_CONFIG`].
pub const DEMO_SERVICE_SECRET: &str = "demo-service-secret-change-me-0123456789abcdef";
/// The demo user's password in [`DEFAULT_CONFIG`].
pub const DEMO_PASSWORD: &str = "wonderland";

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The TOML does not parse or does not fit the schema (the message names the key and
    /// line).
    #[error("{0}")]
    Syntax(#[from] toml::de::Error),
    /// A field has a value the server cannot use.
    #[error("{field}: {message}")]
    Field {
        /// The field, e.g. `clients[demo-web].redirect_uris[0]`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    pub(crate) fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError::Field {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl From<tollgate::Error> for ConfigError {
    fn from(e: tollgate::Error) -> Self {
        match e {
            tollgate::Error::Config { field, reason } => ConfigError::field(field, reason),
            other => ConfigError::field("(core)", other.to_string()),
        }
    }
}

/// The whole file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The issuer URL; its path is where the endpoints are mounted.
    pub issuer: String,
    /// The address to listen on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// Where generated keys live; relative to the configuration file's directory.
    #[serde(default = "default_data_dir")]
    pub data_dir: PathBuf,
    /// `"memory"` (the default), `"sqlite:PATH"` (relative to the configuration file's
    /// directory) or `"postgres://…"`.
    #[serde(default = "default_store")]
    pub store: String,
    /// Tuning of the store: pool, timeouts, start-up retries, purges.
    #[serde(default)]
    pub database: DatabaseConfig,
    /// Origins whose scripts may call the token, revocation and UserInfo endpoints, the
    /// JWKS and the metadata documents (CORS); `"*"` opens the JWKS and the metadata
    /// documents to every origin, and only them.
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Authorization-code lifetime in seconds (1 to 600).
    #[serde(default = "default_code_ttl")]
    pub code_ttl: u64,
    /// ID-token lifetime in seconds.
    #[serde(default = "default_id_token_ttl")]
    pub id_token_ttl: u64,
    /// How long a login or consent page may take, in seconds.
    #[serde(default = "default_interaction_ttl")]
    pub interaction_ttl: u64,
    /// Accept `code_challenge_method=plain`.
    #[serde(default)]
    pub allow_plain_pkce: bool,
    /// `"rotating"` or `"disabled"`: refresh tokens for browser SPAs.
    #[serde(default)]
    pub spa_refresh_tokens: SpaRefreshTokens,
    /// The `aud` of JWT access tokens; the issuer when empty.
    #[serde(default)]
    pub access_token_audience: String,
    /// The default signing algorithm (`ES256`, `EdDSA`, `RS256`, `PS256`).
    #[serde(default)]
    pub signing_alg: Option<String>,
    /// Browser sessions and password brute-force protection.
    #[serde(default)]
    pub login: LoginConfig,
    /// Token lifetimes and refresh behaviour (the core's `Policies`).
    #[serde(default)]
    pub policies: Policies,
    /// Signing keys; empty means one ES256 key generated on first start.
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Registered clients.
    #[serde(default)]
    pub clients: Vec<ClientConfig>,
    /// Users who sign in at the login page and through the password grant.
    #[serde(default)]
    pub users: Vec<UserConfig>,
    /// Issuers whose JWTs the JWT-bearer grant (RFC 7523 §2.1) accepts.
    #[serde(default)]
    pub trusted_issuers: Vec<TrustedIssuerConfig>,
}

/// `[database]`: how the server uses its store. The pool and timeouts concern SQLite and
/// PostgreSQL only; the purge applies to every store.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DatabaseConfig {
    /// PostgreSQL: connections in the pool; SQLite: read connections (writes always use
    /// one). Default 8.
    pub max_connections: u32,
    /// How long a request waits for a database connection before it is answered `503
    /// temporarily_unavailable`, in milliseconds. Default 5000.
    pub acquire_timeout_ms: u64,
    /// SQLite: how long a write waits for another process's write lock, in milliseconds.
    /// Default 5000.
    pub busy_timeout_ms: u64,
    /// PostgreSQL: how long the server keeps trying to reach the database at start (with
    /// backoff) before it gives up and exits, in seconds; 0 makes one attempt. Default 30.
    pub start_timeout: u64,
    /// Seconds between purges of expired records. Default 60.
    pub purge_interval: u64,
    /// Records removed per purge statement; a purge repeats while a batch comes back full.
    /// Default 1000.
    pub purge_batch: usize,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            max_connections: 8,
            acquire_timeout_ms: 5000,
            busy_timeout_ms: 5000,
            start_timeout: 30,
            purge_interval: 60,
            purge_batch: 1000,
        }
    }
}

/// `[[trusted_issuers]]`: the fields of the core's
/// [`TrustedIssuer`].
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrustedIssuerConfig {
    /// The `iss` its JWTs carry.
    pub issuer: String,
    /// Its public signing keys: a JWK Set as a TOML table or JSON text.
    pub jwks: toml::Value,
    /// Put before its `sub` to make the local subject (keeps issuers' users apart).
    #[serde(default)]
    pub subject_prefix: String,
    /// The most a grant from it may carry, space-separated.
    pub allowed_scopes: String,
    /// Whether its grants may yield refresh tokens (with `offline_access`).
    #[serde(default)]
    pub refresh_tokens: bool,
}

/// `[login]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginConfig {
    /// How long a browser session lasts, in seconds.
    pub session_ttl: u64,
    /// Failed password checks per username before further attempts are refused.
    pub max_failures: u32,
    /// The window, in seconds, in which failures are counted and after which they expire.
    pub failure_window: u64,
}

impl Default for LoginConfig {
    fn default() -> Self {
        LoginConfig {
            session_ttl: 8 * 3600,
            max_failures: 5,
            failure_window: 300,
        }
    }
}

/// `[[keys]]`: a PKCS#8 private key.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    /// `ES256`, `EdDSA`, `RS256` or `PS256`.
    pub alg: String,
    /// A PEM file, relative to the configuration file.
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// The PEM text inline.
    #[serde(default)]
    pub pem: Option<String>,
    /// The key id; the RFC 7638 thumbprint when absent.
    #[serde(default)]
    pub kid: Option<String>,
    /// Published for verification but no longer used to sign.
    #[serde(default)]
    pub retiring: bool,
}

/// `[[clients]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// `client_id`.
    pub id: String,
    /// A name for the consent page.
    #[serde(default)]
    pub name: Option<String>,
    /// `confidential` or `public`.
    #[serde(rename = "type")]
    pub client_type: ClientType,
    /// `web`, `native`, `browser_spa` or `service`.
    pub kind: ApplicationKind,
    /// `client_secret_basic`, `client_secret_post`, `private_key_jwt`,
    /// `client_secret_jwt` or `none`.
    pub auth_method: AuthMethod,
    /// The secret in plain text (at least 43 characters), hashed at start.
    #[serde(default)]
    pub secret: Option<String>,
    /// The secret's stored hash (`sha256$…` or `pbkdf2-sha256$…`).
    #[serde(default)]
    pub secret_hash: Option<String>,
    /// The shared key of `client_secret_jwt` (at least 32 bytes).
    #[serde(default)]
    pub jwt_secret: Option<String>,
    /// The public keys of `private_key_jwt`: a JWK Set as a TOML table or JSON text.
    #[serde(default)]
    pub jwks: Option<toml::Value>,
    /// Registered redirect URIs (exact match; loopback ports vary).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may be granted, space-separated.
    pub scopes: String,
    /// Scopes granted when a request names none.
    #[serde(default)]
    pub default_scopes: String,
    /// `rotate` or `static`; overrides the policy (public clients always rotate).
    #[serde(default)]
    pub refresh_rotation: Option<RotationMode>,
    /// `opaque` (default) or `jwt` (RFC 9068).
    #[serde(default)]
    pub access_token_format: AccessTokenKind,
    /// The ID-token signing algorithm for this client.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<String>,
}

/// `[[users]]`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserConfig {
    /// What the user types at the login page.
    pub username: String,
    /// `pbkdf2-sha256$…` from `tollgate-server hash-password`.
    pub password_hash: String,
    /// The stable subject identifier; the username when absent.
    #[serde(default)]
    pub sub: Option<String>,
    /// Groups, for policy rules.
    #[serde(default)]
    pub groups: Vec<String>,
    /// OpenID claims released by scope (`name`, `email`, …).
    #[serde(default)]
    pub claims: toml::Table,
}

fn default_listen() -> String {
    "127.0.0.1:8080".into()
}
fn default_data_dir() -> PathBuf {
    PathBuf::from("tollgate-data")
}
fn default_store() -> String {
    "memory".into()
}
fn default_code_ttl() -> u64 {
    60
}
fn default_id_token_ttl() -> u64 {
    3600
}
fn default_interaction_ttl() -> u64 {
    600
}

/// Where the store lives, from the `store` field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreSetting {
    /// In process memory; everything is lost on restart.
    Memory,
    /// A SQLite file (tollgate-sql); a relative path is relative to the configuration
    /// file's directory.
    Sqlite(PathBuf),
    /// A PostgreSQL URL (tollgate-sql).
    Postgres(String),
}

impl StoreSetting {
    /// How the store is named in the banner and in messages: the SQLite path as
    /// configured, a PostgreSQL URL without its password and parameters.
    #[must_use]
    pub fn describe(&self) -> String {
        match self {
            StoreSetting::Memory => "memory".into(),
            StoreSetting::Sqlite(path) => format!("sqlite:{}", path.display()),
            StoreSetting::Postgres(url) => {
                match url.parse::<tollgate_sql::sqlx::postgres::PgConnectOptions>() {
                    Ok(o) => format!(
                        "postgres://{}@{}:{}/{}",
                        o.get_username(),
                        o.get_host(),
                        o.get_port(),
                        o.get_database().unwrap_or_default()
                    ),
                    Err(_) => "postgres://…".into(),
                }
            }
        }
    }
}

/// A validated user.
#[derive(Clone, Debug)]
pub struct User {
    /// The login name.
    pub username: String,
    /// The password hash.
    pub password: SecretHash,
    /// `sub`.
    pub sub: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Claims.
    pub claims: serde_json::Map<String, serde_json::Value>,
}

impl Config {
    /// Parses TOML text.
    ///
    /// # Errors
    /// [`ConfigError::Syntax`] naming the key and line.
    pub fn parse(text: &str) -> Result<Config, ConfigError> {
        Ok(toml::from_str(text)?)
    }

    /// Reads and parses a file.
    ///
    /// # Errors
    /// As [`Config::parse`], or [`ConfigError::Read`].
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Config::parse(&text)
    }

    /// The embedded demo configuration.
    ///
    /// # Errors
    /// Never in a released build; the test suite parses it.
    pub fn default_demo() -> Result<Config, ConfigError> {
        Config::parse(DEFAULT_CONFIG)
    }

    /// Checks every field; the first problem is returned.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the field.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.store_setting()?;
        self.server_config()?.validate()?;
        self.signing_algorithm()?;
        if self.login.max_failures == 0 {
            return Err(ConfigError::field(
                "login.max_failures",
                "must be at least 1",
            ));
        }
        if self.login.session_ttl == 0 || self.login.failure_window == 0 {
            return Err(ConfigError::field(
                "login.session_ttl",
                "session_ttl and failure_window must be positive",
            ));
        }
        for (i, k) in self.keys.iter().enumerate() {
            if k.file.is_some() == k.pem.is_some() {
                return Err(ConfigError::field(
                    format!("keys[{i}]"),
                    "give exactly one of file or pem",
                ));
            }
            parse_alg(&k.alg, &format!("keys[{i}].alg"))?;
        }
        self.clients()?;
        self.users()?;
        self.cors()?;
        let d = &self.database;
        if d.max_connections == 0 {
            return Err(ConfigError::field(
                "database.max_connections",
                "must be at least 1",
            ));
        }
        if d.acquire_timeout_ms == 0 || d.purge_interval == 0 || d.purge_batch == 0 {
            return Err(ConfigError::field(
                "database",
                "acquire_timeout_ms, purge_interval and purge_batch must be positive",
            ));
        }
        Ok(())
    }

    /// `cors_origins`, checked: each an origin (`https://app.example`, no path) or `"*"`.
    ///
    /// # Errors
    /// The first entry that is neither.
    pub fn cors(&self) -> Result<crate::cors::CorsOrigins, ConfigError> {
        let mut origins = crate::cors::CorsOrigins::default();
        for (i, o) in self.cors_origins.iter().enumerate() {
            if o == "*" {
                origins.any_for_metadata = true;
                continue;
            }
            let rest = o
                .strip_prefix("https://")
                .or_else(|| o.strip_prefix("http://"));
            let host_ok = rest.is_some_and(|r| {
                !r.is_empty()
                    && r.bytes().all(|b| {
                        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']')
                    })
            });
            if !host_ok {
                return Err(ConfigError::field(
                    format!("cors_origins[{i}]"),
                    "must be an origin like https://app.example (scheme, host and port only) or \"*\"",
                ));
            }
            origins.exact.push(o.to_ascii_lowercase());
        }
        Ok(origins)
    }

    /// The SQL store options from `[database]`.
    #[must_use]
    pub fn sql_options(&self) -> tollgate_sql::SqlOptions {
        tollgate_sql::SqlOptions {
            max_connections: self.database.max_connections,
            acquire_timeout: Duration::from_millis(self.database.acquire_timeout_ms),
            busy_timeout: Duration::from_millis(self.database.busy_timeout_ms),
            ..tollgate_sql::SqlOptions::default()
        }
    }

    /// `listen` as a socket address.
    ///
    /// # Errors
    /// When it does not parse.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen
            .parse()
            .map_err(|_| ConfigError::field("listen", "must be an address like 127.0.0.1:8080"))
    }

    /// `store`, parsed.
    ///
    /// # Errors
    /// When it is none of the known forms.
    pub fn store_setting(&self) -> Result<StoreSetting, ConfigError> {
        let s = self.store.as_str();
        if s == "memory" {
            Ok(StoreSetting::Memory)
        } else if let Some(path) = s.strip_prefix("sqlite:") {
            // `sqlite://relative.db` and `sqlite:///absolute.db`, as sqlx spells them, too.
            let path = path.strip_prefix("//").unwrap_or(path);
            if path.is_empty() || path == ":memory:" || path.contains('?') {
                return Err(ConfigError::field(
                    "store",
                    "sqlite: needs a file path (no parameters); use \"memory\" for an in-memory store",
                ));
            }
            Ok(StoreSetting::Sqlite(PathBuf::from(path)))
        } else if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            s.parse::<tollgate_sql::sqlx::postgres::PgConnectOptions>()
                .map_err(|e| {
                    ConfigError::field("store", format!("not a usable PostgreSQL URL: {e}"))
                })?;
            Ok(StoreSetting::Postgres(s.to_string()))
        } else {
            Err(ConfigError::field(
                "store",
                "must be \"memory\", \"sqlite:PATH\" or \"postgres://…\"",
            ))
        }
    }

    /// The default signing algorithm.
    ///
    /// # Errors
    /// When `signing_alg` names no supported algorithm.
    pub fn signing_algorithm(&self) -> Result<Algorithm, ConfigError> {
        match &self.signing_alg {
            None => Ok(Algorithm::Es256),
            Some(a) => parse_alg(a, "signing_alg"),
        }
    }

    /// The core's configuration.
    ///
    /// # Errors
    /// When a lifetime is out of range (the core names the field).
    pub fn server_config(&self) -> Result<ServerConfig, ConfigError> {
        if !(self.issuer.starts_with("https://") || self.issuer.starts_with("http://"))
            || self.issuer.contains(['?', '#'])
        {
            return Err(ConfigError::field(
                "issuer",
                "must be an http(s) URL without query or fragment",
            ));
        }
        let config = ServerConfig {
            issuer: self.issuer.trim_end_matches('/').to_string(),
            policies: self.policies.clone(),
            code_ttl: Duration::from_secs(self.code_ttl),
            id_token_ttl: Duration::from_secs(self.id_token_ttl),
            interaction_ttl: Duration::from_secs(self.interaction_ttl),
            allow_plain_pkce: self.allow_plain_pkce,
            spa_refresh_tokens: self.spa_refresh_tokens,
            access_token_audience: self.access_token_audience.clone(),
            trusted_issuers: self.trusted_issuers()?,
            ..ServerConfig::default()
        };
        config.validate()?;
        Ok(config)
    }

    /// The trusted JWT-bearer issuers as the core's records, validated.
    ///
    /// # Errors
    /// The first field at fault.
    pub fn trusted_issuers(&self) -> Result<Vec<TrustedIssuer>, ConfigError> {
        let mut out: Vec<TrustedIssuer> = Vec::with_capacity(self.trusted_issuers.len());
        for (i, t) in self.trusted_issuers.iter().enumerate() {
            let field = |f: &str| format!("trusted_issuers[{i}].{f}");
            if t.issuer.is_empty() {
                return Err(ConfigError::field(field("issuer"), "must not be empty"));
            }
            if out.iter().any(|o| o.issuer == t.issuer) {
                return Err(ConfigError::field(field("issuer"), "is listed twice"));
            }
            let jwks = parse_jwks(&t.jwks).map_err(|m| ConfigError::field(field("jwks"), m))?;
            if jwks.keys.is_empty() {
                return Err(ConfigError::field(field("jwks"), "has no keys"));
            }
            let allowed_scopes = Scope::parse(&t.allowed_scopes).map_err(|_| {
                ConfigError::field(field("allowed_scopes"), "not a valid scope list")
            })?;
            out.push(TrustedIssuer {
                issuer: t.issuer.clone(),
                jwks,
                subject_prefix: t.subject_prefix.clone(),
                allowed_scopes,
                refresh_tokens: t.refresh_tokens,
            });
        }
        Ok(out)
    }

    /// The clients as the core's records, validated.
    ///
    /// # Errors
    /// The first client field at fault.
    pub fn clients(&self) -> Result<Vec<Client>, ConfigError> {
        let mut seen = HashMap::new();
        let mut out = Vec::with_capacity(self.clients.len());
        for (i, c) in self.clients.iter().enumerate() {
            let client = c.to_client(i)?;
            if seen.insert(c.id.clone(), i).is_some() {
                return Err(ConfigError::field(
                    format!("clients[{i}].id"),
                    "is registered twice",
                ));
            }
            out.push(client);
        }
        Ok(out)
    }

    /// Display names of the clients, by id.
    #[must_use]
    pub fn client_names(&self) -> HashMap<String, String> {
        self.clients
            .iter()
            .filter_map(|c| c.name.clone().map(|n| (c.id.clone(), n)))
            .collect()
    }

    /// The users, validated.
    ///
    /// # Errors
    /// The first user field at fault.
    pub fn users(&self) -> Result<Vec<User>, ConfigError> {
        let mut seen = HashMap::new();
        let mut out = Vec::with_capacity(self.users.len());
        for (i, u) in self.users.iter().enumerate() {
            let field = |f: &str| format!("users[{i}].{f}");
            if u.username.is_empty() || u.username.len() > 255 {
                return Err(ConfigError::field(field("username"), "1 to 255 characters"));
            }
            if seen.insert(u.username.clone(), i).is_some() {
                return Err(ConfigError::field(field("username"), "is listed twice"));
            }
            let password = SecretHash::from_stored(&u.password_hash).map_err(|_| {
                ConfigError::field(
                    field("password_hash"),
                    "not a pbkdf2-sha256$… hash: make one with `tollgate-server hash-password`",
                )
            })?;
            let sub = u.sub.clone().unwrap_or_else(|| u.username.clone());
            if sub.is_empty() || sub.len() > 255 || !sub.bytes().all(|b| (0x21..=0x7e).contains(&b))
            {
                return Err(ConfigError::field(
                    field("sub"),
                    "1 to 255 visible ASCII characters (OIDC Core 2)",
                ));
            }
            let claims = match serde_json::to_value(&u.claims) {
                Ok(serde_json::Value::Object(m)) => m,
                _ => return Err(ConfigError::field(field("claims"), "must be a table")),
            };
            out.push(User {
                username: u.username.clone(),
                password,
                sub,
                groups: u.groups.clone(),
                claims,
            });
        }
        Ok(out)
    }
}

impl ClientConfig {
    fn to_client(&self, index: usize) -> Result<Client, ConfigError> {
        let field = |f: &str| format!("clients[{}].{f}", self.id);
        let id = ClientId::new(self.id.clone())
            .map_err(|e| ConfigError::field(format!("clients[{index}].id"), e.to_string()))?;
        let secret = match (&self.secret, &self.secret_hash) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::field(
                    field("secret"),
                    "give secret or secret_hash, not both",
                ))
            }
            (Some(plain), None) => Some(SecretHash::fast(plain).map_err(|_| {
                ConfigError::field(
                    field("secret"),
                    "must be at least 43 characters; put a PBKDF2 hash of a shorter one in secret_hash",
                )
            })?),
            (None, Some(stored)) => Some(SecretHash::from_stored(stored).map_err(|_| {
                ConfigError::field(field("secret_hash"), "not a sha256$… or pbkdf2-sha256$… hash")
            })?),
            (None, None) => None,
        };
        let scope = |s: &str, f: &str| {
            Scope::parse(s).map_err(|_| ConfigError::field(field(f), "not a valid scope list"))
        };
        let jwks = match &self.jwks {
            None => None,
            Some(value) => {
                Some(parse_jwks(value).map_err(|m| ConfigError::field(field("jwks"), m))?)
            }
        };
        let id_token_alg = match &self.id_token_signed_response_alg {
            None => None,
            Some(a) => Some(parse_alg(a, &field("id_token_signed_response_alg"))?),
        };
        let client = Client {
            id,
            client_type: self.client_type,
            kind: self.kind,
            auth_method: self.auth_method,
            secret,
            redirect_uris: self.redirect_uris.clone(),
            grant_types: self.grant_types.clone(),
            allowed_scopes: scope(&self.scopes, "scopes")?,
            default_scopes: scope(&self.default_scopes, "default_scopes")?,
            refresh_rotation: self.refresh_rotation,
            oidc: ClientOidc {
                jwks,
                jwt_secret: self.jwt_secret.clone().map(SecretString::new),
                id_token_signed_response_alg: id_token_alg,
                access_token_format: self.access_token_format,
            },
        };
        client.validate()?;
        Ok(client)
    }
}

/// A public JWK Set given as a TOML table or as JSON text.
fn parse_jwks(value: &toml::Value) -> Result<Jwks, String> {
    let json = match value {
        toml::Value::String(text) => text.clone(),
        other => serde_json::to_string(other).map_err(|e| format!("not a JWK Set: {e}"))?,
    };
    Jwks::parse_public(json).map_err(|e| format!("not a public JWK Set: {e}"))
}

fn parse_alg(name: &str, field: &str) -> Result<Algorithm, ConfigError> {
    match Algorithm::parse(name) {
        Some(Algorithm::Hs256) | None => Err(ConfigError::field(
            field,
            "must be ES256, EdDSA, RS256 or PS256",
        )),
        Some(a) => Ok(a),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_default_is_valid() {
        let c = Config::default_demo().unwrap();
        c.validate().unwrap();
        assert_eq!(
            c.store_setting().unwrap(),
            StoreSetting::Sqlite(PathBuf::from("tollgate-data/tollgate.db"))
        );
        assert_eq!(c.clients().unwrap().len(), 3);
        let web = c.clients().unwrap().remove(0);
        assert!(web.secret.unwrap().verify(DEMO_WEB_SECRET));
        assert!(c.users().unwrap()[0].password.verify(DEMO_PASSWORD));
    }

    #[test]
    fn a_postgres_url_is_described_without_its_password() {
        let setting = StoreSetting::Postgres(
            "postgres://tg:s3cret@db.internal:6432/auth?options=-c%20search_path%3Dx".into(),
        );
        assert_eq!(setting.describe(), "postgres://tg@db.internal:6432/auth");
    }

    #[test]
    fn trusted_issuers_become_the_cores() {
        let text = format!(
            "{DEFAULT_CONFIG}\n[[trusted_issuers]]\nissuer = \"https://idp.test\"\n\
             jwks = {{ keys = [{{ kty = \"OKP\", crv = \"Ed25519\", kid = \"k\", \
             x = \"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\" }}] }}\n\
             subject_prefix = \"idp|\"\nallowed_scopes = \"api:read\"\n"
        );
        let c = Config::parse(&text).unwrap();
        c.validate().unwrap();
        let t = &c.server_config().unwrap().trusted_issuers[0];
        assert_eq!(
            (t.issuer.as_str(), t.subject_prefix.as_str()),
            ("https://idp.test", "idp|")
        );
        assert!(!t.refresh_tokens);
        let e = Config::parse(&text.replace("kty = \"OKP\", ", ""))
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("trusted_issuers[0].jwks"), "{e}");
    }

    #[test]
    fn errors_name_the_field() {
        let bad = |patch: &str| {
            let text = format!("{patch}\n{DEFAULT_CONFIG}");
            match Config::parse(&text).and_then(|c| c.validate().map(|()| c)) {
                Err(e) => e.to_string(),
                Ok(_) => panic!("accepted {patch}"),
            }
        };
        assert!(bad("colour = \"red\"").contains("colour"));
        assert!(bad("code_ttl = 601").contains("code_ttl"));
        assert!(bad("listen = \"everywhere\"").contains("listen"));
        assert!(bad("cors_origins = [\"https://app.test/path\"]").contains("cors_origins[0]"));
        let invalid = |text: &str| match Config::parse(text).and_then(|c| c.validate()) {
            Err(e) => e.to_string(),
            Ok(()) => panic!("accepted {text}"),
        };
        let store = |value: &str| {
            DEFAULT_CONFIG.replace(
                "store = \"sqlite:tollgate-data/tollgate.db\"",
                &format!("store = \"{value}\""),
            )
        };
        for value in [
            "mysql://x",
            "sqlite::memory:",
            "sqlite:",
            "postgres://db:port/x",
        ] {
            let e = invalid(&store(value));
            assert!(e.starts_with("store: "), "{value}: {e}");
        }
        for value in [
            "memory",
            "sqlite:/var/lib/t.db",
            "postgres://u:pw@db:5432/t?options=-c%20search_path%3Dtg",
        ] {
            Config::parse(&store(value)).unwrap().validate().unwrap();
        }
        let e = invalid(&format!("{DEFAULT_CONFIG}\n[database]\npurge_batch = 0\n"));
        assert!(e.starts_with("database"), "{e}");
        let text = DEFAULT_CONFIG.replace(
            "redirect_uris = [\"http://127.0.0.1:8080/demo/callback\"]",
            "redirect_uris = [\"/relative#frag\"]",
        );
        let e = Config::parse(&text)
            .unwrap()
            .validate()
            .unwrap_err()
            .to_string();
        assert!(e.contains("clients[demo-web].redirect_uris[0]"), "{e}");
    }
}
