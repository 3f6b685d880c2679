//! The store conformance kit: checks every [`Store`] must pass, so a new backend (SQLite,
//! PostgreSQL, a host's own) is held to the same contract as [`crate::MemoryStore`].
//!
//! Enable the `conformance` feature and call [`run_all`] from a test with a function that
//! builds a fresh, empty store holding the given clients. Each check panics with a message
//! naming the broken rule. The checks cover DESIGN.md principle 4: a code is redeemed once
//! (AC-01, AC-11), a refresh token rotates once (RFC 9700 §4.14.2), grace replays respect
//! their count, revoking a family reaches every token in it (RT-05), an `/authorize`
//! interaction finishes once, and consent accumulates per user and client.

use std::sync::{Arc, Barrier};
use std::thread;

use crate::authorize::{AuthorizationRequest, Prompt};
use crate::client::{ApplicationKind, AuthMethod, Client, ClientId, ClientType, GrantType};
use crate::clock::UnixTime;
use crate::scope::Scope;
use crate::seal::SealedResponse;
use crate::store::{
    AccessTokenRecord, CodeRecord, Commit, CommitOutcome, ConsentRecord, FamilyRecord,
    InteractionNext, InteractionRecord, InteractionStage, Issuance, RefreshState,
    RefreshTokenRecord, Store, Subject,
};
use crate::token::{FamilyId, TokenHash};

const T0: UnixTime = UnixTime(1_700_000_000);

