package httpapi

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
)

// fuzzBody is one request body type: how a handler makes it, and what the
// handler does with it once decoded before any command sees it.
type fuzzBody struct {
	name  string
	seed  string
	new   func() any
	check func(v any) error
}

// fuzzBodies lists the body of every handler that decodes one.
var fuzzBodies = []fuzzBody{
	{"createApiKey", `{"displayName":"k","apiPermissions":[{"permission":"owner","propertyId":"7a449a59-a391-420d-b4a5-6e67e36da39d"}]}`,
		func() any { return &createAPIKeyInput{} },
		func(v any) error {
			_, err := grantsOf("apiPermissions", v.(*createAPIKeyInput).APIPermissions)
			return err
		}},
	{"displayName", `{"displayName":"Acme"}`, func() any {
		return &struct {
			DisplayName string `json:"displayName"`
		}{}
	}, nil},
	{"acceptInvitation", `{"token":"abc"}`, func() any {
		return &struct {
			Token string `json:"token"`
		}{}
	}, nil},
	{"property", `{"displayName":"P","timezone":"Europe/Madrid","accessManagerIds":["7a449a59-a391-420d-b4a5-6e67e36da39d"],"address":{"city":"Madrid"}}`,
		func() any { return &propertyInput{} },
		func(v any) error { _, err := v.(*propertyInput).fields(); return err }},
	{"createArea", `{"displayName":"Flat","areaType":"resident","parentAreaId":""}`, func() any { return &createAreaInput{} }, nil},
	{"updateArea", `{"displayName":"Flat","areaType":"resident","accessList":[{"accessType":"group","userGroupId":"7a449a59-a391-420d-b4a5-6e67e36da39d","schedule":{"timezone":"UTC","validFrom":"2030-01-01T00:00:00Z","weekly":[{"days":["mon"],"from":"08:00","to":"17:00"}]}}]}`,
		func() any { return &updateAreaInput{} },
		func(v any) error {
			in := v.(*updateAreaInput)
			entries, err := accessListOf(in.AccessList)
			if err != nil {
				return err
			}
			for i, e := range entries {
				if err := e.Schedule.Validate(fmt.Sprintf("accessList[%d].schedule", i)); err != nil {
					return err
				}
			}
			return nil
		}},
	{"group", `{"displayName":"Staff","groupType":"staff","groupSource":"custom"}`, func() any { return &groupInput{} }, nil},
	{"updateGroup", `{"displayName":"Staff","groupType":"staff"}`, func() any { return &updateGroupInput{} }, nil},
	{"window", `{"validFrom":"2030-01-01T00:00:00Z","validUntil":"2030-02-01T00:00:00Z"}`, func() any { return &windowInput{} },
		func(v any) error {
			in := v.(*windowInput)
			if _, err := optionalInstant("validFrom", in.ValidFrom); err != nil {
				return err
			}
			_, err := optionalInstant("validUntil", in.ValidUntil)
			return err
		}},
	{"user", `{"displayName":"Ana","userPermissions":[{"permission":"me","userId":"7a449a59-a391-420d-b4a5-6e67e36da39d"}],"externalRefs":[{"system":"pms","id":"1"}],"private":{"email":"a@b.c"}}`,
		func() any { return &userInput{} },
		func(v any) error { _, _, err := v.(*userInput).fields(); return err }},
	{"device", `{"deviceType":"iOS","makeModel":"iPhone","displayName":"phone","publicKey":"AAAA","encryptionPublicKey":"BBBB"}`, func() any { return &deviceInput{} }, nil},
	{"provisionLock", `{"displayName":"door","publicKey":"AAAA","encryptionPublicKey":"BBBB","purchaseDate":"2030-01-01T00:00:00Z","externalRefs":[{"id":"1","source":"pms","lastSyncDate":"2030-01-01T00:00:00Z"}]}`,
		func() any { return &provisionLockInput{} },
		func(v any) error {
			if _, err := optionalInstant("purchaseDate", v.(*provisionLockInput).PurchaseDate); err != nil {
				return err
			}
			_, err := externalRefsOf(v.(*provisionLockInput).ExternalRefs)
			return err
		}},
	{"updateLock", `{"displayName":"door","externalRefs":[{"id":"1","source":"pms"}]}`, func() any { return &updateLockInput{} },
		func(v any) error { _, err := externalRefsOf(v.(*updateLockInput).ExternalRefs); return err }},
	{"invitation", `{"email":"a@b.c","role":"staff","overrides":{"add":["support"],"remove":[]}}`, func() any { return &invitationInput{} }, nil},
	{"member", `{"role":"manager","overrides":{"add":[],"remove":["support"]}}`, func() any { return &memberInput{} }, nil},
	{"createBooking", `{"areaId":"7a449a59-a391-420d-b4a5-6e67e36da39d","guest":{"displayName":"G","email":"g@h.i"},"startDateTime":"2030-01-01T15:00:00Z","endDateTime":"2030-01-03T11:00:00Z","source":"web","externalRefs":[{"system":"pms","id":"9"}]}`,
		func() any { return &createBookingInput{} }, nil},
	{"updateBooking", `{"endDateTime":"2030-01-04T11:00:00Z"}`, func() any { return &updateBookingInput{} }, nil},
	{"checkIn", `{"method":"manual","userId":"7a449a59-a391-420d-b4a5-6e67e36da39d"}`, func() any { return &checkInput{} }, nil},
	{"checkOut", `{"method":"manual"}`, func() any { return &checkOutInput{} }, nil},
	{"cancel", `{"reason":"byUser"}`, func() any { return &cancelInput{} }, nil},
	{"accessCode", `{"code":"482913"}`, func() any { return &accessCodeInput{} }, nil},
	{"guest", `{"displayName":"G","email":"g@h.i","birthDate":"1990-01-01"}`, func() any { return &commands.GuestDetails{} },
		func(v any) error { return v.(*commands.GuestDetails).Validate() }},
	{"whatIf", `{"commands":[{"method":"POST","path":"/properties/x/bookings","body":{}},{"method":"POST","path":"/bookings/{commands[0].id}/check-in","body":{"userId":"{commands[0].id}"}}]}`,
		func() any { return &whatIfInput{} },
		func(v any) error {
			// As auditWhatIf checks every command before any runs.
			cmds, err := whatIfCommands(v.(*whatIfInput).Commands)
			if err != nil {
				return err
			}
			for i, c := range cmds {
				field := fmt.Sprintf("commands[%d]", i)
				if err := checkWhatIfRefs(i, c); err != nil {
					return domain.InvalidField(field, err.Error())
				}
				if _, err := whatIfRequest(context.Background(), placeholderRefs(c)); err != nil {
					return domain.InvalidField(field, err.Error())
				}
			}
			return nil
		}},
	{"deviceSync", `{"deviceType":"iOS","currentUserAccessMapVersion":3}`, func() any { return &deviceSyncInput{} }, nil},
	{"lockSync", `{"syncDate":"2030-01-01T00:00:00Z","currentFirmwareVersion":"1.0.0","currentKeyMapVersion":2,"accessLogs":[]}`, func() any { return &lockSyncInput{} }, nil},
}

