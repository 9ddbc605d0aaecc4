package graphtest

import (
	"time"
)

// The entity types of Graph v1.0 the fake serves, as $select, $expand,
// $filter and $orderby see them (learn.microsoft.com/graph/api/resources/
// message, mailfolder, attachment, messagerule, mailboxsettings, user).

func str(get func(v any) string) func(v any) any { return func(v any) any { return get(v) } }

func identity(v any) any { return v }

var (
	emailAddressSchema = newSchema("microsoft.graph.emailAddress",
		&propDef{name: "address", typ: edmString, get: identity},
		&propDef{name: "name", typ: edmString, get: identity},
	)
	// A recipient is held as its address; the fake names people by it.
	recipientSchema = newSchema("microsoft.graph.recipient",
		&propDef{name: "emailAddress", typ: edmComplex, sub: emailAddressSchema, get: identity},
	)
	followupFlagSchema = newSchema("microsoft.graph.followupFlag",
		&propDef{name: "flagStatus", typ: edmString, get: identity},
	)
	itemBodySchema = newSchema("microsoft.graph.itemBody",
		&propDef{name: "contentType", typ: edmString, get: str(func(v any) string { return v.(*Message).BodyType })},
		&propDef{name: "content", typ: edmString, get: str(func(v any) string { return v.(*Message).Body })},
	)
	singleValuePropSchema = newSchema("microsoft.graph.singleValueLegacyExtendedProperty",
		&propDef{name: "id", typ: edmString, get: str(func(v any) string { return v.(extProp).ID }), norm: normPropID},
		&propDef{name: "value", typ: edmString, get: str(func(v any) string { return v.(extProp).Value })},
	)
	multiValuePropSchema = newSchema("microsoft.graph.multiValueLegacyExtendedProperty",
		&propDef{name: "id", typ: edmString, get: str(func(v any) string { return v.(mvProp).ID }), norm: normPropID},
		&propDef{name: "value", typ: edmString, coll: true, get: func(v any) any { return strAny(v.(mvProp).Value) }},
	)
)

// mvProp is one multiValueExtendedProperty.
type mvProp struct {
	ID    string   `json:"id"`
	Value []string `json:"value"`
}

func strAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func secs(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }

func msgTime(get func(m *Message) time.Time) func(v any) any {
	return func(v any) any { return secs(get(v.(*Message))) }
}

func msgStr(get func(m *Message) string) func(v any) any {
	return func(v any) any { return get(v.(*Message)) }
}