/// A client the kit registers in every store it builds.
#[must_use]
pub fn kit_client() -> Client {
    Client {
        id: ClientId::new("conformance-client").expect("valid id"),
        client_type: ClientType::Public,
        kind: ApplicationKind::Native,
        auth_method: AuthMethod::None,
        secret: None,
        redirect_uris: vec!["https://rp.test/cb".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        allowed_scopes: Scope::parse("openid offline_access").expect("valid scope"),
        default_scopes: Scope::empty(),
        refresh_rotation: None,
        oidc: Default::default(),
    }
}

fn family(n: u8) -> FamilyRecord {
    FamilyRecord {
        id: FamilyId([n; 16]),
        client_id: kit_client().id,
        subject: Some(Subject::new("alice")),
        scope: Scope::parse("openid offline_access").expect("valid scope"),
        grant_type: GrantType::AuthorizationCode,
        created_at: T0,
        expires_at: Some(UnixTime(T0.0 + 86_400)),
        revoked_at: None,
    }
}

fn refresh(name: &str, fam: &FamilyRecord) -> Arc<RefreshTokenRecord> {
    Arc::new(RefreshTokenRecord {
        hash: TokenHash::of(name),
        family: fam.id,
        client_id: fam.client_id.clone(),
        scope: fam.scope.clone(),
        issued_at: T0,
        idle_expires_at: Some(UnixTime(T0.0 + 3600)),
        state: RefreshState::Active,
    })
}

fn access(name: &str, fam: &FamilyRecord) -> Arc<AccessTokenRecord> {
    Arc::new(AccessTokenRecord {
        hash: TokenHash::of(name),
        family: fam.id,
        client_id: fam.client_id.clone(),
        subject: Some("alice".into()),
        scope: fam.scope.clone(),
        issued_at: T0,
        expires_at: UnixTime(T0.0 + 600),
        revoked_at: None,
    })
}

fn issuance(n: u8, rt: &str, at: &str) -> Issuance {
    let f = family(n);
    Issuance {
        refresh: Some(refresh(rt, &f)),
        access: access(at, &f),
        family: Arc::new(f),
    }
}

fn code(name: &str) -> Arc<CodeRecord> {
    Arc::new(CodeRecord {
        hash: TokenHash::of(name),
        client_id: kit_client().id,
        redirect_uri: "https://rp.test/cb".into(),
        redirect_uri_sent: true,
        pkce: None,
        scope: Scope::parse("openid offline_access").expect("valid scope"),
        nonce: Some("n-0S6_WzA2Mj".into()),
        subject: Subject::new("alice"),
        issued_at: T0,
        expires_at: UnixTime(T0.0 + 60),
        redeemed_into: None,
    })
}

fn commit<S: Store + ?Sized>(s: &S, c: Commit) -> CommitOutcome {
    s.commit(c).expect("the store failed a commit")
}

/// Sixteen threads apply `commit(i)` at once; returns how many were applied.
fn race<S, F>(s: &Arc<S>, commit_for: F) -> usize
where
    S: Store + 'static,
    F: Fn(u8) -> Commit + Send + Sync + 'static,
{
    let barrier = Arc::new(Barrier::new(16));
    let commit_for = Arc::new(commit_for);
    let handles: Vec<_> = (0..16u8)
        .map(|i| {
            let (s, b, f) = (Arc::clone(s), Arc::clone(&barrier), Arc::clone(&commit_for));
            thread::spawn(move || {
                let c = f(i);
                b.wait();
                commit(&*s, c)
            })
        })
        .collect();
    handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .filter(|o| *o == CommitOutcome::Applied)
        .count()
}

/// Runs every check, each on a fresh store from `make`.
pub fn run_all<S, F>(make: F)
where
    S: Store + 'static,
    F: Fn(Vec<Client>) -> S,
{
    clients_are_found_by_id(&make(vec![kit_client()]));
    unknown_records_are_absent(&make(vec![kit_client()]));
    codes_round_trip_and_redeem_once(&make(vec![kit_client()]));
    concurrent_code_redemptions_have_one_winner(Arc::new(make(vec![kit_client()])));
    issue_refuses_an_existing_family(&make(vec![kit_client()]));
    rotation_is_compare_and_swap(&make(vec![kit_client()]));
    concurrent_rotations_have_one_winner(Arc::new(make(vec![kit_client()])));
    grace_replays_respect_their_count(&make(vec![kit_client()]));
    static_use_extends_idle_expiry(&make(vec![kit_client()]));
    revoking_a_family_reaches_every_token(&make(vec![kit_client()]));
    revoking_an_access_token_touches_nothing_else(&make(vec![kit_client()]));
    interactions_finish_once_and_merge_consent(&make(vec![kit_client()]));
    concurrent_interaction_finishes_have_one_winner(Arc::new(make(vec![kit_client()])));
}

/// Revoking one access token (RFC 7009) leaves its family and siblings alone (RV-05).
pub fn revoking_an_access_token_touches_nothing_else<S: Store + ?Sized>(s: &S) {
    let iss = issuance(9, "rt-9", "at-9");
    let fam = iss.family.clone();
    assert_eq!(commit(s, Commit::Issue(iss)), CommitOutcome::Applied);
    let sibling = Commit::UseStaticRefresh {
        token: TokenHash::of("rt-9"),
        idle_expires_at: None,
        access: access("at-9b", &fam),
    };
    assert_eq!(commit(s, sibling), CommitOutcome::Applied);
    let at = UnixTime(T0.0 + 1);
    assert_eq!(
        commit(
            s,
            Commit::RevokeAccessToken {
                token: TokenHash::of("at-9"),
                at
            }
        ),
        CommitOutcome::Applied
    );
    let a = s
        .access_token(&TokenHash::of("at-9"))
        .expect("lookup")
        .expect("token");
    assert_eq!(a.token.revoked_at, Some(at));
    assert!(!a.is_active(T0));
    let b = s
        .access_token(&TokenHash::of("at-9b"))
        .expect("lookup")
        .expect("token");
    assert!(b.is_active(T0), "a sibling access token stays active");
    let r = s
        .refresh_token(&TokenHash::of("rt-9"))
        .expect("lookup")
        .expect("token");
    assert!(r.is_active(T0), "the refresh token stays active");
    assert_eq!(
        commit(
            s,
            Commit::RevokeAccessToken {
                token: TokenHash::of("unknown"),
                at
            }
        ),
        CommitOutcome::Applied,
        "revoking an unknown token is a no-op"
    );
}

fn interaction(name: &str, stage: InteractionStage) -> Box<InteractionRecord> {
    let c = CodeRecord::clone(&code("unused"));
    Box::new(InteractionRecord {
        hash: TokenHash::of(name),
        browser: TokenHash::of("browser"),
        csrf: TokenHash::of("csrf"),
        request: AuthorizationRequest {
            client_id: c.client_id,
            redirect_uri: c.redirect_uri,
            redirect_uri_sent: true,
            state: Some("s".into()),
            scope: c.scope,
            pkce: None,
            nonce: None,
            prompt: Prompt::default(),
            max_age: None,
            login_hint: None,
            display: None,
            ui_locales: None,
            claims_locales: None,
            acr_values: None,
        },
        stage,
        created_at: T0,
        expires_at: UnixTime(T0.0 + 600),
    })
}

fn consent(scope: &str) -> ConsentRecord {
    ConsentRecord {
        subject: "alice".into(),
        client_id: kit_client().id,
        scope: Scope::parse(scope).expect("valid scope"),
        granted_at: T0,
    }
}

/// An interaction reads back whole, finishes once (atomically storing what follows and
/// merging consent), and consent accumulates as a union of scopes (AZ-12, OI-02).
pub fn interactions_finish_once_and_merge_consent<S: Store + ?Sized>(s: &S) {
    let login = interaction("login-1", InteractionStage::Login);
    assert_eq!(
        commit(s, Commit::StoreInteraction(login.clone())),
        CommitOutcome::Applied
    );
    assert_eq!(
        s.interaction(&login.hash).expect("lookup"),
        Some(login.clone()),
        "interaction round trip"
    );
    assert_eq!(
        commit(s, Commit::StoreInteraction(login.clone())),
        CommitOutcome::Conflict,
        "unique handle"
    );
    let next = interaction(
        "consent-1",
        InteractionStage::Consent {
            subject: Subject::new("alice"),
        },
    );
    let finish = Commit::FinishInteraction {
        interaction: login.hash,
        consent: None,
        next: InteractionNext::Interaction(next.clone()),
    };
    assert_eq!(commit(s, finish.clone()), CommitOutcome::Applied);
    assert!(
        s.interaction(&login.hash).expect("lookup").is_none(),
        "a finished interaction is gone"
    );
    assert_eq!(
        s.interaction(&next.hash).expect("lookup"),
        Some(next.clone())
    );
    assert_eq!(
        commit(s, finish),
        CommitOutcome::Conflict,
        "an interaction finishes once"
    );

    let client = kit_client().id;
    assert!(s.consent("alice", &client).expect("lookup").is_none());
    let c = code("code-from-consent");
    let done = Commit::FinishInteraction {
        interaction: next.hash,
        consent: Some(consent("openid")),
        next: InteractionNext::Code(c.clone()),
    };
    assert_eq!(commit(s, done), CommitOutcome::Applied);
    assert_eq!(
        s.code(&c.hash).expect("lookup"),
        Some(c),
        "the code is stored with the finish"
    );
    assert_eq!(
        s.consent("alice", &client).expect("lookup"),
        Some(consent("openid"))
    );

    let third = interaction(
        "consent-2",
        InteractionStage::Consent {
            subject: Subject::new("alice"),
        },
    );
    assert_eq!(
        commit(s, Commit::StoreInteraction(third.clone())),
        CommitOutcome::Applied
    );
    let more = Commit::FinishInteraction {
        interaction: third.hash,
        consent: Some(consent("offline_access")),
        next: InteractionNext::Nothing,
    };
    assert_eq!(commit(s, more), CommitOutcome::Applied);
    let merged = s
        .consent("alice", &client)
        .expect("lookup")
        .expect("consent");
    assert_eq!(
        merged.scope,
        Scope::parse("openid offline_access").expect("scope"),
        "consent is a union"
    );
    let other = ClientId::new("someone-else").expect("valid id");
    assert!(
        s.consent("alice", &other).expect("lookup").is_none(),
        "consent is per client"
    );
    assert!(
        s.consent("bob", &client).expect("lookup").is_none(),
        "consent is per user"
    );
}

/// Sixteen threads finish one interaction at once: exactly one succeeds.
pub fn concurrent_interaction_finishes_have_one_winner<S: Store + 'static>(s: Arc<S>) {
    let i = interaction("race", InteractionStage::Login);
    assert_eq!(
        commit(&*s, Commit::StoreInteraction(i.clone())),
        CommitOutcome::Applied
    );
    let h = i.hash;
    let wins = race(&s, move |n| Commit::FinishInteraction {
        interaction: h,
        consent: None,
        next: InteractionNext::Code(code(&format!("race-code-{n}"))),
    });
    assert_eq!(wins, 1, "exactly one concurrent finish may win");
}

