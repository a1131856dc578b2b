package queries

import (
	"time"

	"github.com/accessd/accessd/domain"
)

// HistoryRange reads the optional bounds of a history, as the API's from
// and to query parameters and accessctl export's --from and --to flags
// give them (empty: not given), each error naming the field it is about.
// Both read them here so that an export refuses exactly what the API
// answers 400 to: an export is meant to be byte for byte the API's answer.
func HistoryRange(fromField, fromRaw, toField, toRaw string) (from, to time.Time, err error) {
	from, to = time.Time{}, HistoryEnd
	if fromRaw != "" {
		if from, err = domain.ParseInstantInRange(fromField, fromRaw); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	if toRaw != "" {
		if to, err = domain.ParseInstantInRange(toField, toRaw); err != nil {
			return time.Time{}, time.Time{}, err
		}
	}
	// An empty range is a mistake, not an empty history.
	if from.After(to) {
		return time.Time{}, time.Time{}, domain.InvalidField(fromField, "must not be after "+toField)
	}
	return from, to, nil
}
