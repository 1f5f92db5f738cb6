//! Admission of one decoded request: bearer token → JWT → signed envelope → scope policy, first
//! failure wins, no I/O (the replay check on the returned [`SignatureInfo`] is the caller's).
//!
//! The token is `Authorization: Bearer <t>` (scheme case-insensitive, RFC 7235), or else the
//! `_meta` member `dev.mcp-fastpath/token`. Two `Authorization` headers are refused ("malformed
//! token"): a proxy may have read the other one. A non-Bearer scheme counts as no header token.

use std::borrow::Cow;
use std::sync::Arc;

use fastpath_codec::ladder::RequestView;
use fastpath_codec::{RequestId, Value};

use crate::clock::{Clock, Failure};
use crate::envelope::{EnvelopeVerifier, SignatureInfo, SIG_MEMBER};
use crate::errors::{msg, Challenge, Check, VerifyError};
use crate::jwt::{JwtVerifier, Principal, Token};
use crate::policy::ScopePolicy;

/// `_meta` member of a bearer token (the fallback when there is no `Authorization` header).
pub const TOKEN_MEMBER: &str = "dev.mcp-fastpath/token";

/// Where a request's token was found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Presented<'a> {
    /// `Authorization: Bearer <token>`.
    Header(&'a str),
    /// `_meta["dev.mcp-fastpath/token"]`, any JSON value (not a string: a malformed token).
    Meta(&'a Value<'a>),
    Nothing,
}

impl<'a> Presented<'a> {
    /// The token to verify, or `None` when nothing was presented.
    pub fn token(&self) -> Option<Token<'a>> {
        match *self {
            Presented::Header(text) => Some(Token::Text(text)),
            Presented::Meta(Value::Str(text)) => Some(Token::Text(text)),
            Presented::Meta(_) => Some(Token::NotText),
            Presented::Nothing => None,
        }
    }
}

/// The token a request presents: from `authorization` (the values of every `Authorization`
/// header), else from `meta` (the request's `params._meta`).
pub fn presented_token<'a>(
    authorization: &[&'a str],
    meta: Option<&'a Value<'a>>,
) -> Result<Presented<'a>, VerifyError> {
    match authorization {
        [_, _, ..] => {
            return Err(
                VerifyError::new(Check::MalformedToken, msg::MALFORMED_TOKEN)
                    .with_challenge(Challenge::InvalidToken),
            )
        }
        [value] => {
            let value = value.trim_matches([' ', '\t']);
            let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
            if scheme.to_lowercase() == "bearer" {
                return Ok(Presented::Header(rest.trim_start_matches(' ')));
            }
        }
        [] => {}
    }
    Ok(match meta.and_then(|m| m.get(TOKEN_MEMBER)) {
        Some(token) => Presented::Meta(token),
        None => Presented::Nothing,
    })
}

/// What passed: the token's principal and the envelope's signature, each when there was one.
#[derive(Debug)]
pub struct Admission<V> {
    pub principal: Option<Arc<V>>,
    pub signature: Option<SignatureInfo>,
}

/// The checks a request goes through. `require_token` / `require_envelope`: whether a request
/// without a token / envelope is refused ("authentication required" / "request is not signed");
/// without, it passes that step with nothing, and one that has it is still verified.
pub struct Gate<V = Principal> {
    pub envelope: Option<Arc<EnvelopeVerifier>>,
    pub jwt: Option<Arc<JwtVerifier<V>>>,
    pub policy: Option<Arc<ScopePolicy>>,
    pub require_envelope: bool,
    pub require_token: bool,
}

