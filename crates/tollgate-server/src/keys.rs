//! Signing keys: the configured PKCS#8 PEM keys, or — when none are configured — one ES256
//! key generated on first start, written to the data directory with mode `0600` and loaded
//! again on every later start, so the JWKS and earlier signatures survive restarts. `ring`
//! cannot generate RSA keys: an RS256 or PS256 key must be configured as a PEM file.

use std::io::Write;
use std::path::{Path, PathBuf};

use tollgate::jose::{Algorithm, KeySet, SigningKey};

use crate::config::{Config, ConfigError};

/// The file name of the generated key inside the data directory.
pub const GENERATED_KEY_FILE: &str = "signing-key-es256.pem";

/// What [`load`] did, for the start-up banner.
#[derive(Debug)]
pub enum KeySource {
    /// Loaded from the configuration.
    Configured,
    /// Generated now and written to this file.
    Generated(PathBuf),
    /// Loaded from the file generated on an earlier start.
    Reloaded(PathBuf),
}

/// Builds the key set from `config`; relative paths are resolved against `base_dir`.
///
/// # Errors
/// A [`ConfigError`] naming the key entry, or `data_dir` when the generated key cannot be
/// written or read back.
pub fn load(config: &Config, base_dir: &Path) -> Result<(KeySet, KeySource), ConfigError> {
    let mut set = KeySet::new();
    set.set_default_algorithm(config.signing_algorithm()?);
    if config.keys.is_empty() {
        let dir = base_dir.join(&config.data_dir);
        let path = dir.join(GENERATED_KEY_FILE);
        let (key, source) = if path.exists() {
            let pem = std::fs::read_to_string(&path)
                .map_err(|e| ConfigError::field("data_dir", format!("{}: {e}", path.display())))?;
            let key = SigningKey::from_pkcs8_pem(Algorithm::Es256, &pem, None)
                .map_err(|e| ConfigError::field("data_dir", format!("{}: {e}", path.display())))?;
            (key, KeySource::Reloaded(path))
        } else {
            let key = SigningKey::generate(Algorithm::Es256, None)
                .map_err(|e| ConfigError::field("keys", e.to_string()))?;
            write_private(&dir, &path, key.to_pkcs8_pem().as_bytes())
                .map_err(|e| ConfigError::field("data_dir", format!("{}: {e}", path.display())))?;
            (key, KeySource::Generated(path))
        };
        if config.signing_algorithm()? != Algorithm::Es256 {
            return Err(ConfigError::field(
                "signing_alg",
                "only an ES256 key is generated; configure [[keys]] for another algorithm",
            ));
        }
        set.add_active(key)
            .map_err(|e| ConfigError::field("keys", e.to_string()))?;
        return Ok((set, source));
    }
    // Retiring keys first, each retired as soon as it is added, so that adding an active
    // key never turns another active key of its algorithm into a retiring one by accident.
    let ordered = config
        .keys
        .iter()
        .enumerate()
        .filter(|(_, k)| k.retiring)
        .chain(config.keys.iter().enumerate().filter(|(_, k)| !k.retiring));
    for (i, k) in ordered {
        let field = |f: &str| format!("keys[{i}].{f}");
        let alg = Algorithm::parse(&k.alg)
            .ok_or_else(|| ConfigError::field(field("alg"), "unknown algorithm"))?;
        let pem = match (&k.pem, &k.file) {
            (Some(text), _) => text.clone(),
            (None, Some(file)) => {
                let path = base_dir.join(file);
                std::fs::read_to_string(&path).map_err(|e| {
                    ConfigError::field(field("file"), format!("{}: {e}", path.display()))
                })?
            }
            (None, None) => {
                return Err(ConfigError::field(field("file"), "file or pem is required"))
            }
        };
        let key = SigningKey::from_pkcs8_pem(alg, &pem, k.kid.clone())
            .map_err(|e| ConfigError::field(field("pem"), e.to_string()))?;
        let kid = key.kid().to_string();
        set.add_active(key)
            .map_err(|e| ConfigError::field(field("kid"), e.to_string()))?;
        if k.retiring {
            set.retire(&kid);
        }
    }
    if set.signing_key().is_none() {
        return Err(ConfigError::field(
            "signing_alg",
            "no active key of the default signing algorithm",
        ));
    }
    Ok((set, KeySource::Configured))
}

/// Writes `bytes` to `path` readable by the owner only, creating `dir` (mode `0700`).
fn write_private(dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)?;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}
