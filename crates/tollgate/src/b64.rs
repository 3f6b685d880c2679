//! Base64 for the whole core (RFC 4648): the unpadded URL-safe alphabet (§5) of tokens, JWS
//! parts (RFC 7515 §2), `at_hash` and PKCE S256 (RFC 7636 §4.2), and the padded standard
//! alphabet (§4) of HTTP Basic credentials (RFC 7617 §2, RFC 6749 §2.3.1).
//!
//! One implementation, `base64-simd`: every token request decodes a Basic header and a
//! refresh token and encodes two new tokens, and on those short values it takes about half
//! the time of the `base64` crate. Decoding is strict — non-zero trailing bits, stray or
//! missing padding and whitespace are refused — so every value has one accepted encoding.
//! Nothing here panics on input: a value that would not fit the caller's buffer is refused.

use base64_simd::{Base64, Out, STANDARD, URL_SAFE_NO_PAD};

/// `bytes` as unpadded base64url.
#[must_use]
pub(crate) fn url_encode(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode_to_string(bytes)
}

/// Appends `bytes` as unpadded base64url to `out`.
pub(crate) fn url_encode_append(bytes: &[u8], out: &mut String) {
    URL_SAFE_NO_PAD.encode_append(bytes, out);
}

/// `bytes` as unpadded base64url written into `buf`; `None` when it does not fit.
#[must_use]
pub(crate) fn url_encode_into<'b>(bytes: &[u8], buf: &'b mut [u8]) -> Option<&'b str> {
    let n = URL_SAFE_NO_PAD.encoded_length(bytes.len());
    let buf = buf.get_mut(..n)?;
    Some(&*URL_SAFE_NO_PAD.encode_as_str(bytes, Out::from_slice(buf)))
}

/// The bytes of an unpadded base64url value; `None` when it is not one.
#[must_use]
pub(crate) fn url_decode(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode_to_vec(text).ok()
}

/// An unpadded base64url value decoded into `buf`; `None` when it is not one or its bytes
/// do not fit.
#[must_use]
pub(crate) fn url_decode_into<'b>(text: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    decode_into(&URL_SAFE_NO_PAD, text, buf)
}

/// A padded standard base64 value decoded into `buf`; `None` when it is not one or its
/// bytes do not fit.
#[must_use]
pub(crate) fn std_decode_into<'b>(text: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    decode_into(&STANDARD, text, buf)
}

/// The bytes of a padded standard base64 value; `None` when it is not one.
#[must_use]
pub(crate) fn std_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode_to_vec(text).ok()
}

fn decode_into<'b>(codec: &Base64, text: &str, buf: &'b mut [u8]) -> Option<&'b [u8]> {
    let text = text.as_bytes();
    // `decode` panics on a short buffer: size it exactly (an invalid length fails here).
    let n = codec.decoded_length(text).ok()?;
    let buf = buf.get_mut(..n)?;
    codec
        .decode(text, Out::from_slice(buf))
        .ok()
        .map(|decoded| &*decoded)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use proptest::prelude::*;

    /// RFC 4648 §10 test vectors, in both alphabets.
    #[test]
    fn rfc_4648_vectors() {
        let vectors = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, padded) in vectors {
            let unpadded = padded.trim_end_matches('=');
            assert_eq!(url_encode(plain.as_bytes()), unpadded);
            assert_eq!(url_decode(unpadded).as_deref(), Some(plain.as_bytes()));
            assert_eq!(std_decode(padded).as_deref(), Some(plain.as_bytes()));
            let mut buf = [0u8; 8];
            assert_eq!(std_decode_into(padded, &mut buf), Some(plain.as_bytes()));
        }
    }

    /// Non-canonical trailing bits, padding where none belongs (or missing where it does),
    /// whitespace and the other alphabet's characters are all refused.
    #[test]
    fn decoding_is_strict() {
        for bad in [
            "QR", "A", "QUJ", "QUI=", "QUJD RA", "QUJD\nRA", "a+b/", "Zg==", "=",
        ] {
            assert_eq!(url_decode(bad), None, "{bad:?}");
        }
        for bad in [
            "QUJDRB==",
            "QUI",
            "Zg",
            "Zg=",
            "QUJD RA==",
            "a-b_",
            "Zg===",
            "====",
        ] {
            assert_eq!(std_decode(bad), None, "{bad:?}");
        }
    }

    /// A value whose bytes would not fit the buffer is refused, never a panic.
    #[test]
    fn a_value_too_long_for_the_buffer_is_refused() {
        let mut small = [0u8; 2];
        assert_eq!(url_decode_into("Zm9v", &mut small), None);
        assert_eq!(std_decode_into("Zm9v", &mut small), None);
        assert_eq!(url_encode_into(b"foo", &mut small), None);
        let mut exact = [0u8; 3];
        assert_eq!(url_decode_into("Zm9v", &mut exact), Some(&b"foo"[..]));
    }

    proptest! {
        /// Agrees with the `base64` crate, an independent implementation, on every input:
        /// the same encoding, and the same verdict and bytes on arbitrary text.
        #[test]
        fn agrees_with_an_independent_implementation(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            text in "[A-Za-z0-9+/=_\\- ]{0,40}",
        ) {
            use base64::engine::general_purpose::{STANDARD as REF_STD, URL_SAFE_NO_PAD as REF_URL};
            prop_assert_eq!(url_encode(&bytes), REF_URL.encode(&bytes));
            let mut appended = String::from("x.");
            url_encode_append(&bytes, &mut appended);
            prop_assert_eq!(&appended[2..], REF_URL.encode(&bytes));
            let mut buf = [0u8; 300];
            let reference = REF_URL.encode(&bytes);
            prop_assert_eq!(url_encode_into(&bytes, &mut buf), Some(reference.as_str()));
            prop_assert_eq!(url_decode(&text), REF_URL.decode(&text).ok());
            prop_assert_eq!(std_decode(&text), REF_STD.decode(&text).ok());
            prop_assert_eq!(std_decode_into(&text, &mut buf).map(<[u8]>::to_vec), REF_STD.decode(&text).ok());
            prop_assert_eq!(url_decode_into(&text, &mut buf).map(<[u8]>::to_vec), REF_URL.decode(&text).ok());
            let encoded = REF_STD.encode(&bytes);
            prop_assert_eq!(std_decode(&encoded), Some(bytes.clone()));
        }
    }
}
