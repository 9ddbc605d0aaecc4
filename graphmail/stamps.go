package graphmail

import (
	"context"
	"strings"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Stamps lists a folder's stamped messages with the paged listing
// (the stamp expanded in the same request). A message stamped pending is
// a copy a crash left without its attachments: it is not a copy, and the
// next write of its stamp removes it.
func (m *Mailbox) Stamps(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	if m.isArchiveFolder(folderID) {
		return nil // imports carry no stamp (see FindBySourceID)
	}
	return m.Items(ctx, folderID, func(it mailbox.Item) error {
		if it.SourceID == "" || strings.HasSuffix(it.SourceID, pendingSuffix) {
			return nil
		}
		return fn(it)
	})
}
