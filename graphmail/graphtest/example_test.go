package graphtest_test

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// A lab: one app, one cloud mailbox with a message, one on-prem user. Point
// graphmail.Config at ep.BaseURL and ep.AuthorityHost with ep.Client.
func ExampleNewServer() {
	srv := graphtest.NewServer()
	srv.AddApp("contoso-tenant", "app-id", "secret-value", "Mail.ReadWrite", "MailboxSettings.Read")
	fx := srv.AddMailbox("alice@contoso.example", mailbox.TypeUser)
	fx.AddMessage("Inbox/Projects", graphtest.Message{Subject: "Kick-off", IsRead: true})
	srv.AddOnPremUser("bob@contoso.example")

	ep, err := srv.NewTLSServer()
	if err != nil {
		panic(err)
	}
	defer ep.Close()

	resp, err := ep.Client.PostForm(ep.AuthorityHost+"contoso-tenant/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"app-id"}, "client_secret": {"secret-value"},
		"scope": {"https://graph.microsoft.com/.default"},
	})
	if err != nil {
		panic(err)
	}
	resp.Body.Close()
	fmt.Println(resp.StatusCode, strings.HasSuffix(ep.BaseURL, "/v1.0"), len(fx.Messages("Inbox/Projects")))
	// Output: 200 true 1
}
