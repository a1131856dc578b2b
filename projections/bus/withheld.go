package bus

import (
	"encoding/json"

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

// withoutWithheld is data less the fields withheld for its event type, or
// data as it is when none are or it is not an object.
func withoutWithheld(eventType string, data json.RawMessage) json.RawMessage {
	fields := withheld[eventType]
	if len(fields) == 0 {
		return data
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil {
		return data
	}
	for _, f := range fields {
		delete(m, f)
	}
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}
