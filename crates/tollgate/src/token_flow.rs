//! [`TokenFlow`]: one token-endpoint request (RFC 6749 §3.2) as a sans-IO state machine.
//!
//! The flow never performs I/O. It starts from a [`Request`] and returns a [`Step`]: either
//! the final [`Response`] or something the caller must fetch or do — load a client, a code or
//! a refresh token, check a password, apply a [`Commit`]. The caller does it and feeds the
//! result back with [`TokenFlow::answer`], which returns the next step. A request takes at
//! most four steps, more only when a commit loses a race and the flow re-reads.
//!
//! ```text
//! let (mut flow, mut step) = server.token_flow(&request);
//! let response = loop {
//!     step = match step {
//!         Step::Done(response) => break response,
//!         Step::LoadClient(id) => flow.answer(Answer::from_store(store.client(&id), Answer::Client)),
//!         // … one arm per variant; `tollgate::driver` has the complete loops.
//!     };
//! };
//! ```

use std::sync::Arc;

use crate::client::Client;
use crate::client::ClientId;
use crate::client_auth::{authenticate, Credentials};
use crate::clock::UnixTime;
use crate::error::{Error, OAuthError};
use crate::form::Params;
use crate::grant::authorization_code::{self, CodeParams};
use crate::grant::issue::Ctx;
use crate::grant::password::{self, PasswordCheck, PasswordVerdict};
use crate::grant::refresh::{self, RefreshParams};
use crate::grant::{client_credentials, AfterConflict, Decision, GrantRequest};
use crate::http::{HeaderValue, Method, Request, Response};
use crate::scope::Scope;
use crate::server::Server;
use crate::store::{
    AccessView, CodeRecord, Commit, CommitOutcome, ConsentRecord, InteractionRecord, RefreshView,
    StoreError, StoreErrorKind,
};
use crate::token::{SecretString, TokenHash};

/// Rotation races a single request may lose before giving up; each loss means another
/// request made progress, so this is never reached in practice.
const MAX_RELOADS: u8 = 32;

/// What the caller must do next.
#[derive(Debug)]
#[must_use = "a step must be answered or, when Done, its response sent"]
#[non_exhaustive]
pub enum Step {
    /// Look up the client registered under this id and answer [`Answer::Client`].
    LoadClient(ClientId),
    /// Look up the authorization code with this hash and answer [`Answer::Code`].
    LoadCode(TokenHash),
    /// Look up the refresh token with this hash, with its family, and answer
    /// [`Answer::RefreshToken`].
    LoadRefreshToken(TokenHash),
    /// Look up the access token with this hash, with its family, and answer
    /// [`Answer::AccessToken`].
    LoadAccessToken(TokenHash),
    /// Fetch the user's claims for these scopes from the host's claims source and answer
    /// [`Answer::Claims`].
    LoadClaims(crate::claims::ClaimsRequest),
    /// Check the resource owner's credentials and answer [`Answer::Password`].
    VerifyPassword(PasswordCheck),
    /// Apply this commit atomically and answer [`Answer::Committed`] with the outcome.
    Commit(Commit),
    /// Send this response; the flow is over.
    Done(Response),
}

/// The caller's answer to a [`Step`].
#[derive(Debug)]
#[non_exhaustive]
pub enum Answer {
    /// For [`Step::LoadClient`].
    Client(Option<std::sync::Arc<crate::client::Client>>),
    /// For [`Step::LoadCode`].
    Code(Option<Arc<CodeRecord>>),
    /// For [`Step::LoadRefreshToken`].
    RefreshToken(Option<RefreshView>),
    /// For [`Step::LoadAccessToken`].
    AccessToken(Option<AccessView>),
    /// For [`Step::LoadClaims`]: the claims, or `None` when the user no longer exists.
    Claims(Option<crate::claims::Claims>),
    /// For [`Step::VerifyPassword`].
    Password(PasswordVerdict),
    /// For [`crate::authorize::AuthorizeStep::LoadConsent`].
    Consent(Option<ConsentRecord>),
    /// For [`crate::authorize::AuthorizeStep::LoadInteraction`].
    Interaction(Option<Box<InteractionRecord>>),
    /// For [`Step::Commit`] and [`crate::authorize::AuthorizeStep::Commit`].
    Committed(CommitOutcome),
    /// For any load or commit step, when the store failed.
    StoreFailed(StoreError),
}

