package graphtest_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/thirdparty"
	"github.com/exmigrate/exmigrate/mailbox"
)

// appCert is an app registration's certificate and key, as an admin
// uploads the one and keeps the other.
func appCert(t *testing.T) (certPEM, keyPEM []byte, thumbprint string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "msal smoke app"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kd, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(der)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kd}), hex.EncodeToString(sum[:])
}

type msalStep struct {
	OK    bool   `json:"ok"`
	Error string `json:"error"`
	Trace string `json:"trace"`
}

type msalResults struct {
	Token struct {
		msalStep
		TokenType string `json:"token_type"`
		ExpiresIn int    `json:"expires_in"`
	} `json:"token"`
	Folders struct {
		msalStep
		Names []string `json:"names"`
		Pages int      `json:"pages"`
	} `json:"folders"`
	Messages struct {
		msalStep
		Subjects []string `json:"subjects"`
		IDs      []string `json:"ids"`
		Pages    int      `json:"pages"`
		Unread   []string `json:"unread"`
	} `json:"messages"`
	Delta struct {
		msalStep
		IDs   []string `json:"ids"`
		Pages int      `json:"pages"`
	} `json:"delta"`
	Create struct {
		msalStep
		ID       string              `json:"id"`
		IsDraft  bool                `json:"isDraft"`
		IsRead   bool                `json:"isRead"`
		Received string              `json:"received"`
		Single   map[string]string   `json:"single"`
		Multi    map[string][]string `json:"multi"`
		Found    []string            `json:"found"`
	} `json:"create"`
	Upload struct {
		msalStep
		SHA256      string `json:"sha256"`
		Size        int64  `json:"size"`
		Statuses    []int  `json:"statuses"`
		Location    string `json:"location"`
		UploadHost  string `json:"upload_host"`
		GraphHost   string `json:"graph_host"`
		Attachments []struct {
			Name string `json:"name"`
			Size int64  `json:"size"`
		} `json:"attachments"`
		WithToken struct {
			Status int    `json:"status"`
			Code   string `json:"code"`
		} `json:"with_token"`
	} `json:"upload"`
	DeltaAgain struct {
		msalStep
		IDs     []string `json:"ids"`
		Removed []string `json:"removed"`
	} `json:"delta_again"`
}

