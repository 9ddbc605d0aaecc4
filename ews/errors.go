package ews

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/exmigrate/exmigrate/mailbox"
)

// ResponseError is an EWS ResponseClass Error or Warning, or a SOAP fault,
// with the ResponseCode and MessageText the server sent. It matches the
// mailbox sentinel errors with errors.Is.
type ResponseError struct {
	Operation string // e.g. GetItem
	Code      string // ResponseCode, e.g. ErrorItemNotFound
	Message   string // MessageText or faultstring
	Class     string // Error, Warning, or Fault
	// Index is the position of the failed entry in a batch request, -1 when
	// the error covers the whole request.
	Index int
	// BackOff is BackOffMilliseconds from MessageXml, when the server sent it.
	BackOff time.Duration
	// Values holds the other MessageXml values (InnerErrorResponseCode,
	// LineNumber, Violation ...).
	Values     map[string]string
	HTTPStatus int
	// FaultCode is the faultcode QName of a SOAP fault as sent (s:Client,
	// a:ErrorServerBusy); empty for a ResponseMessage.
	FaultCode string
}

func (e *ResponseError) Error() string {
	where := e.Operation
	if e.Index >= 0 {
		where = fmt.Sprintf("%s[%d]", e.Operation, e.Index)
	}
	msg := e.Message
	if v := e.Values["Violation"]; v != "" {
		msg += " (" + v + ")"
	}
	if v := e.Values["FieldURI"]; v != "" {
		msg += " (property " + v + ")"
	}
	if msg == "" {
		return fmt.Sprintf("EWS %s: %s", where, e.Code)
	}
	return fmt.Sprintf("EWS %s: %s: %s", where, e.Code, msg)
}

// Is maps EWS response codes to the mailbox sentinel errors.
func (e *ResponseError) Is(target error) bool {
	switch target {
	case mailbox.ErrNotFound:
		return e.Code == "ErrorItemNotFound" || e.Code == "ErrorFolderNotFound" || e.Code == "ErrorSyncFolderNotFound"
	case mailbox.ErrMailboxNotFound:
		return e.Code == "ErrorNonExistentMailbox" || e.Code == "ErrorMailboxNotFound" || e.Code == "ErrorArchiveMailboxNotEnabled"
	case mailbox.ErrAccessDenied:
		switch e.Code {
		case "ErrorAccessDenied", "ErrorImpersonateUserDenied", "ErrorImpersonationDenied",
			"ErrorNoPublicFolderReplicaAvailable", "ErrorInsufficientPermissionsToSync":
			return true
		}
	case mailbox.ErrSyncStateInvalid:
		return e.Code == "ErrorInvalidSyncStateData"
	case mailbox.ErrItemRejected:
		switch e.Code {
		case "ErrorMessageSizeExceeded", "ErrorMimeContentConversionFailed", "ErrorCorruptData",
			"ErrorInvalidExtendedPropertyValue", "ErrorMimeContentInvalid",
			"ErrorObjectTypeChanged": // an ItemClass the item's EWS type cannot take
			return true
		}
	case mailbox.ErrQuotaExceeded:
		return e.Code == "ErrorQuotaExceeded" || e.Code == "ErrorFolderSizeLimit"
	case mailbox.ErrMailboxBusy:
		return e.Code == "ErrorMailboxMoveInProgress" || e.Code == "ErrorMailboxStoreUnavailable"
	}
	return false
}

// throttling reports whether the error asks the client to wait and retry.
func (e *ResponseError) throttling() bool {
	switch e.Code {
	case "ErrorServerBusy", "ErrorExceededConnectionCount", "ErrorTooManyObjectsOpened",
		"ErrorInternalServerTransientError", "ErrorTimeoutExpired":
		return true
	}
	return e.Values["InnerErrorResponseCode"] == "ErrorServerBusy"
}

// permanent reports whether no retry can change the answer: the request
// itself is wrong (a SOAP Client fault, a schema violation, a request EWS
// refuses as invalid), so sending it again gets the same fault.
func (e *ResponseError) permanent() bool {
	if e.Class == "Fault" && e.FaultCode != "" {
		code := e.FaultCode
		if i := strings.LastIndexByte(code, ':'); i >= 0 {
			code = code[i+1:]
		}
		// SOAP 1.1 fault codes: Client (and its dotted refinements),
		// VersionMismatch and MustUnderstand are the sender's fault.
		if code == "Client" || strings.HasPrefix(code, "Client.") || code == "VersionMismatch" || code == "MustUnderstand" {
			return true
		}
	}
	switch e.Code {
	case "ErrorSchemaValidation", "ErrorInvalidRequest", "ErrorInvalidServerVersion",
		"ErrorInvalidIdMalformed", "ErrorInvalidIdEmpty", "ErrorInvalidPropertyRequest":
		return true
	}
	return false
}

