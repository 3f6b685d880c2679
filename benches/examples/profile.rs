//! A fixed workload for instruction-level profiling (`valgrind --tool=callgrind`): instruction
//! counts are repeatable on a noisy machine where timings are not.
//!
//! ```sh
//! cargo build --release -p tollgate-benches --example profile
//! valgrind --tool=callgrind target/release/examples/profile refresh 20000
//! ```
//!
//! Scenarios: `refresh` (grace 30 s, opaque), `refresh_grace0`, `refresh_jwt` (ES256 access
//! token), `code` (authorization code + PKCE).

use std::time::Duration;

use tollgate::NoPasswordUsers;
use tollgate_benches::{
    assert_ok, code_request, Fixture, RefreshChain, CONSENTED_SCOPE, JWT_WEB_ID, WEB_ID,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let scenario = args.next().unwrap_or_else(|| "refresh".to_string());
    let n: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(20_000);
    match scenario.as_str() {
        "refresh" | "refresh_grace0" | "refresh_jwt" => {
            let grace = if scenario == "refresh_grace0" {
                Duration::ZERO
            } else {
                Duration::from_secs(30)
            };
            let client = if scenario == "refresh_jwt" {
                JWT_WEB_ID
            } else {
                WEB_ID
            };
            let fx = Fixture::new(grace);
            let mut chain = RefreshChain::warmed(&fx, client, CONSENTED_SCOPE);
            let t = chain.run(n);
            eprintln!("{scenario}: {:?} per request", t / n as u32);
        }
        "code" => {
            let fx = Fixture::new(Duration::from_secs(30));
            let store = fx.store();
            let mut total = Duration::ZERO;
            for i in 0..n {
                if i % 10_000 == 9_999 {
                    fx.purge_all(&store);
                }
                let code = fx.stored_code(&store, WEB_ID);
                let request = code_request(WEB_ID, &code);
                let t0 = std::time::Instant::now();
                let response = fx.server.token(&request, &store, &NoPasswordUsers);
                total += t0.elapsed();
                assert_ok(&response);
            }
            eprintln!("code: {:?} per request", total / n as u32);
        }
        other => {
            eprintln!("unknown scenario {other}");
            std::process::exit(2);
        }
    }
}
