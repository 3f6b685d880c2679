//! Cross-origin requests (CORS) for the endpoints a browser application calls with
//! `fetch`: the token endpoint, revocation, UserInfo, the JWKS and both metadata documents
//! (OAuth 2.1 and OIDC Discovery §3 recommend it; RFC 7009 §5 allows it for revocation).
//! Never on `/authorize` (AZ-11: it is navigated to, not fetched, and must not be readable
//! cross-origin), on introspection (a resource server's back channel), or on the sign-in
//! and consent pages.
//!
//! `cors_origins` lists the origins allowed; `"*"` answers `Access-Control-Allow-Origin: *`
//! on the public documents (JWKS, metadata) only — token, revocation and UserInfo always
//! need the caller's exact origin listed. No credentials mode: nothing on these endpoints
//! uses cookies.
//!
//! The decision is plain data in, plain data out ([`Cors::decide`]); the hyper and actix
//! layers in `lib.rs` only carry it out, so the adapters stay free of it.

use tollgate::Response;
use tollgate_hyper::{Endpoint, Routes};

/// What `cors_origins` allows, validated.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CorsOrigins {
    /// Exact origins (`https://app.example`), lower-case.
    pub exact: Vec<String>,
    /// `"*"` was listed: every origin may read the JWKS and the metadata documents.
    pub any_for_metadata: bool,
}

/// What to do with one request.
#[derive(Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not a CORS matter (or not allowed): hand the request on unchanged.
    Pass,
    /// A preflight the layer answers itself (`204`), for this endpoint.
    Preflight(Response, Endpoint),
    /// Hand the request on, then add these headers to the response.
    AddHeaders(Vec<(&'static str, std::borrow::Cow<'static, str>)>),
}

/// The request headers a preflight may ask for: client authentication and the form body.
pub const ALLOW_HEADERS: &str = "Authorization, Content-Type";
/// How long a browser may cache a preflight answer, in seconds.
pub const MAX_AGE: &str = "600";

/// The CORS policy of one server.
#[derive(Clone, Debug)]
pub struct Cors {
    origins: CorsOrigins,
    routes: Routes,
}

enum Class {
    /// Token, revocation, UserInfo: exact origins only.
    Api,
    /// JWKS and metadata: exact origins, or every origin with `"*"`.
    Public,
}

impl Cors {
    /// The policy for `origins` over the endpoints mounted at `routes`.
    #[must_use]
    pub fn new(origins: CorsOrigins, routes: Routes) -> Cors {
        Cors { origins, routes }
    }

