//! [`AuthorizeFlow`]: one `/authorize` request, or one resumption after a login or consent
//! page, as a sans-IO state machine (see the [module docs](super)).

use std::sync::Arc;

use super::redirect_uri::{resolve, RedirectMatch};
use super::request::{validate, AuthorizationRequest};
use super::response::{error_redirect, redirect, ErrorPage};
use super::{ConsentPrompt, InteractionPrompt, InteractionResult, Resume, Session};
use crate::client::{Client, ClientId};
use crate::clock::UnixTime;
use crate::error::{ErrorCode, OAuthError};
use crate::form::Params;
use crate::http::{HeaderValue, Method, Request, Response};
use crate::scope::Scope;
use crate::server::{CodeGrant, Server};
use crate::store::{
    Commit, CommitOutcome, ConsentRecord, InteractionNext, InteractionRecord, InteractionStage,
    StoreErrorKind, Subject,
};
use crate::token::{mint_token, TokenHash, TokenKind};
use crate::token_flow::Answer;

/// What the caller must do next.
#[derive(Debug)]
#[must_use = "a step must be answered or, when Done, its outcome acted on"]
#[non_exhaustive]
// A step is handed straight to the caller; boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum AuthorizeStep {
    /// Look up the client and answer [`Answer::Client`].
    LoadClient(ClientId),
    /// Look up the consent `subject` gave `client` and answer [`Answer::Consent`].
    LoadConsent {
        /// The user's `sub`.
        subject: String,
        /// The client.
        client: ClientId,
    },
    /// Look up the interaction with this hash and answer [`Answer::Interaction`].
    LoadInteraction(TokenHash),
    /// Apply this commit atomically and answer [`Answer::Committed`].
    Commit(Commit),
    /// Act on the outcome; the flow is over.
    Done(AuthorizeOutcome),
}

/// How a flow ends.
#[derive(Debug)]
#[non_exhaustive]
#[allow(clippy::large_enum_variant)]
pub enum AuthorizeOutcome {
    /// Send this `303` to the client's redirect URI (a code, or an error).
    Redirect(Response),
    /// Show an error page; never redirect (unknown client, untrusted redirect URI).
    ErrorPage(ErrorPage),
    /// Show the login page for this interaction.
    Login(InteractionPrompt),
    /// Show the consent page for this interaction.
    Consent(ConsentPrompt),
}

/// The interaction being finished by a resumption.
#[derive(Clone, Copy)]
struct Finishing {
    interaction: TokenHash,
    browser: TokenHash,
}

// One state at a time, moved in and out; boxing would only add allocations.
#[allow(clippy::large_enum_variant)]
enum State {
    AwaitClient {
        params: Params,
        repeated: Vec<String>,
        session: Option<Session>,
    },
    AwaitConsent {
        request: AuthorizationRequest,
        subject: Subject,
        finishing: Option<Finishing>,
    },
    AwaitInteraction {
        resume: Resume,
    },
    AwaitCommit {
        on_applied: AuthorizeOutcome,
        on_conflict: AuthorizeOutcome,
    },
    Finished,
}

/// One authorization request in progress.
pub struct AuthorizeFlow<'s> {
    server: &'s Server,
    now: UnixTime,
    state: State,
}

impl std::fmt::Debug for AuthorizeFlow<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthorizeFlow")
            .field("now", &self.now)
            .finish_non_exhaustive()
    }
}

fn page(status: u16, error: ErrorCode, description: &'static str) -> AuthorizeStep {
    AuthorizeStep::Done(AuthorizeOutcome::ErrorPage(ErrorPage::new(
        status,
        error,
        description,
    )))
}

