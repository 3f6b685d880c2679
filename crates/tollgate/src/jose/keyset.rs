//! The server's signing keys over their lifetime (RFC 7517 §5, RFC 8725 §3.5 key rotation,
//! OIDC Core §10.1.1 "Rotation of Asymmetric Signing Keys"): one *active* key per algorithm
//! signs; *retiring* keys no longer sign but stay published in the JWKS until the tokens
//! they signed have expired, then are removed.

use serde::Serialize;
use serde_json::{Map, Value};

use super::jws::{CompactJws, VerifyingKey};
use super::{jwt, parse_object, Algorithm, JoseError, Jwks, SigningKey};

/// The server's keys: at most one active key per [`Algorithm`], any number of retiring
/// ones, and the default signing algorithm ([`Algorithm::Es256`] unless set).
///
/// Every `kid` is unique across the set.
#[derive(Debug, Default)]
pub struct KeySet {
    active: Vec<SigningKey>,
    retiring: Vec<SigningKey>,
    default_alg: Algorithm,
}

impl KeySet {
    /// An empty key set whose default algorithm is ES256.
    #[must_use]
    pub fn new() -> KeySet {
        KeySet::default()
    }

    /// The algorithm [`signing_key`](Self::signing_key) and [`encode`](Self::encode) use.
    #[must_use]
    pub fn default_algorithm(&self) -> Algorithm {
        self.default_alg
    }

    /// Sets the default signing algorithm.
    pub fn set_default_algorithm(&mut self, alg: Algorithm) {
        self.default_alg = alg;
    }

    /// Makes `key` the active key of its algorithm. The previous active key of that
    /// algorithm, if any, becomes retiring: still published, no longer used to sign.
    ///
    /// # Errors
    /// [`JoseError::DuplicateKeyId`] if a key with the same `kid` is already in the set.
    pub fn add_active(&mut self, key: SigningKey) -> Result<(), JoseError> {
        if self.get(key.kid()).is_some() {
            return Err(JoseError::DuplicateKeyId);
        }
        let alg = key.algorithm();
        if let Some(i) = self.active.iter().position(|k| k.algorithm() == alg) {
            let previous = self.active.remove(i);
            self.retiring.push(previous);
        }
        self.active.push(key);
        Ok(())
    }

    /// The active key for `alg`.
    #[must_use]
    pub fn active(&self, alg: Algorithm) -> Option<&SigningKey> {
        self.active.iter().find(|k| k.algorithm() == alg)
    }

    /// The active key for the default algorithm.
    #[must_use]
    pub fn signing_key(&self) -> Option<&SigningKey> {
        self.active(self.default_alg)
    }

    /// Moves the active key `kid` to retiring; its algorithm then has no active key until
    /// one is added. Returns whether an active key was moved.
    pub fn retire(&mut self, kid: &str) -> bool {
        match self.active.iter().position(|k| k.kid() == kid) {
            Some(i) => {
                let key = self.active.remove(i);
                self.retiring.push(key);
                true
            }
            None => false,
        }
    }

    /// Removes the key `kid` (active or retiring) from the set and the JWKS; tokens it
    /// signed stop verifying.
    pub fn remove(&mut self, kid: &str) -> Option<SigningKey> {
        for list in [&mut self.active, &mut self.retiring] {
            if let Some(i) = list.iter().position(|k| k.kid() == kid) {
                return Some(list.remove(i));
            }
        }
        None
    }

    /// The key `kid`, active or retiring.
    #[must_use]
    pub fn get(&self, kid: &str) -> Option<&SigningKey> {
        self.keys().find(|k| k.kid() == kid)
    }

    /// Every key: active keys first, then retiring keys, oldest retired first.
    pub fn keys(&self) -> impl Iterator<Item = &SigningKey> {
        self.active.iter().chain(&self.retiring)
    }

    /// The retiring keys.
    pub fn retiring(&self) -> impl Iterator<Item = &SigningKey> {
        self.retiring.iter()
    }

    /// The algorithms with an active key, e.g. for discovery's
    /// `id_token_signing_alg_values_supported` (OIDC Discovery §3).
    #[must_use]
    pub fn algorithms(&self) -> Vec<Algorithm> {
        self.active.iter().map(SigningKey::algorithm).collect()
    }

