//! JOSE on `ring` alone: JWS compact serialisation (RFC 7515), JWT (RFC 7519), JWK/JWKS
//! (RFC 7517, RFC 7518 §6) and the signing keys the server holds.
