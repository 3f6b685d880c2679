//! Criterion benches of the token endpoint: whole requests through `Server::token` against a
//! `MemoryStore`, with the production `SystemRandom` and a fixed `ManualClock`, plus the
//! parsers every request goes through. `benches/README.md` explains what each bench
//! measures and how to read the numbers.
//!
//! Only the call under test is timed, one call at a time: building requests, minting codes,
//! pulling the next refresh token out of a response, dropping the response and purging the
//! store happen outside the timed region (`iter_batched` setup with
//! `BatchSize::PerIteration`, or between the `Instant` pair in `iter_custom`). Before each
//! end-to-end bench the workload runs [`STORE_RECYCLE`] times untimed, so the store's
//! tables are already grown when measuring starts.

use std::hint::black_box;

use sha2::Digest as _;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use tollgate::client_auth::Credentials;
use tollgate::form::{FormLimits, Params};
use tollgate::{NoPasswordUsers, Request, SeededRandom};
use tollgate_benches::{
    assert_ok as ok, basic_header, client_credentials_request, typical_refresh_form, CodeStream,
    Fixture, Recycler, RefreshChain, CONSENTED_SCOPE, NATIVE_ID, OIDC_SCOPE, SERVICE_ID,
    SERVICE_SECRET, STORE_RECYCLE, WEB_ID,
};

/// The default grace window of `TokenPolicy`.
const GRACE_DEFAULT: Duration = Duration::from_secs(30);

fn token_endpoint(c: &mut Criterion) {
    let mut g = c.benchmark_group("token");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    // client_credentials: Basic decode, SHA-256 secret check, a new family with one access
    // token (two OS random draws), the JSON response and one `Commit::Issue`.
    {
        let fx = Fixture::new(GRACE_DEFAULT);
        let store = fx.store();
        let mut recycler = Recycler::new(&fx);
        let request = client_credentials_request();
        for _ in 0..STORE_RECYCLE {
            recycler.tick(&store);
            ok(&fx.server.token(&request, &store, &NoPasswordUsers));
        }
        g.bench_function("client_credentials", |b| {
            b.iter_batched(
                || {
                    recycler.tick(&store);
                },
                |()| {
                    let r = fx.server.token(&request, &store, &NoPasswordUsers);
                    assert_eq!(r.status, 200);
                    r
                },
                BatchSize::PerIteration,
            );
        });
    }

    // authorization_code: a fresh stored code per iteration (minted in setup), PKCE S256,
    // `offline_access`, so the exchange starts a family with an access and a refresh token.
    {
        let fx = Fixture::new(GRACE_DEFAULT);
        let mut codes = CodeStream::warmed(&fx, WEB_ID);
        g.bench_function("authorization_code_pkce", |b| {
            b.iter_custom(|iters| codes.run(iters));
        });
    }

    // refresh_token with rotation, default policy (grace 30 s: the successor is sealed).
    let rotating = Fixture::new(GRACE_DEFAULT);
    let mut chain = RefreshChain::warmed(&rotating, WEB_ID, CONSENTED_SCOPE);
    g.bench_function("refresh_rotate_grace30", |b| {
        b.iter_custom(|iters| chain.run(iters));
    });
    drop(chain);

    // The same with grace 0: nothing is sealed, so the difference is the cost of sealing.
    let unsealed = Fixture::new(Duration::ZERO);
    let mut chain = RefreshChain::warmed(&unsealed, WEB_ID, CONSENTED_SCOPE);
    g.bench_function("refresh_rotate_grace0", |b| {
        b.iter_custom(|iters| chain.run(iters));
    });
    drop(chain);

    // A public client: no Basic header and no secret hash to check.
    let mut chain = RefreshChain::warmed(&rotating, NATIVE_ID, CONSENTED_SCOPE);
    g.bench_function("refresh_rotate_grace30_public", |b| {
        b.iter_custom(|iters| chain.run(iters));
    });
    drop(chain);

    // OpenID Connect: `openid` in the grant, so every refresh also signs an ID token
    // (ES256 with the server's default key).
    let mut chain = RefreshChain::warmed(&rotating, WEB_ID, OIDC_SCOPE);
    g.bench_function("refresh_rotate_grace30_openid", |b| {
        b.iter_custom(|iters| chain.run(iters));
    });
    drop(chain);

    // Not a production configuration: with the deterministic source, the difference from
    // refresh_rotate_grace30 is what the two OS random draws per refresh cost.
    let seeded = Fixture::with_random(GRACE_DEFAULT, SeededRandom::new(7));
    let mut chain = RefreshChain::warmed(&seeded, WEB_ID, CONSENTED_SCOPE);
    g.bench_function("refresh_rotate_grace30_seeded_random", |b| {
        b.iter_custom(|iters| chain.run(iters));
    });
    drop(chain);
    g.finish();
}