/// A registered client is returned whole; an unknown id is `None`.
pub fn clients_are_found_by_id<S: Store + ?Sized>(s: &S) {
    let c = kit_client();
    assert_eq!(
        s.client(&c.id).expect("lookup").as_deref(),
        Some(&c),
        "client lookup"
    );
    let other = ClientId::new("nobody").expect("valid id");
    assert!(
        s.client(&other).expect("lookup").is_none(),
        "unknown client must be None"
    );
}

/// Lookups of unknown hashes return `None`, not errors.
pub fn unknown_records_are_absent<S: Store + ?Sized>(s: &S) {
    let h = TokenHash::of("never-stored");
    assert!(s.code(&h).expect("lookup").is_none());
    assert!(s.refresh_token(&h).expect("lookup").is_none());
    assert!(s.access_token(&h).expect("lookup").is_none());
}

/// A stored code reads back whole; storing it twice conflicts; redeeming it succeeds once and
/// records the family it started, whose tokens are then visible (AC-01).
pub fn codes_round_trip_and_redeem_once<S: Store + ?Sized>(s: &S) {
    let c = code("code-1");
    assert_eq!(
        commit(s, Commit::StoreCode(c.clone())),
        CommitOutcome::Applied
    );
    assert_eq!(
        s.code(&c.hash).expect("lookup"),
        Some(c.clone()),
        "code round trip"
    );
    assert_eq!(
        commit(s, Commit::StoreCode(c.clone())),
        CommitOutcome::Conflict,
        "a code hash must be unique"
    );
    let first = issuance(1, "rt-1", "at-1");
    assert_eq!(
        commit(
            s,
            Commit::RedeemCode {
                code: c.hash,
                issuance: first.clone()
            }
        ),
        CommitOutcome::Applied,
        "first redemption"
    );
    let stored = s
        .code(&c.hash)
        .expect("lookup")
        .expect("code still readable after redemption");
    assert_eq!(
        stored.redeemed_into,
        Some(first.family.id),
        "redemption records its family"
    );
    let second = issuance(2, "rt-2", "at-2");
    assert_eq!(
        commit(
            s,
            Commit::RedeemCode {
                code: c.hash,
                issuance: second.clone()
            }
        ),
        CommitOutcome::Conflict,
        "a code must redeem once"
    );
    assert!(
        s.refresh_token(&second.refresh.expect("rt").hash)
            .expect("lookup")
            .is_none(),
        "a conflicting redemption must write nothing"
    );
    let view = s
        .refresh_token(&TokenHash::of("rt-1"))
        .expect("lookup")
        .expect("issued refresh token");
    assert_eq!(view.family, first.family, "refresh token joins its family");
    let a = s
        .access_token(&TokenHash::of("at-1"))
        .expect("lookup")
        .expect("issued access token");
    assert_eq!(a.token, first.access, "access token round trip");
}