impl<'s> AuthorizeFlow<'s> {
    pub(crate) fn start(
        server: &'s Server,
        request: &Request,
        session: Option<Session>,
        now: UnixTime,
    ) -> (Self, AuthorizeStep) {
        let mut flow = AuthorizeFlow {
            server,
            now,
            state: State::Finished,
        };
        let limits = server.config().form_limits;
        let input: &[u8] = match request.method {
            Method::Get => request.query.as_bytes(),
            Method::Post => match request.single_header("content-type") {
                HeaderValue::Present(ct) if crate::token_flow::is_form(ct) => &request.body,
                _ => {
                    return (
                        flow,
                        page(
                            400,
                            ErrorCode::InvalidRequest,
                            "the body must be application/x-www-form-urlencoded",
                        ),
                    )
                }
            },
            _ => {
                return (
                    flow,
                    page(
                        405,
                        ErrorCode::InvalidRequest,
                        "the endpoint accepts only GET and POST",
                    ),
                )
            }
        };
        let (params, repeated) = match Params::parse_poisoning(input, limits) {
            Ok(p) => p,
            Err(e) => return (flow, page(400, e.code(), e.description())),
        };
        if repeated
            .iter()
            .any(|n| n == "client_id" || n == "redirect_uri")
        {
            return (
                flow,
                page(
                    400,
                    ErrorCode::InvalidRequest,
                    "client_id or redirect_uri was repeated",
                ),
            );
        }
        let Some(client_id) = params.get("client_id").and_then(|c| ClientId::new(c).ok()) else {
            return (
                flow,
                page(
                    400,
                    ErrorCode::InvalidRequest,
                    "client_id is missing or malformed",
                ),
            );
        };
        flow.state = State::AwaitClient {
            params,
            repeated,
            session,
        };
        (flow, AuthorizeStep::LoadClient(client_id))
    }

    pub(crate) fn resume(
        server: &'s Server,
        resume: Resume,
        now: UnixTime,
    ) -> (Self, AuthorizeStep) {
        let hash = TokenHash::of(resume.handle.expose());
        let flow = AuthorizeFlow {
            server,
            now,
            state: State::AwaitInteraction { resume },
        };
        (flow, AuthorizeStep::LoadInteraction(hash))
    }

    /// Feeds the answer to the last step and returns the next one.
    pub fn answer(&mut self, answer: Answer) -> AuthorizeStep {
        let state = std::mem::replace(&mut self.state, State::Finished);
        if let Answer::StoreFailed(e) = answer {
            return match e.kind {
                StoreErrorKind::Unavailable => page(
                    503,
                    ErrorCode::TemporarilyUnavailable,
                    "storage is unavailable; retry later",
                ),
                _ => page(500, ErrorCode::ServerError, "storage failed"),
            };
        }
        match (state, answer) {
            (
                State::AwaitClient {
                    mut params,
                    repeated,
                    session,
                },
                Answer::Client(client),
            ) => self.on_client(client, &mut params, &repeated, session),
            (
                State::AwaitConsent {
                    request,
                    subject,
                    finishing,
                },
                Answer::Consent(consent),
            ) => self.on_consent(request, subject, consent, finishing),
            (State::AwaitInteraction { resume }, Answer::Interaction(record)) => {
                self.on_interaction(resume, record)
            }
            (
                State::AwaitCommit {
                    on_applied,
                    on_conflict,
                },
                Answer::Committed(outcome),
            ) => AuthorizeStep::Done(match outcome {
                CommitOutcome::Applied => on_applied,
                CommitOutcome::Conflict => on_conflict,
            }),
            _ => page(
                500,
                ErrorCode::ServerError,
                "the flow was given an answer to a different step",
            ),
        }
    }

