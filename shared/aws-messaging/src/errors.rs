//! SDK errors → `SendError`, decided on the error's structure (variant, code, HTTP status,
//! transport failure kind), never on its text. The text kept in a `SendError` names the
//! service, the error code and the status only: a provider's message may quote the address.
//!
//! - `Retryable`: certainly not sent. Throttling and quotas (429, 503), a request that could
//!   not be built or never reached a connection, and refusals of the *account* rather than of
//!   the message (suspended or paused sending, an unverified MAIL FROM domain, a missing
//!   configuration set, IAM or KMS denials). The last group is not the message's fault and
//!   nothing about the recipient is learnt from it: once the operator fixes the account, a retry
//!   is safe. The core's `deliver` retries a few times in process and then records the outcome
//!   as failed with this reason, so an account problem never reads as a bad recipient.
//! - `Rejected`: this message was refused for good (SES `MessageRejected`, a bad request, an
//!   invalid or disabled phone number, an opted-out number).
//! - `Unknown`: the request may have been accepted: a timeout or an I/O failure once the
//!   connection may have carried it, an unreadable response, a 5xx other than 503.

use std::error::Error as StdError;

use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sns::error::ProvideErrorMetadata;
use aws_sdk_sns::operation::check_if_phone_number_is_opted_out::CheckIfPhoneNumberIsOptedOutError;
use aws_sdk_sns::operation::publish::PublishError;
use aws_smithy_runtime_api::client::dns::ResolveDnsError;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_runtime_api::http::Response;
use aws_smithy_types::error::operation::BuildError;
use boomerang_core::ports::SendError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Retryable,
    Rejected,
    Unknown,
}

/// Error codes that mean "too many requests now" across SES, SNS and the AWS query protocol.
const THROTTLING: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "Throttled",
    "ThrottledException",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "RequestThrottled",
    "LimitExceededException",
    "KMSThrottling",
    "KMSThrottlingException",
];

/// Refusals of the caller or the account before the message was looked at.
const ACCOUNT: &[&str] = &[
    "AccessDenied",
    "AccessDeniedException",
    "AuthorizationError",
    "InvalidClientTokenId",
    "UnrecognizedClientException",
    "SignatureDoesNotMatch",
    "IncompleteSignature",
    "MissingAuthenticationToken",
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidSecurity",
    "AccountSuspendedException",
    "SendingPausedException",
    "MailFromDomainNotVerifiedException",
    "KMSAccessDenied",
    "KMSDisabled",
    "KMSInvalidState",
    "KMSNotFound",
    "KMSOptInRequired",
];

/// By code first, then by HTTP status: for errors the SDK has no variant for.
fn by_code(code: Option<&str>, status: u16) -> Class {
    match code {
        Some(c) if THROTTLING.contains(&c) || ACCOUNT.contains(&c) => Class::Retryable,
        Some(
            "OptedOut" | "MessageRejected" | "InvalidParameter" | "InvalidParameterValue" | "ParameterValueInvalid",
        ) => Class::Rejected,
        _ => match status {
            429 | 503 => Class::Retryable,
            400..=499 => Class::Rejected,
            _ => Class::Unknown,
        },
    }
}

fn make(class: Class, text: String) -> SendError {
    match class {
        Class::Retryable => SendError::Retryable(text),
        Class::Rejected => SendError::Rejected(text),
        Class::Unknown => SendError::Unknown(text),
    }
}

/// A request that could not be built was certainly not sent.
pub fn not_built(e: BuildError) -> SendError {
    SendError::Retryable(format!("the request could not be built: {e}"))
}

