package ews

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/mailbox"
)

const (
	seedEnvelopeHead = `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><m:GetItemResponse xmlns:m="http://schemas.microsoft.com/exchange/services/2006/messages" xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><m:ResponseMessages><m:GetItemResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode><m:Items>`
	seedEnvelopeTail = `</m:Items></m:GetItemResponseMessage></m:ResponseMessages></m:GetItemResponse></s:Body></s:Envelope>`
	seedCalendarItem = seedEnvelopeHead + `<t:CalendarItem><t:ItemId Id="AAMk" ChangeKey="CQ"/><t:Subject>Stand-up</t:Subject><t:Sensitivity>Normal</t:Sensitivity><t:Body BodyType="Text">Agenda&#xD;
line</t:Body><t:Attachments><t:FileAttachment><t:AttachmentId Id="att"/><t:Name>a.txt</t:Name><t:Size>3</t:Size><t:IsInline>false</t:IsInline><t:IsContactPhoto>false</t:IsContactPhoto></t:FileAttachment></t:Attachments><t:Categories><t:String>Project</t:String></t:Categories><t:Importance>High</t:Importance><t:ReminderIsSet>true</t:ReminderIsSet><t:ReminderMinutesBeforeStart>15</t:ReminderMinutesBeforeStart><t:ExtendedProperty><t:ExtendedFieldURI PropertySetId="00020329-0000-0000-C000-000000000046" PropertyName="OnlineMeetingExternalLink" PropertyType="String"/><t:Value>https://x</t:Value></t:ExtendedProperty><t:UID>0400</t:UID><t:Start>2026-11-02T08:00:00Z</t:Start><t:End>2026-11-02T08:30:00Z</t:End><t:IsAllDayEvent>false</t:IsAllDayEvent><t:LegacyFreeBusyStatus>Busy</t:LegacyFreeBusyStatus><t:Location>Room</t:Location><t:IsMeeting>true</t:IsMeeting><t:IsCancelled>false</t:IsCancelled><t:MyResponseType>Organizer</t:MyResponseType><t:Organizer><t:Mailbox><t:Name>Alice</t:Name><t:EmailAddress>alice@contoso.com</t:EmailAddress></t:Mailbox></t:Organizer><t:RequiredAttendees><t:Attendee><t:Mailbox><t:Name>bob@contoso.com</t:Name><t:EmailAddress>bob@contoso.com</t:EmailAddress></t:Mailbox><t:ResponseType>Accept</t:ResponseType></t:Attendee></t:RequiredAttendees><t:Recurrence><t:WeeklyRecurrence><t:Interval>1</t:Interval><t:DaysOfWeek>Monday Wednesday</t:DaysOfWeek><t:FirstDayOfWeek>Monday</t:FirstDayOfWeek></t:WeeklyRecurrence><t:EndDateRecurrence><t:StartDate>2026-11-02Z</t:StartDate><t:EndDate>2027-03-29+01:00</t:EndDate></t:EndDateRecurrence></t:Recurrence><t:ModifiedOccurrences><t:Occurrence><t:ItemId Id="occ"/><t:Start>2026-11-16T10:00:00Z</t:Start><t:End>2026-11-16T10:30:00Z</t:End><t:OriginalStart>2026-11-16T08:00:00Z</t:OriginalStart></t:Occurrence></t:ModifiedOccurrences><t:DeletedOccurrences><t:DeletedOccurrence><t:Start>2026-11-23T08:00:00Z</t:Start></t:DeletedOccurrence></t:DeletedOccurrences><t:StartTimeZone Id="W. Europe Standard Time" Name="(UTC+01:00) Amsterdam"/></t:CalendarItem>` + seedEnvelopeTail
	seedTask  = seedEnvelopeHead + `<t:Task><t:ItemId Id="t"/><t:Subject>Check</t:Subject><t:ReminderDueBy>2026-12-03T08:00:00Z</t:ReminderDueBy><t:ReminderIsSet>true</t:ReminderIsSet><t:DueDate>2026-12-03T23:00:00Z</t:DueDate><t:Owner>Alice</t:Owner><t:PercentComplete>40.5</t:PercentComplete><t:Recurrence><t:DailyRegeneration><t:Interval>2</t:Interval></t:DailyRegeneration><t:NoEndRecurrence><t:StartDate>2026-12-04</t:StartDate></t:NoEndRecurrence></t:Recurrence><t:Status>InProgress</t:Status></t:Task>` + seedEnvelopeTail
	seedGroup = seedEnvelopeHead + `<t:DistributionList><t:ItemId Id="g"/><t:DisplayName>Team</t:DisplayName><t:Members><t:Member Key="1"><t:Mailbox><t:Name>Ana</t:Name><t:EmailAddress>ana@x</t:EmailAddress></t:Mailbox><t:Status>Normal</t:Status></t:Member><t:Member><t:Mailbox><t:Name>Nested</t:Name></t:Mailbox></t:Member></t:Members></t:DistributionList>` + seedEnvelopeTail
)

