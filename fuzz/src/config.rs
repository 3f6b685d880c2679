//! The `config_load` target: the server's configuration file, from TOML text to a running
//! application's parts, without touching the file system or the network.
//!
//! # What runs on each input
//!
//! [`Config::parse`] on the input (when it is UTF-8), then [`Config::validate`] and every
//! accessor on its own — [`listen_addr`](Config::listen_addr),
//! [`store_setting`](Config::store_setting) (and [`StoreSetting::describe`]),
//! [`signing_algorithm`](Config::signing_algorithm),
//! [`server_config`](Config::server_config), [`trusted_issuers`](Config::trusted_issuers),
//! [`clients`](Config::clients), [`client_names`](Config::client_names),
//! [`users`](Config::users), [`cors`](Config::cors), [`sql_options`](Config::sql_options) —
//! so a field after the first bad one is still exercised. A valid configuration whose keys
//! are all inline PEM is then started with [`AppBuilder::build`] (memory store; with no
//! `[[keys]]`, a fixed inline key of the configured algorithm is added first, since the
//! server would otherwise generate one and write it to `data_dir`), and the started
//! server's JWKS is rendered. Configurations naming a key `file` are not started (that
//! reads a file).
//!
//! # What must hold
//!
//! * nothing panics, and every error renders (`Display`);
//! * `validate` succeeds only if every accessor does, and fails if any does;
//! * the core's `ServerConfig` from a valid file passes its own `validate`; every client of
//!   a valid file is accepted by a [`MemoryStore`]; client ids and usernames are unique;
//!   subjects are 1 to 255 visible ASCII characters; the display names belong to clients;
//! * starting a valid configuration fails, if at all, only on its keys (`keys[…]`,
//!   `signing_alg`) or on a non-memory store (`store`), which are checked only at start;
//!   a started server publishes a JWKS.

use std::collections::HashSet;

use tollgate::MemoryStore;
use tollgate_server::config::{Config, ConfigError, KeyConfig, StoreSetting};
use tollgate_server::AppBuilder;

/// Fixed private keys (generated for the fuzz targets only) added to a configuration
/// without `[[keys]]` before it is started.
const ES256_PEM: &str = include_str!("../keys/es256-fuzz-only.pem");
const ED25519_PEM: &str = include_str!("../keys/ed25519-fuzz-only.pem");
const RSA_PEM: &str = include_str!("../keys/rsa2048-fuzz-only.pem");

/// A directory that does not exist: nothing may be read from or written to it.
const NO_DIR: &str = "/nonexistent/tollgate-fuzz";

fn field_of(e: &ConfigError) -> Option<&str> {
    match e {
        ConfigError::Field { field, .. } => Some(field),
        _ => None,
    }
}

/// The `config_load` target (see the [module docs](self)).
///
/// # Panics
/// When a property above fails.
pub fn config_load(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match Config::parse(text) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let valid = config.validate();
    if let Err(e) = &valid {
        let _ = e.to_string();
        if let Some(field) = field_of(e) {
            assert!(!field.is_empty(), "an error without a field: {e}");
        }
    }

    let listen = config.listen_addr();
    let store = config.store_setting();
    if let Ok(s) = &store {
        let _ = s.describe();
    }
    let alg = config.signing_algorithm();
    let server_config = config.server_config();
    if let Ok(sc) = &server_config {
        assert!(
            sc.validate().is_ok(),
            "server_config() returned an invalid config"
        );
    }
    let issuers = config.trusted_issuers();
    let clients = config.clients();
    let names = config.client_names();
    let users = config.users();
    let cors = config.cors();
    let _ = config.sql_options();
    for e in [
        listen.as_ref().err(),
        store.as_ref().err(),
        alg.as_ref().err(),
        server_config.as_ref().err(),
        issuers.as_ref().err(),
        clients.as_ref().err(),
        users.as_ref().err(),
        cors.as_ref().err(),
    ]
    .into_iter()
    .flatten()
    {
        let _ = e.to_string();
    }
    let accessors_ok = listen.is_ok()
        && store.is_ok()
        && alg.is_ok()
        && server_config.is_ok()
        && issuers.is_ok()
        && clients.is_ok()
        && users.is_ok()
        && cors.is_ok();
    if valid.is_ok() {
        assert!(accessors_ok, "validate() passed but an accessor failed");
    }
    if !accessors_ok {
        assert!(valid.is_err(), "an accessor failed but validate() passed");
    }

    if let Ok(clients) = &clients {
        let memory = MemoryStore::new();
        let mut ids = HashSet::new();
        for c in clients {
            assert!(ids.insert(c.id.as_str().to_string()), "duplicate client id");
            if let Err(e) = memory.insert_client(c.clone()) {
                panic!("a validated client is refused by the store: {e}");
            }
        }
        for id in names.keys() {
            assert!(ids.contains(id), "a display name for no client: {id}");
        }
    }
    if let Ok(users) = &users {
        let mut names = HashSet::new();
        for u in users {
            assert!(names.insert(u.username.as_str()), "duplicate username");
            assert!(
                (1..=255).contains(&u.sub.len())
                    && u.sub.bytes().all(|b| (0x21..=0x7e).contains(&b)),
                "bad sub {:?}",
                u.sub
            );
        }
    }

    if valid.is_ok() && !config.keys.iter().any(|k| k.file.is_some()) {
        start(config, store.ok());
    }
}

