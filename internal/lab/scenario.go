package lab

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/exmigrate/exmigrate/graphmail/graphtest"
	"github.com/exmigrate/exmigrate/internal/config"
	"github.com/exmigrate/exmigrate/mailbox"
)

// Scenario describes the organisation a lab serves: on-prem and cloud
// mailboxes with their folders, items, rules, delegates, holds and archives,
// and the public folder tree. testdata/lab/ holds examples; the README
// documents the format.
type Scenario struct {
	Organisation string `yaml:"organisation"`
	// Domain is the organisation's SMTP domain (on-prem and cloud users).
	Domain string `yaml:"domain"`
	// CloudDomain is where the cloud targets of on-prem mailboxes live,
	// e.g. contoso.onmicrosoft.com.
	CloudDomain string `yaml:"cloud_domain"`
	Seed        uint64 `yaml:"seed"`
	// TenantMessageLimit is what the cloud side refuses above (35 MB by default).
	Mailboxes     []MailboxSpec      `yaml:"mailboxes"`
	PublicFolders []PublicFolderSpec `yaml:"public_folders"`
	// Generate adds synthetic on-prem mailboxes (for load and rehearsal).
	Generate GenerateSpec `yaml:"generate"`
}

// GenerateSpec adds Mailboxes on-prem user mailboxes with Items messages
// each, spread over a few folders.
type GenerateSpec struct {
	Mailboxes int `yaml:"mailboxes"`
	Items     int `yaml:"items"`
}

// MailboxSpec is one mailbox of the scenario.
type MailboxSpec struct {
	Address  string `yaml:"address"`
	Name     string `yaml:"name"`
	Location string `yaml:"location"` // onprem or cloud
	Type     string `yaml:"type"`     // user (default), shared, room, equipment
	// Target is the cloud mailbox an on-prem mailbox is copied into;
	// default local-part@cloud_domain. "none" creates no target.
	Target string `yaml:"target"`
	// Folders maps a folder path to the number of generated messages in
	// it, e.g. "Inbox: 120" or "Inbox/Projects: 30". Missing folders are
	// created.
	Folders map[string]int `yaml:"folders"`
	// FolderClasses sets the class of folders that are not mail, e.g.
	// "Calendar/Team: IPF.Appointment".
	FolderClasses map[string]string `yaml:"folder_classes"`
	// NonMailItems puts calendar items, contacts, tasks and (on-prem only)
	// sticky notes and journal entries in the standard folders.
	NonMailItems map[string]int  `yaml:"non_mail_items"` // Calendar: 5, Contacts: 3, Notes: 2, Journal: 1
	LargeItems   []LargeItemSpec `yaml:"large_items"`
	ReadRatio    *float64        `yaml:"read_ratio"` // default 0.7
	Archive      *int            `yaml:"archive"`    // items in the online archive; absent: no archive
	Recoverable  int             `yaml:"recoverable_items"`
	Rules        []RuleSpec      `yaml:"rules"`
	Delegates    []DelegateSpec  `yaml:"delegates"`
	Holds        []HoldSpec      `yaml:"holds"`
	// MaxSendSize and MaxReceiveSize are the Exchange Online message size
	// limits (Set-Mailbox) of the mailbox in the cloud: a cloud mailbox
	// itself, or the target of an on-prem one. Default 35 MB to send and
	// 36 MB to receive, as Exchange Online's; at most 150 MB. The Graph
	// fake refuses what goes over the smaller.
	MaxSendSize    config.Size `yaml:"max_send_size"`
	MaxReceiveSize config.Size `yaml:"max_receive_size"`
}

// LargeItemSpec is one message with a large attachment.
type LargeItemSpec struct {
	Folder string      `yaml:"folder"`
	Size   config.Size `yaml:"size"`
}

// RuleSpec is an inbox rule, written with folder paths instead of ids.
type RuleSpec struct {
	Name                  string   `yaml:"name"`
	Disabled              bool     `yaml:"disabled"`
	From                  []string `yaml:"from"`
	SubjectContains       []string `yaml:"subject_contains"`
	BodyContains          []string `yaml:"body_contains"`
	SentToMe              bool     `yaml:"sent_to_me"`
	HasAttachments        bool     `yaml:"has_attachments"`
	ItemClasses           []string `yaml:"item_classes"`
	FromConnectedAccounts []string `yaml:"from_connected_accounts"`
	WithinDays            int      `yaml:"within_days"` // WithinDateRange from 2024-01-01 for this many days
	ExceptSubjectContains []string `yaml:"except_subject_contains"`
	MoveTo                string   `yaml:"move_to"` // folder path
	CopyTo                string   `yaml:"copy_to"`
	MarkAsRead            bool     `yaml:"mark_as_read"`
	Categories            []string `yaml:"assign_categories"`
	ForwardTo             []string `yaml:"forward_to"`
	Delete                bool     `yaml:"delete"`
	SendSMSAlertTo        []string `yaml:"send_sms_alert_to"`
	StopProcessing        bool     `yaml:"stop_processing"`
	InError               bool     `yaml:"in_error"`
	NotSupported          bool     `yaml:"not_supported"`
}