// AuthError is returned when the server refuses the credentials (HTTP 401
// after the NTLM handshake). It never carries the password.
type AuthError struct {
	Username string
	URL      string
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("EWS authentication failed for %s at %s: check onprem.username and the password source", e.Username, e.URL)
}

// Is makes errors.Is(err, mailbox.ErrAuthentication) true.
func (e *AuthError) Is(target error) bool { return target == mailbox.ErrAuthentication }

// HTTPError is an unexpected HTTP status (redirects, 4xx, 5xx without a SOAP body).
type HTTPError struct {
	Operation string
	Status    int
	Location  string // for redirects
	Body      string // the start of the body, for diagnosis
}

// Is maps the statuses that say something about the request's target:
// 403 is a refusal of the account, 413 a body over the server's limit.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case mailbox.ErrAccessDenied:
		return e.Status == http.StatusForbidden
	case mailbox.ErrItemRejected:
		return e.Status == http.StatusRequestEntityTooLarge
	}
	return false
}

// permanent reports whether no retry can change the answer: a refused
// redirect (the URL is pinned), or a 4xx other than those with a meaning
// of their own (401 and 403 the account, 404 the URL, 408 a timeout, 409
// and 412 a conflict, 429 throttling).
func (e *HTTPError) permanent() bool {
	switch {
	case e.Status >= 300 && e.Status < 400:
		return true
	case e.Status >= 400 && e.Status < 500:
		switch e.Status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestTimeout,
			http.StatusConflict, http.StatusPreconditionFailed, http.StatusTooManyRequests:
			return false
		}
		return true
	}
	return false
}

func (e *HTTPError) Error() string {
	if e.Status >= 300 && e.Status < 400 {
		return fmt.Sprintf("EWS %s: the server redirected (HTTP %d to %q); redirects are refused because the URL is pinned: set onprem.url to the final EWS URL", e.Operation, e.Status, e.Location)
	}
	if e.Body != "" {
		return fmt.Sprintf("EWS %s: HTTP %d: %s", e.Operation, e.Status, e.Body)
	}
	return fmt.Sprintf("EWS %s: HTTP %d", e.Operation, e.Status)
}

// MalformedError is an answer that is not the SOAP the client expected: an
// HTML page (a reverse proxy's sign-in or error page in front of EWS), a
// document that is not well-formed XML, one without a SOAP Body, or one
// whose Body holds another response. Sending the request again gets the
// same answer, so it is permanent.
type MalformedError struct {
	Operation   string
	Status      int
	ContentType string // set when the content type gave it away (text/html)
	Reason      string
	Body        string // the start of the body, for diagnosis; may be empty
	Err         error  // the XML error, when there is one
}

func (e *MalformedError) Error() string {
	msg := fmt.Sprintf("EWS %s: malformed response: %s", e.Operation, e.Reason)
	if e.ContentType != "" {
		msg = fmt.Sprintf("EWS %s: HTTP %d answered %s, not SOAP: %s", e.Operation, e.Status, e.ContentType, e.Reason)
	}
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

func (e *MalformedError) Unwrap() error { return e.Err }

// ThrottledError is returned when the server kept throttling (ErrorServerBusy
// and the other throttling codes, ErrorExceededConnectionCount, HTTP 503 or
// 429, a 502 or 504 from a gateway) and the client gave up: after MaxRetries
// retries, or at once when the server asked for a wait beyond MaxBackOff.
// It matches mailbox.ErrThrottled, so nothing above the client retries it
// again, and unwraps to the last answer.
type ThrottledError struct {
	Operation string
	Retries   int           // retries made before giving up
	Wait      time.Duration // the wait the server asked for, when it was beyond MaxBackOff
	MaxWait   time.Duration // MaxBackOff, when Wait was beyond it
	Err       error         // the last answer
}

func (e *ThrottledError) Error() string {
	if e.Wait > 0 {
		return fmt.Sprintf("EWS %s: throttled: the server asked to wait %v, more than MaxBackOff %v: %v", e.Operation, e.Wait, e.MaxWait, e.Err)
	}
	return fmt.Sprintf("EWS %s: still throttled after %d retries: %v", e.Operation, e.Retries, e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// Is makes errors.Is(err, mailbox.ErrThrottled) true.
func (e *ThrottledError) Is(target error) bool { return target == mailbox.ErrThrottled }