/// Starts a valid configuration whose keys are all inline (see the module docs).
fn start(mut config: Config, store: Option<StoreSetting>) {
    if config.keys.is_empty() {
        let alg = config.signing_alg.clone().unwrap_or_else(|| "ES256".into());
        let pem = match alg.as_str() {
            "EdDSA" => ED25519_PEM,
            "RS256" | "PS256" => RSA_PEM,
            _ => ES256_PEM,
        };
        config.keys.push(KeyConfig {
            alg,
            file: None,
            pem: Some(pem.to_string()),
            kid: None,
            retiring: false,
        });
    }
    match AppBuilder::new(config, NO_DIR).build() {
        Ok((app, _source)) => {
            assert_eq!(
                store,
                Some(StoreSetting::Memory),
                "a non-memory store started"
            );
            let jwks = app.server().jwks();
            assert_eq!(jwks.status, 200);
            let body: serde_json::Value =
                serde_json::from_slice(&jwks.body).expect("the JWKS is JSON");
            assert!(
                body.get("keys")
                    .and_then(|k| k.as_array())
                    .is_some_and(|k| !k.is_empty()),
                "an empty JWKS: {body}"
            );
        }
        Err(e) => {
            let field = field_of(&e).unwrap_or_default();
            let allowed = field.starts_with("keys[")
                || field == "signing_alg"
                || (field == "store" && store != Some(StoreSetting::Memory));
            assert!(allowed, "a validated configuration failed to start: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn the_default_configuration_starts() {
        let text = tollgate_server::config::DEFAULT_CONFIG.replace(
            "store = \"sqlite:tollgate-data/tollgate.db\"",
            "store = \"memory\"",
        );
        let config = Config::parse(&text).unwrap();
        config.validate().unwrap();
        config_load(text.as_bytes());
        let (app, _) = AppBuilder::new(
            {
                let mut c = config.clone();
                c.keys.push(KeyConfig {
                    alg: "ES256".into(),
                    file: None,
                    pem: Some(ES256_PEM.into()),
                    kid: None,
                    retiring: false,
                });
                c
            },
            Path::new(NO_DIR),
        )
        .build()
        .unwrap();
        assert_eq!(app.server().jwks().status, 200);
    }

    #[test]
    fn every_seed_is_handled() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/seeds/config_load");
        let mut valid = 0;
        for entry in std::fs::read_dir(dir).expect("seed dir") {
            let path = entry.expect("entry").path();
            let data = std::fs::read(&path).expect("seed");
            config_load(&data);
            let ok = std::str::from_utf8(&data)
                .ok()
                .and_then(|t| Config::parse(t).ok())
                .is_some_and(|c| c.validate().is_ok());
            valid += usize::from(ok);
        }
        assert!(valid >= 3, "most config seeds should be valid ({valid})");
    }
}
