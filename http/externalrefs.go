package httpapi

import (
	"fmt"

	"github.com/accessd/accessd/domain"
)

// externalRefInput is an `externalRefs` entry as sent (of a property, a
// user, a lock): its date is read apart, so that a bad one is an error
// naming its path (`externalRefs[0].lastSyncDate`) rather than
// encoding/json's own words.
type externalRefInput struct {
	ID            string `json:"id"`
	Source        string `json:"source"`
	SyncDirection string `json:"syncDirection"`
	SyncStatus    string `json:"syncStatus"`
	SyncSchedule  string `json:"syncSchedule"`
	LastSyncDate  string `json:"lastSyncDate"`
}

// externalRefsOf turns the `externalRefs` of a body into the command's
// refs (nil for none); the aggregate validates the rest.
func externalRefsOf(in []externalRefInput) ([]domain.ExternalRef, error) {
	var refs []domain.ExternalRef
	for i, r := range in {
		ref := domain.ExternalRef{ID: r.ID, Source: r.Source, SyncDirection: r.SyncDirection, SyncStatus: r.SyncStatus, SyncSchedule: r.SyncSchedule}
		if r.LastSyncDate != "" {
			at, err := domain.ParseInstant(fmt.Sprintf("externalRefs[%d].lastSyncDate", i), r.LastSyncDate, "must be an RFC 3339 date-time")
			if err != nil {
				return nil, err
			}
			ref.LastSyncDate = &at
		}
		refs = append(refs, ref)
	}
	return refs, nil
}
