//! Drivers that run a [`TokenFlow`](crate::token_flow::TokenFlow) to completion against a store: [`drive`] for a blocking
//! [`Store`], [`drive_async`] for an [`AsyncStore`]. They hold no logic of their own — each
//! arm forwards one [`Step`] to the store or verifier and its result back as an [`Answer`] —
//! so every host makes exactly the decisions the flow makes.

use crate::authorize::{AuthorizeFlow, AuthorizeOutcome, AuthorizeStep};
use crate::claims::{ClaimsSource, NoClaims};
use crate::error::Error;
use crate::grant::password::{AsyncPasswordVerifier, PasswordVerifier};
use crate::http::Response;
use crate::store::{AsyncStore, Store};
use crate::token_flow::{Answer, Flow, Step};

/// Runs `flow` from `step` to its response on a blocking store. Returns the response and,
/// after a 500, the library failure behind it for the operator's log.
pub fn drive<F, S, U>(flow: F, step: Step, store: &S, users: &U) -> (Response, Option<Error>)
where
    F: Flow,
    S: Store + ?Sized,
    U: PasswordVerifier + ?Sized,
{
    drive_with(flow, step, store, users, &NoClaims)
}

/// [`drive`] with a claims source, for flows that need claims (UserInfo).
pub fn drive_with<F, S, U, C>(
    mut flow: F,
    mut step: Step,
    store: &S,
    users: &U,
    claims: &C,
) -> (Response, Option<Error>)
where
    F: Flow,
    S: Store + ?Sized,
    U: PasswordVerifier + ?Sized,
    C: ClaimsSource + ?Sized,
{
    loop {
        step = match step {
            Step::Done(response) => return (response, flow.take_failure()),
            Step::LoadClient(id) => {
                flow.answer(Answer::from_store(store.client(&id), Answer::Client))
            }
            Step::LoadCode(h) => flow.answer(Answer::from_store(store.code(&h), Answer::Code)),
            Step::LoadRefreshToken(h) => flow.answer(Answer::from_store(
                store.refresh_token(&h),
                Answer::RefreshToken,
            )),
            Step::LoadAccessToken(h) => flow.answer(Answer::from_store(
                store.access_token(&h),
                Answer::AccessToken,
            )),
            Step::LoadClaims(request) => flow.answer(Answer::Claims(claims.claims(&request))),
            Step::VerifyPassword(check) => flow.answer(Answer::Password(users.verify(&check))),
            Step::Commit(c) => flow.answer(Answer::from_store(store.commit(c), Answer::Committed)),
        };
    }
}

/// Runs `flow` from `step` to its response on an async store. Dropping the future midway
/// leaves no half-applied state: every write is one atomic [`crate::store::Commit`].
pub async fn drive_async<F, S, U>(
    flow: F,
    step: Step,
    store: &S,
    users: &U,
) -> (Response, Option<Error>)
where
    F: Flow,
    S: AsyncStore + ?Sized,
    U: AsyncPasswordVerifier + ?Sized,
{
    drive_async_with(flow, step, store, users, &NoClaims).await
}

/// [`drive_async`] with a claims source. Claims are fetched synchronously: a claims source is
/// expected to be an in-memory view or a cache.
pub async fn drive_async_with<F, S, U, C>(
    mut flow: F,
    mut step: Step,
    store: &S,
    users: &U,
    claims: &C,
) -> (Response, Option<Error>)
where
    F: Flow,
    S: AsyncStore + ?Sized,
    U: AsyncPasswordVerifier + ?Sized,
    C: ClaimsSource + ?Sized,
{
    loop {
        step = match step {
            Step::Done(response) => return (response, flow.take_failure()),
            Step::LoadClient(id) => {
                flow.answer(Answer::from_store(store.client(&id).await, Answer::Client))
            }
            Step::LoadCode(h) => {
                flow.answer(Answer::from_store(store.code(&h).await, Answer::Code))
            }
            Step::LoadRefreshToken(h) => flow.answer(Answer::from_store(
                store.refresh_token(&h).await,
                Answer::RefreshToken,
            )),
            Step::LoadAccessToken(h) => flow.answer(Answer::from_store(
                store.access_token(&h).await,
                Answer::AccessToken,
            )),
            Step::LoadClaims(request) => flow.answer(Answer::Claims(claims.claims(&request))),
            Step::VerifyPassword(check) => {
                flow.answer(Answer::Password(users.verify(&check).await))
            }
            Step::Commit(c) => {
                flow.answer(Answer::from_store(store.commit(c).await, Answer::Committed))
            }
        };
    }
}

/// Runs an `/authorize` flow to its outcome on a blocking store.
pub fn drive_authorize<S: Store + ?Sized>(
    mut flow: AuthorizeFlow<'_>,
    mut step: AuthorizeStep,
    store: &S,
) -> AuthorizeOutcome {
    loop {
        step = match step {
            AuthorizeStep::Done(outcome) => return outcome,
            AuthorizeStep::LoadClient(id) => {
                flow.answer(Answer::from_store(store.client(&id), Answer::Client))
            }
            AuthorizeStep::LoadConsent { subject, client } => flow.answer(Answer::from_store(
                store.consent(&subject, &client),
                Answer::Consent,
            )),
            AuthorizeStep::LoadInteraction(h) => flow.answer(Answer::from_store(
                store.interaction(&h),
                Answer::Interaction,
            )),
            AuthorizeStep::Commit(c) => {
                flow.answer(Answer::from_store(store.commit(c), Answer::Committed))
            }
        };
    }
}

/// Runs an `/authorize` flow to its outcome on an async store.
pub async fn drive_authorize_async<S: AsyncStore + ?Sized>(
    mut flow: AuthorizeFlow<'_>,
    mut step: AuthorizeStep,
    store: &S,
) -> AuthorizeOutcome {
    loop {
        step = match step {
            AuthorizeStep::Done(outcome) => return outcome,
            AuthorizeStep::LoadClient(id) => {
                flow.answer(Answer::from_store(store.client(&id).await, Answer::Client))
            }
            AuthorizeStep::LoadConsent { subject, client } => flow.answer(Answer::from_store(
                store.consent(&subject, &client).await,
                Answer::Consent,
            )),
            AuthorizeStep::LoadInteraction(h) => flow.answer(Answer::from_store(
                store.interaction(&h).await,
                Answer::Interaction,
            )),
            AuthorizeStep::Commit(c) => {
                flow.answer(Answer::from_store(store.commit(c).await, Answer::Committed))
            }
        };
    }
}