impl Answer {
    /// Wraps a store result: `Ok` through `f`, `Err` as [`Answer::StoreFailed`].
    pub fn from_store<T>(r: Result<T, StoreError>, f: impl FnOnce(T) -> Answer) -> Answer {
        match r {
            Ok(v) => f(v),
            Err(e) => Answer::StoreFailed(e),
        }
    }
}

enum State {
    AwaitClient {
        credentials: Credentials,
        grant: GrantRequest,
    },
    AwaitCode {
        client: Arc<Client>,
        params: CodeParams,
    },
    AwaitRefresh(RefreshRetry),
    AwaitPassword {
        client: Arc<Client>,
        scope: Scope,
    },
    AwaitJti {
        client: Arc<Client>,
        grant: GrantRequest,
    },
    AwaitGrantJti {
        client: Arc<Client>,
        subject: crate::store::Subject,
        scope: Scope,
    },
    AwaitCommit {
        on_applied: Response,
        on_conflict: AfterConflict,
        /// Kept so a conflict can re-read the refresh token.
        refresh: Option<RefreshRetry>,
    },
    Finished,
}

/// A refresh request being decided, kept whole so a lost race can re-read and decide again.
struct RefreshRetry {
    client: Arc<Client>,
    token: SecretString,
    hash: TokenHash,
    scope: Option<Scope>,
    lost_rotation: bool,
    reloads: u8,
}

/// One token-endpoint request in progress. See the [module docs](self).
pub struct TokenFlow<'s> {
    server: &'s Server,
    now: UnixTime,
    state: State,
    failure: Option<Error>,
}

impl std::fmt::Debug for TokenFlow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenFlow")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

impl<'s> TokenFlow<'s> {
    /// Starts deciding `request` at time `now`.
    pub(crate) fn start(server: &'s Server, request: &Request, now: UnixTime) -> (Self, Step) {
        let mut flow = TokenFlow {
            server,
            now,
            state: State::Finished,
            failure: None,
        };
        let step = match parse(server, request) {
            Ok((credentials, grant)) => match crate::client_auth::identify(server, &credentials) {
                Some(id) => {
                    flow.state = State::AwaitClient { credentials, grant };
                    Step::LoadClient(id)
                }
                None => Step::Done(
                    OAuthError::invalid_client("the client could not be identified", None)
                        .to_response(),
                ),
            },
            Err(e) => Step::Done(e.to_response()),
        };
        (flow, step)
    }

    /// The time the request is decided at.
    #[must_use]
    pub fn now(&self) -> UnixTime {
        self.now
    }

    /// Feeds the answer to the last step and returns the next one.
    pub fn answer(&mut self, answer: Answer) -> Step {
        Flow::answer(self, answer)
    }
}

/// A client-facing endpoint flow the drivers can run: every [`Step`] it yields is answered
/// with an [`Answer`] until it is [`Step::Done`].
pub trait Flow {
    /// Feeds the answer to the last step and returns the next one.
    fn answer(&mut self, answer: Answer) -> Step;
    /// After a `500`, the library failure behind it, for the operator's log.
    fn take_failure(&mut self) -> Option<Error>;
}

/// Ends a flow on a store failure: `503` when transient, else `500`; the failure is kept
/// for the operator's log.
pub(crate) fn store_failed(failure: &mut Option<Error>, e: StoreError) -> Step {
    let r = store_failure(&e);
    *failure = Some(Error::Store(e));
    Step::Done(r.to_response())
}

/// The response for a store failure: `503` when transient, else `500`.
pub(crate) fn store_failure(e: &StoreError) -> OAuthError {
    match e.kind {
        StoreErrorKind::Unavailable => {
            OAuthError::temporarily_unavailable("storage is unavailable; retry later")
        }
        _ => OAuthError::server_error("storage failed"),
    }
}