// DelegateSpec is a delegate with its folder permission levels.
type DelegateSpec struct {
	User             string `yaml:"user"`
	Calendar         string `yaml:"calendar"`
	Inbox            string `yaml:"inbox"`
	ViewPrivateItems bool   `yaml:"view_private_items"`
}

// HoldSpec is an In-Place hold on the mailbox.
type HoldSpec struct {
	Name  string `yaml:"name"`
	Query string `yaml:"query"`
}

// PublicFolderSpec is one public folder and its generated items.
type PublicFolderSpec struct {
	Path  string `yaml:"path"`
	Items int    `yaml:"items"`
	Class string `yaml:"class"`
}

//go:embed default.yaml
var defaultScenario []byte

// DefaultScenario is the small hybrid organisation `exmigrate lab` and
// `exmigrate demo` serve when no scenario file is given.
func DefaultScenario() (*Scenario, error) { return ParseScenario(defaultScenario) }

// LoadScenario reads a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("scenario: %w", err)
	}
	s, err := ParseScenario(data)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, nil
}

// ParseScenario decodes and checks a scenario.
func ParseScenario(data []byte) (*Scenario, error) {
	var s Scenario
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil {
		return nil, err
	}
	if s.Domain == "" {
		s.Domain = "contoso.com"
	}
	if s.CloudDomain == "" {
		s.CloudDomain = strings.Split(s.Domain, ".")[0] + ".onmicrosoft.com"
	}
	if s.Organisation == "" {
		s.Organisation = s.Domain
	}
	seen := map[string]bool{}
	var errs []error
	for i := range s.Mailboxes {
		m := &s.Mailboxes[i]
		if !strings.Contains(m.Address, "@") {
			errs = append(errs, fmt.Errorf("mailboxes[%d].address: %q is not an SMTP address", i, m.Address))
		}
		if seen[strings.ToLower(m.Address)] {
			errs = append(errs, fmt.Errorf("mailboxes[%d].address: %s is listed twice", i, m.Address))
		}
		seen[strings.ToLower(m.Address)] = true
		switch m.Location {
		case "onprem", "cloud":
		case "":
			m.Location = "onprem"
		default:
			errs = append(errs, fmt.Errorf("mailboxes[%d].location: %q: use onprem or cloud", i, m.Location))
		}
		switch mailbox.MailboxType(m.Type) {
		case mailbox.TypeUser, mailbox.TypeShared, mailbox.TypeRoom, mailbox.TypeEquipment:
		case "":
			m.Type = string(mailbox.TypeUser)
		default:
			errs = append(errs, fmt.Errorf("mailboxes[%d].type: %q: use user, shared, room or equipment", i, m.Type))
		}
		if m.Target == "" && m.Location == "onprem" {
			local, _, _ := strings.Cut(m.Address, "@")
			m.Target = local + "@" + s.CloudDomain
		}
		if m.ReadRatio == nil {
			r := 0.7
			m.ReadRatio = &r
		}
		for path, n := range m.Folders {
			if n < 0 || path == "" {
				errs = append(errs, fmt.Errorf("mailboxes[%d].folders: %q: %d items", i, path, n))
			}
		}
		for _, l := range []struct {
			key string
			v   config.Size
		}{{"max_send_size", m.MaxSendSize}, {"max_receive_size", m.MaxReceiveSize}} {
			if l.v < 0 || int64(l.v) > graphtest.MaxMessageSizeLimit {
				errs = append(errs, fmt.Errorf("mailboxes[%d].%s: %d bytes: use 1 byte to 150MB (Exchange Online's range)", i, l.key, int64(l.v)))
			}
		}
		if (m.MaxSendSize != 0 || m.MaxReceiveSize != 0) && m.Location == "onprem" && m.Target == "none" {
			errs = append(errs, fmt.Errorf("mailboxes[%d]: max_send_size and max_receive_size are the limits of its cloud mailbox, and it has none (target: none)", i))
		}
	}
	if s.Generate.Mailboxes < 0 || s.Generate.Items < 0 {
		errs = append(errs, errors.New("generate: mailboxes and items must not be negative"))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &s, nil
}

// expand adds the generated mailboxes to the listed ones.
func (s *Scenario) expand() []MailboxSpec {
	out := append([]MailboxSpec(nil), s.Mailboxes...)
	for i := range s.Generate.Mailboxes {
		local := fmt.Sprintf("user%04d", i+1)
		per := s.Generate.Items
		r := 0.7
		out = append(out, MailboxSpec{
			Address: local + "@" + s.Domain, Name: fmt.Sprintf("User %04d", i+1), Location: "onprem", Type: "user",
			Target: local + "@" + s.CloudDomain, ReadRatio: &r,
			Folders: map[string]int{"Inbox": per * 6 / 10, "Sent Items": per * 3 / 10, "Inbox/Projects": per - per*6/10 - per*3/10},
		})
	}
	return out
}
