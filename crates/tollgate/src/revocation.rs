//! Token revocation (RFC 7009) as a sans-IO flow.
//!
//! The client authenticates as at the token endpoint (§2.1). The token is looked up as the
//! hinted type first and then as the other (RV-03); an unknown hint is ignored (RV-04).
//! Revoking a refresh token revokes its whole family and every access token it issued
//! (RV-05, Okta's rule); revoking an access token revokes only itself. An unknown, expired
//! or already revoked token is answered `200` (§2.2). A token issued to another client is
//! left untouched and refused with `400 unauthorized_client`: the RFC says the request is
//! refused, and the caller holds the token already, so nothing leaks (RV-06, pinned).

use crate::client_auth::{authenticate, Credentials};
use crate::clock::UnixTime;
use crate::error::{Error, OAuthError};
use crate::http::{Request, Response};
use crate::server::Server;
use crate::store::Commit;
use crate::token::SecretString;
use crate::token_flow::{store_failed, Answer, Flow, Step};
use crate::token_lookup::{self, Kind, LookupKeys};

enum State {
    AwaitClient {
        credentials: Credentials,
        token: SecretString,
        first: Kind,
    },
    AwaitToken {
        client: crate::client::ClientId,
        keys: LookupKeys,
        kind: Kind,
        tried_other: bool,
    },
    AwaitJti {
        client: crate::client::ClientId,
        keys: LookupKeys,
        first: Kind,
    },
    AwaitCommit,
    Finished,
}

/// One revocation request in progress.
pub struct RevocationFlow<'s> {
    server: &'s Server,
    now: UnixTime,
    state: State,
    failure: Option<Error>,
}

/// `200` with an empty body (RFC 7009 §2.2: the body is ignored).
fn ok() -> Response {
    Response {
        status: 200,
        headers: vec![("Cache-Control", "no-store".into())],
        body: Vec::new(),
    }
}

impl<'s> RevocationFlow<'s> {
    pub(crate) fn start(server: &'s Server, request: &Request, now: UnixTime) -> (Self, Step) {
        let mut flow = RevocationFlow {
            server,
            now,
            state: State::Finished,
            failure: None,
        };
        let step = match token_lookup::parse(server, request, || {
            OAuthError::invalid_client("client authentication is required", None)
        }) {
            Err(e) => Step::Done(e.to_response()),
            Ok(r) => {
                flow.state = State::AwaitClient {
                    credentials: r.credentials,
                    token: r.token,
                    first: r.first,
                };
                Step::LoadClient(r.client)
            }
        };
        (flow, step)
    }
}

impl Flow for RevocationFlow<'_> {
    fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    fn answer(&mut self, answer: Answer) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        if let Answer::StoreFailed(e) = answer {
            return store_failed(&mut self.failure, e);
        }
        match (state, answer) {
            (
                State::AwaitClient {
                    credentials,
                    token,
                    first,
                },
                Answer::Client(client),
            ) => {
                let jti = match authenticate(self.server, &credentials, client.as_deref(), self.now)
                {
                    Ok(j) => j,
                    Err(e) => return Step::Done(e.to_response()),
                };
                let Some(client) = client else {
                    return Step::Done(
                        OAuthError::invalid_client("client authentication failed", None)
                            .to_response(),
                    );
                };
                let keys = LookupKeys::of(self.server, token.expose());
                match jti {
                    Some(j) => {
                        self.state = State::AwaitJti {
                            client: client.id.clone(),
                            keys,
                            first,
                        };
                        Step::Commit(Commit::ConsumeJti {
                            key: j.key,
                            until: j.until,
                        })
                    }
                    None => {
                        self.state = State::AwaitToken {
                            client: client.id.clone(),
                            keys,
                            kind: first,
                            tried_other: false,
                        };
                        first.step(&keys)
                    }
                }
            }
            (
                State::AwaitJti {
                    client,
                    keys,
                    first,
                },
                Answer::Committed(outcome),
            ) => match outcome {
                crate::store::CommitOutcome::Applied => {
                    self.state = State::AwaitToken {
                        client,
                        keys,
                        kind: first,
                        tried_other: false,
                    };
                    first.step(&keys)
                }
                crate::store::CommitOutcome::Conflict => Step::Done(
                    OAuthError::invalid_client("the client assertion was already used", None)
                        .to_response(),
                ),
            },
            (
                State::AwaitToken {
                    client,
                    keys,
                    kind,
                    tried_other,
                },
                answer,
            ) => {
                let found = match answer {
                    Answer::AccessToken(Some(v)) if kind == Kind::Access => Some((
                        v.token.client_id.clone(),
                        Commit::RevokeAccessToken {
                            token: keys.access,
                            at: self.now,
                        },
                    )),
                    Answer::RefreshToken(Some(v)) if kind == Kind::Refresh => Some((
                        v.token.client_id.clone(),
                        Commit::RevokeFamily {
                            family: v.family.id,
                            at: self.now,
                        },
                    )),
                    Answer::AccessToken(None) | Answer::RefreshToken(None) => None,
                    _ => {
                        return Step::Done(
                            OAuthError::server_error(
                                "the flow was given an answer to a different step",
                            )
                            .to_response(),
                        )
                    }
                };
                match found {
                    Some((owner, _)) if owner != client => Step::Done(
                        OAuthError::unauthorized_client("the token was not issued to this client")
                            .to_response(),
                    ),
                    Some((_, commit)) => {
                        self.state = State::AwaitCommit;
                        Step::Commit(commit)
                    }
                    None if !tried_other => {
                        let other = kind.other();
                        self.state = State::AwaitToken {
                            client,
                            keys,
                            kind: other,
                            tried_other: true,
                        };
                        other.step(&keys)
                    }
                    None => Step::Done(ok()),
                }
            }
            (State::AwaitCommit, Answer::Committed(_)) => Step::Done(ok()),
            _ => Step::Done(
                OAuthError::server_error("the flow was given an answer to a different step")
                    .to_response(),
            ),
        }
    }
}