// FuzzTypedItems feeds GetItem answers to the typed readers: they never
// panic, and what they accept is a model the typed encoding round-trips.
func FuzzTypedItems(f *testing.F) {
	for _, s := range []string{seedCalendarItem, seedTask, seedGroup, seedGetItem, seedFault, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var ev opResponse[calendarItemXML]
		if decodeResponse(bytes.NewReader(data), "GetItem", 200, &ev) == nil {
			for _, m := range ev.RM.Messages {
				for i := range m.Items.Items {
					e, err := m.Items.Items[i].event()
					if err != nil {
						continue
					}
					if e.Recurrence != nil && !slices.Contains(mailbox.RecurrencePatterns, e.Recurrence.Pattern) {
						t.Fatalf("pattern %q", e.Recurrence.Pattern)
					}
					if b, err := mailbox.EncodeEvent(e); err == nil {
						back, err := mailbox.DecodeEvent(bytes.NewReader(b))
						if err != nil || back.Subject != e.Subject || !back.Start.Equal(e.Start) {
							t.Fatalf("round trip: %v %+v", err, back)
						}
					}
				}
			}
		}
		var tk opResponse[taskXML]
		if decodeResponse(bytes.NewReader(data), "GetItem", 200, &tk) == nil {
			for _, m := range tk.RM.Messages {
				for i := range m.Items.Items {
					task, err := m.Items.Items[i].task()
					if err != nil {
						continue
					}
					if task.PercentComplete < 0 || task.PercentComplete > 100 {
						t.Fatalf("percent complete %d", task.PercentComplete)
					}
					if task.Status != "" && !slices.Contains(mailbox.TaskStatuses, task.Status) {
						t.Fatalf("status %q", task.Status)
					}
					_, _ = mailbox.EncodeTask(task)
				}
			}
		}
		var gr opResponse[groupXML]
		if decodeResponse(bytes.NewReader(data), "GetItem", 200, &gr) == nil {
			for _, m := range gr.RM.Messages {
				for i := range m.Items.Items {
					g := m.Items.Items[i].group()
					for _, mb := range g.Members {
						if mb.Address == "" {
							t.Fatal("a member without an address")
						}
					}
					_, _ = mailbox.EncodeContactGroup(g)
				}
			}
		}
	})
}

// TestTypedSeeds pins what the readers make of the seeds.
func TestTypedSeeds(t *testing.T) {
	var ev opResponse[calendarItemXML]
	if err := decodeResponse(bytes.NewReader([]byte(seedCalendarItem)), "GetItem", 200, &ev); err != nil {
		t.Fatal(err)
	}
	e, err := ev.RM.Messages[0].Items.Items[0].event()
	if err != nil {
		t.Fatal(err)
	}
	if e.Body != "Agenda\nline" || e.TimeZone != "W. Europe Standard Time" || e.OnlineMeetingURL != "https://x" || e.ReminderMinutes != 15 ||
		e.Recurrence == nil || e.Recurrence.EndDate != "2027-03-29" || e.Recurrence.StartDate != "2026-11-02" || len(e.Cancelled) != 1 ||
		len(e.Attendees) != 1 || e.Attendees[0].Name != "" || e.Attendees[0].Response != "Accept" || e.Organizer == nil || e.MyResponse != "Organizer" {
		t.Errorf("calendar item read as %+v (recurrence %+v)", e, e.Recurrence)
	}
	var tk opResponse[taskXML]
	if err := decodeResponse(bytes.NewReader([]byte(seedTask)), "GetItem", 200, &tk); err != nil {
		t.Fatal(err)
	}
	if rt, err := tk.RM.Messages[0].Items.Items[0].task(); err != nil || rt.Recurrence != nil || !strings.Contains(rt.Body, "DailyRegeneration") {
		t.Errorf("a regenerating task recurrence: %+v, %v; want the task without it, said in the body", rt, err)
	}
	tk.RM.Messages[0].Items.Items[0].Recurrence = nil
	task, _ := tk.RM.Messages[0].Items.Items[0].task()
	if task.DueDate != "2026-12-04" || task.PercentComplete != 40 || task.Owner != "Alice" || task.Status != "InProgress" {
		t.Errorf("task read as %+v", task)
	}
	var gr opResponse[groupXML]
	if err := decodeResponse(bytes.NewReader([]byte(seedGroup)), "GetItem", 200, &gr); err != nil {
		t.Fatal(err)
	}
	if g := gr.RM.Messages[0].Items.Items[0].group(); len(g.Members) != 1 || g.Members[0].Name != "Ana" || g.DisplayName != "Team" {
		t.Errorf("group read as %+v", g)
	}
}
