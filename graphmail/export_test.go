package graphmail

import (
	"context"
	"time"

	"github.com/microsoftgraph/msgraph-sdk-go/models"
)

// PostEventWithSDK creates an event with attendees in the mailbox's
// default calendar through msgraph-sdk-go's own request builders: what
// exmigrate never does, for the test that proves the fake sends meeting
// requests as Graph does.
func PostEventWithSDK(ctx context.Context, m *Mailbox, subject string, start time.Time, attendees []string) (string, error) {
	ev := models.NewEvent()
	ev.SetSubject(&subject)
	at := func(t time.Time) models.DateTimeTimeZoneable {
		d := models.NewDateTimeTimeZone()
		d.SetDateTime(ptr(t.UTC().Format("2006-01-02T15:04:05")))
		d.SetTimeZone(ptr("UTC"))
		return d
	}
	ev.SetStart(at(start))
	ev.SetEnd(at(start.Add(30 * time.Minute)))
	var as []models.Attendeeable
	for _, a := range attendees {
		x := models.NewAttendee()
		e := models.NewEmailAddress()
		e.SetAddress(ptr(a))
		x.SetEmailAddress(e)
		typ := models.REQUIRED_ATTENDEETYPE
		x.SetTypeEscaped(&typ)
		as = append(as, x)
	}
	ev.SetAttendees(as)
	created, err := m.user.Events().Post(m.ctx(ctx), ev, nil)
	if err != nil {
		return "", wrapErr("create an event with the SDK", err)
	}
	return deref(created.GetId()), nil
}