/// True when the failure happened before a connection existed: a DNS failure or a refused
/// connection. Anything else after dispatch may have carried the request.
fn never_connected(e: &(dyn StdError + 'static)) -> bool {
    let mut next = Some(e);
    while let Some(e) = next {
        if e.downcast_ref::<ResolveDnsError>().is_some() {
            return true;
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(io.kind(), std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::AddrNotAvailable) {
                return true;
            }
        }
        next = e.source();
    }
    false
}

/// Service errors go through `service`; the rest is the same for every operation.
fn map<E: ProvideErrorMetadata + StdError + 'static>(
    service: &str,
    err: SdkError<E, Response>,
    service_class: impl Fn(&E) -> Option<(Class, &'static str)>,
) -> SendError {
    match err {
        SdkError::ServiceError(context) => {
            let status = context.raw().status().as_u16();
            let e = context.err();
            let (class, name) = match service_class(e) {
                Some((class, name)) => (class, e.code().unwrap_or(name).to_string()),
                None => (by_code(e.code(), status), e.code().unwrap_or("unknown error").to_string()),
            };
            make(class, format!("{service} {name} (HTTP {status})"))
        }
        SdkError::ConstructionFailure(_) => SendError::Retryable(format!("{service}: the request could not be built")),
        SdkError::DispatchFailure(failure) => {
            let connector = failure.as_connector_error();
            match connector {
                Some(c) if c.is_user() || never_connected(c) => {
                    SendError::Retryable(format!("{service}: the request never left (no connection)"))
                }
                Some(c) if c.is_timeout() => SendError::Unknown(format!("{service}: timed out in flight")),
                _ => SendError::Unknown(format!("{service}: the connection failed in flight")),
            }
        }
        SdkError::TimeoutError(_) => SendError::Unknown(format!("{service}: timed out in flight")),
        SdkError::ResponseError(_) => SendError::Unknown(format!("{service}: the response could not be read")),
        _ => SendError::Unknown(format!("{service}: unclassified SDK error")),
    }
}

/// SES v2 `SendEmail`.
pub fn ses_send(err: SdkError<SendEmailError, Response>) -> SendError {
    map("SES SendEmail", err, |e| {
        Some(match e {
            SendEmailError::TooManyRequestsException(_) => (Class::Retryable, "TooManyRequestsException"),
            // The daily quota or the maximum send rate: not sent, fine later.
            SendEmailError::LimitExceededException(_) => (Class::Retryable, "LimitExceededException"),
            SendEmailError::AccountSuspendedException(_) => (Class::Retryable, "AccountSuspendedException"),
            SendEmailError::SendingPausedException(_) => (Class::Retryable, "SendingPausedException"),
            SendEmailError::MailFromDomainNotVerifiedException(_) => {
                (Class::Retryable, "MailFromDomainNotVerifiedException")
            }
            // The configuration set (or identity) is missing: the deployment's fault.
            SendEmailError::NotFoundException(_) => (Class::Retryable, "NotFoundException"),
            SendEmailError::MessageRejected(_) => (Class::Rejected, "MessageRejected"),
            SendEmailError::BadRequestException(_) => (Class::Rejected, "BadRequestException"),
            _ => return None,
        })
    })
}

/// SNS `Publish` to a phone number.
pub fn sns_publish(err: SdkError<PublishError, Response>) -> SendError {
    map("SNS Publish", err, |e| {
        Some(match e {
            PublishError::InvalidParameterException(_) => (Class::Rejected, "InvalidParameter"),
            PublishError::InvalidParameterValueException(_) => (Class::Rejected, "ParameterValueInvalid"),
            PublishError::ValidationException(_) => (Class::Rejected, "ValidationException"),
            PublishError::EndpointDisabledException(_) => (Class::Rejected, "EndpointDisabled"),
            PublishError::NotFoundException(_) => (Class::Rejected, "NotFound"),
            PublishError::PlatformApplicationDisabledException(_) => (Class::Rejected, "PlatformApplicationDisabled"),
            PublishError::KmsThrottlingException(_) => (Class::Retryable, "KMSThrottling"),
            PublishError::AuthorizationErrorException(_) => (Class::Retryable, "AuthorizationError"),
            PublishError::InvalidSecurityException(_) => (Class::Retryable, "InvalidSecurity"),
            PublishError::KmsAccessDeniedException(_) => (Class::Retryable, "KMSAccessDenied"),
            PublishError::KmsDisabledException(_) => (Class::Retryable, "KMSDisabled"),
            PublishError::KmsInvalidStateException(_) => (Class::Retryable, "KMSInvalidState"),
            PublishError::KmsNotFoundException(_) => (Class::Retryable, "KMSNotFound"),
            PublishError::KmsOptInRequired(_) => (Class::Retryable, "KMSOptInRequired"),
            // A 500 after SNS had the request: it may have gone out.
            PublishError::InternalErrorException(_) => (Class::Unknown, "InternalError"),
            _ => return None,
        })
    })
}

/// SNS `CheckIfPhoneNumberIsOptedOut`: a read, so nothing was sent whatever happened; only an
/// invalid number is a lasting answer.
pub fn sns_opt_out(err: SdkError<CheckIfPhoneNumberIsOptedOutError, Response>) -> SendError {
    let invalid = matches!(&err, SdkError::ServiceError(c) if matches!(c.err(), CheckIfPhoneNumberIsOptedOutError::InvalidParameterException(_)));
    let text = map("SNS CheckIfPhoneNumberIsOptedOut", err, |_| None).to_string();
    if invalid {
        SendError::Rejected(text)
    } else {
        SendError::Retryable(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_sesv2::types::error as ses;
    use aws_sdk_sns::types::error as sns;
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    fn raw(status: u16) -> Response {
        Response::new(status.try_into().unwrap(), SdkBody::empty())
    }

    fn ses_service(e: SendEmailError, status: u16) -> SendError {
        ses_send(SdkError::service_error(e, raw(status)))
    }

    fn sns_service(e: PublishError, status: u16) -> SendError {
        sns_publish(SdkError::service_error(e, raw(status)))
    }

    fn kind(e: &SendError) -> &'static str {
        match e {
            SendError::Retryable(_) => "retryable",
            SendError::Rejected(_) => "rejected",
            SendError::Unknown(_) => "unknown",
        }
    }

    #[test]
    fn ses_throttling_and_quotas_are_retryable() {
        let e = ses_service(
            SendEmailError::TooManyRequestsException(
                ses::TooManyRequestsException::builder().message("slow down").build(),
            ),
            429,
        );
        assert_eq!(kind(&e), "retryable", "{e}");
        assert!(e.to_string().contains("TooManyRequestsException") && e.to_string().contains("429"), "{e}");
        let e =
            ses_service(SendEmailError::LimitExceededException(ses::LimitExceededException::builder().build()), 400);
        assert_eq!(kind(&e), "retryable", "{e}");
    }

    #[test]
    fn ses_refusals_of_the_message_are_rejections() {
        let e = ses_service(
            SendEmailError::MessageRejected(
                ses::MessageRejected::builder().message("Email address is not verified: a@b.ru").build(),
            ),
            400,
        );
        assert_eq!(kind(&e), "rejected", "{e}");
        assert!(!e.to_string().contains("a@b.ru"), "the provider's text (it may quote the address) is not kept: {e}");
        let e = ses_service(SendEmailError::BadRequestException(ses::BadRequestException::builder().build()), 400);
        assert_eq!(kind(&e), "rejected", "{e}");
    }

    #[test]
    fn ses_refusals_of_the_account_are_retryable_not_rejections() {
        for (e, name) in [
            (
                SendEmailError::AccountSuspendedException(ses::AccountSuspendedException::builder().build()),
                "AccountSuspended",
            ),
            (SendEmailError::SendingPausedException(ses::SendingPausedException::builder().build()), "SendingPaused"),
            (
                SendEmailError::MailFromDomainNotVerifiedException(
                    ses::MailFromDomainNotVerifiedException::builder().build(),
                ),
                "MailFromDomainNotVerified",
            ),
            (SendEmailError::NotFoundException(ses::NotFoundException::builder().build()), "NotFound"),
        ] {
            let e = ses_service(e, 400);
            assert_eq!(kind(&e), "retryable", "{e}");
            assert!(e.to_string().contains(name), "{e}");
        }
    }

    #[test]
    fn unmodelled_errors_are_classified_by_code_then_status() {
        let generic = |code: &str| SendEmailError::generic(ErrorMetadata::builder().code(code).message("x").build());
        assert_eq!(kind(&ses_service(generic("Throttling"), 400)), "retryable");
        assert_eq!(kind(&ses_service(generic("AccessDeniedException"), 403)), "retryable");
        assert_eq!(kind(&ses_service(generic("ServiceUnavailable"), 503)), "retryable");
        assert_eq!(kind(&ses_service(generic("SomethingNew"), 429)), "retryable");
        assert_eq!(kind(&ses_service(generic("SomethingNew"), 400)), "rejected");
        assert_eq!(kind(&ses_service(generic("InternalFailure"), 500)), "unknown", "a 500 may have sent");
        assert_eq!(kind(&ses_service(generic("BadGateway"), 502)), "unknown");
        let e = ses_service(generic("Throttling"), 400);
        assert!(e.to_string().contains("Throttling"), "the code names the error: {e}");
        let sns_generic = |code: &str| PublishError::generic(ErrorMetadata::builder().code(code).build());
        assert_eq!(kind(&sns_service(sns_generic("Throttling"), 400)), "retryable");
        assert_eq!(kind(&sns_service(sns_generic("OptedOut"), 400)), "rejected");
    }

    #[test]
    fn sns_bad_numbers_are_rejections_and_account_problems_are_retryable() {
        let e = sns_service(
            PublishError::InvalidParameterException(sns::InvalidParameterException::builder().build()),
            400,
        );
        assert_eq!(kind(&e), "rejected", "{e}");
        let e = sns_service(
            PublishError::InvalidParameterValueException(sns::InvalidParameterValueException::builder().build()),
            400,
        );
        assert_eq!(kind(&e), "rejected", "{e}");
        let e = sns_service(
            PublishError::AuthorizationErrorException(sns::AuthorizationErrorException::builder().build()),
            403,
        );
        assert_eq!(kind(&e), "retryable", "{e}");
        let e = sns_service(PublishError::KmsThrottlingException(sns::KmsThrottlingException::builder().build()), 400);
        assert_eq!(kind(&e), "retryable", "{e}");
        let e = sns_service(PublishError::InternalErrorException(sns::InternalErrorException::builder().build()), 500);
        assert_eq!(kind(&e), "unknown", "{e}");
    }

    #[test]
    fn failures_before_sending_are_retryable() {
        let e = ses_send(SdkError::construction_failure("no credentials"));
        assert_eq!(kind(&e), "retryable", "{e}");
        let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let e = ses_send(SdkError::dispatch_failure(ConnectorError::io(Box::new(refused))));
        assert_eq!(kind(&e), "retryable", "{e}");
        let dns = ResolveDnsError::new(std::io::Error::other("no such host"));
        let e = sns_publish(SdkError::dispatch_failure(ConnectorError::io(Box::new(dns))));
        assert_eq!(kind(&e), "retryable", "{e}");
        let e = ses_send(SdkError::dispatch_failure(ConnectorError::user("bad header".into())));
        assert_eq!(kind(&e), "retryable", "{e}");
        assert_eq!(kind(&not_built(aws_sdk_sesv2::types::RawMessage::builder().build().unwrap_err())), "retryable");
    }

    #[test]
    fn failures_in_flight_are_unknown_never_retried() {
        let reset = std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by peer");
        let e = ses_send(SdkError::dispatch_failure(ConnectorError::io(Box::new(reset))));
        assert_eq!(kind(&e), "unknown", "{e}");
        let e = ses_send(SdkError::dispatch_failure(ConnectorError::timeout("read timed out".into())));
        assert_eq!(kind(&e), "unknown", "{e}");
        let e = ses_send(SdkError::dispatch_failure(ConnectorError::other("?".into(), None)));
        assert_eq!(kind(&e), "unknown", "{e}");
        let e = sns_publish(SdkError::timeout_error("operation timed out"));
        assert_eq!(kind(&e), "unknown", "{e}");
        let e = sns_publish(SdkError::response_error("truncated body", raw(200)));
        assert_eq!(kind(&e), "unknown", "{e}");
    }

    #[test]
    fn an_opt_out_check_is_never_unknown() {
        let invalid = CheckIfPhoneNumberIsOptedOutError::InvalidParameterException(
            sns::InvalidParameterException::builder().build(),
        );
        assert_eq!(kind(&sns_opt_out(SdkError::service_error(invalid, raw(400)))), "rejected");
        let throttled =
            CheckIfPhoneNumberIsOptedOutError::ThrottledException(sns::ThrottledException::builder().build());
        assert_eq!(kind(&sns_opt_out(SdkError::service_error(throttled, raw(400)))), "retryable");
        assert_eq!(kind(&sns_opt_out(SdkError::timeout_error("slow"))), "retryable");
    }
}