    fn on_client(
        &mut self,
        client: Option<Arc<Client>>,
        params: &mut Params,
        repeated: &[String],
        session: Option<Session>,
    ) -> AuthorizeStep {
        let Some(client) = client else {
            return page(
                400,
                ErrorCode::InvalidRequest,
                "the client is not registered",
            );
        };
        let presented = params.take("redirect_uri");
        let sent = presented.is_some();
        let redirect_uri = match resolve(presented.as_deref(), &client.redirect_uris) {
            RedirectMatch::Matched(u) | RedirectMatch::Defaulted(u) => u,
            RedirectMatch::Missing => {
                return page(
                    400,
                    ErrorCode::InvalidRequest,
                    "redirect_uri is required for this client",
                )
            }
            RedirectMatch::Unregistered => {
                return page(
                    400,
                    ErrorCode::InvalidRequest,
                    "redirect_uri is not registered for this client",
                )
            }
        };
        // OIDC Core §3.1.2.6 / AZ-07: an unsupported response_mode gets no redirect at all.
        if params.get("response_mode").is_some_and(|m| m != "query")
            || repeated.iter().any(|n| n == "response_mode")
        {
            return page(
                400,
                ErrorCode::InvalidRequest,
                "response_mode is not supported",
            );
        }
        let request = match validate(
            self.server,
            &client,
            redirect_uri.clone(),
            sent,
            params,
            repeated,
        ) {
            Ok(r) => r,
            Err((e, state)) => return self.error(&redirect_uri, &e, state.as_deref()),
        };
        // OI-08: the hint must be an ID token we issued to this client; expired is fine.
        let hinted = match params.take("id_token_hint") {
            None => None,
            Some(hint) => match hinted_subject(self.server, &hint, &client.id) {
                Some(sub) => Some(sub),
                None => {
                    return self.error_for(
                        &request,
                        &OAuthError::invalid_request(
                            "id_token_hint is not an ID token this server issued to the client",
                        ),
                    )
                }
            },
        };
        let needs_login = match &session {
            None => true,
            Some(s) => {
                hinted.as_ref().is_some_and(|h| **h != *s.subject.id)
                    || request.prompt.login
                    || request.prompt.select_account
                    || request
                        .max_age
                        .is_some_and(|max| match s.subject.auth_time {
                            // max_age=0 is prompt=login (OIDC Core §3.1.2.1).
                            Some(t) => max == 0 || self.now.secs().saturating_sub(t.secs()) > max,
                            None => true,
                        })
            }
        };
        match session {
            Some(s) if !needs_login => {
                let step = AuthorizeStep::LoadConsent {
                    subject: s.subject.id.to_string(),
                    client: client.id.clone(),
                };
                self.state = State::AwaitConsent {
                    request,
                    subject: s.subject,
                    finishing: None,
                };
                step
            }
            _ if request.prompt.none => self.error_for(
                &request,
                &OAuthError::new(ErrorCode::LoginRequired, "the user is not signed in"),
            ),
            _ => self.interaction(request, InteractionStage::Login, None),
        }
    }

    fn on_consent(
        &mut self,
        request: AuthorizationRequest,
        subject: Subject,
        consent: Option<ConsentRecord>,
        finishing: Option<Finishing>,
    ) -> AuthorizeStep {
        let granted = consent.map(|c| c.scope).unwrap_or_default();
        let needs_consent = request.prompt.consent || !request.scope.is_subset_of(&granted);
        if !needs_consent {
            return self.issue_code(request, subject, None, finishing);
        }
        if request.prompt.none {
            return self.error_for(
                &request,
                &OAuthError::new(
                    ErrorCode::ConsentRequired,
                    "the user has not consented to these scopes",
                ),
            );
        }
        self.interaction_with(
            request,
            InteractionStage::Consent { subject },
            finishing,
            granted,
        )
    }