/// Sixteen threads redeem one code at once: exactly one succeeds (AC-11).
pub fn concurrent_code_redemptions_have_one_winner<S: Store + 'static>(s: Arc<S>) {
    let c = code("code-race");
    assert_eq!(
        commit(&*s, Commit::StoreCode(c.clone())),
        CommitOutcome::Applied
    );
    let h = c.hash;
    let wins = race(&s, move |i| Commit::RedeemCode {
        code: h,
        issuance: issuance(100 + i, &format!("rt-race-{i}"), &format!("at-race-{i}")),
    });
    assert_eq!(wins, 1, "exactly one concurrent redemption may win");
}

/// A family id is unique.
pub fn issue_refuses_an_existing_family<S: Store + ?Sized>(s: &S) {
    assert_eq!(
        commit(s, Commit::Issue(issuance(3, "rt-3", "at-3"))),
        CommitOutcome::Applied
    );
    assert_eq!(
        commit(s, Commit::Issue(issuance(3, "rt-3b", "at-3b"))),
        CommitOutcome::Conflict,
        "a family id must be unique"
    );
    assert!(s
        .refresh_token(&TokenHash::of("rt-3b"))
        .expect("lookup")
        .is_none());
}

/// Rotation applies only to an active token: the old one becomes `Rotated` with its sealed
/// successor kept byte for byte, the new ones appear, and a second rotation conflicts.
pub fn rotation_is_compare_and_swap<S: Store + ?Sized>(s: &S) {
    let iss = issuance(4, "rt-4", "at-4");
    let fam = iss.family.clone();
    assert_eq!(commit(s, Commit::Issue(iss)), CommitOutcome::Applied);
    let sealed = SealedResponse(vec![7, 0, 255, 1, 2, 3]);
    let at = UnixTime(T0.0 + 10);
    let rotate = |rt: &str, atok: &str| Commit::RotateRefresh {
        old: TokenHash::of("rt-4"),
        at,
        successor: Some(sealed.clone()),
        refresh: Some(refresh(rt, &fam)),
        access: access(atok, &fam),
    };
    assert_eq!(
        commit(s, rotate("rt-4a", "at-4a")),
        CommitOutcome::Applied,
        "first rotation"
    );
    let old = s
        .refresh_token(&TokenHash::of("rt-4"))
        .expect("lookup")
        .expect("old token kept");
    assert_eq!(
        old.token.state,
        RefreshState::Rotated {
            at,
            successor: Some(sealed.clone()),
            reuse_count: 0
        },
        "rotated state with the successor intact"
    );
    let new = s
        .refresh_token(&TokenHash::of("rt-4a"))
        .expect("lookup")
        .expect("successor stored");
    assert_eq!(new.token.state, RefreshState::Active);
    assert!(s
        .access_token(&TokenHash::of("at-4a"))
        .expect("lookup")
        .is_some());
    assert_eq!(
        commit(s, rotate("rt-4b", "at-4b")),
        CommitOutcome::Conflict,
        "a token rotates once"
    );
    assert!(
        s.refresh_token(&TokenHash::of("rt-4b"))
            .expect("lookup")
            .is_none(),
        "a conflicting rotation must write nothing"
    );
    assert!(s
        .access_token(&TokenHash::of("at-4b"))
        .expect("lookup")
        .is_none());
}

