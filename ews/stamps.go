package ews

import (
	"context"

	"github.com/exmigrate/exmigrate/mailbox"
)

// Stamps lists a folder's stamped items with the paged FindItem the
// listing uses (1,000 items a request, the stamp in the item shape).
func (m *Mailbox) Stamps(ctx context.Context, folderID string, fn func(mailbox.Item) error) error {
	// Items routes a public folder's listing and names its items.
	return m.Items(ctx, folderID, func(it mailbox.Item) error {
		if it.SourceID == "" {
			return nil
		}
		return fn(it)
	})
}