// TestMSALPython drives the fake with MSAL Python and requests, unmodified,
// as a new user of the lab would: an app-only token with a certificate,
// then folders, paging, delta to its deltaLink, a create with single- and
// multi-value extended properties, an upload session for an attachment
// over 3 MB, and the next delta round. Each result is checked against the
// fake's own state.
func TestMSALPython(t *testing.T) {
	py := thirdparty.Python(t, "msal", "python3-msal")
	const (
		tenantID = "contoso.onmicrosoft.com"
		clientID = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
		owner    = "megan@contoso.onmicrosoft.com"
		upload   = 3_500_000
	)
	srv := graphtest.NewServer()
	certPEM, keyPEM, thumb := appCert(t)
	if err := srv.AddAppCertificate(tenantID, clientID, certPEM, "Mail.ReadWrite"); err != nil {
		t.Fatal(err)
	}
	fx := srv.AddMailbox(owner, mailbox.TypeUser)
	base := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	for i := range 12 {
		fx.AddMessage("Inbox", graphtest.Message{Subject: fmt.Sprintf("seed %02d", i), IsRead: i%3 != 0, From: "ann@contoso.example",
			Received: base.Add(time.Duration(i) * time.Hour), Sent: base.Add(time.Duration(i) * time.Hour)})
	}
	fx.Folder("Projects")
	fx.Folder("Customers")
	ep := srv.StartTLS(t)

	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cfg, _ := json.Marshal(map[string]any{
		"authority": ep.AuthorityHost + tenantID, "client_id": clientID, "key_file": write("app.key", keyPEM), "thumbprint": thumb,
		"graph": ep.BaseURL, "mailbox": owner, "upload_size": upload,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, filepath.Join("testdata", "clients", "msal_smoke.py"), write("config.json", cfg))
	cmd.Env = append(os.Environ(), "REQUESTS_CA_BUNDLE="+write("ca.pem", ep.CAPEM),
		"NO_PROXY=127.0.0.1,localhost,::1", "no_proxy=127.0.0.1,localhost,::1", "PYTHONDONTWRITEBYTECODE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("msal_smoke.py: %v\n%s\n%s", err, out, stderr.String())
	}
	var res msalResults
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("the script's output is not its JSON: %v\n%s\n%s", err, out, stderr.String())
	}
	if !res.Token.OK {
		t.Fatalf("MSAL got no token: %s\n%s", res.Token.Error, res.Token.Trace)
	}
	steps := map[string]msalStep{"token": res.Token.msalStep, "folders": res.Folders.msalStep, "messages": res.Messages.msalStep,
		"delta": res.Delta.msalStep, "create": res.Create.msalStep, "upload": res.Upload.msalStep, "delta_again": res.DeltaAgain.msalStep}
	for _, name := range []string{"token", "folders", "messages", "delta", "create", "upload", "delta_again"} {
		if st := steps[name]; !st.OK {
			t.Errorf("%s failed: %s\n%s", name, st.Error, st.Trace)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	// The token: issued by the fake's token endpoint for the certificate.
	if res.Token.TokenType != "Bearer" || res.Token.ExpiresIn <= 0 || srv.TokensIssued() != 1 {
		t.Errorf("token %+v, %d issued", res.Token, srv.TokensIssued())
	}
	// Folders, over pages of 3: the mailbox's visible top-level folders.
	if len(res.Folders.Names) != 10 || res.Folders.Pages != 4 || !slices.Contains(res.Folders.Names, "Projects") || slices.Contains(res.Folders.Names, "Sync Issues") {
		t.Errorf("folders %v in %d pages, want the 10 visible ones in 4", res.Folders.Names, res.Folders.Pages)
	}
	// Messages over pages of 5, and the unread ones by $filter.
	inbox := fx.Messages("Inbox")
	var wantSubjects, wantUnread, wantIDs []string
	for _, m := range inbox {
		if m.Subject == "Created by MSAL smoke" {
			continue
		}
		wantSubjects, wantIDs = append(wantSubjects, m.Subject), append(wantIDs, m.ID)
		if !m.IsRead {
			wantUnread = append(wantUnread, m.Subject)
		}
	}
	sorted := func(s []string) []string { s = slices.Clone(s); sort.Strings(s); return s }
	if !slices.Equal(sorted(res.Messages.Subjects), sorted(wantSubjects)) || res.Messages.Pages != 3 || !slices.Equal(sorted(res.Messages.IDs), sorted(wantIDs)) {
		t.Errorf("messages %v in %d pages, want %v in 3", res.Messages.Subjects, res.Messages.Pages, wantSubjects)
	}
	if !slices.Equal(sorted(res.Messages.Unread), sorted(wantUnread)) {
		t.Errorf("unread %v, want %v", res.Messages.Unread, wantUnread)
	}
	// Delta: every message of the first round, over pages of 4.
	if !slices.Equal(sorted(res.Delta.IDs), sorted(wantIDs)) || res.Delta.Pages != 3 {
		t.Errorf("delta ids %v in %d pages, want the %d of the Inbox in 3", res.Delta.IDs, res.Delta.Pages, len(wantIDs))
	}
	// The create: not a draft, read, received at the given time, both
	// kinds of extended property stored and read back, found by its stamp.
	m, ok := fx.Message(res.Create.ID)
	const src = "String {9d4b5a3e-6f0c-4c51-9a57-6b8e2f1d7c42} Name SmokeSourceId"
	const tags = "StringArray {00020329-0000-0000-C000-000000000046} Name SmokeTags"
	switch {
	case !ok:
		t.Errorf("the created message %s is not in the fake", res.Create.ID)
	case m.IsDraft || !m.IsRead || !m.Received.Equal(time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)) || m.ExtendedProperties[src] != "smoke-1" ||
		!slices.Equal(m.MultiValueExtendedProperties[tags], []string{"migration", "wave 1"}):
		t.Errorf("stored: draft %v read %v received %v props %v multi %v", m.IsDraft, m.IsRead, m.Received, m.ExtendedProperties, m.MultiValueExtendedProperties)
	}
	if res.Create.IsDraft || !res.Create.IsRead || res.Create.Received != "2024-05-01T10:00:00Z" || res.Create.Single[src] != "smoke-1" ||
		!slices.Equal(res.Create.Multi[tags], []string{"migration", "wave 1"}) || !slices.Equal(res.Create.Found, []string{res.Create.ID}) {
		t.Errorf("read back %+v", res.Create)
	}
	// The upload: on another host, refused with a Graph token, the bytes
	// attached whole.
	if res.Upload.UploadHost == res.Upload.GraphHost || res.Upload.WithToken.Status != 401 || res.Upload.WithToken.Code != "InvalidAudienceForResource" {
		t.Errorf("upload host %s (Graph %s), with a token %+v", res.Upload.UploadHost, res.Upload.GraphHost, res.Upload.WithToken)
	}
	if !slices.Equal(res.Upload.Statuses, []int{200, 200, 201}) || !strings.Contains(res.Upload.Location, "/Attachments('") {
		t.Errorf("upload answers %v, Location %q", res.Upload.Statuses, res.Upload.Location)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].Size != upload || hex.EncodeToString(sha256Of(m.Attachments[0].Data)) != res.Upload.SHA256 {
		t.Errorf("stored attachments %d, want one of %d bytes with the script's digest", len(m.Attachments), upload)
	}
	if len(res.Upload.Attachments) != 1 || res.Upload.Attachments[0].Name != "scan.bin" || res.Upload.Attachments[0].Size != upload {
		t.Errorf("attachments listed %+v", res.Upload.Attachments)
	}
	// The next delta round: the message created (and changed by its
	// attachment) since, and nothing else.
	if !slices.Equal(res.DeltaAgain.IDs, []string{res.Create.ID}) || len(res.DeltaAgain.Removed) != 0 {
		t.Errorf("second delta round %v, want only %s", res.DeltaAgain.IDs, res.Create.ID)
	}
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
