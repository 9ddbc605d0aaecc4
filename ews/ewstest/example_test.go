package ewstest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/exmigrate/exmigrate/ews"
	"github.com/exmigrate/exmigrate/ews/ewstest"
	"github.com/exmigrate/exmigrate/mailbox"
)

// A test starts an Exchange in one line, seeds it, and points the real
// client at it over HTTPS with NTLM.
func Example() {
	srv := ewstest.NewServer()
	srv.AddAccount("CONTOSO", "svc", "s3cret-for-tests", true)
	alice := srv.AddMailbox("alice@contoso.com")
	alice.Folder("Inbox/Projects").AddItem(ewstest.Item{
		MIME:     []byte("Subject: Kickoff\r\nMessage-ID: <k@contoso.com>\r\n\r\nHello"),
		Received: time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC),
	})
	url, ca := srv.NewTLSServer()
	defer srv.Close()

	c, err := ews.NewClient(ews.Config{URL: url, Username: `CONTOSO\svc`, Password: "s3cret-for-tests",
		CABundlePEM: ca, Impersonation: true})
	if err != nil {
		panic(err)
	}
	box := c.Mailbox("alice@contoso.com")
	folders, err := box.Folders(context.Background(), mailbox.ScopePrimary)
	if err != nil {
		panic(err)
	}
	for _, f := range folders {
		if f.Path == "Inbox/Projects" {
			box.Items(context.Background(), f.ID, func(it mailbox.Item) error {
				fmt.Println(f.Path, it.Subject, it.Received.Format(time.DateOnly))
				return nil
			})
		}
	}
	fmt.Println("writes:", srv.Writes())
	// Output:
	// Inbox/Projects Kickoff 2024-03-01
	// writes: 0
}
