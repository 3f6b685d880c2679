//! Writing the JSON objects of the hot paths — the RFC 6749 §5.1 token response and the
//! RFC 9068 access-token claims — straight into a byte buffer.
//!
//! The bytes are exactly what `serde_json` writes for the same members in the same order
//! (tested below); what is saved is serde's per-member machinery and its escaping scan on
//! strings that need none (tokens, scopes, URLs without quotes or controls).

/// A string member's value, and whether it is known to need no escaping.
#[derive(Clone, Copy, Debug)]
pub(crate) enum JsonStr<'a> {
    /// Made by this server from characters JSON writes as they are: a token (its ASCII
    /// prefix and base64url), a JWS compact serialisation (base64url and `.`), a
    /// [`Scope`](crate::scope::Scope)'s text (RFC 6749 §3.3 leaves out `"`, `\\` and
    /// controls). Copied without the escape scan — on a JWT access token that scan was
    /// about a tenth of a refresh's work outside the signature.
    Plain(&'a str),
    /// Anything else: scanned, and escaped if it needs it.
    Text(&'a str),
}

impl JsonStr<'_> {
    pub(crate) fn len(self) -> usize {
        match self {
            JsonStr::Plain(s) | JsonStr::Text(s) => s.len(),
        }
    }
}

/// A JSON object being written: `{` on creation, `}` on [`JsonObject::finish`].
pub(crate) struct JsonObject {
    out: Vec<u8>,
    first: bool,
}

