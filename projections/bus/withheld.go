package bus

import (
	"encoding/json"
	"slices"

	"github.com/accessd/accessd/domain/booking"
)

// withheld are the data fields no message carries, by event type. An
// access code is 4 to 10 digits, so its salted hash gives the code back in
// a moment: a webhook receiver, a third party, or any consumer of the
// broker could open the door with it. Locks get it through their own key
// map (lock sync), which is where they need it.
var withheld = map[string][]string{
	(booking.AccessCodeCreated{}).EventType(): {"codeHash", "salt"},
}

// WithheldTypes are the event types some of whose data fields no message
// carries (see WithheldFields), sorted.
func WithheldTypes() []string {
	out := make([]string, 0, len(withheld))
	for t := range withheld {
		out = append(out, t)
	}
	slices.Sort(out)
	return out
}

// WithheldFields are the data fields of an event of eventType that no
// message carries; none for most types.
func WithheldFields(eventType string) []string { return slices.Clone(withheld[eventType]) }

// Withhold is data, the data of an event of eventType, less the fields
// withheld for its type; data as it is when it holds none of them or is
// not an object.
func Withhold(eventType string, data json.RawMessage) json.RawMessage {
	fields := withheld[eventType]
	if len(fields) == 0 {
		return data
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || m == nil {
		return data
	}
	removed := false
	for _, f := range fields {
		if _, ok := m[f]; ok {
			delete(m, f)
			removed = true
		}
	}
	if !removed {
		return data
	}
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// WithholdPayload is payload, the JSON of an Event (a message's payload,
// as Encode makes it), less the data fields withheld for its type: the
// payload Encode makes now of one an earlier version made whole (a webhook
// delivery recorded then, a message published then). A payload that holds
// none of them, or is not an Event, is answered as it is.
func WithholdPayload(payload []byte) []byte {
	var ev Event
	if json.Unmarshal(payload, &ev) != nil || len(withheld[ev.Type]) == 0 {
		return payload
	}
	data := Withhold(ev.Type, ev.Data)
	if len(data) == len(ev.Data) && string(data) == string(ev.Data) {
		return payload
	}
	ev.Data = orNull(data)
	out, err := json.Marshal(ev)
	if err != nil {
		return payload
	}
	return out
}
