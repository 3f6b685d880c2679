//! Parsing is total: no byte string — as a form body, a query, an `Authorization` header or
//! a whole token request — panics the core, and every answer is a well-formed response.

use proptest::prelude::*;
use tollgate::form::{FormLimits, Params};
use tollgate::{Method, Request};
use tollgate_conformance_tests::Harness;

fn form_like() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"grant_type=".to_vec()),
        Just(b"refresh_token".to_vec()),
        Just(b"client_credentials".to_vec()),
        Just(b"authorization_code".to_vec()),
        Just(b"&".to_vec()),
        Just(b"=".to_vec()),
        Just(b"%".to_vec()),
        Just(b"%FF".to_vec()),
        Just(b"+".to_vec()),
        Just(b"client_id=C1".to_vec()),
        Just(b"scope=".to_vec()),
        Just(b"code=".to_vec()),
        prop::collection::vec(any::<u8>(), 0..8),
    ];
    prop::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, rng_seed: proptest::test_runner::RngSeed::Fixed(0x7011_6a7e), ..ProptestConfig::default() })]

    #[test]
    fn form_parsing_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = Params::parse(&bytes, FormLimits::default());
    }

    #[test]
    fn structured_form_parsing_never_panics_and_keeps_rfc_semantics(bytes in form_like()) {
        if let Ok(p) = Params::parse(&bytes, FormLimits::default()) {
            prop_assert!(p.len() <= FormLimits::default().max_params);
        }
    }

    #[test]
    fn whole_token_requests_never_panic(
        body in form_like(),
        auth in proptest::option::of(prop::collection::vec(any::<u8>(), 0..64)),
        query in prop::collection::vec(any::<u8>(), 0..32),
        post in any::<bool>(),
    ) {
        let h = Harness::new();
        let mut req = Request::form_post(body);
        if let Some(a) = auth {
            req = req.with_header("Authorization", &String::from_utf8_lossy(&a));
        }
        req.query = String::from_utf8_lossy(&query).into_owned();
        if !post {
            req.method = Method::Get;
        }
        let r = h.send(&req);
        prop_assert!(matches!(r.status(), 200 | 400 | 401 | 405), "status {}", r.status());
        prop_assert!(r.json.is_object(), "body is a JSON object");
        prop_assert_eq!(r.header("cache-control"), Some("no-store"));
    }
}