impl Flow for TokenFlow<'_> {
    fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    fn answer(&mut self, answer: Answer) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        let ctx = Ctx::new(self.server, self.now);
        if let Answer::StoreFailed(e) = answer {
            return store_failed(&mut self.failure, e);
        }
        match (state, answer) {
            (State::AwaitClient { credentials, grant }, Answer::Client(client)) => {
                self.on_client(&ctx, credentials, grant, client)
            }
            (State::AwaitCode { client, params }, Answer::Code(record)) => {
                let d = authorization_code::decide(&ctx, &client, &params, record);
                self.follow(d, None)
            }
            (State::AwaitRefresh(retry), Answer::RefreshToken(view)) => {
                let d = refresh::decide(
                    &ctx,
                    &retry.client,
                    &RefreshParams {
                        token: &retry.token,
                        hash: retry.hash,
                        scope: retry.scope.as_ref(),
                        lost_rotation: retry.lost_rotation,
                    },
                    view,
                );
                self.follow(d, Some(retry))
            }
            (State::AwaitJti { client, grant }, Answer::Committed(outcome)) => match outcome {
                CommitOutcome::Applied => self.proceed(&ctx, client, grant),
                CommitOutcome::Conflict => Step::Done(
                    OAuthError::invalid_client("the client assertion was already used", None)
                        .to_response(),
                ),
            },
            (
                State::AwaitGrantJti {
                    client,
                    subject,
                    scope,
                },
                Answer::Committed(outcome),
            ) => match outcome {
                CommitOutcome::Applied => {
                    let d = crate::grant::jwt_bearer::decide(&ctx, &client, subject, &scope);
                    self.follow(d, None)
                }
                CommitOutcome::Conflict => Step::Done(
                    OAuthError::invalid_grant("the assertion was already used").to_response(),
                ),
            },
            (State::AwaitPassword { client, scope }, Answer::Password(verdict)) => {
                let d = password::decide(&ctx, &client, &scope, verdict);
                self.follow(d, None)
            }
            (
                State::AwaitCommit {
                    on_applied,
                    on_conflict,
                    refresh,
                },
                Answer::Committed(outcome),
            ) => match (outcome, on_conflict) {
                (CommitOutcome::Applied, _) => Step::Done(on_applied),
                (CommitOutcome::Conflict, AfterConflict::Respond(r)) => Step::Done(r),
                (CommitOutcome::Conflict, AfterConflict::Refuse(e)) => Step::Done(e.to_response()),
                (CommitOutcome::Conflict, AfterConflict::ReloadRefresh { lost_rotation }) => {
                    match refresh {
                        Some(retry) if retry.reloads < MAX_RELOADS => {
                            let hash = retry.hash;
                            self.state = State::AwaitRefresh(RefreshRetry {
                                lost_rotation: retry.lost_rotation || lost_rotation,
                                reloads: retry.reloads + 1,
                                ..retry
                            });
                            Step::LoadRefreshToken(hash)
                        }
                        _ => Step::Done(
                            OAuthError::temporarily_unavailable(
                                "too much contention on this refresh token; retry",
                            )
                            .to_response(),
                        ),
                    }
                }
            },
            (State::Finished, _) => Step::Done(
                OAuthError::server_error("the flow was answered after it finished").to_response(),
            ),
            _ => Step::Done(
                OAuthError::server_error("the flow was given an answer to a different step")
                    .to_response(),
            ),
        }
    }
}

