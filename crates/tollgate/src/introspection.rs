//! Token introspection (RFC 7662) as a sans-IO flow.
//!
//! The caller must authenticate as a confidential client; any failure — including no
//! credentials at all — is `401 invalid_client` with a `Basic` challenge (IN-01). The token
//! is looked up as the hinted type first, then as the other (IN-02). Anything not active —
//! unknown, expired, revoked, of a revoked family, or a rotated refresh token — is exactly
//! `{"active":false}` (IN-04). An active token reports `scope`, `client_id`, `sub`, `exp`,
//! `iat`, `iss` and `token_type` (IN-03, IN-06). Pinned: any authenticated confidential
//! client (typically a resource server) may introspect any token; public clients may not.

use serde::Serialize;

use crate::client::ClientType;
use crate::client_auth::{authenticate, Credentials};
use crate::clock::UnixTime;
use crate::error::{Error, OAuthError};
use crate::http::{Request, Response};
use crate::server::Server;
use crate::store::{Commit, CommitOutcome};
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
        keys: LookupKeys,
        kind: Kind,
        tried_other: bool,
    },
    AwaitJti {
        keys: LookupKeys,
        first: Kind,
    },
    Finished,
}

/// One introspection request in progress.
pub struct IntrospectionFlow<'s> {
    server: &'s Server,
    now: UnixTime,
    state: State,
    failure: Option<Error>,
}

#[derive(Serialize)]
struct Active<'a> {
    active: bool,
    scope: String,
    client_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sub: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exp: Option<u64>,
    iat: u64,
    iss: &'a str,
    token_type: &'a str,
}

fn inactive() -> Response {
    Response::json(200, br#"{"active":false}"#.to_vec())
}

impl<'s> IntrospectionFlow<'s> {
    pub(crate) fn start(server: &'s Server, request: &Request, now: UnixTime) -> (Self, Step) {
        let mut flow = IntrospectionFlow {
            server,
            now,
            state: State::Finished,
            failure: None,
        };
        let realm = &server.config().basic_realm;
        let unauthenticated =
            || OAuthError::invalid_client("client authentication is required", Some(realm));
        let step = match token_lookup::parse(server, request, unauthenticated) {
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

    fn active(&self, a: Active<'_>) -> Response {
        Response::json(200, serde_json::to_vec(&a).unwrap_or_default())
    }
}

impl Flow for IntrospectionFlow<'_> {
    fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    fn answer(&mut self, answer: Answer) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        if let Answer::StoreFailed(e) = answer {
            return store_failed(&mut self.failure, e);
        }
        let realm = self.server.config().basic_realm.clone();
        match (state, answer) {
            (
                State::AwaitClient {
                    credentials,
                    token,
                    first,
                },
                Answer::Client(client),
            ) => {
                let fail =
                    |d| Step::Done(OAuthError::invalid_client(d, Some(&realm)).to_response());
                let jti = match authenticate(self.server, &credentials, client.as_deref(), self.now)
                {
                    Ok(j) => j,
                    Err(_) => return fail("client authentication failed"),
                };
                if client.is_none_or(|c| c.client_type != ClientType::Confidential) {
                    return fail("only confidential clients may introspect tokens");
                }
                let keys = LookupKeys::of(self.server, token.expose());
                self.state = State::AwaitToken {
                    keys,
                    kind: first,
                    tried_other: false,
                };
                match jti {
                    Some(j) => {
                        self.state = State::AwaitJti { keys, first };
                        Step::Commit(Commit::ConsumeJti {
                            key: j.key,
                            until: j.until,
                        })
                    }
                    None => first.step(&keys),
                }
            }
            (State::AwaitJti { keys, first }, Answer::Committed(outcome)) => match outcome {
                CommitOutcome::Applied => {
                    self.state = State::AwaitToken {
                        keys,
                        kind: first,
                        tried_other: false,
                    };
                    first.step(&keys)
                }
                CommitOutcome::Conflict => Step::Done(
                    OAuthError::invalid_client(
                        "the client assertion was already used",
                        Some(&realm),
                    )
                    .to_response(),
                ),
            },
            (
                State::AwaitToken {
                    keys,
                    kind,
                    tried_other,
                },
                answer,
            ) => {
                let iss = self.server.config().issuer.as_str();
                match answer {
                    Answer::AccessToken(Some(v)) if kind == Kind::Access => {
                        if !v.is_active(self.now) {
                            return Step::Done(inactive());
                        }
                        Step::Done(self.active(Active {
                            active: true,
                            scope: v.token.scope.to_string(),
                            client_id: v.token.client_id.as_str(),
                            sub: v.token.subject.as_deref(),
                            exp: Some(v.token.expires_at.secs()),
                            iat: v.token.issued_at.secs(),
                            iss,
                            token_type: "Bearer",
                        }))
                    }
                    Answer::RefreshToken(Some(v)) if kind == Kind::Refresh => {
                        if !v.is_active(self.now) {
                            return Step::Done(inactive());
                        }
                        Step::Done(self.active(Active {
                            active: true,
                            scope: v.token.scope.to_string(),
                            client_id: v.token.client_id.as_str(),
                            sub: v.family.subject.as_ref().map(|s| &*s.id),
                            exp: v.expires_at().map(UnixTime::secs),
                            iat: v.token.issued_at.secs(),
                            iss,
                            token_type: "refresh_token",
                        }))
                    }
                    Answer::AccessToken(None) | Answer::RefreshToken(None) if !tried_other => {
                        let other = kind.other();
                        self.state = State::AwaitToken {
                            keys,
                            kind: other,
                            tried_other: true,
                        };
                        other.step(&keys)
                    }
                    Answer::AccessToken(None) | Answer::RefreshToken(None) => {
                        Step::Done(inactive())
                    }
                    _ => Step::Done(
                        OAuthError::server_error(
                            "the flow was given an answer to a different step",
                        )
                        .to_response(),
                    ),
                }
            }
            _ => Step::Done(
                OAuthError::server_error("the flow was given an answer to a different step")
                    .to_response(),
            ),
        }
    }
}
