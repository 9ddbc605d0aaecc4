package ews_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestResponseCodesMapToSentinels(t *testing.T) {
	for _, tc := range []struct {
		code string
		want error
	}{
		{"ErrorItemNotFound", mailbox.ErrNotFound},
		{"ErrorNonExistentMailbox", mailbox.ErrMailboxNotFound},
		{"ErrorAccessDenied", mailbox.ErrAccessDenied},
		{"ErrorImpersonateUserDenied", mailbox.ErrAccessDenied},
		{"ErrorInvalidSyncStateData", mailbox.ErrSyncStateInvalid},
		{"ErrorMessageSizeExceeded", mailbox.ErrItemRejected},
		{"ErrorObjectTypeChanged", mailbox.ErrItemRejected},
		{"ErrorQuotaExceeded", mailbox.ErrQuotaExceeded},
		{"ErrorMailboxMoveInProgress", mailbox.ErrMailboxBusy},
	} {
		t.Run(tc.code, func(t *testing.T) {
			e := newEnv(t)
			e.srv.Inject(ewstest.Fault{Op: "CreateItem", Kind: ewstest.FaultCode, Code: tc.code})
			m := mime("x", 10)
			_, err := e.c.Mailbox(testMailbox).CreateMessage(context.Background(), e.mb.Root("inbox").ID(),
				mailbox.Message{SourceID: "s", MIME: bytes.NewReader(m), Size: int64(len(m))})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want errors.Is %v", err, tc.want)
			}
			var re *ews.ResponseError
			if !errors.As(err, &re) || re.Code != tc.code || re.Operation != "CreateItem" || re.Message == "" {
				t.Errorf("ResponseError = %+v", re)
			}
			if len(e.mb.Root("inbox").Items()) != 0 {
				t.Errorf("a failed create stored an item")
			}
		})
	}
}

func TestRealErrorsFromTheFake(t *testing.T) {
	ctx := context.Background()
	t.Run("item not found", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.c.Mailbox(testMailbox).OpenMIME(ctx, "QUFNa0FESXxub3RoZXJl")
		if !errors.Is(err, mailbox.ErrNotFound) || !mailbox.IsPermanent(err) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no such mailbox", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.c.Mailbox("nobody@contoso.com").Folders(ctx, mailbox.ScopePrimary)
		if !errors.Is(err, mailbox.ErrMailboxNotFound) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("impersonation denied", func(t *testing.T) {
		e := newEnv(t)
		e.srv.AddAccount(testDomain, "helpdesk", "Another-pass1", false)
		c := e.client(t, func(cfg *ews.Config) { cfg.Username = testDomain + `\helpdesk`; cfg.Password = "Another-pass1" })
		_, err := c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopePrimary)
		var re *ews.ResponseError
		if !errors.Is(err, mailbox.ErrAccessDenied) || !errors.As(err, &re) || re.Code != "ErrorImpersonateUserDenied" {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("delegate access without rights", func(t *testing.T) {
		e := newEnv(t)
		c := e.client(t, func(cfg *ews.Config) { cfg.Impersonation = false })
		_, err := c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopePrimary)
		if !errors.Is(err, mailbox.ErrAccessDenied) {
			t.Errorf("err = %v", err)
		}
		e.srv.GrantFullAccess(testDomain, testUser, testMailbox)
		if _, err := c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopePrimary); err != nil {
			t.Errorf("with full access: %v", err)
		}
	})
	t.Run("mailbox moving", func(t *testing.T) {
		e := newEnv(t)
		e.mb.SetMoveInProgress(true)
		err := e.c.Mailbox(testMailbox).Items(ctx, e.mb.Root("inbox").ID(), func(mailbox.Item) error { return nil })
		if !errors.Is(err, mailbox.ErrMailboxBusy) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("quota", func(t *testing.T) {
		e := newEnv(t)
		e.mb.SetQuota(100)
		m := mime("too big for the quota", 1000)
		_, err := e.c.Mailbox(testMailbox).CreateMessage(ctx, e.mb.Root("inbox").ID(), mailbox.Message{SourceID: "q", MIME: bytes.NewReader(m), Size: int64(len(m))})
		if !errors.Is(err, mailbox.ErrQuotaExceeded) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no archive", func(t *testing.T) {
		e := newEnv(t)
		_, err := e.c.Mailbox(testMailbox).Folders(ctx, mailbox.ScopeArchive)
		if !errors.Is(err, mailbox.ErrNotFound) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRedirectRefused(t *testing.T) {
	ts := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://evil.example/EWS/Exchange.asmx", http.StatusFound)
	}))
	defer ts.Close()
	c, err := ews.NewClient(ews.Config{URL: ts.URL + "/EWS/Exchange.asmx", Username: `CONTOSO\svc`, Password: "x",
		CABundlePEM: pemOf(ts.Certificate().Raw)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background())
	var he *ews.HTTPError
	if !errors.As(err, &he) || he.Status != http.StatusFound || !strings.Contains(err.Error(), "redirects are refused") {
		t.Errorf("err = %v", err)
	}
}

func TestUntrustedCertificate(t *testing.T) {
	e := newEnv(t)
	c, err := ews.NewClient(ews.Config{URL: e.url, Username: `CONTOSO\svc`, Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background())
	if err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Errorf("err = %v, want a TLS trust error", err)
	}
}

// TestParseExchangeFaultDetail reads faults shaped as Exchange sends them:
// ErrorSchemaValidation carries LineNumber, LinePosition and Violation as
// elements of t:MessageXml with a short e:Message (exchangelib issue 501);
// before, the client read them from the errors namespace, where Exchange
// never puts them, and its error said only "The request failed schema
// validation.".
func TestParseExchangeFaultDetail(t *testing.T) {
	const fault = `<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault>` +
		`<faultcode xmlns:a="http://schemas.microsoft.com/exchange/services/2006/types">a:ErrorSchemaValidation</faultcode>` +
		`<faultstring xml:lang="en-US">The request failed schema validation: The element 'Mailbox' has invalid child element 'RoutingType'.</faultstring>` +
		`<detail><e:ResponseCode xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">ErrorSchemaValidation</e:ResponseCode>` +
		`<e:Message xmlns:e="http://schemas.microsoft.com/exchange/services/2006/errors">The request failed schema validation.</e:Message>` +
		`<t:MessageXml xmlns:t="http://schemas.microsoft.com/exchange/services/2006/types"><t:LineNumber>1</t:LineNumber>` +
		`<t:LinePosition>812</t:LinePosition><t:Violation>The element 'Mailbox' has invalid child element 'RoutingType'.</t:Violation>` +
		`</t:MessageXml></detail></s:Fault></s:Body></s:Envelope>`
	re, err := ews.ParseFault(strings.NewReader(fault), "CreateItem")
	if err != nil || re == nil {
		t.Fatalf("ParseFault = %v, %v", re, err)
	}
	if re.Values["LineNumber"] != "1" || re.Values["LinePosition"] != "812" || !strings.Contains(re.Error(), "invalid child element 'RoutingType'") {
		t.Errorf("error %q, values %v", re.Error(), re.Values)
	}
}