    fn on_interaction(
        &mut self,
        resume: Resume,
        record: Option<Box<InteractionRecord>>,
    ) -> AuthorizeStep {
        let gone = || {
            page(
                400,
                ErrorCode::InvalidRequest,
                "this sign-in request has expired or was already used",
            )
        };
        let Some(record) = record else {
            return gone();
        };
        if self.now >= record.expires_at {
            return gone();
        }
        let browser_ok = constant_time_eq::constant_time_eq_32(
            &TokenHash::of(resume.browser.expose()).0,
            &record.browser.0,
        );
        let csrf_ok = constant_time_eq::constant_time_eq_32(
            &TokenHash::of(resume.csrf.expose()).0,
            &record.csrf.0,
        );
        if !(browser_ok && csrf_ok) {
            return page(
                403,
                ErrorCode::AccessDenied,
                "the form did not come from the browser that started this request",
            );
        }
        let finishing = Finishing {
            interaction: record.hash,
            browser: record.browser,
        };
        let request = record.request;
        match (record.stage, resume.result) {
            (_, InteractionResult::Denied) => {
                let denial = self.error_outcome(
                    &request,
                    &OAuthError::new(ErrorCode::AccessDenied, "the user denied the request"),
                );
                self.commit(
                    Commit::FinishInteraction {
                        interaction: finishing.interaction,
                        consent: None,
                        next: InteractionNext::Nothing,
                    },
                    denial,
                    already_used(),
                )
            }
            (InteractionStage::Login, InteractionResult::Authenticated(mut subject)) => {
                subject.auth_time.get_or_insert(self.now);
                let step = AuthorizeStep::LoadConsent {
                    subject: subject.id.to_string(),
                    client: request.client_id.clone(),
                };
                self.state = State::AwaitConsent {
                    request,
                    subject,
                    finishing: Some(finishing),
                };
                step
            }
            (InteractionStage::Consent { subject }, InteractionResult::Consented) => {
                let consent = ConsentRecord {
                    subject: subject.id.to_string(),
                    client_id: request.client_id.clone(),
                    scope: request.scope.clone(),
                    granted_at: self.now,
                };
                self.issue_code(request, subject, Some(consent), Some(finishing))
            }
            _ => page(
                400,
                ErrorCode::InvalidRequest,
                "the answer does not fit this step of the sign-in",
            ),
        }
    }

    fn issue_code(
        &mut self,
        request: AuthorizationRequest,
        subject: Subject,
        consent: Option<ConsentRecord>,
        finishing: Option<Finishing>,
    ) -> AuthorizeStep {
        let minted = match self.server.mint_code(CodeGrant {
            client_id: request.client_id.clone(),
            redirect_uri: request.redirect_uri.clone(),
            redirect_uri_sent: request.redirect_uri_sent,
            scope: request.scope.clone(),
            pkce: request.pkce.clone(),
            nonce: request.nonce.clone(),
            subject,
        }) {
            Ok(m) => m,
            Err(_) => {
                return self.error_for(
                    &request,
                    &OAuthError::server_error("the server could not issue a code"),
                )
            }
        };
        let mut params = vec![("code", minted.code.expose())];
        if let Some(s) = &request.state {
            params.push(("state", s));
        }
        params.push(("iss", &self.server.config().issuer));
        let success = AuthorizeOutcome::Redirect(redirect(&request.redirect_uri, &params));
        let commit = match finishing {
            Some(f) => Commit::FinishInteraction {
                interaction: f.interaction,
                consent,
                next: InteractionNext::Code(minted.record),
            },
            None => Commit::StoreCode(minted.record),
        };
        let conflict = if finishing.is_some() {
            already_used()
        } else {
            server_error()
        };
        self.commit(commit, success, conflict)
    }

    fn interaction(
        &mut self,
        request: AuthorizationRequest,
        stage: InteractionStage,
        finishing: Option<Finishing>,
    ) -> AuthorizeStep {
        self.interaction_with(request, stage, finishing, Scope::empty())
    }

