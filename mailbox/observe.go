package mailbox

import "context"

// SideWrite is a write a side makes on its own inside one of the
// contract's calls, which the caller did not ask for by name: the removal
// of an incomplete copy before an item is written again, the clean-up of a
// write that failed half-way. The engine puts each one on record.
type SideWrite struct {
	Action   string // e.g. "item.delete-incomplete"
	ItemID   string // the item written or removed
	SourceID string // the stamp concerned
	Err      error  // nil when it succeeded
	// Started marks the report made before the write is sent, so that it
	// is on record even if the process dies before it ends; the report of
	// its outcome follows.
	Started bool
}

// SideWriteDeleteIncomplete: an incomplete copy was removed.
const SideWriteDeleteIncomplete = "item.delete-incomplete"

type observerKey struct{}

// WithSideWrites returns a context whose calls report their side writes to
// fn; fn must be safe for concurrent use.
func WithSideWrites(ctx context.Context, fn func(SideWrite)) context.Context {
	return context.WithValue(ctx, observerKey{}, fn)
}

// ReportSideWrite tells the caller of the current call about a side write;
// without an observer it does nothing.
func ReportSideWrite(ctx context.Context, w SideWrite) {
	if fn, ok := ctx.Value(observerKey{}).(func(SideWrite)); ok && fn != nil {
		fn(w)
	}
}

// Loss is something of one item that a write could not carry to the
// target (a meeting's attendees written into an appointment's body, a
// task's percent complete): the item is copied, and the loss is counted
// per mailbox and kind with its code.
type Loss struct {
	Code string // stable finding code (see the Code* loss constants)
	What string // what was lost, for people
}

// Loss codes a writer reports.
const (
	// LossMeetingAsAppointment: a meeting written through an API that
	// would invite its attendees (Graph /events) became an appointment
	// in the owner's calendar, with its organizer, attendees and
	// responses written into the body.
	LossMeetingAsAppointment = "EXM-CAL-MEETING-AS-APPOINTMENT"
	// LossTaskFields: the target does not take some of a task's fields:
	// Microsoft To Do holds no percent complete, owner, delegator or
	// sensitivity; Exchange sets owner, delegator and complete date itself.
	LossTaskFields = "EXM-TASK-FIELDS-LOST"
	// LossAttachmentTooLarge: an attachment over MaxTypedAttachmentBytes
	// was left out of a typed item.
	LossAttachmentTooLarge = "EXM-TYPED-ATTACHMENT-LEFT-OUT"
	// LossTimeZone: the item's zone is unknown; it was written in UTC at
	// the same instant.
	LossTimeZone = "EXM-CAL-ZONE-UNKNOWN"
	// LossOccurrenceDetails: a changed occurrence of a series kept its
	// times but not its own subject, location or body.
	LossOccurrenceDetails = "EXM-CAL-OCCURRENCE-DETAILS-LOST"
	// LossResponsesInBody: a meeting kept its attendees, but not their
	// responses (EWS cannot set them): they are written into the body.
	LossResponsesInBody = "EXM-CAL-RESPONSES-IN-BODY"
	// LossContactPhoto: the target holds no photo for the contact.
	LossContactPhoto = "EXM-CONTACT-PHOTO-LOST"
)

type lossKey struct{}

// WithLosses returns a context whose writes report what they could not
// carry to fn; fn must be safe for concurrent use.
func WithLosses(ctx context.Context, fn func(Loss)) context.Context {
	return context.WithValue(ctx, lossKey{}, fn)
}

// ReportLoss tells the caller of the current write what it could not
// carry; without an observer it does nothing.
func ReportLoss(ctx context.Context, l Loss) {
	if fn, ok := ctx.Value(lossKey{}).(func(Loss)); ok && fn != nil {
		fn(l)
	}
}

type probeKey struct{}

// WithProbe marks a context as the fidelity probe's: a write of a stream
// the side does not declare it takes (EWS data into Graph before anyone
// found that the tenant takes it) is sent to the service anyway, into the
// probe's scratch folder, so that the service's own answer decides.
func WithProbe(ctx context.Context) context.Context { return context.WithValue(ctx, probeKey{}, true) }

// IsProbe reports whether the context is the fidelity probe's.
func IsProbe(ctx context.Context) bool { v, _ := ctx.Value(probeKey{}).(bool); return v }