    /// Whether any CORS header can ever be sent.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.origins.any_for_metadata || !self.origins.exact.is_empty()
    }

    fn class(endpoint: Endpoint) -> Option<Class> {
        match endpoint {
            Endpoint::Token | Endpoint::Revoke | Endpoint::UserInfo => Some(Class::Api),
            Endpoint::Jwks
            | Endpoint::OpenIdConfiguration
            | Endpoint::AuthorizationServerMetadata => Some(Class::Public),
            // `/authorize` (AZ-11), introspection, and anything added later: never.
            _ => None,
        }
    }

    /// The `Access-Control-Allow-Origin` value for `origin` at an endpoint of `class`.
    fn allow_origin(&self, class: &Class, origin: &str) -> Option<String> {
        if matches!(class, Class::Public) && self.origins.any_for_metadata {
            return Some("*".into());
        }
        let lower = origin.to_ascii_lowercase();
        self.origins
            .exact
            .contains(&lower)
            .then(|| origin.to_string())
    }

    /// Whether responses at `class` vary by `Origin` (an exact origin may be echoed).
    fn varies(&self, class: &Class) -> bool {
        let star = matches!(class, Class::Public) && self.origins.any_for_metadata;
        !(star || self.origins.exact.is_empty())
    }

    /// Decides for a request with `method` at `path`, its `Origin` header and, for a
    /// preflight, its `Access-Control-Request-Method`.
    #[must_use]
    pub fn decide(
        &self,
        method: &str,
        path: &str,
        origin: Option<&str>,
        request_method: Option<&str>,
    ) -> Decision {
        if !self.enabled() {
            return Decision::Pass;
        }
        let Some(endpoint) = self.routes.find(path) else {
            return Decision::Pass;
        };
        let Some(class) = Cors::class(endpoint) else {
            return Decision::Pass;
        };
        let vary = self.varies(&class);
        let allowed = origin.and_then(|o| self.allow_origin(&class, o));
        if method == "OPTIONS" {
            // A preflight from an allowed origin for a method the endpoint takes; anything
            // else goes on to the adapter (`405`, without CORS headers: the browser stops).
            return match (allowed, request_method) {
                (Some(allow), Some(m)) if endpoint.accepts(m) => {
                    let mut headers: Vec<(&'static str, std::borrow::Cow<'static, str>)> = vec![
                        ("Access-Control-Allow-Origin", allow.into()),
                        ("Access-Control-Allow-Methods", endpoint.allow().into()),
                        ("Access-Control-Allow-Headers", ALLOW_HEADERS.into()),
                        ("Access-Control-Max-Age", MAX_AGE.to_string().into()),
                    ];
                    if vary {
                        headers.push(("Vary", "Origin".into()));
                    }
                    let response = Response {
                        status: 204,
                        headers,
                        body: Vec::new(),
                    };
                    Decision::Preflight(response, endpoint)
                }
                _ => Decision::Pass,
            };
        }
        let mut headers: Vec<(&'static str, std::borrow::Cow<'static, str>)> = Vec::new();
        if let Some(allow) = allowed {
            headers.push(("Access-Control-Allow-Origin", allow.into()));
            if matches!(class, Class::Api) {
                // Bearer and Basic challenges (RFC 6750 §3) are readable by the script.
                headers.push(("Access-Control-Expose-Headers", "WWW-Authenticate".into()));
            }
        }
        if vary {
            // Also without an allowed origin: a cache must not hand this answer to another.
            headers.push(("Vary", "Origin".into()));
        }
        if headers.is_empty() {
            Decision::Pass
        } else {
            Decision::AddHeaders(headers)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tollgate::discovery::EndpointPaths;

    fn cors(exact: &[&str], any: bool) -> Cors {
        Cors::new(
            CorsOrigins {
                exact: exact.iter().map(|s| (*s).to_string()).collect(),
                any_for_metadata: any,
            },
            Routes::new("", &EndpointPaths::default()),
        )
    }

    fn header<'a>(d: &'a Decision, name: &str) -> Option<&'a str> {
        let headers = match d {
            Decision::Preflight(r, _) => &r.headers,
            Decision::AddHeaders(h) => h,
            Decision::Pass => return None,
        };
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }

    #[test]
    fn listed_origins_reach_the_token_endpoint_and_nothing_reaches_authorize() {
        let c = cors(&["https://app.test"], false);
        let d = c.decide("OPTIONS", "/token", Some("https://app.test"), Some("POST"));
        assert!(matches!(d, Decision::Preflight(ref r, Endpoint::Token) if r.status == 204));
        assert_eq!(
            header(&d, "access-control-allow-origin"),
            Some("https://app.test")
        );
        assert_eq!(header(&d, "access-control-allow-methods"), Some("POST"));
        // A method the endpoint does not take, an unlisted origin, /authorize: no.
        for (method, path, origin, wants) in [
            ("OPTIONS", "/token", "https://app.test", "GET"),
            ("OPTIONS", "/token", "https://evil.test", "POST"),
            ("OPTIONS", "/authorize", "https://app.test", "GET"),
            ("OPTIONS", "/introspect", "https://app.test", "POST"),
        ] {
            assert_eq!(
                c.decide(method, path, Some(origin), Some(wants)),
                Decision::Pass
            );
        }
        assert_eq!(
            c.decide("GET", "/authorize", Some("https://app.test"), None),
            Decision::Pass
        );
        let d = c.decide("POST", "/token", Some("https://APP.test"), None);
        assert_eq!(
            header(&d, "access-control-allow-origin"),
            Some("https://APP.test")
        );
        let d = c.decide("POST", "/token", Some("https://evil.test"), None);
        assert_eq!(header(&d, "access-control-allow-origin"), None);
        assert_eq!(header(&d, "vary"), Some("Origin"));
    }

    #[test]
    fn a_star_opens_only_the_public_documents() {
        let c = cors(&[], true);
        let d = c.decide("GET", "/jwks", Some("https://any.test"), None);
        assert_eq!(header(&d, "access-control-allow-origin"), Some("*"));
        assert_eq!(header(&d, "vary"), None);
        let d = c.decide("GET", "/.well-known/openid-configuration", None, None);
        assert_eq!(d, Decision::Pass, "no Origin, nothing to add");
        assert_eq!(
            c.decide("POST", "/token", Some("https://any.test"), None),
            Decision::Pass
        );
        assert_eq!(
            c.decide(
                "OPTIONS",
                "/userinfo",
                Some("https://any.test"),
                Some("GET")
            ),
            Decision::Pass
        );
        assert_eq!(
            cors(&[], false).decide("GET", "/jwks", Some("https://a.test"), None),
            Decision::Pass
        );
    }
}
