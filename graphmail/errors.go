package graphmail

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"

	"github.com/exmigrate/exmigrate/mailbox"
)

// ErrUnsupported: Graph v1.0 cannot do this (an archive or Recoverable Items
// tree, a rule predicate Graph lacks). It is permanent.
var ErrUnsupported = fmt.Errorf("not supported through Microsoft Graph v1.0: %w", mailbox.ErrUnsupported)

// Error is an error answer from Graph. It matches the mailbox sentinel error
// that fits its status and code (errors.Is), so callers decide without
// knowing Graph.
type Error struct {
	Op      string // what graphmail was doing, e.g. "create message in folder X"
	Status  int
	Code    string // Graph's error code, e.g. ErrorItemNotFound
	Message string
	kind    error // the mailbox sentinel, or nil
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("graph: %s: %d %s", e.Op, e.Status, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// Is matches the mailbox sentinel errors.
func (e *Error) Is(target error) bool { return e.kind != nil && target == e.kind }

// classify picks the mailbox sentinel for a Graph status and code.
func classify(status int, code string) error {
	switch code {
	case "MailboxNotEnabledForRESTAPI", "MailboxNotSupportedForRESTAPI":
		return mailbox.ErrNotOnThisSide
	case "ErrorInvalidUser", "Request_ResourceNotFound", "ResourceNotFound":
		if status == http.StatusNotFound {
			return mailbox.ErrMailboxNotFound
		}
	case "SyncStateNotFound", "SyncStateInvalid", "InvalidSyncState":
		return mailbox.ErrSyncStateInvalid
	case "ErrorQuotaExceeded", "ErrorQuotaExceededOnDelete":
		return mailbox.ErrQuotaExceeded
	case "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable", "MailboxStoreUnavailable", "ErrorMailboxIsLocked":
		return mailbox.ErrMailboxBusy
	case "ErrorAttachmentSizeLimitExceeded", "ErrorMessageSizeExceeded", "RequestEntityTooLarge", "ErrorMimeContentInvalidBase64String", "ErrorMimeContentConversionFailed":
		return mailbox.ErrItemRejected
	}
	switch status {
	case http.StatusUnauthorized:
		return mailbox.ErrAuthentication
	case http.StatusForbidden:
		return mailbox.ErrAccessDenied
	case http.StatusNotFound:
		return mailbox.ErrNotFound
	case http.StatusGone:
		return mailbox.ErrSyncStateInvalid
	case http.StatusRequestEntityTooLarge:
		return mailbox.ErrItemRejected
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		return mailbox.ErrMailboxBusy
	}
	return nil
}

// wrapErr turns an SDK, transport or credential error into a graphmail one.
func wrapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var oe *odataerrors.ODataError
	if errors.As(err, &oe) {
		e := &Error{Op: op, Status: oe.ResponseStatusCode}
		if in := oe.GetErrorEscaped(); in != nil {
			if c := in.GetCode(); c != nil {
				e.Code = *c
			}
			if m := in.GetMessage(); m != nil {
				e.Message = *m
			}
		}
		e.kind = classify(e.Status, e.Code)
		return e
	}
	var ge *Error
	if errors.As(err, &ge) {
		return err
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		return fmt.Errorf("graph: %s: %w", op, authError(err))
	}
	return fmt.Errorf("graph: %s: %w", op, err)
}

// AuthError is a credential Entra refused, or one that is not usable here.
type AuthError struct {
	Reason string // what Entra said, without any secret
	Fix    string // which Config fields to check
	err    error
}

func (e *AuthError) Error() string { return "graph authentication failed: " + e.Reason + "; " + e.Fix }

// Is matches mailbox.ErrAuthentication.
func (e *AuthError) Is(target error) bool { return target == mailbox.ErrAuthentication }

// Unwrap returns the azidentity error.
func (e *AuthError) Unwrap() error { return e.err }

func authError(err error) error {
	var ae *AuthError
	if errors.As(err, &ae) {
		return err
	}
	reason := err.Error()
	// Entra's answers carry an AADSTS code and text; keep the first line of it.
	if i := strings.Index(reason, "AADSTS"); i >= 0 {
		reason = reason[i:]
		if j := strings.IndexAny(reason, "\r\n"); j >= 0 {
			reason = reason[:j]
		}
	} else if j := strings.IndexAny(reason, "\r\n"); j >= 0 {
		reason = reason[:j]
	}
	fix := "check TenantID, ClientID and the credential (ClientSecret, or CertificatePath and CertificatePassword) and that the app is registered in that tenant"
	return &AuthError{Reason: reason, Fix: fix, err: err}
}

// RuleUnsupportedError is an inbox rule with conditions or actions that
// messageRule cannot express. CreateRule refuses it whole rather than
// dropping parts silently. It matches ErrUnsupported and
// mailbox.ErrItemRejected.
type RuleUnsupportedError struct {
	Rule   string
	Fields []string // the mailbox.Rule fields, e.g. Conditions.ItemClasses
}

func (e *RuleUnsupportedError) Error() string {
	return fmt.Sprintf("inbox rule %q uses %s, which Graph messageRule cannot express; recreate it by hand or drop those parts", e.Rule, strings.Join(e.Fields, ", "))
}

// Is matches ErrUnsupported and mailbox.ErrItemRejected.
func (e *RuleUnsupportedError) Is(target error) bool {
	return target == ErrUnsupported || target == mailbox.ErrItemRejected
}
