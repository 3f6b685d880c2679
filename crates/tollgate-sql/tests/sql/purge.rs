//! Issue point 3, expiry: `purge_expired` removes exactly what the reference
//! `MemoryStore::purge_expired` removes — spent `jti`s, interactions and codes past expiry,
//! refresh tokens past their idle expiry or in a revoked or expired family, access tokens
//! expired, revoked or in a revoked family, and the families this empties — in bounded
//! batches, leaving everything live alone.

use std::sync::Arc;

use tollgate::seal::SealedResponse;
use tollgate::store::{
    AccessTokenRecord, AsyncStore, CodeRecord, Commit, CommitOutcome, FamilyRecord, Issuance,
    RefreshState, RefreshTokenRecord,
};
use tollgate::token::FamilyId;
use tollgate::{ClientId, GrantType, MemoryStore, Scope, Subject, TokenHash, UnixTime};
use tollgate_conformance_tests::T0;
use tollgate_sql::SqlOptions;

use crate::common::{open, Kind};

fn at(secs: u64) -> UnixTime {
    UnixTime(T0.0 + secs)
}

fn client() -> ClientId {
    ClientId::new("conformance-client").expect("id")
}

fn family(n: u8, expires: Option<u64>) -> FamilyRecord {
    FamilyRecord {
        id: FamilyId([n; 16]),
        client_id: client(),
        subject: Some(Subject::new("alice")),
        scope: Scope::parse("openid offline_access").expect("scope"),
        grant_type: GrantType::AuthorizationCode,
        created_at: T0,
        expires_at: expires.map(at),
        revoked_at: None,
    }
}

fn refresh(name: &str, f: &FamilyRecord, idle: Option<u64>) -> Arc<RefreshTokenRecord> {
    Arc::new(RefreshTokenRecord {
        hash: TokenHash::of(name),
        family: f.id,
        client_id: client(),
        scope: f.scope.clone(),
        issued_at: T0,
        idle_expires_at: idle.map(at),
        state: RefreshState::Active,
    })
}

fn access(name: &str, f: &FamilyRecord, expires: u64) -> Arc<AccessTokenRecord> {
    Arc::new(AccessTokenRecord {
        hash: TokenHash::of(name),
        family: f.id,
        client_id: client(),
        subject: Some("alice".into()),
        scope: f.scope.clone(),
        issued_at: T0,
        expires_at: at(expires),
        revoked_at: None,
    })
}

fn code(name: &str, expires: u64) -> Arc<CodeRecord> {
    Arc::new(CodeRecord {
        hash: TokenHash::of(name),
        client_id: client(),
        redirect_uri: "https://rp.test/cb".into(),
        redirect_uri_sent: false,
        pkce: None,
        scope: Scope::parse("openid").expect("scope"),
        nonce: None,
        subject: Subject::new("alice"),
        issued_at: T0,
        expires_at: at(expires),
        redeemed_into: None,
    })
}

/// Every key the scenario writes, to compare what survives.
const TOKENS: &[&str] = &[
    "rt-idle",
    "rt-live",
    "rt-revoked",
    "rt-old",
    "rt-new",
    "rt-abs",
    "rt-cc",
    "at-expired",
    "at-live",
    "at-revoked-fam",
    "at-self-revoked",
    "at-old",
    "at-new",
    "at-abs",
    "at-cc",
    "code-expired",
    "code-live",
    "code-redeemed",
];

async fn apply<S: AsyncStore>(s: &S, c: Commit) {
    assert_eq!(s.commit(c).await, Ok(CommitOutcome::Applied));
}

/// Writes the same records into any store.
async fn scenario<S: AsyncStore>(s: &S) {
    // A family whose refresh token idles out at +3600 and whose access token expired at
    // +600: both go at +5000, and with them the family.
    let f1 = family(1, Some(86_400));
    apply(
        s,
        Commit::Issue(Issuance {
            refresh: Some(refresh("rt-idle", &f1, Some(3600))),
            access: access("at-expired", &f1, 600),
            family: Arc::new(f1.clone()),
        }),
    )
    .await;
    // A live family: nothing of it goes.
    let f2 = family(2, Some(86_400));
    apply(
        s,
        Commit::Issue(Issuance {
            refresh: Some(refresh("rt-live", &f2, Some(100_000))),
            access: access("at-live", &f2, 100_000),
            family: Arc::new(f2.clone()),
        }),
    )
    .await;
    // A revoked family: its unexpired tokens go, then the family.
    let f3 = family(3, Some(86_400));
    apply(
        s,
        Commit::Issue(Issuance {
            refresh: Some(refresh("rt-revoked", &f3, Some(100_000))),
            access: access("at-revoked-fam", &f3, 100_000),
            family: Arc::new(f3.clone()),
        }),
    )
    .await;
    apply(
        s,
        Commit::RevokeFamily {
            family: f3.id,
            at: at(1),
        },
    )
    .await;
    // A live family with one access token revoked on its own: that token goes.
    let f4 = family(4, None);
    apply(
        s,
        Commit::Issue(Issuance {
            refresh: Some(refresh("rt-old", &f4, None)),
            access: access("at-self-revoked", &f4, 100_000),
            family: Arc::new(f4.clone()),
        }),
    )
    .await;
    apply(
        s,
        Commit::RevokeAccessToken {
            token: TokenHash::of("at-self-revoked"),
            at: at(2),
        },
    )
    .await;
    // Rotated: both refresh tokens stay (no idle limit, family without absolute expiry).
    apply(
        s,
        Commit::RotateRefresh {
            old: TokenHash::of("rt-old"),
            at: at(3),
            successor: Some(SealedResponse(vec![1, 2, 3])),
            refresh: Some(refresh("rt-new", &f4, None)),
            access: access("at-new", &f4, 100_000),
        },
    )
    .await;
    // A family past its absolute expiry (+4000): its refresh token goes even though it
    // has no idle limit; its access token lives to +100000 and stays, so the family does.
    let f5 = family(5, Some(4000));
    apply(
        s,
        Commit::Issue(Issuance {
            refresh: Some(refresh("rt-abs", &f5, None)),
            access: access("at-abs", &f5, 100_000),
            family: Arc::new(f5.clone()),
        }),
    )
    .await;
    // A client-credentials family: only an access token, expired; the family goes with it.
    let f6 = FamilyRecord {
        expires_at: None,
        subject: None,
        grant_type: GrantType::ClientCredentials,
        ..family(6, None)
    };
    apply(
        s,
        Commit::Issue(Issuance {
            refresh: None,
            access: access("at-cc", &f6, 700),
            family: Arc::new(f6),
        }),
    )
    .await;
    // Codes: one expired, one live, and one redeemed (expired) whose family must outlive it
    // only while the family has tokens.
    apply(s, Commit::StoreCode(code("code-expired", 60))).await;
    apply(s, Commit::StoreCode(code("code-live", 100_000))).await;
    apply(s, Commit::StoreCode(code("code-redeemed", 60))).await;
    let f7 = family(7, Some(86_400));
    apply(
        s,
        Commit::RedeemCode {
            code: TokenHash::of("code-redeemed"),
            issuance: Issuance {
                refresh: None,
                access: access("at-f7", &f7, 600),
                family: Arc::new(f7),
            },
        },
    )
    .await;
    // jtis: one spent long ago, one still remembered.
    for (k, until) in [("jti-old", 10), ("jti-new", 100_000)] {
        apply(
            s,
            Commit::ConsumeJti {
                key: TokenHash::of(k),
                until: at(until),
            },
        )
        .await;
    }
}