impl TokenFlow<'_> {
    fn on_client(
        &mut self,
        ctx: &Ctx<'_>,
        credentials: Credentials,
        grant: GrantRequest,
        client: Option<Arc<Client>>,
    ) -> Step {
        let auth = authenticate(self.server, &credentials, client.as_deref(), self.now);
        let client = match (auth, client) {
            (Ok(None), Some(c)) => c,
            (Ok(Some(jti)), Some(client)) => {
                // Spend the assertion's jti before anything else happens (JA-06).
                self.state = State::AwaitJti { client, grant };
                return Step::Commit(Commit::ConsumeJti {
                    key: jti.key,
                    until: jti.until,
                });
            }
            (Err(e), _) => return Step::Done(e.to_response()),
            (Ok(_), None) => {
                return Step::Done(
                    OAuthError::invalid_client("client authentication failed", None).to_response(),
                )
            }
        };
        self.proceed(ctx, client, grant)
    }

    /// The authenticated client's grant.
    fn proceed(&mut self, ctx: &Ctx<'_>, client: Arc<Client>, grant: GrantRequest) -> Step {
        if !client.allows(grant.grant_type()) {
            return Step::Done(
                OAuthError::unauthorized_client("the client may not use this grant_type")
                    .to_response(),
            );
        }
        match grant {
            GrantRequest::AuthorizationCode {
                code,
                redirect_uri,
                verifier,
            } => {
                let hash = TokenHash::of(code.expose());
                self.state = State::AwaitCode {
                    client,
                    params: CodeParams {
                        redirect_uri,
                        verifier,
                    },
                };
                Step::LoadCode(hash)
            }
            GrantRequest::RefreshToken { token, scope } => {
                let hash = TokenHash::of(token.expose());
                self.state = State::AwaitRefresh(RefreshRetry {
                    client,
                    token,
                    hash,
                    scope,
                    lost_rotation: false,
                    reloads: 0,
                });
                Step::LoadRefreshToken(hash)
            }
            GrantRequest::Password {
                username,
                password,
                scope,
            } => match password::scope_for(&client, scope) {
                Ok(scope) => {
                    let check = PasswordCheck {
                        client_id: client.id.clone(),
                        username,
                        password,
                    };
                    self.state = State::AwaitPassword { client, scope };
                    Step::VerifyPassword(check)
                }
                Err(e) => Step::Done(e.to_response()),
            },
            GrantRequest::JwtBearer { assertion, scope } => {
                match crate::grant::jwt_bearer::check(ctx, &client, assertion.expose(), scope) {
                    crate::grant::jwt_bearer::Checked::Refuse(e) => Step::Done(e.to_response()),
                    crate::grant::jwt_bearer::Checked::Grant {
                        subject,
                        scope,
                        jti: Some(jti),
                    } => {
                        self.state = State::AwaitGrantJti {
                            client,
                            subject,
                            scope,
                        };
                        Step::Commit(Commit::ConsumeJti {
                            key: jti.key,
                            until: jti.until,
                        })
                    }
                    crate::grant::jwt_bearer::Checked::Grant {
                        subject,
                        scope,
                        jti: None,
                    } => {
                        let d = crate::grant::jwt_bearer::decide(ctx, &client, subject, &scope);
                        self.follow(d, None)
                    }
                }
            }
            GrantRequest::ClientCredentials { scope } => {
                let d = client_credentials::decide(ctx, &client, scope);
                self.follow(d, None)
            }
        }
    }

    fn follow(&mut self, decision: Result<Decision, Error>, refresh: Option<RefreshRetry>) -> Step {
        match decision {
            Ok(Decision::Respond(r)) => Step::Done(r),
            Ok(Decision::Commit {
                commit,
                on_applied,
                on_conflict,
            }) => {
                self.state = State::AwaitCommit {
                    on_applied,
                    on_conflict,
                    refresh,
                };
                Step::Commit(commit)
            }
            Err(e) => {
                self.failure = Some(e);
                Step::Done(
                    OAuthError::server_error("the server could not issue tokens").to_response(),
                )
            }
        }
    }
}

/// Parses the HTTP request: method, content type, body, credentials and grant.
fn parse(server: &Server, request: &Request) -> Result<(Credentials, GrantRequest), OAuthError> {
    let (credentials, mut params) = parse_client_form(server, request)?;
    let grant = GrantRequest::parse(&mut params)?;
    let Some(credentials) = credentials else {
        return Err(OAuthError::invalid_client(
            "client authentication is required",
            None,
        ));
    };
    Ok((credentials, grant))
}

/// The common front of the client-authenticated endpoints (token, revocation,
/// introspection): `POST`, a form body within limits, and the client's credentials taken out
/// of the parameters (RFC 6749 §2.3, §3.2; RFC 7009 §2.1; RFC 7662 §2.1).
pub(crate) fn parse_client_form(
    server: &Server,
    request: &Request,
) -> Result<(Option<Credentials>, Params), OAuthError> {
    if request.method != Method::Post {
        return Err(OAuthError::method_not_allowed("POST"));
    }
    match request.single_header("content-type") {
        HeaderValue::Present(ct) if is_form(ct) => {}
        _ => {
            return Err(OAuthError::invalid_request(
                "the body must be application/x-www-form-urlencoded",
            ))
        }
    }
    let limits = server.config().form_limits;
    let mut params = Params::parse(&request.body, limits)?;
    let query = Params::parse(request.query.as_bytes(), limits)?;
    let credentials =
        Credentials::extract(request, &mut params, &query, &server.config().basic_realm)?;
    Ok((credentials, params))
}

/// `application/x-www-form-urlencoded`, optionally with parameters such as `charset`.
pub(crate) fn is_form(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|m| {
        m.trim()
            .eq_ignore_ascii_case("application/x-www-form-urlencoded")
    })
}
