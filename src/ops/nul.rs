//! U+0000 (NUL) never reaches the database. PostgreSQL cannot store it in text and fails the whole statement
//! (`invalid byte sequence for encoding "UTF8": 0x00`), which would answer a client's mistake with a 500; SQLite
//! would store it and cut strings short in other tools. No text input of this service has a use for it, so it is
//! refused at the door, for every route at once:
//!
//! - in the path or the query string (`%00` once decoded): 400 before routing;
//! - in a JSON body (the escape `\u0000`, any case of hex digits; `\\u0000` is the text `\u0000`, not a NUL, and
//!   passes) or a form body (`%00`): the body stream fails while the handler reads it, which its extractor answers
//!   with 400 before anything is deserialised.
//!
//! CSV imports check their own bytes, to name the line (422); attachment uploads are binary and may contain NUL.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use actix_http::BoxedPayloadStream;
use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{HttpMessage, ResponseError};
use futures_util::future::{ready, Either};
use futures_util::{Stream, TryFutureExt};

use crate::error::AppError;

/// Why a body was refused: recognised by `error::payload_error`, which answers 400 with this text.
#[derive(Debug, thiserror::Error)]
#[error("the request body contains U+0000 (NUL), which no field accepts")]
pub struct NulInBody;

/// Middleware (for `App::wrap_fn`).
pub fn reject_nul<S, B>(
    mut req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let uri = req.uri();
    if has_encoded_nul(uri.path()) || uri.query().is_some_and(has_encoded_nul) {
        let refused = AppError::BadRequest("the URL contains U+0000 (%00), which no parameter accepts".into());
        return Either::Left(ready(Ok(req.into_response(refused.error_response()).map_into_right_body())));
    }
    if let Some(scanner) = Scanner::for_content_type(&req) {
        let inner = req.take_payload();
        req.set_payload(Payload::from(Box::pin(Scanned { inner, scanner, refused: false }) as BoxedPayloadStream));
    }
    // A combinator, not an async block, which would keep the inner future twice (see `request_log`).
    Either::Right(service.call(req).map_ok(ServiceResponse::map_into_left_body))
}

/// Whether percent-decoding `text` would give a NUL byte. A `%` can never be part of an earlier escape (hex
/// digits only follow it), so finding `%00` is the same as decoding and looking.
fn has_encoded_nul(text: &str) -> bool {
    text.contains('\0') || text.contains("%00")
}

/// Looks for NUL in a body as it streams past, across chunk boundaries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scanner {
    /// JSON text: `\u0000` outside another escape; `zeros` of its four hex digits seen so far.
    Json { after_backslash: bool, zeros: Option<u8> },
    /// `application/x-www-form-urlencoded`: `%00`; `zeros` after a `%` seen so far.
    Form { zeros: Option<u8> },
}

impl Scanner {
    fn for_content_type(req: &ServiceRequest) -> Option<Scanner> {
        let mime = req.headers().get(header::CONTENT_TYPE)?.to_str().ok()?;
        let essence = mime.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        if essence == "application/json" || essence.ends_with("+json") {
            Some(Scanner::Json { after_backslash: false, zeros: None })
        } else if essence == "application/x-www-form-urlencoded" {
            Some(Scanner::Form { zeros: None })
        } else {
            None
        }
    }

    /// Feeds one chunk; answers whether a NUL was found in it (or completed by it).
    fn found_in(&mut self, chunk: &[u8]) -> bool {
        chunk.iter().any(|&byte| self.step(byte))
    }

    fn step(&mut self, byte: u8) -> bool {
        if byte == 0 {
            return true;
        }
        match self {
            Scanner::Json { after_backslash, zeros } => {
                if *after_backslash {
                    // The escaped character is consumed whatever it is: `\\` does not start another escape.
                    *after_backslash = false;
                    *zeros = (byte == b'u').then_some(0);
                    return false;
                }
                match (*zeros, byte) {
                    (Some(3), b'0') => return true,
                    (Some(n), b'0') => *zeros = Some(n + 1),
                    (_, b'\\') => {
                        *zeros = None;
                        *after_backslash = true;
                    }
                    _ => *zeros = None,
                }
                false
            }
            Scanner::Form { zeros } => {
                match (*zeros, byte) {
                    (Some(1), b'0') => return true,
                    (Some(n), b'0') => *zeros = Some(n + 1),
                    (_, b'%') => *zeros = Some(0),
                    _ => *zeros = None,
                }
                false
            }
        }
    }
}

/// The request body, failing with `NulInBody` at the chunk that holds a NUL.
struct Scanned {
    inner: Payload,
    scanner: Scanner,
    refused: bool,
}

impl Stream for Scanned {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.refused {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) if this.scanner.found_in(&chunk) => {
                this.refused = true;
                let error = std::io::Error::new(std::io::ErrorKind::InvalidData, NulInBody);
                Poll::Ready(Some(Err(PayloadError::Io(error))))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json_has_nul(chunks: &[&str]) -> bool {
        let mut scanner = Scanner::Json { after_backslash: false, zeros: None };
        chunks.iter().any(|chunk| scanner.found_in(chunk.as_bytes()))
    }

    fn form_has_nul(chunks: &[&str]) -> bool {
        let mut scanner = Scanner::Form { zeros: None };
        chunks.iter().any(|chunk| scanner.found_in(chunk.as_bytes()))
    }

    #[test]
    fn json_nul_escapes_are_found_across_chunks_and_escaped_backslashes_are_not() {
        assert!(json_has_nul(&[r#"{"login":"a\u0000b"}"#]));
        assert!(json_has_nul(&[r#"{"login":"a\u00"#, r#"00"}"#]));
        assert!(json_has_nul(&[r#"{"login":"a\"#, r#"u0000"}"#]));
        assert!(json_has_nul(&[r#"{"a":"\\\u0000"}"#]), "an escaped backslash, then the escape");
        assert!(!json_has_nul(&[r#"{"login":"a\\u0000"}"#]), "the text \\u0000");
        assert!(!json_has_nul(&[r#"{"login":"a\\"#, r#"u0000"}"#]));
        assert!(!json_has_nul(&[r#"{"n":"\u0001\u1000\u0100 0000 u0000"}"#]));
        assert!(json_has_nul(&["{\"raw\":\"\0\"}"]));
    }

    #[test]
    fn form_nul_escapes_are_found_across_chunks() {
        assert!(form_has_nul(&["login=a%00&password=b"]));
        assert!(form_has_nul(&["login=a%", "00"]));
        assert!(form_has_nul(&["login=a%%00"]));
        assert!(!form_has_nul(&["login=a%2500&password=%30%30"]));
    }

    #[test]
    fn encoded_nul_in_urls() {
        assert!(has_encoded_nul("/api/v1/admin/members/1%00"));
        assert!(!has_encoded_nul("/api/v1/documents?q=%2500"));
    }
}
