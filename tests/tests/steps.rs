//! The sans-IO contract (DESIGN.md "Shape of the core"): a flow asks for what it needs as
//! [`Step`]s and is answered with [`Answer`]s; a store failure becomes `503`/`500` and
//! writes nothing; the async driver makes the same decisions as the blocking one; and the
//! same inputs yield the same bytes.

use tollgate::store::{Store, StoreError};
use tollgate::{Answer, Flow as _, Request, Step};
use tollgate_conformance_tests::{basic, Harness, TestUsers, C1_SECRET};

fn cc_request() -> Request {
    Request::form_post("grant_type=client_credentials")
        .with_header("Authorization", &basic("C1", C1_SECRET))
}

#[test]
fn a_client_credentials_request_takes_two_steps() {
    let h = Harness::new();
    let (mut flow, step) = h.server.token_flow(&cc_request());
    let Step::LoadClient(id) = step else {
        panic!("first the client: {step:?}")
    };
    assert_eq!(id.as_str(), "C1");
    let step = flow.answer(Answer::Client(h.store.client(&id).unwrap()));
    let Step::Commit(commit) = step else {
        panic!("then the write: {step:?}")
    };
    let outcome = h.store.commit(commit).unwrap();
    let Step::Done(response) = flow.answer(Answer::Committed(outcome)) else {
        panic!("then done")
    };
    assert_eq!(response.status, 200);
}

#[test]
fn a_rejected_request_needs_no_storage_at_all() {
    let h = Harness::new();
    let (_flow, step) = h.server.token_flow(&Request::form_post("grant_type=nope"));
    let Step::Done(r) = step else {
        panic!("{step:?}")
    };
    assert_eq!(r.status, 400);
}

#[test]
fn an_unavailable_store_is_503_temporarily_unavailable() {
    let h = Harness::new();
    let (mut flow, step) = h.server.token_flow(&cc_request());
    assert!(matches!(step, Step::LoadClient(_)));
    let Step::Done(r) = flow.answer(Answer::StoreFailed(StoreError::unavailable("db down"))) else {
        panic!()
    };
    assert_eq!(r.status, 503);
    assert!(String::from_utf8_lossy(&r.body).contains("temporarily_unavailable"));
    assert!(
        !String::from_utf8_lossy(&r.body).contains("db down"),
        "store details stay in the log"
    );
    assert!(matches!(
        flow.take_failure(),
        Some(tollgate::Error::Store(_))
    ));
}

#[test]
fn a_failed_commit_is_500_and_issues_nothing() {
    let h = Harness::new();
    let (mut flow, step) = h.server.token_flow(&cc_request());
    let Step::LoadClient(id) = step else { panic!() };
    let Step::Commit(_) = flow.answer(Answer::Client(h.store.client(&id).unwrap())) else {
        panic!()
    };
    let Step::Done(r) = flow.answer(Answer::StoreFailed(StoreError::failed("disk full"))) else {
        panic!()
    };
    assert_eq!(r.status, 500);
    assert!(!String::from_utf8_lossy(&r.body).contains("access_token"));
}

#[test]
fn answering_the_wrong_question_is_a_server_error_not_a_panic() {
    let h = Harness::new();
    let (mut flow, _step) = h.server.token_flow(&cc_request());
    let Step::Done(r) = flow.answer(Answer::Code(None)) else {
        panic!()
    };
    assert_eq!(r.status, 500);
    let Step::Done(r) = flow.answer(Answer::Client(None)) else {
        panic!()
    };
    assert_eq!(r.status, 500, "a finished flow stays finished");
}

#[test]
fn a_lost_commit_race_on_a_new_grant_is_not_a_success() {
    let h = Harness::new();
    let (mut flow, step) = h.server.token_flow(&cc_request());
    let Step::LoadClient(id) = step else { panic!() };
    let Step::Commit(_) = flow.answer(Answer::Client(h.store.client(&id).unwrap())) else {
        panic!()
    };
    let Step::Done(r) = flow.answer(Answer::Committed(tollgate::CommitOutcome::Conflict)) else {
        panic!()
    };
    assert_eq!(r.status, 500);
}

#[test]
fn the_async_driver_decides_like_the_blocking_one() {
    let (a, b) = (Harness::new(), Harness::new());
    let rt_a = a.c1_tokens("openid offline_access").ok().refresh_token();
    let rt_b = b.c1_tokens("openid offline_access").ok().refresh_token();
    assert_eq!(rt_a, rt_b, "same seed, same clock, same tokens");
    let req = Request::form_post(format!("grant_type=refresh_token&refresh_token={rt_a}"))
        .with_header("Authorization", &basic("C1", C1_SECRET));
    let blocking = a.server.token(&req, &a.store, &TestUsers);
    let asynchronous = pollster::block_on(b.server.token_async(&req, &b.store, &TestUsers));
    assert_eq!(blocking.status, 200);
    assert_eq!(blocking, asynchronous, "byte-identical responses");
}

#[test]
fn determinism_same_inputs_same_bytes() {
    let run = || {
        let h = Harness::new();
        let first = h.p1_tokens("openid offline_access").ok();
        h.advance(100);
        let second = h.p1_refresh(&first.refresh_token()).ok();
        (first.response, second.response)
    };
    assert_eq!(run(), run());
}
