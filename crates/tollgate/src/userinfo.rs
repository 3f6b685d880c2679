//! The UserInfo endpoint (OIDC Core §5.3) as a sans-IO flow, with bearer-token handling per
//! RFC 6750: the token comes from `Authorization: Bearer` or, for a form `POST`, the
//! `access_token` parameter (§2.1, §2.2), never both. No token: `401` with a bare `Bearer`
//! challenge (§3.1); an inactive token: `401 invalid_token`; a token without `openid`:
//! `403 insufficient_scope`. The claims come from the host's [`ClaimsSource`], filtered by
//! the token's scope (OIDC Core §5.4).
//!
//! [`ClaimsSource`]: crate::claims::ClaimsSource

use crate::claims::{filter_claims, ClaimsRequest};
use crate::clock::UnixTime;
use crate::error::{Error, OAuthError};
use crate::form::Params;
use crate::http::{HeaderValue, Method, Request, Response};
use crate::scope::{Scope, OPENID};
use crate::server::Server;
use crate::token_flow::{is_form, store_failed, Answer, Flow, Step};

enum State {
    AwaitToken,
    AwaitClaims { subject: String, scope: Scope },
    Finished,
}

/// One UserInfo request in progress.
pub struct UserInfoFlow {
    now: UnixTime,
    state: State,
    failure: Option<Error>,
}

/// A `WWW-Authenticate: Bearer` error response (RFC 6750 §3).
fn bearer_error(status: u16, error: Option<&'static str>, description: &'static str) -> Response {
    let mut r = match error {
        Some(code) => {
            let mut body = Vec::new();
            body.extend_from_slice(b"{\"error\":\"");
            body.extend_from_slice(code.as_bytes());
            body.extend_from_slice(b"\",\"error_description\":\"");
            body.extend_from_slice(description.as_bytes());
            body.extend_from_slice(b"\"}");
            Response::json(status, body)
        }
        None => Response::json(status, b"{}".to_vec()),
    };
    r.status = status;
    let challenge = match error {
        Some(code) => format!("Bearer error=\"{code}\", error_description=\"{description}\""),
        None => "Bearer".to_string(),
    };
    r.headers.push(("WWW-Authenticate", challenge.into()));
    r
}

/// Extracts the bearer token from the header or, for a form POST, the body.
fn bearer_token(server: &Server, request: &Request) -> Result<Option<String>, Response> {
    let header = match request.single_header("authorization") {
        HeaderValue::Absent => None,
        HeaderValue::Present(v) => {
            let (scheme, token) = v.trim().split_once(' ').unwrap_or((v, ""));
            if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
                return Err(bearer_error(
                    401,
                    Some("invalid_request"),
                    "the Authorization header is not a Bearer token",
                ));
            }
            Some(token.trim().to_string())
        }
        HeaderValue::Repeated => {
            return Err(bearer_error(
                400,
                Some("invalid_request"),
                "the Authorization header was repeated",
            ))
        }
    };
    let body = match (request.method, request.single_header("content-type")) {
        (Method::Post, HeaderValue::Present(ct)) if is_form(ct) => {
            let mut p = Params::parse(&request.body, server.config().form_limits)
                .map_err(|e| e.to_response())?;
            p.take("access_token")
        }
        _ => None,
    };
    match (header, body) {
        (Some(_), Some(_)) => Err(bearer_error(
            400,
            Some("invalid_request"),
            "the token was sent more than one way",
        )),
        (h, b) => Ok(h.or(b)),
    }
}

impl UserInfoFlow {
    pub(crate) fn start(server: &Server, request: &Request, now: UnixTime) -> (Self, Step) {
        let mut flow = UserInfoFlow {
            now,
            state: State::Finished,
            failure: None,
        };
        if !matches!(request.method, Method::Get | Method::Post) {
            let mut r = OAuthError::method_not_allowed("GET, POST").to_response();
            r.body = br#"{"error":"invalid_request","error_description":"the endpoint accepts only GET and POST"}"#.to_vec();
            return (flow, Step::Done(r));
        }
        let step = match bearer_token(server, request) {
            Err(r) => Step::Done(r),
            Ok(None) => Step::Done(bearer_error(401, None, "")),
            Ok(Some(token)) => {
                flow.state = State::AwaitToken;
                Step::LoadAccessToken(server.access_token_key(&token))
            }
        };
        (flow, step)
    }
}

impl Flow for UserInfoFlow {
    fn take_failure(&mut self) -> Option<Error> {
        self.failure.take()
    }

    fn answer(&mut self, answer: Answer) -> Step {
        let state = std::mem::replace(&mut self.state, State::Finished);
        if let Answer::StoreFailed(e) = answer {
            return store_failed(&mut self.failure, e);
        }
        let invalid = || {
            Step::Done(bearer_error(
                401,
                Some("invalid_token"),
                "the access token is invalid or expired",
            ))
        };
        match (state, answer) {
            (State::AwaitToken, Answer::AccessToken(view)) => {
                let Some(v) = view.filter(|v| v.is_active(self.now)) else {
                    return invalid();
                };
                if !v.token.scope.contains(OPENID) {
                    return Step::Done(bearer_error(
                        403,
                        Some("insufficient_scope"),
                        "the access token lacks the openid scope",
                    ));
                }
                let Some(subject) = &v.token.subject else {
                    return invalid();
                };
                let subject = subject.to_string();
                let request = ClaimsRequest {
                    subject: subject.clone(),
                    scope: v.token.scope.clone(),
                };
                self.state = State::AwaitClaims {
                    subject,
                    scope: v.token.scope.clone(),
                };
                Step::LoadClaims(request)
            }
            (State::AwaitClaims { subject, scope }, Answer::Claims(claims)) => match claims {
                None => invalid(),
                Some(all) => {
                    let body = serde_json::to_vec(&filter_claims(&subject, &scope, &all))
                        .unwrap_or_default();
                    Step::Done(Response::json(200, body))
                }
            },
            _ => Step::Done(
                OAuthError::server_error("the flow was given an answer to a different step")
                    .to_response(),
            ),
        }
    }
}