impl<V: From<Principal> + AsRef<Principal>> Gate<V> {
    /// Admit `request` (decoded from `body`): token (reading `clock` first when there is one),
    /// envelope (over the request's `{"jsonrpc", "id", "method", "params"}`, reading `clock` after
    /// its signature), policy. Every refusal is -32010 or -32011.
    pub fn admit<C: Clock>(
        &self,
        request: &RequestView<'_, '_>,
        body: &Value<'_>,
        authorization: &[&str],
        clock: &mut C,
    ) -> Result<Admission<V>, Failure<C::Error>> {
        let meta = request.params.get("_meta");

        let mut principal = None;
        if let Some(jwt) = &self.jwt {
            match presented_token(authorization, meta)?.token() {
                Some(token) => principal = Some(jwt.verify(token, clock)?),
                None if self.require_token => {
                    return Err(VerifyError::new(
                        Check::AuthenticationRequired,
                        msg::AUTHENTICATION_REQUIRED,
                    )
                    .into())
                }
                None => {}
            }
        }

        let mut signature = None;
        if let Some(envelope) = &self.envelope {
            let present = meta.and_then(|m| m.get(SIG_MEMBER)).is_some();
            if present || self.require_envelope {
                if !present {
                    return Err(VerifyError::new(Check::NotSigned, msg::NOT_SIGNED).into());
                }
                let message = request_message(request, body);
                signature = envelope.verify(&message, clock)?;
            }
        }

        if let Some(policy) = &self.policy {
            let held = principal.as_deref().map(|p| p.as_ref().scopes.as_slice());
            policy.check_request(request.method, request.name, held)?;
        }
        Ok(Admission {
            principal,
            signature,
        })
    }
}

