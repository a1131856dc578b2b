package domain

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

// invalidField returns the field an ErrInvalid names, or fails.
func invalidField(t *testing.T, err error) string {
	t.Helper()
	var de *Error
	if !errors.Is(err, ErrInvalid) || !errors.As(err, &de) {
		t.Fatalf("error = %v, want an ErrInvalid", err)
	}
	return de.Field
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"Room 101", "Habitación 7 · ala norte", strings.Repeat("é", MaxNameLength), " padded "} {
		if err := ValidateName("displayName", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "   ", "\t\n", strings.Repeat("x", MaxNameLength+1), "a\x00b", "tab\there", "\xff\xfe", "del\u007f", "c1\u0085"} {
		if err := ValidateName("displayName", bad); invalidField(t, err) != "displayName" {
			t.Errorf("%q: field %v", bad, err)
		}
	}
	if err := ValidateText("note", "", 10); err != nil {
		t.Errorf("empty text: %v", err)
	}
	if err := ValidateText("note", "12345678901", 10); invalidField(t, err) != "note" {
		t.Error("long text passes")
	}
}

func TestIDs(t *testing.T) {
	t.Parallel()
	good := "7a449a59-a391-420d-b4a5-6e67e36da39d"
	id, err := ParseID("areaId", good)
	if err != nil || id.String() != good {
		t.Fatalf("ParseID = %v, %v", id, err)
	}
	if id, err := ParseID("areaId", strings.ToUpper(good)); err != nil || id.String() != good {
		t.Fatalf("upper case = %v, %v", id, err)
	}
	for _, bad := range []string{"", "x", "7a449a59a391420db4a56e67e36da39d", "{7a449a59-a391-420d-b4a5-6e67e36da39d}",
		"urn:uuid:7a449a59-a391-420d-b4a5-6e67e36da39d", "7a449a59-a391-420d-b4a5-6e67e36da39g", uuid.Nil.String()} {
		if _, err := ParseID("areaId", bad); invalidField(t, err) != "areaId" {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if RequireID("userId", uuid.New()) != nil || invalidField(t, RequireID("userId", uuid.Nil)) != "userId" {
		t.Fatal("RequireID")
	}
	a, b := uuid.New(), uuid.New()
	if err := ValidateIDs("ids", []uuid.UUID{a, b}, 2); err != nil {
		t.Fatal(err)
	}
	for want, ids := range map[string][]uuid.UUID{
		"ids":    {a, b, uuid.New()},
		"ids[1]": {a, uuid.Nil},
		"ids[2]": {a, b, a},
	} {
		max := 3
		if want == "ids" {
			max = 2
		}
		if got := invalidField(t, ValidateIDs("ids", ids, max)); got != want {
			t.Errorf("field %q, want %q", got, want)
		}
	}
}

func TestAddress(t *testing.T) {
	t.Parallel()
	ok := Address{Line1: "Calle Mayor 1", City: "Madrid", Country: "ES"}
	if err := ok.Validate("address"); err != nil {
		t.Fatal(err)
	}
	if err := (*Address)(nil).Validate("address"); err != nil {
		t.Fatal(err)
	}
	tests := map[string]func(*Address){
		"address.line1":      func(a *Address) { a.Line1 = " " },
		"address.city":       func(a *Address) { a.City = "" },
		"address.country":    func(a *Address) { a.Country = "" },
		"address.line2":      func(a *Address) { a.Line2 = strings.Repeat("x", 201) },
		"address.line3":      func(a *Address) { a.Line3 = "a\nb" },
		"address.state":      func(a *Address) { a.State = strings.Repeat("x", 101) },
		"address.postalCode": func(a *Address) { a.PostalCode = strings.Repeat("1", 21) },
	}
	for want, mod := range tests {
		a := ok
		mod(&a)
		if got := invalidField(t, a.Validate("address")); got != want {
			t.Errorf("field %q, want %q", got, want)
		}
	}
	c := ok.Clone()
	c.City = "Sevilla"
	if ok.City != "Madrid" || !EqualAddress(&ok, ok.Clone()) || EqualAddress(&ok, c) || EqualAddress(&ok, nil) || !EqualAddress(nil, nil) {
		t.Fatal("Clone/EqualAddress")
	}
	b, _ := json.Marshal(Address{Line1: "a", Line2: "b", City: "c", State: "d", Country: "e", PostalCode: "f"})
	if string(b) != `{"line1":"a","line2":"b","city":"c","state":"d","country":"e","postalCode":"f"}` {
		t.Fatalf("json = %s", b)
	}
}

func TestExternalRefs(t *testing.T) {
	t.Parallel()
	sync := time.Date(2024, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	ok := []ExternalRef{{ID: "r-1", Source: "pms", SyncDirection: "fromInternalToExternal", SyncStatus: "pending", SyncSchedule: "hourly", LastSyncDate: &sync}}
	if err := ValidateExternalRefs("externalRefs", ok); err != nil {
		t.Fatal(err)
	}
	tests := map[string][]ExternalRef{
		"externalRefs":                  make([]ExternalRef, MaxExternalRefs+1),
		"externalRefs[0].id":            {{Source: "pms"}},
		"externalRefs[0].source":        {{ID: "x"}},
		"externalRefs[0].syncDirection": {{ID: "x", Source: "s", SyncDirection: "both"}},
		"externalRefs[0].syncStatus":    {{ID: "x", Source: "s", SyncStatus: "ok"}},
		"externalRefs[0].syncSchedule":  {{ID: "x", Source: "s", SyncSchedule: "a\x01"}},
		"externalRefs[1].lastSyncDate":  {{ID: "x", Source: "s"}, {ID: "y", Source: "s", LastSyncDate: ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))}},
	}
	for want, refs := range tests {
		if got := invalidField(t, ValidateExternalRefs("externalRefs", refs)); got != want {
			t.Errorf("field %q, want %q", got, want)
		}
	}
	c := CloneExternalRefs(ok)
	if c[0].LastSyncDate.Location() != time.UTC || !EqualExternalRefs(c, ok) || CloneExternalRefs(nil) != nil {
		t.Fatalf("clone = %+v", c)
	}
	c[0].ID = "other"
	if ok[0].ID != "r-1" || EqualExternalRefs(c, ok) || !EqualExternalRefs(nil, []ExternalRef{}) {
		t.Fatal("EqualExternalRefs")
	}
	if c[0].LastSyncDate == ok[0].LastSyncDate {
		t.Fatal("the clone shares its lastSyncDate")
	}
	// time.Time's zero is an instant (0001-01-01T00:00:00Z), not no date.
	zero := []ExternalRef{{ID: "x", Source: "s", LastSyncDate: &time.Time{}}}
	none := []ExternalRef{{ID: "x", Source: "s"}}
	if err := ValidateExternalRefs("externalRefs", zero); err != nil {
		t.Fatal(err)
	}
	if EqualExternalRefs(zero, none) || !EqualExternalRefs(zero, CloneExternalRefs(zero)) || CloneExternalRefs(zero)[0].LastSyncDate == nil {
		t.Fatal("a lastSyncDate at the zero instant is not kept")
	}
}

func TestTimezone(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"UTC", "Europe/Madrid", "America/New_York", "Asia/Kolkata"} {
		loc, err := Timezone(name)
		if err != nil || loc.String() != name {
			t.Errorf("%s: %v, %v", name, loc, err)
		}
		if again, _ := Timezone(name); again != loc {
			t.Errorf("%s: not kept", name)
		}
	}
	for _, bad := range []string{"", "Local", "utc ", "Europe/Madrid/", "/etc/localtime", "GMT+25", strings.Repeat("A", 65)} {
		if _, err := Timezone(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
		if invalidField(t, ValidateTimezone("timezone", bad)) != "timezone" {
			t.Errorf("%q: field", bad)
		}
	}
}

func TestWindow(t *testing.T) {
	t.Parallel()
	a := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b := a.Add(time.Hour)
	for _, w := range [][2]*time.Time{{nil, nil}, {&a, nil}, {nil, &a}, {&a, &b}} {
		if err := ValidateWindow("validFrom", "validUntil", w[0], w[1]); err != nil {
			t.Errorf("%v: %v", w, err)
		}
	}
	if invalidField(t, ValidateWindow("validFrom", "validUntil", &b, &a)) != "validUntil" {
		t.Error("reversed window")
	}
	early := time.Date(1, 1, 1, 0, 30, 0, 0, time.FixedZone("", 3600))
	if invalidField(t, ValidateWindow("validFrom", "validUntil", &early, nil)) != "validFrom" {
		t.Error("year 0 in UTC passes")
	}
	if !EqualTimePtr(nil, nil) || EqualTimePtr(&a, nil) || !EqualTimePtr(&a, ptr(a.In(time.FixedZone("", 7200)))) {
		t.Error("EqualTimePtr")
	}
	if UTCPtr(nil) != nil || UTCPtr(ptr(a.In(time.FixedZone("", 7200)))).Location() != time.UTC {
		t.Error("UTCPtr")
	}
}

func TestErrorAt(t *testing.T) {
	t.Parallel()
	sentinel := NewError(ErrUnprocessable, "no such group")
	err := error(sentinel.At("accessList[0].userGroupId"))
	var de *Error
	if !errors.Is(err, sentinel) || !errors.Is(err, ErrUnprocessable) || errors.Is(err, ErrInvalid) ||
		!errors.As(err, &de) || de.Field != "accessList[0].userGroupId" ||
		err.Error() != "accessList[0].userGroupId: no such group" || sentinel.Field != "" {
		t.Fatalf("At: %v", err)
	}
}