/// What of the scenario survives in `s`: (token or code name, present), family presence
/// through its tokens, and whether each jti is still remembered.
async fn survivors<S: AsyncStore>(s: &S) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    for name in TOKENS.iter().chain(&["at-f7"]) {
        let h = TokenHash::of(name);
        let present = s.refresh_token(&h).await.expect("lookup").is_some()
            || s.access_token(&h).await.expect("lookup").is_some()
            || s.code(&h).await.expect("lookup").is_some();
        out.push(((*name).to_string(), present));
    }
    for k in ["jti-old", "jti-new"] {
        // A remembered jti conflicts; probing re-spends a forgotten one, which is fine at
        // the end of the test.
        let remembered = s
            .commit(Commit::ConsumeJti {
                key: TokenHash::of(k),
                until: at(200_000),
            })
            .await
            .expect("commit")
            == CommitOutcome::Conflict;
        out.push((k.to_string(), remembered));
    }
    out
}

async fn purge_matches_the_reference_store(kind: Kind) {
    let now = at(5000);
    let memory = MemoryStore::new();
    scenario(&memory).await;
    let expected_removed = memory.purge_expired(now, 1000).expect("purge");

    let (store, _backing) = open(kind, &SqlOptions::default(), vec![]).await;
    scenario(&store).await;
    let removed = store.purge_expired(now, 1000).await.expect("purge");
    assert_eq!(
        removed, expected_removed,
        "same rows removed as MemoryStore"
    );
    assert_eq!(store.purge_expired(now, 1000).await, Ok(0), "nothing left");
    assert_eq!(survivors(&store).await, survivors(&memory).await);
    // Spot checks of the interesting ones.
    let alive = |n: &str| TokenHash::of(n);
    assert!(store
        .refresh_token(&alive("rt-live"))
        .await
        .expect("lookup")
        .is_some());
    assert!(store
        .refresh_token(&alive("rt-new"))
        .await
        .expect("lookup")
        .is_some());
    assert!(store
        .refresh_token(&alive("rt-idle"))
        .await
        .expect("lookup")
        .is_none());
    assert!(store
        .refresh_token(&alive("rt-abs"))
        .await
        .expect("lookup")
        .is_none());
    assert!(store
        .access_token(&alive("at-abs"))
        .await
        .expect("lookup")
        .is_some());
    assert!(store
        .access_token(&alive("at-self-revoked"))
        .await
        .expect("lookup")
        .is_none());
}

async fn purge_works_in_bounded_batches(kind: Kind) {
    let now = at(5000);
    let (store, _backing) = open(kind, &SqlOptions::default(), vec![]).await;
    scenario(&store).await;
    let memory = MemoryStore::new();
    scenario(&memory).await;
    let total = memory.purge_expired(now, 1000).expect("purge");
    let mut removed = 0;
    let mut calls = 0;
    loop {
        let n = store.purge_expired(now, 2).await.expect("purge");
        // At most `batch` records, plus the families those records emptied (at most one
        // per record removed).
        assert!(n <= 4, "a call removed {n}");
        removed += n;
        calls += 1;
        if n == 0 {
            break;
        }
        assert!(calls < 50, "the purge must finish");
    }
    assert_eq!(removed, total);
    assert!(calls > 3, "the work was split into batches");
    assert_eq!(survivors(&store).await, survivors(&memory).await);
}

macro_rules! on_each_backend {
    ($($name:ident => $body:ident;)*) => {
        mod sqlite_memory {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(Kind::SqliteMemory).await })*
        }
        mod sqlite_file {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(Kind::SqliteFile).await })*
        }
        mod postgres {
            use super::*;
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { $body(Kind::Postgres).await })*
        }
    };
}

on_each_backend! {
    purge_removes_what_the_reference_store_removes => purge_matches_the_reference_store;
    purge_runs_in_bounded_batches => purge_works_in_bounded_batches;
}