// FuzzDecodeBodies decodes any bytes into every request body type as the
// handlers do, then runs the checks they run before a command: each
// refusal is a 4xx naming a field; nothing panics.
func FuzzDecodeBodies(f *testing.F) {
	for i, b := range fuzzBodies {
		f.Add(uint8(i), []byte(b.seed))
	}
	f.Add(uint8(5), []byte(`{"accessList":[{"accessType":"area","schedule":{"weekly":[{"days":["mon","mon"],"from":"24:00","to":"00:00"}]}}]}`))
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		b := fuzzBodies[int(which)%len(fuzzBodies)]
		v := b.new()
		err := decodeJSON(body, v)
		if err == nil && b.check != nil {
			err = b.check(v)
		}
		if err != nil {
			requireClientError(t, b.name, err)
		}
	})
}

// FuzzSyncBodies parses any bytes as a lock's and a phone's sync body, as
// the syncs do after checking the signature over them.
func FuzzSyncBodies(f *testing.F) {
	for _, seed := range []string{
		`{"syncDate":"2030-01-01T00:00:00Z","currentFirmwareVersion":"1.0.0","currentKeyMapVersion":2,"accessLogs":[{"lockAccessLogId":"7a449a59-a391-420d-b4a5-6e67e36da39d","accessDate":"2030-01-01T00:00:00Z","accessKeyId":"k","userDeviceId":"7a449a59-a391-420d-b4a5-6e67e36da39d","result":"granted","deviceSignature":"c2ln"}]}`,
		`{"syncDate":"2030-01-01T00:00:00Z","currentKeyMapVersion":-1}`,
		`{"deviceType":"iOS","makeModel":"iPhone","currentOsVersion":"18","currentAppVersion":"1","currentUserAccessMapVersion":0}`,
		`{"currentUserAccessMapVersion":-9223372036854775808}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if sync, err := decodeLockSync(body); err != nil {
			requireClientError(t, "lock sync", err)
		} else if len(sync.AccessLogs) > commands.MaxAccessLogsPerSync {
			t.Fatalf("%d access logs accepted", len(sync.AccessLogs))
		}
		if _, err := parseDeviceSync(body); err != nil {
			requireClientError(t, "device sync", err)
		}
	})
}

// requireClientError fails unless err is a domain error answered with a
// 4xx that names a field.
func requireClientError(t *testing.T, what string, err error) {
	t.Helper()
	var de *domain.Error
	if !errors.As(err, &de) {
		t.Fatalf("%s: not a domain error: %T %v", what, err, err)
	}
	if s := statusOf(err); s < 400 || s >= 500 {
		t.Fatalf("%s: status %d for %v", what, s, err)
	}
	if errors.Is(err, domain.ErrInvalid) && de.Field == "" {
		t.Fatalf("%s: a 400 naming no field: %v", what, err)
	}
}