/// Sixteen threads rotate one token at once: exactly one succeeds.
pub fn concurrent_rotations_have_one_winner<S: Store + 'static>(s: Arc<S>) {
    let iss = issuance(5, "rt-5", "at-5");
    let fam = iss.family.clone();
    assert_eq!(commit(&*s, Commit::Issue(iss)), CommitOutcome::Applied);
    let wins = race(&s, move |i| Commit::RotateRefresh {
        old: TokenHash::of("rt-5"),
        at: T0,
        successor: None,
        refresh: Some(refresh(&format!("rt-5-{i}"), &fam)),
        access: access(&format!("at-5-{i}"), &fam),
    });
    assert_eq!(wins, 1, "exactly one concurrent rotation may win");
}

/// Grace replays apply only to rotated tokens and stop at `max_reuse`.
pub fn grace_replays_respect_their_count<S: Store + ?Sized>(s: &S) {
    let iss = issuance(6, "rt-6", "at-6");
    let fam = iss.family.clone();
    assert_eq!(commit(s, Commit::Issue(iss)), CommitOutcome::Applied);
    let claim = |max| Commit::ClaimGraceReplay {
        token: TokenHash::of("rt-6"),
        max_reuse: max,
    };
    assert_eq!(
        commit(s, claim(Some(5))),
        CommitOutcome::Conflict,
        "an active token has no grace replay"
    );
    let c = Commit::RotateRefresh {
        old: TokenHash::of("rt-6"),
        at: T0,
        successor: Some(SealedResponse(vec![1])),
        refresh: Some(refresh("rt-6a", &fam)),
        access: access("at-6a", &fam),
    };
    assert_eq!(commit(s, c), CommitOutcome::Applied);
    assert_eq!(commit(s, claim(Some(2))), CommitOutcome::Applied);
    assert_eq!(commit(s, claim(Some(2))), CommitOutcome::Applied);
    assert_eq!(
        commit(s, claim(Some(2))),
        CommitOutcome::Conflict,
        "the third replay exceeds max 2"
    );
    assert_eq!(
        commit(s, claim(None)),
        CommitOutcome::Applied,
        "no maximum, no limit"
    );
    let view = s
        .refresh_token(&TokenHash::of("rt-6"))
        .expect("lookup")
        .expect("token");
    assert!(
        matches!(
            view.token.state,
            RefreshState::Rotated { reuse_count: 3, .. }
        ),
        "{:?}",
        view.token.state
    );
}

