package ews

import (
	"fmt"
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
			"ErrorInvalidExtendedPropertyValue", "ErrorMimeContentInvalid":
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

func (e *HTTPError) Error() string {
	if e.Status >= 300 && e.Status < 400 {
		return fmt.Sprintf("EWS %s: the server redirected (HTTP %d to %q); redirects are refused because the URL is pinned: set onprem.url to the final EWS URL", e.Operation, e.Status, e.Location)
	}
	if e.Body != "" {
		return fmt.Sprintf("EWS %s: HTTP %d: %s", e.Operation, e.Status, e.Body)
	}
	return fmt.Sprintf("EWS %s: HTTP %d", e.Operation, e.Status)
}
