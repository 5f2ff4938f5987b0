//! A request body must keep arriving: it gets `body_timeout` seconds, plus one second for every `body_min_rate`
//! bytes received (the rule of Apache's mod_reqtimeout). A client that drips its body, a byte a second, is answered
//! 408 and disconnected instead of holding a connection and a handler open for as long as it likes.

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use actix_http::BoxedPayloadStream;
use actix_web::body::EitherBody;
use actix_web::dev::{Payload, Service, ServiceRequest, ServiceResponse};
use actix_web::error::PayloadError;
use actix_web::http::ConnectionType;
use actix_web::rt::time::{sleep_until, Instant, Sleep};
use actix_web::web::{self, Bytes};
use actix_web::{HttpMessage, ResponseError};
use futures_util::{Stream, TryFutureExt};

use crate::error::AppError;
use crate::state::AppState;

/// Middleware (for `App::wrap_fn`).
pub fn body_deadline<S, B>(
    mut req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<EitherBody<B>>, actix_web::Error>> + use<S, B>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    let expired = Rc::new(Cell::new(false));
    let payload = req.take_payload();
    let settings = req.app_data::<web::Data<AppState>>().map(|state| &state.settings);
    match (payload, settings) {
        (Payload::None, _) | (_, None) => {}
        (payload, Some(settings)) => {
            let timed = DeadlinePayload {
                inner: payload,
                started: Instant::now(),
                grace: Duration::from_secs(settings.body_timeout),
                min_rate: settings.body_min_rate.max(1),
                received: 0,
                timer: Box::pin(sleep_until(Instant::now() + Duration::from_secs(settings.body_timeout))),
                expired: expired.clone(),
            };
            req.set_payload(Payload::from(Box::pin(timed) as BoxedPayloadStream));
        }
    }
    // A combinator, not an async block, which would keep the inner future twice (see `request_log`).
    service.call(req).map_ok(move |res| {
        if !expired.get() {
            return res.map_into_left_body();
        }
        let (req, _) = res.into_parts();
        let mut response = AppError::RequestTimeout.error_response();
        response.head_mut().set_connection_type(ConnectionType::Close);
        ServiceResponse::new(req, response).map_into_right_body()
    })
}

struct DeadlinePayload {
    inner: Payload,
    started: Instant,
    grace: Duration,
    min_rate: u64,
    received: u64,
    timer: Pin<Box<Sleep>>,
    expired: Rc<Cell<bool>>,
}

impl DeadlinePayload {
    fn deadline(&self) -> Instant {
        self.started + self.grace + Duration::from_millis(self.received.saturating_mul(1000) / self.min_rate)
    }
}

impl Stream for DeadlinePayload {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.expired.get() {
            return Poll::Ready(None);
        }
        match Pin::new(&mut this.inner).poll_next(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                this.received += chunk.len() as u64;
                let deadline = this.deadline();
                this.timer.as_mut().reset(deadline);
                Poll::Ready(Some(Ok(chunk)))
            }
            Poll::Pending if this.timer.as_mut().poll(cx).is_ready() => {
                this.expired.set(true);
                let late = std::io::Error::new(std::io::ErrorKind::TimedOut, "the request body arrived too slowly");
                Poll::Ready(Some(Err(PayloadError::Io(late))))
            }
            other => other,
        }
    }
}
