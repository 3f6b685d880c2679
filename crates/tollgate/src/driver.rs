//! Drivers that run a [`TokenFlow`] to completion against a store: [`drive`] for a blocking
//! [`Store`], [`drive_async`] for an [`AsyncStore`]. They hold no logic of their own — each
//! arm forwards one [`Step`] to the store or verifier and its result back as an [`Answer`] —
//! so every host makes exactly the decisions the flow makes.

use crate::authorize::{AuthorizeFlow, AuthorizeOutcome, AuthorizeStep};
use crate::error::Error;
use crate::grant::password::{AsyncPasswordVerifier, PasswordVerifier};
use crate::http::Response;
use crate::store::{AsyncStore, Store};
use crate::token_flow::{Answer, Step, TokenFlow};

/// Runs `flow` from `step` to its response on a blocking store. Returns the response and,
/// after a 500, the library failure behind it for the operator's log.
pub fn drive<S, U>(
    mut flow: TokenFlow<'_>,
    mut step: Step,
    store: &S,
    users: &U,
) -> (Response, Option<Error>)
where
    S: Store + ?Sized,
    U: PasswordVerifier + ?Sized,
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
            Step::VerifyPassword(check) => flow.answer(Answer::Password(users.verify(&check))),
            Step::Commit(c) => flow.answer(Answer::from_store(store.commit(c), Answer::Committed)),
        };
    }
}

/// Runs `flow` from `step` to its response on an async store. Dropping the future midway
/// leaves no half-applied state: every write is one atomic [`crate::store::Commit`].
pub async fn drive_async<S, U>(
    mut flow: TokenFlow<'_>,
    mut step: Step,
    store: &S,
    users: &U,
) -> (Response, Option<Error>)
where
    S: AsyncStore + ?Sized,
    U: AsyncPasswordVerifier + ?Sized,
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
