package kurrent

import (
	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/accessd/accessd/eventstore"
)

// serverFilter is the subscription filter the server applies, the narrowest
// the client can express (one kind, stream or event type, per filter);
// the store then applies the whole eventstore.Filter to what arrives.
// Without one the server would send system events, which the store never
// delivers.
func (s *Store) serverFilter(f eventstore.Filter) *esdb.SubscriptionFilter {
	switch {
	case len(f.StreamPrefixes) > 0:
		prefixes := make([]string, len(f.StreamPrefixes))
		for i, p := range f.StreamPrefixes {
			prefixes[i] = s.prefix + p
		}
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: prefixes}
	case s.prefix != "":
		return &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.prefix}}
	case len(f.EventTypes) > 0:
		// Exact names as prefixes rather than a regex: no quoting to get
		// right in the server's regex dialect; the store drops the longer
		// names a prefix also lets through.
		return &esdb.SubscriptionFilter{Type: esdb.EventFilterType, Prefixes: f.EventTypes}
	default:
		return esdb.ExcludeSystemEventsFilter()
	}
}
