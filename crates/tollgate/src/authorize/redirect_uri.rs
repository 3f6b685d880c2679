//! Redirect-URI matching (RFC 6749 §3.1.2.3; RFC 9700 §2.1, §4.1.3; RFC 8252 §7.3).
//!
//! A presented redirect URI must equal a registered one by simple string comparison
//! (RU-01): no normalisation of case, trailing slash, default port or dot segments. The one
//! exception is loopback: a registered `http://127.0.0.1/…` or `http://[::1]/…` matches the
//! same URI with any port (RU-04), because native apps get an ephemeral port from the OS.
//! `localhost` gets no such exception: it is a name, not the loopback literal.

/// What the presented `redirect_uri` resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedirectMatch {
    /// It matches a registration; use this exact value.
    Matched(String),
    /// Omitted, and exactly one URI is registered: use that one.
    Defaulted(String),
    /// Omitted while several are registered (RU-03).
    Missing,
    /// Not registered (RU-01, RU-02).
    Unregistered,
}

/// Resolves `presented` against `registered`.
#[must_use]
pub fn resolve(presented: Option<&str>, registered: &[String]) -> RedirectMatch {
    match presented {
        None => match registered {
            [only] => RedirectMatch::Defaulted(only.clone()),
            _ => RedirectMatch::Missing,
        },
        Some(p) => {
            if registered.iter().any(|r| r == p || loopback_match(r, p)) {
                RedirectMatch::Matched(p.to_string())
            } else {
                RedirectMatch::Unregistered
            }
        }
    }
}

/// `registered` is a port-less `http` loopback-literal URI and `presented` is the same with
/// a port inserted.
fn loopback_match(registered: &str, presented: &str) -> bool {
    for host in ["http://127.0.0.1", "http://[::1]"] {
        let (Some(reg_rest), Some(pre_rest)) =
            (registered.strip_prefix(host), presented.strip_prefix(host))
        else {
            continue;
        };
        if reg_rest.starts_with(':') {
            // A registration with an explicit port is matched exactly.
            return false;
        }
        let Some(after_colon) = pre_rest.strip_prefix(':') else {
            return false;
        };
        let digits = after_colon.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 5 {
            return false;
        }
        let port_ok = after_colon[..digits].parse::<u16>().is_ok_and(|p| p != 0);
        return port_ok && &after_colon[digits..] == reg_rest;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn ru_01_exact_string_comparison() {
        let r = reg(&["https://rp.test/cb"]);
        assert_eq!(
            resolve(Some("https://rp.test/cb"), &r),
            RedirectMatch::Matched("https://rp.test/cb".into())
        );
        for bad in [
            "https://rp.test/cb/",
            "https://rp.test/CB",
            "https://RP.test/cb",
            "https://rp.test/cb?x=1",
            "https://rp.test/cb#f",
            "https://rp.test:443/cb",
            "https://rp.test/cb/../cb",
            "http://rp.test/cb",
            "https://rp.test.evil/cb",
        ] {
            assert_eq!(resolve(Some(bad), &r), RedirectMatch::Unregistered, "{bad}");
        }
    }

    #[test]
    fn ru_03_omitted_uri() {
        assert_eq!(
            resolve(None, &reg(&["https://a/cb"])),
            RedirectMatch::Defaulted("https://a/cb".into())
        );
        assert_eq!(
            resolve(None, &reg(&["https://a/1", "https://a/2"])),
            RedirectMatch::Missing
        );
        assert_eq!(resolve(None, &[]), RedirectMatch::Missing);
    }

    #[test]
    fn ru_04_loopback_any_port() {
        let r = reg(&["http://127.0.0.1/cb", "http://[::1]/cb"]);
        assert!(matches!(
            resolve(Some("http://127.0.0.1:51004/cb"), &r),
            RedirectMatch::Matched(_)
        ));
        assert!(matches!(
            resolve(Some("http://[::1]:8080/cb"), &r),
            RedirectMatch::Matched(_)
        ));
        assert!(matches!(
            resolve(Some("http://127.0.0.1/cb"), &r),
            RedirectMatch::Matched(_)
        ));
        for bad in [
            "http://127.0.0.1:51004/other",
            "http://localhost:51004/cb",
            "http://127.0.0.1:/cb",
            "http://127.0.0.1:0/cb",
            "http://127.0.0.1:99999/cb",
            "http://127.0.0.1:80x/cb",
            "http://127.0.0.1.evil:80/cb",
        ] {
            assert_eq!(resolve(Some(bad), &r), RedirectMatch::Unregistered, "{bad}");
        }
    }
}
