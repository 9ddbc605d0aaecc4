package graphmail

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	abs "github.com/microsoft/kiota-abstractions-go"
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
	retries int   // retries the scheduler made before it gave up, for ErrThrottled
	// wait is a Retry-After longer than the scheduler waits in one go,
	// which it honoured by stopping: the caller comes back after it.
	wait time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("graph: %s: %d", e.Op, e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	if e.wait > 0 {
		msg += fmt.Sprintf(" (Graph asks to wait %s before the next request for this mailbox; run again after that)", e.wait.Round(time.Second))
	} else if e.retries > 0 {
		msg += fmt.Sprintf(" (still refused after %d retries)", e.retries)
	}
	return msg
}

// verdict marks an error answer that no retry can change as permanent: a
// 4xx that names no mailbox condition, other than those with a meaning of
// their own (401 and 403 the credentials and rights, 404 a missing item,
// 408 a timeout, 409 and 412 a conflict, 429 throttling). Graph's "The
// folder display name is missing." (400) is one.
func (e *Error) verdict() error {
	if e.kind == nil && permanentStatus(e.Status) {
		return mailbox.Permanent(e)
	}
	return e
}

func permanentStatus(status int) bool {
	if status < 400 || status >= 500 {
		return false
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusRequestTimeout,
		http.StatusConflict, http.StatusPreconditionFailed, http.StatusTooManyRequests:
		return false
	}
	return true
}

// MalformedError is a successful answer graphmail or the SDK could not
// parse: an HTML page where JSON was expected (a proxy's sign-in page), a
// truncated or foreign document. Asking again gets the same, so wrapErr
// marks it permanent.
type MalformedError struct {
	ContentType string
	Body        string // the start of the body, for diagnosis
	Err         error
}

func (e *MalformedError) Error() string {
	msg := fmt.Sprintf("the answer (%s) is not the JSON expected: %v", e.ContentType, e.Err)
	if e.Body != "" {
		msg += ": " + e.Body
	}
	return msg
}

func (e *MalformedError) Unwrap() error { return e.Err }

// Is matches the mailbox sentinel errors.
func (e *Error) Is(target error) bool { return e.kind != nil && target == e.kind }

// classify picks the mailbox sentinel for a Graph status and code.
func classify(status int, code string) error {
	if throttlingStatus(status) {
		// The scheduler retries these and turns the one it gives up on into
		// an error itself (stopError); runBatch retries the steps of a
		// $batch. One that reaches classify is what they gave up on.
		return mailbox.ErrThrottled
	}
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
	}
	return nil
}

// wrapErr turns an SDK, transport or credential error into a graphmail one.
// What it returns says who retries (mailbox.ShouldRetry): an *Error
// matching mailbox.ErrThrottled the scheduler already retried; permanent
// errors (a 4xx such as 400, an answer that could not be parsed) nobody
// retries; a request the scheduler did not resend is mailbox.Retryable.
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
		return e.verdict()
	}
	var ae *abs.ApiError
	if errors.As(err, &ae) {
		// An error answer without a body, or with one the SDK has no model for.
		e := &Error{Op: op, Status: ae.ResponseStatusCode, Message: ae.Message}
		e.kind = classify(e.Status, "")
		return e.verdict()
	}
	var ue *url.Error
	var ge *Error
	if errors.As(err, &ue) && errors.As(ue.Err, &ge) {
		// The scheduler's verdict on an answer (stopError), wrapped by
		// net/http: the URL adds nothing to it.
		err = ue.Err
	}
	if errors.As(err, &ge) {
		if ge.Op == "" {
			ge.Op = op
		}
		return err
	}
	var me *MalformedError
	if errors.As(err, &me) {
		return mailbox.Permanent(fmt.Errorf("graph: %s: %w", op, err))
	}
	var af *azidentity.AuthenticationFailedError
	if errors.As(err, &af) {
		return fmt.Errorf("graph: %s: %w", op, authError(err))
	}
	return fmt.Errorf("graph: %s: %w", op, err)
}

// answerError reads Graph's error envelope from an error answer. A body
// that is not the envelope (an HTML page from a proxy) is kept, short, as
// the message.
func answerError(op string, resp *http.Response) *Error {
	var env struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Op: op, Status: resp.StatusCode}
	if json.Unmarshal(data, &env) == nil && (env.Error.Code != "" || env.Error.Message != "") {
		e.Code, e.Message = env.Error.Code, env.Error.Message
	} else if len(bytes.TrimSpace(data)) > 0 {
		e.Message = fmt.Sprintf("the answer (%s) is not Graph's JSON: %s", resp.Header.Get("Content-Type"), snippet(data))
	}
	e.kind = classify(e.Status, e.Code)
	return e
}

// errorFromResponse reads Graph's error envelope and marks the error as
// permanent when no retry can change it.
func errorFromResponse(op string, resp *http.Response) error {
	return answerError(op, resp).verdict()
}

// snippet is the start of a body, for diagnosis.
func snippet(b []byte) string {
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = b[:200]
	}
	return string(bytes.ToValidUTF8(b, []byte("?")))
}

// decodeAnswer decodes a successful JSON answer into v. A body that is not
// that JSON is a *MalformedError (permanent); an error reading the body
// (a connection dropped mid-answer) stays as it is.
func decodeAnswer(resp *http.Response, limit int64, v any) error {
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return &MalformedError{ContentType: resp.Header.Get("Content-Type"), Body: snippet(data), Err: err}
	}
	return nil
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

// decodeID reads the top-level "id" of a JSON object answer and discards
// the rest unparsed. A created message comes back whole (its body
// included), and parsing all of it for one field was 3% of a copy's CPU;
// Graph puts the id after the @odata annotations, near the start. The rest
// is still read to its end, so the connection is reused.
func decodeID(resp *http.Response, limit int64) (string, error) {
	body := io.LimitReader(resp.Body, limit)
	head := &firstBytes{max: 512}
	dec := json.NewDecoder(io.TeeReader(body, head))
	malformed := func(err error) error {
		return &MalformedError{ContentType: resp.Header.Get("Content-Type"), Body: snippet(head.Bytes()), Err: err}
	}
	if t, err := dec.Token(); err != nil {
		return "", readOrMalformed(err, malformed)
	} else if d, ok := t.(json.Delim); !ok || d != '{' {
		return "", malformed(fmt.Errorf("the answer is not a JSON object: starts with %v", t))
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return "", readOrMalformed(err, malformed)
		}
		key, _ := t.(string)
		if key != "id" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return "", readOrMalformed(err, malformed)
			}
			continue
		}
		var id string
		if err := dec.Decode(&id); err != nil {
			return "", readOrMalformed(err, malformed)
		}
		_, err = io.Copy(io.Discard, body)
		return id, err
	}
	_, err := io.Copy(io.Discard, body)
	return "", err
}

// readOrMalformed keeps a failed read (a dropped connection: retryable)
// apart from content that is not JSON (permanent).
func readOrMalformed(err error, malformed func(error) error) error {
	var se *json.SyntaxError
	// A clean end before the object does is content; io.ErrUnexpectedEOF
	// may be a dropped connection, so it stays a read error (retried,
	// after the stamp is looked up).
	if errors.As(err, &se) || err == io.EOF {
		return malformed(err)
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return malformed(err)
	}
	return err
}

// firstBytes keeps the first max bytes written to it, for an error's
// snippet.
type firstBytes struct {
	b   []byte
	max int
}

func (f *firstBytes) Write(p []byte) (int, error) {
	if room := f.max - len(f.b); room > 0 {
		f.b = append(f.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (f *firstBytes) Bytes() []byte { return f.b }