func optional(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var messageSchema = newSchema("microsoft.graph.message",
	&propDef{name: "id", typ: edmString, get: msgStr(func(m *Message) string { return m.ID })},
	&propDef{name: "subject", typ: edmString, get: msgStr(func(m *Message) string { return m.Subject })},
	&propDef{name: "bodyPreview", typ: edmString, get: msgStr(func(m *Message) string { return preview(m.Body) })},
	&propDef{name: "internetMessageId", typ: edmString, get: msgStr(func(m *Message) string { return m.InternetMessageID })},
	&propDef{name: "parentFolderId", typ: edmString, get: msgStr(func(m *Message) string { return m.FolderID })},
	&propDef{name: "conversationId", typ: edmString, get: msgStr(conversationID)},
	&propDef{name: "importance", typ: edmString, get: msgStr(func(m *Message) string { return m.Importance })},
	&propDef{name: "inferenceClassification", typ: edmString, get: func(any) any { return "focused" }},
	&propDef{name: "isRead", typ: edmBool, get: func(v any) any { return v.(*Message).IsRead }},
	&propDef{name: "isDraft", typ: edmBool, get: func(v any) any { return v.(*Message).IsDraft }},
	&propDef{name: "hasAttachments", typ: edmBool, get: func(v any) any { return len(v.(*Message).Attachments) > 0 }},
	&propDef{name: "isReadReceiptRequested", typ: edmBool, get: func(any) any { return false }},
	&propDef{name: "isDeliveryReceiptRequested", typ: edmBool, get: func(any) any { return false }},
	&propDef{name: "receivedDateTime", typ: edmDateTime, get: msgTime(func(m *Message) time.Time { return m.Received })},
	&propDef{name: "sentDateTime", typ: edmDateTime, get: msgTime(func(m *Message) time.Time { return m.Sent })},
	&propDef{name: "createdDateTime", typ: edmDateTime, get: msgTime(func(m *Message) time.Time { return m.Created })},
	&propDef{name: "lastModifiedDateTime", typ: edmDateTime, get: msgTime(func(m *Message) time.Time { return m.Modified })},
	&propDef{name: "from", typ: edmComplex, sub: recipientSchema, get: func(v any) any { return optional(v.(*Message).From) }},
	&propDef{name: "sender", typ: edmComplex, sub: recipientSchema, get: func(v any) any { return optional(v.(*Message).From) }},
	&propDef{name: "toRecipients", typ: edmComplex, coll: true, sub: recipientSchema, get: func(v any) any { return strAny(v.(*Message).To) }},
	&propDef{name: "ccRecipients", typ: edmComplex, coll: true, sub: recipientSchema, get: func(v any) any { return strAny(v.(*Message).Cc) }},
	&propDef{name: "bccRecipients", typ: edmComplex, coll: true, sub: recipientSchema, get: func(v any) any { return strAny(v.(*Message).Bcc) }},
	&propDef{name: "replyTo", typ: edmComplex, coll: true, sub: recipientSchema, get: func(any) any { return []any{} }},
	&propDef{name: "categories", typ: edmString, coll: true, get: func(v any) any { return strAny(v.(*Message).Categories) }},
	&propDef{name: "flag", typ: edmComplex, sub: followupFlagSchema, get: func(v any) any { return v.(*Message).FlagStatus }},
	&propDef{name: "body", typ: edmComplex, sub: itemBodySchema, get: identity},
	&propDef{name: "singleValueExtendedProperties", typ: edmComplex, coll: true, sub: singleValuePropSchema, get: func(v any) any {
		m := v.(*Message)
		out := make([]any, 0, len(m.ExtendedProperties))
		for id, val := range m.ExtendedProperties {
			out = append(out, extProp{ID: id, Value: val})
		}
		return out
	}},
	&propDef{name: "multiValueExtendedProperties", typ: edmComplex, coll: true, sub: multiValuePropSchema, get: func(v any) any {
		m := v.(*Message)
		out := make([]any, 0, len(m.MultiValueExtendedProperties))
		for id, vals := range m.MultiValueExtendedProperties {
			out = append(out, mvProp{ID: id, Value: vals})
		}
		return out
	}},
)

var messageDef = &entityDef{
	name: "microsoft.graph.message",
	props: []string{"bccRecipients", "body", "bodyPreview", "categories", "ccRecipients", "changeKey", "conversationId", "conversationIndex",
		"createdDateTime", "flag", "from", "hasAttachments", "id", "importance", "inferenceClassification", "internetMessageHeaders",
		"internetMessageId", "isDeliveryReceiptRequested", "isDraft", "isRead", "isReadReceiptRequested", "lastModifiedDateTime",
		"parentFolderId", "receivedDateTime", "replyTo", "sender", "sentDateTime", "subject", "toRecipients", "uniqueBody", "webLink"},
	navs:           []string{"attachments", "extensions", "multiValueExtendedProperties", "singleValueExtendedProperties"},
	casts:          map[string][]string{"microsoft.graph.eventmessage": {"meetingMessageType", "startDateTime", "endDateTime", "location", "type", "recurrence", "isOutOfDate", "isAllDay", "isDelegated", "event"}},
	filter:         messageSchema,
	parseURIErrors: true,
}

// folderView is a folder with the counts $filter and $orderby read.
type folderView struct {
	f                       *folder
	total, unread, children int
}

func (mb *mbox) folderView(f *folder) *folderView {
	total, unread := mb.folderCounts(f)
	return &folderView{f: f, total: total, unread: unread, children: len(f.children)}
}

var folderSchema = newSchema("microsoft.graph.mailFolder",
	&propDef{name: "id", typ: edmString, get: str(func(v any) string { return v.(*folderView).f.id })},
	&propDef{name: "displayName", typ: edmString, get: str(func(v any) string { return v.(*folderView).f.name })},
	&propDef{name: "parentFolderId", typ: edmString, get: str(func(v any) string { return v.(*folderView).f.parentID })},
	&propDef{name: "isHidden", typ: edmBool, get: func(v any) any { return v.(*folderView).f.hidden }},
	&propDef{name: "childFolderCount", typ: edmInt, get: func(v any) any { return int64(v.(*folderView).children) }},
	&propDef{name: "totalItemCount", typ: edmInt, get: func(v any) any { return int64(v.(*folderView).total) }},
	&propDef{name: "unreadItemCount", typ: edmInt, get: func(v any) any { return int64(v.(*folderView).unread) }},
	&propDef{name: "singleValueExtendedProperties", typ: edmComplex, coll: true, sub: singleValuePropSchema, get: func(v any) any {
		if c := v.(*folderView).f.class; c != "" {
			return []any{extProp{ID: "String 0x3613", Value: c}}
		}
		return []any{}
	}},
)

var folderDef = &entityDef{
	name:   "microsoft.graph.mailFolder",
	props:  []string{"childFolderCount", "displayName", "id", "isHidden", "parentFolderId", "totalItemCount", "unreadItemCount"},
	navs:   []string{"childFolders", "messageRules", "messages", "multiValueExtendedProperties", "singleValueExtendedProperties"},
	filter: folderSchema,
}

var attachmentDef = &entityDef{
	name:  "microsoft.graph.attachment",
	props: []string{"contentType", "id", "isInline", "lastModifiedDateTime", "name", "size"},
	casts: map[string][]string{
		"microsoft.graph.fileattachment": {"contentBytes", "contentId", "contentLocation"},
		"microsoft.graph.itemattachment": {"item"},
	},
	parseURIErrors: true,
}

var ruleDef = &entityDef{
	name:  "microsoft.graph.messageRule",
	props: []string{"actions", "conditions", "displayName", "exceptions", "hasError", "id", "isEnabled", "isReadOnly", "sequence"},
}

var mailboxSettingsDef = &entityDef{
	name: "microsoft.graph.mailboxSettings",
	props: []string{"archiveFolder", "automaticRepliesSetting", "dateFormat", "delegateMeetingMessageDeliveryOptions", "language",
		"timeFormat", "timeZone", "userPurpose", "workingHours"},
}

var userDef = &entityDef{
	name: "microsoft.graph.user",
	props: []string{"aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans", "birthday", "businessPhones", "city",
		"companyName", "consentProvidedForMinor", "country", "createdDateTime", "creationType", "deletedDateTime", "department",
		"displayName", "employeeHireDate", "employeeId", "employeeOrgData", "employeeType", "externalUserState", "faxNumber",
		"givenName", "hireDate", "id", "identities", "imAddresses", "interests", "isResourceAccount", "jobTitle", "lastPasswordChangeDateTime",
		"legalAgeGroupClassification", "licenseAssignmentStates", "mail", "mailboxSettings", "mailNickname", "mobilePhone", "mySite",
		"officeLocation", "onPremisesDistinguishedName", "onPremisesDomainName", "onPremisesExtensionAttributes", "onPremisesImmutableId",
		"onPremisesLastSyncDateTime", "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
		"onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "passwordProfile", "pastProjects",
		"postalCode", "preferredDataLocation", "preferredLanguage", "preferredName", "provisionedPlans", "proxyAddresses",
		"responsibilities", "schools", "securityIdentifier", "showInAddressList", "signInSessionsValidFromDateTime", "skills", "state",
		"streetAddress", "surname", "usageLocation", "userPrincipalName", "userType"},
	navs: []string{"mailFolders", "messages", "manager", "memberOf", "extensions"},
}
