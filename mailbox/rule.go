package mailbox

// Rule is a server-side inbox rule in the shape of the EWS schema
// (t:RuleType), which is the richer of the two sides: the mapper translates
// it into what Graph's messageRule can express and names what it cannot.
type Rule struct {
	ID             string
	Name           string
	Priority       int
	Enabled        bool
	IsNotSupported bool // EWS: the rule cannot be edited with EWS (client-side parts)
	IsInError      bool // EWS: the rule is in error and does not run
	Conditions     Predicates
	Exceptions     Predicates
	Actions        Actions
}

// Predicates are the conditions or exceptions of a rule (t:RulePredicatesType).
// Zero values mean "not set".
type Predicates struct {
	Categories                   []string
	ContainsBodyStrings          []string
	ContainsHeaderStrings        []string
	ContainsRecipientStrings     []string
	ContainsSenderStrings        []string
	ContainsSubjectOrBodyStrings []string
	ContainsSubjectStrings       []string
	FlaggedForAction             string // e.g. Any, FollowUp, Forward, Reply ...
	FromAddresses                []string
	FromConnectedAccounts        []string
	HasAttachments               bool
	Importance                   Importance
	IsApprovalRequest            bool
	IsAutomaticForward           bool
	IsAutomaticReply             bool
	IsEncrypted                  bool
	IsMeetingRequest             bool
	IsMeetingResponse            bool
	IsNDR                        bool
	IsPermissionControlled       bool
	IsReadReceipt                bool
	IsSigned                     bool
	IsVoicemail                  bool
	ItemClasses                  []string
	MessageClassifications       []string
	NotSentToMe                  bool
	SentCcMe                     bool
	SentOnlyToMe                 bool
	SentToAddresses              []string
	SentToMe                     bool
	SentToOrCcMe                 bool
	Sensitivity                  string // Normal, Personal, Private, Confidential
	WithinDateRange              *DateRange
	WithinSizeRange              *SizeRange
}

// DateRange bounds the received time of a message; either end may be empty.
type DateRange struct {
	StartDateTime string // xs:dateTime as the server wrote it
	EndDateTime   string
}

// SizeRange bounds the size of a message in kilobytes; zero means unbounded.
type SizeRange struct {
	MinimumSizeKB int
	MaximumSizeKB int
}

// Actions are what a rule does (t:RuleActionsType). Folder references are
// folder ids of the mailbox the rule was read from.
type Actions struct {
	AssignCategories                []string
	CopyToFolder                    string
	Delete                          bool
	ForwardAsAttachmentToRecipients []string
	ForwardToRecipients             []string
	MarkImportance                  Importance
	MarkAsRead                      bool
	MoveToFolder                    string
	PermanentDelete                 bool
	RedirectToRecipients            []string
	SendSMSAlertToRecipients        []string
	ServerReplyWithMessage          string // item id of the reply template
	StopProcessingRules             bool
}