    /// The JWK Set to publish at `jwks_uri`: the public keys of active and retiring keys.
    #[must_use]
    pub fn jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys().map(SigningKey::public_jwk).collect(),
        }
    }

    /// Signs `claims` as a JWT with the default algorithm's active key.
    ///
    /// # Errors
    /// [`JoseError::KeyNotFound`] if there is no such key; otherwise as [`jwt::encode`].
    pub fn encode<T: Serialize + ?Sized>(
        &self,
        typ: Option<&str>,
        claims: &T,
    ) -> Result<String, JoseError> {
        let key = self.signing_key().ok_or(JoseError::KeyNotFound)?;
        jwt::encode(key, typ, claims)
    }

    /// Verifies a JWT this server signed (an `id_token_hint`, a JWT access token) and
    /// returns its claims. The key is looked up by the header's `kid` among active and
    /// retiring keys and must fit the header's `alg`, which must be in `allowed`.
    ///
    /// # Errors
    /// As [`jwt::decode_verified`]; [`JoseError::KeyNotFound`] if the token has no `kid`
    /// or no key has it.
    pub fn verify(
        &self,
        token: &str,
        allowed: &[Algorithm],
        max_len: usize,
    ) -> Result<Map<String, Value>, JoseError> {
        let jws = CompactJws::parse(token, max_len)?;
        let payload = jws.verify_with(allowed, |header| {
            header
                .kid()
                .and_then(|kid| self.get(kid))
                .map(|key| VerifyingKey::Jwk(key.jwk()))
        })?;
        parse_object(
            payload,
            "the JWT claims are not a JSON object with unique member names",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::jws::DEFAULT_MAX_LEN;
    use crate::jose::key::tests::RSA_PEM;
    use serde_json::json;

    fn key(alg: Algorithm, kid: &str) -> SigningKey {
        match alg {
            Algorithm::Rs256 | Algorithm::Ps256 => {
                SigningKey::from_pkcs8_pem(alg, RSA_PEM, Some(kid.into())).unwrap()
            }
            _ => SigningKey::generate(alg, Some(kid.into())).unwrap(),
        }
    }

    fn kids(jwks: &Jwks) -> Vec<&str> {
        jwks.keys.iter().filter_map(|k| k.kid.as_deref()).collect()
    }

    #[test]
    fn rotation_keeps_old_keys_published_but_unused() {
        let mut set = KeySet::new();
        assert_eq!(set.default_algorithm(), Algorithm::Es256);
        assert!(set.signing_key().is_none());
        assert_eq!(set.encode(None, &json!({})), Err(JoseError::KeyNotFound));

        set.add_active(key(Algorithm::Es256, "es-1")).unwrap();
        set.add_active(key(Algorithm::EdDsa, "ed-1")).unwrap();
        let old_token = set.encode(Some("JWT"), &json!({"sub": "a"})).unwrap();
        assert_eq!(set.signing_key().unwrap().kid(), "es-1");

        set.add_active(key(Algorithm::Es256, "es-2")).unwrap();
        assert_eq!(set.active(Algorithm::Es256).unwrap().kid(), "es-2");
        assert_eq!(set.active(Algorithm::EdDsa).unwrap().kid(), "ed-1");
        assert_eq!(kids(&set.jwks()), ["ed-1", "es-2", "es-1"]);
        assert_eq!(
            set.retiring().map(SigningKey::kid).collect::<Vec<_>>(),
            ["es-1"]
        );
        assert_eq!(set.algorithms(), [Algorithm::EdDsa, Algorithm::Es256]);

        // Tokens from the retiring key still verify; new ones use the new key.
        assert_eq!(
            set.verify(&old_token, &[Algorithm::Es256], DEFAULT_MAX_LEN)
                .unwrap()["sub"],
            "a"
        );
        let new_token = set.encode(None, &json!({"sub": "b"})).unwrap();
        assert!(new_token.starts_with(&crate::jose::b64_encode(br#"{"alg":"ES256","kid":"es-2"}"#)));
        assert!(set
            .verify(&new_token, &[Algorithm::Es256], DEFAULT_MAX_LEN)
            .is_ok());

        // Removed: no longer published, its tokens no longer verify.
        assert_eq!(set.remove("es-1").unwrap().kid(), "es-1");
        assert_eq!(kids(&set.jwks()), ["ed-1", "es-2"]);
        assert_eq!(
            set.verify(&old_token, &[Algorithm::Es256], DEFAULT_MAX_LEN),
            Err(JoseError::KeyNotFound)
        );
        assert!(set.remove("es-1").is_none());
    }

    #[test]
    fn retire_and_default_algorithm() {
        let mut set = KeySet::new();
        set.add_active(key(Algorithm::Rs256, "rs")).unwrap();
        set.add_active(key(Algorithm::Es256, "es")).unwrap();
        set.set_default_algorithm(Algorithm::Rs256);
        let token = set.encode(None, &json!({"x": 1})).unwrap();
        assert!(set.retire("rs"));
        assert!(!set.retire("rs"));
        assert!(set.active(Algorithm::Rs256).is_none());
        assert_eq!(set.encode(None, &json!({})), Err(JoseError::KeyNotFound));
        assert!(set
            .verify(&token, &[Algorithm::Rs256], DEFAULT_MAX_LEN)
            .is_ok());
        assert_eq!(kids(&set.jwks()), ["es", "rs"]);
        assert!(set.remove("rs").is_some());
        assert_eq!(kids(&set.jwks()), ["es"]);
    }

    #[test]
    fn kids_are_unique() {
        let mut set = KeySet::new();
        set.add_active(key(Algorithm::Es256, "k")).unwrap();
        assert_eq!(
            set.add_active(key(Algorithm::EdDsa, "k")),
            Err(JoseError::DuplicateKeyId)
        );
        set.add_active(key(Algorithm::Es256, "k2")).unwrap();
        // "k" is now retiring and still reserved.
        assert_eq!(
            set.add_active(key(Algorithm::Es256, "k")),
            Err(JoseError::DuplicateKeyId)
        );
    }

    #[test]
    fn verify_refuses_foreign_and_confused_tokens() {
        let mut set = KeySet::new();
        set.add_active(key(Algorithm::Es256, "es")).unwrap();
        set.add_active(key(Algorithm::Rs256, "rs")).unwrap();
        let token = set.encode(None, &json!({})).unwrap();
        assert_eq!(
            set.verify(&token, &[Algorithm::EdDsa], DEFAULT_MAX_LEN),
            Err(JoseError::AlgorithmNotAllowed(Algorithm::Es256))
        );
        // Same kid, another key: a stranger's token.
        let stranger = SigningKey::generate(Algorithm::Es256, Some("es".into())).unwrap();
        let forged = jwt::encode(&stranger, None, &json!({})).unwrap();
        assert_eq!(
            set.verify(&forged, &[Algorithm::Es256], DEFAULT_MAX_LEN),
            Err(JoseError::BadSignature)
        );
        // HS256 with the published JWKS as the secret.
        let secret = serde_json::to_vec(&set.jwks()).unwrap();
        let forged = crate::jose::sign_compact_hs256(&secret, Some("rs"), None, b"{}").unwrap();
        assert_eq!(
            set.verify(&forged, &Algorithm::ALL, DEFAULT_MAX_LEN),
            Err(JoseError::KeyAlgorithmMismatch(Algorithm::Hs256))
        );
        // An RS256 key named in a PS256 token.
        let ps = SigningKey::from_pkcs8_pem(Algorithm::Ps256, RSA_PEM, Some("rs".into())).unwrap();
        let forged = jwt::encode(&ps, None, &json!({})).unwrap();
        assert_eq!(
            set.verify(&forged, &Algorithm::ALL, DEFAULT_MAX_LEN),
            Err(JoseError::KeyAlgorithmMismatch(Algorithm::Ps256))
        );
    }

    #[test]
    fn jwks_publishes_only_public_members() {
        let mut set = KeySet::new();
        set.add_active(key(Algorithm::Es256, "es")).unwrap();
        set.add_active(key(Algorithm::EdDsa, "ed")).unwrap();
        set.add_active(key(Algorithm::Ps256, "ps")).unwrap();
        let json = serde_json::to_string(&set.jwks()).unwrap();
        // What we publish is accepted by our own strict public parser.
        assert_eq!(Jwks::parse_public(&json).unwrap(), set.jwks());
        assert!(!json.contains("\"d\""));
    }
}