/// The message a request's envelope signs: `{"jsonrpc", "id", "method", "params"}`. The body
/// itself when it holds nothing else; other top-level members are not part of a request.
pub fn request_message<'v>(
    request: &RequestView<'v, '_>,
    body: &'v Value<'_>,
) -> Cow<'v, Value<'v>> {
    let only_request_members = matches!(body, Value::Object(members)
        if members.iter().all(|(k, _)| matches!(k.as_ref(), "jsonrpc" | "id" | "method" | "params")));
    if only_request_members {
        return Cow::Borrowed(body);
    }
    let id = match &request.id {
        RequestId::Int(i) => Value::Int(*i),
        RequestId::Str(s) => Value::Str(Cow::Owned(s.clone())),
    };
    Cow::Owned(Value::Object(vec![
        (Cow::Borrowed("jsonrpc"), Value::Str(Cow::Borrowed("2.0"))),
        (Cow::Borrowed("id"), id),
        (
            Cow::Borrowed("method"),
            Value::Str(Cow::Borrowed(request.method)),
        ),
        (Cow::Borrowed("params"), request.params.clone()),
    ]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;
    use crate::envelope::{sign_envelope, EnvelopeOptions};
    use crate::jwt::JSON_LIMITS as LIMITS;
    use crate::jwt::{sign_jwt, JwtOptions};
    use crate::keyring::KeyRing;
    use crate::keys::{JwtAlg, Key};
    use fastpath_codec::json;
    use fastpath_codec::ladder::{self, Limits, Message};

    const NOW: f64 = 1_780_000_000.0;
    const ISS: &str = "https://issuer.example";
    const AUD: &str = "https://mcp.example/mcp";

    fn hmac() -> Key {
        Key::hmac("h", &[7u8; 32]).unwrap()
    }

    fn ed() -> Key {
        Key::ed25519_private("e", &[9u8; 32]).unwrap()
    }

    fn token(scope: &str, exp: f64) -> String {
        let claims = format!(
            r#"{{"iss":"{ISS}","aud":"{AUD}","sub":"alice","exp":{exp},"scope":"{scope}"}}"#
        );
        let claims = json::parse(claims.as_bytes(), &LIMITS).unwrap();
        sign_jwt(&hmac(), JwtAlg::Hs256, &claims).unwrap()
    }

    /// A request body: `tools/call add`, `_meta` with `extra` members, signed when asked.
    fn body(extra: &str, signed: bool) -> Vec<u8> {
        let text = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"add","arguments":{{}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}{extra}}}}}}}"#
        );
        if !signed {
            return text.into_bytes();
        }
        let mut value = json::parse(text.as_bytes(), &LIMITS).unwrap();
        sign_envelope(&mut value, &ed(), Some(AUD), (NOW * 1000.0) as i64, [1; 16]).unwrap();
        let mut out = Vec::new();
        fastpath_codec::encode::write_value(&mut out, &value);
        out
    }

    fn gate(require_token: bool, require_envelope: bool) -> Gate {
        let ring = |key: Key| Arc::new(KeyRing::new(vec![key]).unwrap());
        let policy = ScopePolicy::new([
            ("tools/call:add".to_owned(), vec!["tools.add".to_owned()]),
            ("*".to_owned(), vec![]),
        ])
        .unwrap();
        Gate {
            envelope: Some(Arc::new(EnvelopeVerifier::new(
                ring(ed().public_key().unwrap()),
                EnvelopeOptions {
                    audience: Some(AUD.to_owned()),
                    ..EnvelopeOptions::default()
                },
            ))),
            jwt: Some(Arc::new(JwtVerifier::new(
                ring(hmac()),
                JwtOptions::new(ISS, AUD),
                4,
            ))),
            policy: Some(Arc::new(policy)),
            require_envelope,
            require_token,
        }
    }

    /// A clock that must not be read (its reading fails).
    struct Unreadable;

    impl Clock for Unreadable {
        type Error = &'static str;
        fn unix_seconds(&mut self) -> Result<f64, &'static str> {
            Err("clock read")
        }
        fn unix_millis(&mut self) -> Result<i64, &'static str> {
            Err("clock read")
        }
    }

    fn admit<C: Clock>(
        gate: &Gate,
        body: &[u8],
        authorization: &[&str],
        clock: &mut C,
    ) -> Result<Admission<Principal>, Failure<C::Error>> {
        let value = ladder::parse_body(body, &Limits::default()).unwrap();
        let Message::Request(request) =
            ladder::classify(&value, None, &["2026-07-28".to_owned()]).unwrap()
        else {
            panic!("a request")
        };
        gate.admit(&request, &value, authorization, clock)
    }

    fn refused<E>(result: Result<Admission<Principal>, Failure<E>>) -> VerifyError {
        match result {
            Err(Failure::Refused(err)) => err,
            _ => panic!("expected a refusal"),
        }
    }

    #[test]
    fn bearer_extraction() {
        let meta = json::parse(br#"{"dev.mcp-fastpath/token":"m"}"#, &LIMITS).unwrap();
        let header = |values: &[&'static str]| presented_token(values, Some(&meta));
        assert_eq!(header(&["Bearer t"]), Ok(Presented::Header("t")));
        assert_eq!(header(&[" \tbEaReR   t "]), Ok(Presented::Header("t")));
        assert_eq!(header(&["Bearer"]), Ok(Presented::Header("")));
        // Another scheme is no header token: the `_meta` token is used.
        assert!(
            matches!(header(&["Basic dXNlcjpwYXNz"]), Ok(Presented::Meta(Value::Str(t))) if t == "m")
        );
        assert!(matches!(header(&[]), Ok(Presented::Meta(_))));
        assert_eq!(presented_token(&[], None), Ok(Presented::Nothing));
        let two = header(&["Bearer a", "Bearer b"]).unwrap_err();
        assert_eq!(two.message(), "malformed token");
        assert_eq!(two.challenge(), &Challenge::InvalidToken);
        let not_text = json::parse(br#"{"dev.mcp-fastpath/token":1}"#, &LIMITS).unwrap();
        assert_eq!(
            presented_token(&[], Some(&not_text)).unwrap().token(),
            Some(Token::NotText)
        );
    }

    #[test]
    fn admits_a_signed_request_with_a_token() {
        let auth = format!("Bearer {}", token("tools.add", NOW + 60.0));
        let admission = admit(
            &gate(true, true),
            &body("", true),
            &[&auth],
            &mut FixedClock(NOW),
        )
        .unwrap();
        assert_eq!(
            admission.principal.unwrap().subject.as_deref(),
            Some("alice")
        );
        assert_eq!(admission.signature.unwrap().kid, "e");
    }

    #[test]
    fn order_token_then_envelope_then_policy() {
        let gate = gate(true, true);
        let clock = &mut FixedClock(NOW);
        // No token: refused before the (missing) envelope is looked at.
        let err = refused(admit(&gate, &body("", false), &[], clock));
        assert_eq!(
            (err.check(), err.challenge()),
            (Check::AuthenticationRequired, &Challenge::Bearer)
        );
        // A bad token wins over a missing envelope.
        let err = refused(admit(&gate, &body("", false), &["Bearer x.y.z"], clock));
        assert_eq!(
            (err.check(), err.challenge()),
            (Check::MalformedToken, &Challenge::InvalidToken)
        );
        // A good token, no envelope.
        let auth = format!("Bearer {}", token("tools.add", NOW + 60.0));
        let err = refused(admit(&gate, &body("", false), &[&auth], clock));
        assert_eq!(err.check(), Check::NotSigned);
        // Token and envelope fine, scope missing.
        let auth = format!("Bearer {}", token("other", NOW + 60.0));
        let err = refused(admit(&gate, &body("", true), &[&auth], clock));
        assert_eq!(err.check(), Check::InsufficientScope);
        assert_eq!(err.code(), Some(-32011));
        // The `_meta` token, when there is no header.
        let meta_token = format!(
            r#","dev.mcp-fastpath/token":"{}""#,
            token("tools.add", NOW + 60.0)
        );
        assert!(admit(&gate, &body(&meta_token, true), &[], clock).is_ok());
    }

    #[test]
    fn optional_parts_pass_when_absent_and_are_checked_when_present() {
        let gate = gate(false, false);
        let clock = &mut FixedClock(NOW);
        // Neither token nor envelope: the policy (which requires a scope) refuses.
        let err = refused(admit(&gate, &body("", false), &[], clock));
        assert_eq!(err.check(), Check::AuthenticationRequired);
        // An expired token is still checked.
        let auth = format!("Bearer {}", token("tools.add", NOW - 600.0));
        assert_eq!(
            refused(admit(&gate, &body("", true), &[&auth], clock)).check(),
            Check::Expired
        );
        // A token, no envelope: admitted without a signature.
        let auth = format!("Bearer {}", token("tools.add", NOW + 60.0));
        let admission = admit(&gate, &body("", false), &[&auth], clock).unwrap();
        assert!(admission.signature.is_none() && admission.principal.is_some());
    }

    #[test]
    fn the_clock_is_read_only_where_needed() {
        let gate = gate(true, true);
        // Refused before any time is needed: the clock is not read.
        let err = refused(admit(&gate, &body("", false), &[], &mut Unreadable));
        assert_eq!(err.check(), Check::AuthenticationRequired);
        let err = refused(admit(
            &gate,
            &body("", false),
            &["Bearer a", "Bearer b"],
            &mut Unreadable,
        ));
        assert_eq!(err.check(), Check::MalformedToken);
        // A token is checked after reading the clock.
        let auth = format!("Bearer {}", token("tools.add", NOW + 60.0));
        assert_eq!(
            admit(&gate, &body("", true), &[&auth], &mut Unreadable).unwrap_err(),
            Failure::Clock("clock read")
        );
        // Without a token verifier, the envelope reads it after its signature: a tampered body
        // is refused first.
        let envelope_only = Gate {
            jwt: None,
            require_token: false,
            ..gate
        };
        let tampered = String::from_utf8(body("", true))
            .unwrap()
            .replace("\"add\"", "\"sub\"");
        let err = refused(admit(
            &envelope_only,
            tampered.as_bytes(),
            &[],
            &mut Unreadable,
        ));
        assert_eq!(err.check(), Check::BadSignature);
        assert_eq!(
            admit(&envelope_only, &body("", true), &[], &mut Unreadable).unwrap_err(),
            Failure::Clock("clock read")
        );
    }

    #[test]
    fn the_envelope_covers_only_the_request_members() {
        // A member outside `jsonrpc, id, method, params` is not part of the request.
        let signed = String::from_utf8(body("", true)).unwrap();
        let extra = format!("{},\"x\":1}}", &signed[..signed.len() - 1]);
        let value = json::parse(extra.as_bytes(), &LIMITS).unwrap();
        let Message::Request(request) =
            ladder::classify(&value, None, &["2026-07-28".to_owned()]).unwrap()
        else {
            panic!("a request")
        };
        assert!(matches!(request_message(&request, &value), Cow::Owned(_)));
        let auth = format!("Bearer {}", token("tools.add", NOW + 60.0));
        assert!(admit(
            &gate(true, true),
            extra.as_bytes(),
            &[&auth],
            &mut FixedClock(NOW)
        )
        .is_ok());
    }
}