fn parsing(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));

    let form = typical_refresh_form();
    g.bench_function("form_refresh_body", |b| {
        b.iter(|| Params::parse(black_box(&form), FormLimits::default()));
    });

    // `Credentials::extract` with an `Authorization: Basic` header: the base64 and
    // form-urlencoding decode of RFC 6749 §2.3.1, plus the body/query checks around it.
    let request = Request::form_post("grant_type=client_credentials")
        .with_header("Authorization", &basic_header(SERVICE_ID, SERVICE_SECRET));
    let mut params = Params::parse(&request.body, FormLimits::default()).expect("parses");
    let query = Params::default();
    g.bench_function("basic_credentials", |b| {
        b.iter(|| {
            Credentials::extract(black_box(&request), &mut params, &query, "tollgate")
                .expect("valid credentials")
        });
    });
    g.finish();
}

/// Sealing a grace-window successor (`tollgate::seal`, ChaCha20-Poly1305) beside the
/// alternative AEAD (AES-256-GCM through ring, the same key derivation and layout), at the
/// two sizes that occur: a response with an opaque access token and one with an ES256 JWT
/// access token (an ID token adds about as much again). The reason the seal is ChaCha20:
/// the opaque case, by far the commoner, is cheaper with it.
fn sealing(c: &mut Criterion) {
    use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
    let mut g = c.benchmark_group("seal");
    g.sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    let old = "tgr_k2Qf0w7m1yQeJx8s3vT9bL4nP6rA5cZ2dE1fG0hI3jK";
    let old_hash = tollgate::TokenHash::of(old);
    let nonce = tollgate::TokenHash::of("tgr_successor");
    for (name, len) in [("opaque_response_250B", 250), ("jwt_response_800B", 800)] {
        let body = vec![b'x'; len];
        g.bench_function(format!("chacha20poly1305/{name}"), |b| {
            b.iter(|| tollgate::seal::seal(black_box(old), &old_hash, &nonce, black_box(&body)));
        });
        g.bench_function(format!("aes256gcm/{name}"), |b| {
            b.iter(|| {
                let mut kdf = sha2::Sha256::new();
                kdf.update(b"tgs2");
                kdf.update(black_box(old).as_bytes());
                let key = kdf.finalize();
                let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &key).expect("key"));
                let mut out = Vec::with_capacity(12 + len + 16);
                out.extend_from_slice(&nonce.0[..12]);
                out.extend_from_slice(black_box(&body));
                let mut n = [0u8; 12];
                n.copy_from_slice(&nonce.0[..12]);
                let tag = key
                    .seal_in_place_separate_tag(
                        Nonce::assume_unique_for_key(n),
                        Aad::from(&old_hash.0),
                        &mut out[12..],
                    )
                    .expect("seal");
                out.extend_from_slice(tag.as_ref());
                out
            });
        });
    }
    g.finish();
}

criterion_group!(benches, token_endpoint, parsing, sealing);
criterion_main!(benches);
