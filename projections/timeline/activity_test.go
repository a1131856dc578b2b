package timeline

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/accessd/accessd/eventstore"
)

func TestSplitType(t *testing.T) {
	t.Parallel()
	tests := []struct{ eventType, category, want string }{
		{"LockInstalled", "lock", "lock.installed"},
		{"UserGroupCreated", "group", "user-group.created"},
		{"ApiKeyCreated", "apikey", "api-key.created"},
		{"UserDeviceKeysRotated", "device", "user-device.keys-rotated"},
		{"FirmwareVersionUploaded", "firmware", "firmware-version.uploaded"},
		{"PropertyInvitationCreated", "members", "property-invitation.created"},
		{"UserAddedToGroup", "group", "user-group.member-added"},
		{"BookingCheckedIn", "booking", "booking.checked-in"},
		{"AccessCodeCreated", "booking", "access-code.created"},
	}
	for _, tt := range tests {
		noun, verb := splitType(tt.eventType, tt.category)
		if got := noun + "." + verb; got != tt.want {
			t.Errorf("splitType(%s, %s) = %s, want %s", tt.eventType, tt.category, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	env := eventstore.Envelope{Type: "LockAccessLogged", Stream: "accesslog-L1",
		Metadata: eventstore.Metadata{APIKeyID: "K1", OccurredAt: at.Add(time.Minute)}}
	d := Describe(env, fieldsOf(t, map[string]any{"lockId": "L1", "result": "denied", "accessDate": at.Format(time.RFC3339),
		"deviceSignature": "sig", "accountId": "A", "userId": "U1", "denyReason": "outsideSchedule", "keyId": nil, "note": ""}))
	if d.Action != "lock.access-denied" || d.Actor != "lock L1" || d.Subject != "lock L1" || !d.At.Equal(at) {
		t.Fatalf("access log entry = %+v", d)
	}
	if _, ok := d.Details["deviceSignature"]; ok || string(d.Details["userId"]) != `"U1"` || d.Details["accountId"] != nil ||
		d.Details["keyId"] != nil || d.Details["note"] != nil {
		t.Fatalf("details = %v", d.Details)
	}
	d = Describe(eventstore.Envelope{Type: "ApiKeyCreated", Stream: "apikey-K2", Metadata: eventstore.Metadata{APIKeyID: "K1"}},
		fieldsOf(t, map[string]any{"apiKeyId": "K2", "keyHash": "h"}))
	if d.Action != "api-key.created" || d.Subject != "api-key K2" || d.Actor != "K1" || d.Details["keyHash"] != nil {
		t.Fatalf("api key entry = %+v", d)
	}
	d = Describe(eventstore.Envelope{Type: "AccessCodeCreated", Stream: "booking-B1"},
		fieldsOf(t, map[string]any{"accessCodeId": "C1", "bookingId": "B1", "codeHash": "h", "salt": "s"}))
	if d.Action != "access-code.created" || d.Subject != "access-code C1" || d.Actor != "system" || d.Details["salt"] != nil || string(d.Details["bookingId"]) != `"B1"` {
		t.Fatalf("access code entry = %+v", d)
	}
}

// A guest's registration shows the guest and the booking, never the
// sealed details.
func TestDescribeHidesAGuestsSealedDetails(t *testing.T) {
	t.Parallel()
	d := Describe(eventstore.Envelope{Type: "GuestRegistered", Stream: "booking-B1"},
		fieldsOf(t, map[string]any{"guestId": "G1", "bookingId": "B1", "personal": "v1.sealed", "at": "2026-03-01T09:00:00Z"}))
	if d.Action != "guest.registered" || d.Details["personal"] != nil || string(d.Details["bookingId"]) != `"B1"` {
		t.Fatalf("guest entry = %+v", d)
	}
}

// fieldsOf is data as an event's payload split into its fields.
func fieldsOf(t *testing.T, data map[string]any) map[string]json.RawMessage {
	t.Helper()
	raw, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	return eventstore.SplitFields(raw)
}