    /// Creates the interaction for `stage`; when finishing a previous one, replaces it in
    /// the same commit and keeps its browser binding.
    fn interaction_with(
        &mut self,
        request: AuthorizationRequest,
        stage: InteractionStage,
        finishing: Option<Finishing>,
        already_granted: Scope,
    ) -> AuthorizeStep {
        let random = self.server.random();
        let secrets = (|| {
            let handle = mint_token(TokenKind::Interaction, random)?;
            let csrf = mint_token(TokenKind::Interaction, random)?;
            // A resumed interaction keeps the browser binding it already has.
            let browser = match finishing {
                Some(f) => (f.browser, None),
                None => {
                    let b = mint_token(TokenKind::Interaction, random)?;
                    (b.hash, Some(b.value))
                }
            };
            Ok::<_, crate::random::RandomError>((handle, csrf, browser))
        })();
        let Ok((handle, csrf, (browser_hash, set_browser_cookie))) = secrets else {
            return self.error_for(
                &request,
                &OAuthError::server_error("the server could not start the sign-in"),
            );
        };
        let expires_at = self.now.plus(self.server.config().interaction_ttl);
        let record = InteractionRecord {
            hash: handle.hash,
            browser: browser_hash,
            csrf: csrf.hash,
            request: request.clone(),
            stage: stage.clone(),
            created_at: self.now,
            expires_at,
        };
        let prompt = InteractionPrompt {
            handle: handle.value,
            csrf: csrf.value,
            set_browser_cookie,
            expires_at,
            request,
        };
        let outcome = match stage {
            InteractionStage::Login => AuthorizeOutcome::Login(prompt),
            InteractionStage::Consent { subject } => AuthorizeOutcome::Consent(ConsentPrompt {
                interaction: prompt,
                subject,
                already_granted,
            }),
        };
        let (commit, conflict) = match finishing {
            Some(f) => (
                Commit::FinishInteraction {
                    interaction: f.interaction,
                    consent: None,
                    next: InteractionNext::Interaction(Box::new(record)),
                },
                already_used(),
            ),
            None => (Commit::StoreInteraction(Box::new(record)), server_error()),
        };
        self.commit(commit, outcome, conflict)
    }

    fn commit(
        &mut self,
        commit: Commit,
        on_applied: AuthorizeOutcome,
        on_conflict: AuthorizeOutcome,
    ) -> AuthorizeStep {
        self.state = State::AwaitCommit {
            on_applied,
            on_conflict,
        };
        AuthorizeStep::Commit(commit)
    }

    fn error_outcome(&self, request: &AuthorizationRequest, e: &OAuthError) -> AuthorizeOutcome {
        AuthorizeOutcome::Redirect(error_redirect(
            &request.redirect_uri,
            e,
            request.state.as_deref(),
            &self.server.config().issuer,
        ))
    }

    fn error_for(&self, request: &AuthorizationRequest, e: &OAuthError) -> AuthorizeStep {
        AuthorizeStep::Done(self.error_outcome(request, e))
    }

    fn error(&self, redirect_uri: &str, e: &OAuthError, state: Option<&str>) -> AuthorizeStep {
        AuthorizeStep::Done(AuthorizeOutcome::Redirect(error_redirect(
            redirect_uri,
            e,
            state,
            &self.server.config().issuer,
        )))
    }
}

/// The `sub` of an ID token this server signed for `client` (signature, `iss` and `aud`
/// checked; `exp` deliberately not, OIDC Core §3.1.2.1).
fn hinted_subject(server: &Server, hint: &str, client: &ClientId) -> Option<String> {
    let allowed = [
        crate::jose::Algorithm::Es256,
        crate::jose::Algorithm::EdDsa,
        crate::jose::Algorithm::Rs256,
        crate::jose::Algorithm::Ps256,
    ];
    let claims = server.keys().verify(hint, &allowed, 8 * 1024).ok()?;
    if claims.get("iss").and_then(|v| v.as_str()) != Some(server.config().issuer.as_str()) {
        return None;
    }
    let aud_ok = match claims.get("aud") {
        Some(serde_json::Value::String(a)) => a == client.as_str(),
        Some(serde_json::Value::Array(list)) => {
            list.iter().any(|a| a.as_str() == Some(client.as_str()))
        }
        _ => false,
    };
    if !aud_ok {
        return None;
    }
    claims
        .get("sub")
        .and_then(|v| v.as_str())
        .map(str::to_string)
}

fn already_used() -> AuthorizeOutcome {
    AuthorizeOutcome::ErrorPage(ErrorPage::new(
        400,
        ErrorCode::InvalidRequest,
        "this sign-in request has expired or was already used",
    ))
}

fn server_error() -> AuthorizeOutcome {
    AuthorizeOutcome::ErrorPage(ErrorPage::new(
        500,
        ErrorCode::ServerError,
        "the server could not store the request",
    ))
}