impl JsonObject {
    /// Starts an object in a buffer with room for `capacity` bytes.
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        let mut out = Vec::with_capacity(capacity);
        out.push(b'{');
        JsonObject { out, first: true }
    }

    /// Member names are the code's own literals, never escaped: written as they are.
    fn key(&mut self, name: &'static str) {
        debug_assert!(name
            .bytes()
            .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\'));
        self.out.reserve(name.len() + 4);
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(name.as_bytes());
        self.out.extend_from_slice(b"\":");
    }

    /// Members rendered ahead of time (`"a":"x","b":1`, from [`JsonObject::members_of`]),
    /// appended as they are.
    pub(crate) fn members(&mut self, rendered: &[u8]) -> &mut Self {
        if rendered.is_empty() {
            return self;
        }
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.extend_from_slice(rendered);
        self
    }

    /// The members written so far, without the braces: for [`JsonObject::members`].
    pub(crate) fn members_of(self) -> Vec<u8> {
        let mut out = self.out;
        out.remove(0);
        out
    }

    /// A string member.
    pub(crate) fn str(&mut self, name: &'static str, value: &str) -> &mut Self {
        self.key(name);
        string(&mut self.out, value);
        self
    }

    /// A string member whose value may be [`JsonStr::Plain`].
    pub(crate) fn json_str(&mut self, name: &'static str, value: JsonStr<'_>) -> &mut Self {
        match value {
            JsonStr::Text(s) => self.str(name, s),
            JsonStr::Plain(s) => {
                debug_assert!(needs_no_escape(s.as_bytes()), "{name} is not plain");
                self.key(name);
                quoted(&mut self.out, s);
                self
            }
        }
    }

    /// An unsigned integer member.
    pub(crate) fn u64(&mut self, name: &'static str, value: u64) -> &mut Self {
        self.key(name);
        push_u64(&mut self.out, value);
        self
    }

    /// Closes the object and returns its bytes.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// Appends `s` as a JSON string: copied as is when nothing needs escaping (the common case),
/// else through `serde_json`.
fn string(out: &mut Vec<u8>, s: &str) {
    if needs_no_escape(s.as_bytes()) {
        quoted(out, s);
    } else {
        // Serialising a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Appends `s`, which needs no escaping, between quotes.
fn quoted(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

/// Whether `s` holds only printable ASCII other than `"` and `\\` — what JSON writes as it
/// is. Eight bytes at a time (the classic "has a zero byte" word tests): a byte-wise scan cost
/// about five instructions a byte, and these strings (tokens, scopes) are too short for the
/// compiler's vectorised loop to start.
fn needs_no_escape(s: &[u8]) -> bool {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_le_bytes([0x80; 8]);
    // Non-zero iff some byte of `w` is zero.
    let zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let mut words = s.chunks_exact(8);
    let mut bad = 0u64;
    for word in &mut words {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let w = u64::from_le_bytes(w);
        bad |= (w & HIGH) // ≥ 0x80
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGH) // < 0x20
            | zero_byte(w ^ (ONES * 0x7f))
            | zero_byte(w ^ (ONES * u64::from(b'"')))
            | zero_byte(w ^ (ONES * u64::from(b'\\')));
    }
    bad == 0
        && words
            .remainder()
            .iter()
            .all(|&b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// Appends `n` in decimal.
fn push_u64(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::JsonObject;

    /// The written object is byte for byte what serde_json writes (TK-01, AT-01).
    #[test]
    fn objects_match_serde_json() {
        let strings = [
            "tga_abc-_09",
            "",
            "with \"quote\" and \\ backslash",
            "ctl\u{1}\n\t",
            "dél\u{7f}",
            "https://auth.example.com/a?b=c",
            "api:read email offline_access openid",
        ];
        for s in strings {
            for n in [0u64, 7, 10, 3600, 86_400, u64::MAX] {
                let mut ours = JsonObject::with_capacity(8);
                ours.str("a", s).u64("n", n).str("access_token", s);
                let theirs = serde_json::to_vec(&serde_json::json!({})).unwrap();
                assert_eq!(theirs, b"{}");
                let mut expected = b"{\"a\":".to_vec();
                expected.extend(serde_json::to_vec(s).unwrap());
                expected.extend(format!(",\"n\":{n},\"access_token\":").into_bytes());
                expected.extend(serde_json::to_vec(s).unwrap());
                expected.push(b'}');
                assert_eq!(ours.finish(), expected, "{s:?} {n}");
            }
        }
        assert_eq!(JsonObject::with_capacity(0).finish(), b"{}");
    }

    /// A plain value is written exactly as the scanned path writes it, so a response built
    /// either way has the same bytes (a grace-window rebuild scans what the rotation did not).
    #[test]
    fn plain_and_scanned_values_write_the_same_bytes() {
        use super::JsonStr;
        for s in [
            "tga_abc-_09",
            "",
            "api:read email offline_access openid",
            "a.b.c",
        ] {
            let mut plain = JsonObject::with_capacity(0);
            plain.json_str("v", JsonStr::Plain(s)).u64("n", 1);
            let mut text = JsonObject::with_capacity(0);
            text.json_str("v", JsonStr::Text(s)).u64("n", 1);
            let mut str = JsonObject::with_capacity(0);
            str.str("v", s).u64("n", 1);
            let plain = plain.finish();
            assert_eq!(plain, text.finish());
            assert_eq!(plain, str.finish());
        }
    }

    /// The word-at-a-time scan agrees with the byte rule for every byte value at every
    /// position of strings up to three words long, among plain neighbours and among bytes
    /// that sit next to each boundary the word tests use.
    #[test]
    fn the_escape_scan_agrees_with_the_byte_rule() {
        let plain = |b: u8| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\';
        for fill in [
            b'a', b' ', b'~', b'!', b'#', b'[', b']', 0x1f, 0x7f, 0x80, 0xff, 0,
        ] {
            for len in 0..=24 {
                for pos in 0..len {
                    for byte in 0..=255u8 {
                        let mut s = vec![fill; len];
                        s[pos] = byte;
                        let expected = s.iter().all(|&b| plain(b));
                        assert_eq!(
                            super::needs_no_escape(&s),
                            expected,
                            "{s:?} (byte {byte:#x} at {pos} among {fill:#x})"
                        );
                    }
                }
            }
        }
    }
}
