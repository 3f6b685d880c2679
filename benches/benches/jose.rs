//! Criterion benches of JOSE on `ring`: sign and verify per algorithm (ES256, EdDSA, RS256,
//! PS256; HS256 verify for `client_secret_jwt`), and — in the same run, so the ratio is
//! measured side by side — a refresh grant whose access token is an ES256 JWT (RFC 9068),
//! with and without an ID token, next to the bare ES256 signature of an access-token-sized
//! payload. `benches/README.md` gives the figures.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use tollgate::jose::{
    jwt, sign_compact, sign_compact_hs256, Algorithm, CompactJws, SigningKey, VerifyingKey,
};
use tollgate_benches::interleave::{self, Contender};
use tollgate_benches::{Fixture, RefreshChain, CONSENTED_SCOPE, JWT_WEB_ID, OIDC_SCOPE};

/// A test-only RSA-2048 key: ring cannot generate RSA keys.
const RSA_PEM: &str = include_str!("../../crates/tollgate/src/jose/testdata/test-only-rsa2048.pem");

/// The claims of a typical RFC 9068 access token.
fn payload() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "iss": "https://auth.example.com", "exp": 1_750_003_600u64, "aud": "https://auth.example.com",
        "sub": "alice", "client_id": "web-portal-jwt", "iat": 1_750_000_000u64,
        "jti": "3q2-7wAAAAAAAAAAAAAAAA", "scope": "api:read email offline_access profile"
    }))
    .expect("json")
}

fn key(alg: Algorithm) -> SigningKey {
    match alg {
        Algorithm::Rs256 | Algorithm::Ps256 => {
            SigningKey::from_pkcs8_pem(alg, RSA_PEM, None).expect("rsa key")
        }
        _ => SigningKey::generate(alg, None).expect("key"),
    }
}

fn sign_verify(c: &mut Criterion) {
    let mut g = c.benchmark_group("jose");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let body = payload();
    for alg in [
        Algorithm::Es256,
        Algorithm::EdDsa,
        Algorithm::Rs256,
        Algorithm::Ps256,
    ] {
        let k = key(alg);
        g.bench_function(format!("sign_{alg}"), |b| {
            b.iter(|| sign_compact(&k, Some("at+jwt"), black_box(&body)).expect("sign"));
        });
        let token = sign_compact(&k, Some("at+jwt"), &body).expect("sign");
        let jwk = k.public_jwk();
        g.bench_function(format!("verify_{alg}"), |b| {
            b.iter(|| {
                let jws = CompactJws::parse(black_box(&token), 16 * 1024).expect("parse");
                jws.verify_with(&[alg], |_| Some(VerifyingKey::Jwk(&jwk)))
                    .expect("verify")
                    .len()
            });
        });
    }
    let secret = b"j2-shared-hmac-key-0123456789abcdefghijklmnop";
    let token = sign_compact_hs256(secret, None, None, &body).expect("sign");
    g.bench_function("verify_HS256", |b| {
        b.iter(|| {
            jwt::decode_verified(
                black_box(&token),
                &[Algorithm::Hs256],
                &[],
                Some(secret),
                16 * 1024,
            )
            .expect("verify")
        });
    });
    g.finish();
}

fn refresh_with_jwt(c: &mut Criterion) {
    let mut g = c.benchmark_group("refresh_jwt");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    let fx = Fixture::new(Duration::from_secs(30));
    let k = fx.server.keys();
    let signing = k.active(Algorithm::Es256).expect("the default ES256 key");
    let body = payload();
    g.bench_function("bare_es256_signature", |b| {
        b.iter(|| sign_compact(signing, Some("at+jwt"), black_box(&body)).expect("sign"));
    });
    let mut chain = RefreshChain::warmed(&fx, JWT_WEB_ID, CONSENTED_SCOPE);
    g.bench_function("refresh_es256_access_token", |b| {
        b.iter_custom(|iters| chain.run(iters))
    });
    drop(chain);
    let mut chain = RefreshChain::warmed(&fx, JWT_WEB_ID, OIDC_SCOPE);
    g.bench_function("refresh_es256_access_token_and_id_token", |b| {
        b.iter_custom(|iters| chain.run(iters))
    });
    drop(chain);
    g.finish();
}

/// The ratio — a refresh with an ES256 access token over the bare ES256 signature —
/// interleaved (`benches/src/interleave.rs`): the two run in alternating short batches, so
/// the ratio of each round is taken within milliseconds and the machine's drift over the run
/// hardly touches it. Writes `target/criterion/interleaved/refresh_jwt_interleaved.json`.
fn refresh_with_jwt_interleaved(_: &mut Criterion) {
    if !interleave::selected("refresh_jwt_interleaved") {
        return;
    }
    let fx = Fixture::new(Duration::from_secs(30));
    let k = fx.server.keys();
    let signing = k.active(Algorithm::Es256).expect("the default ES256 key");
    let body = payload();
    let mut chain = RefreshChain::warmed(&fx, JWT_WEB_ID, CONSENTED_SCOPE);
    let mut with_id = RefreshChain::warmed(&fx, JWT_WEB_ID, OIDC_SCOPE);
    let mut contenders = [
        Contender::new("bare_es256_signature", |n| {
            let t0 = std::time::Instant::now();
            for _ in 0..n {
                black_box(sign_compact(signing, Some("at+jwt"), black_box(&body)).expect("sign"));
            }
            t0.elapsed()
        }),
        Contender::new("refresh_es256_access_token", |n| chain.run(n)),
        Contender::new("refresh_es256_access_token_and_id_token", |n| {
            with_id.run(n)
        }),
    ];
    interleave::run("refresh_jwt_interleaved", &mut contenders, 3, 60, 300).publish();
}

criterion_group!(
    benches,
    sign_verify,
    refresh_with_jwt,
    refresh_with_jwt_interleaved
);
criterion_main!(benches);