/// A static (non-rotating) use moves the idle expiry and adds the access token.
pub fn static_use_extends_idle_expiry<S: Store + ?Sized>(s: &S) {
    let iss = issuance(7, "rt-7", "at-7");
    let fam = iss.family.clone();
    assert_eq!(commit(s, Commit::Issue(iss)), CommitOutcome::Applied);
    let later = Some(UnixTime(T0.0 + 7200));
    let c = Commit::UseStaticRefresh {
        token: TokenHash::of("rt-7"),
        idle_expires_at: later,
        access: access("at-7a", &fam),
    };
    assert_eq!(commit(s, c), CommitOutcome::Applied);
    let view = s
        .refresh_token(&TokenHash::of("rt-7"))
        .expect("lookup")
        .expect("token");
    assert_eq!(view.token.idle_expires_at, later);
    assert_eq!(view.token.state, RefreshState::Active);
    assert!(s
        .access_token(&TokenHash::of("at-7a"))
        .expect("lookup")
        .is_some());
}

/// Revoking a family marks it revoked for every token lookup, makes rotation, static use and
/// grace replays conflict, and is idempotent (RT-05, AC-02).
pub fn revoking_a_family_reaches_every_token<S: Store + ?Sized>(s: &S) {
    let iss = issuance(8, "rt-8", "at-8");
    let fam = iss.family.clone();
    assert_eq!(commit(s, Commit::Issue(iss)), CommitOutcome::Applied);
    let at = UnixTime(T0.0 + 5);
    assert_eq!(
        commit(s, Commit::RevokeFamily { family: fam.id, at }),
        CommitOutcome::Applied
    );
    assert_eq!(
        commit(
            s,
            Commit::RevokeFamily {
                family: fam.id,
                at: UnixTime(T0.0 + 9)
            }
        ),
        CommitOutcome::Applied,
        "revocation is idempotent"
    );
    let rt = s
        .refresh_token(&TokenHash::of("rt-8"))
        .expect("lookup")
        .expect("token");
    assert_eq!(
        rt.family.revoked_at,
        Some(at),
        "the first revocation time is kept"
    );
    let a = s
        .access_token(&TokenHash::of("at-8"))
        .expect("lookup")
        .expect("token");
    assert!(
        !a.is_active(T0),
        "an access token of a revoked family is inactive"
    );
    let rotate = Commit::RotateRefresh {
        old: TokenHash::of("rt-8"),
        at: T0,
        successor: None,
        refresh: Some(refresh("rt-8a", &fam)),
        access: access("at-8a", &fam),
    };
    assert_eq!(
        commit(s, rotate),
        CommitOutcome::Conflict,
        "a revoked family cannot rotate"
    );
    let stat = Commit::UseStaticRefresh {
        token: TokenHash::of("rt-8"),
        idle_expires_at: None,
        access: access("at-8b", &fam),
    };
    assert_eq!(
        commit(s, stat),
        CommitOutcome::Conflict,
        "a revoked family cannot be used"
    );
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_store_passes_the_kit() {
        super::run_all(|clients| {
            let s = crate::MemoryStore::new();
            for c in clients {
                s.insert_client(c).expect("valid client");
            }
            s
        });
    }
}
