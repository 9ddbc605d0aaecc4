package ews

import (
	"strconv"
	"strings"
)

// Exchange's EWSFindCountLimit: a page asks for at most this many entries.
const pageSize = 1000

type idXML struct {
	ID        string `xml:"Id,attr"`
	ChangeKey string `xml:"ChangeKey,attr"`
}

type extPropXML struct {
	URI struct {
		Tag   string `xml:"PropertyTag,attr"`
		SetID string `xml:"PropertySetId,attr"`
		Name  string `xml:"PropertyName,attr"`
		Type  string `xml:"PropertyType,attr"`
	} `xml:"http://schemas.microsoft.com/exchange/services/2006/types ExtendedFieldURI"`
	Value string `xml:"http://schemas.microsoft.com/exchange/services/2006/types Value"`
}

func (p extPropXML) tag() int64 {
	v, err := strconv.ParseInt(strings.TrimPrefix(strings.ToLower(p.URI.Tag), "0x"), 16, 64)
	if err != nil {
		return -1
	}
	return v
}

type rootFolderXML struct {
	IndexedPagingOffset     int  `xml:"IndexedPagingOffset,attr"`
	IncludesLastItemInRange bool `xml:"IncludesLastItemInRange,attr"`
	TotalItemsInView        int  `xml:"TotalItemsInView,attr"`
}

// batchThrottle retries a whole batch when every entry was throttled, and
// surfaces a single throttled entry so the caller retries it.
func batchThrottle[T any](msgs []T, at func(int) *responseMessage, op string) error {
	for i := range msgs {
		if err := at(i).err(op, i); err != nil {
			if re, ok := err.(*ResponseError); ok && re.throttling() {
				return re
			}
		}
	}
	return nil
}
