package access

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestCodeEntriesHaveNoDeviceAndDeviceEntriesKeepTheirShape(t *testing.T) {
	t.Parallel()
	from := time.Date(2026, 3, 28, 15, 0, 0, 0, time.UTC)
	until := from.Add(48 * time.Hour)
	area := uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	codes := []Code{
		{AccessCodeID: uuid.MustParse("00000000-0000-0000-0000-0000000000c2"), AreaID: area, CodeHash: "h2", Salt: "s2", ValidFrom: from, ValidUntil: until},
		{AccessCodeID: uuid.MustParse("00000000-0000-0000-0000-0000000000c1"), AreaID: area, CodeHash: "h1", Salt: "s1", ValidFrom: from, ValidUntil: until},
	}
	entries := CodeEntries(codes, "Europe/Madrid")
	if len(entries) != 2 || entries[0].CodeHash != "h1" {
		t.Fatalf("entries = %+v, want sorted by code id", entries)
	}
	raw, _ := json.Marshal(entries[0])
	want := `{"accessCodeId":"00000000-0000-0000-0000-0000000000c1","codeHash":"h1","salt":"s1","areaId":"00000000-0000-0000-0000-0000000000a1",` +
		`"schedule":{"timezone":"Europe/Madrid","validFrom":"2026-03-28T15:00:00Z","validUntil":"2026-03-30T15:00:00Z","weekly":[]}}`
	if string(raw) != want {
		t.Fatalf("code entry = %s\nwant %s", raw, want)
	}
	if !entries[0].Schedule.Admits(from.Add(time.Hour), time.UTC) || entries[0].Schedule.Admits(until.Add(time.Second), time.UTC) {
		t.Fatal("a code is valid from its start to its end")
	}
	device := Entry{AccessKeyID: uuid.New(), UserID: uuid.New(), UserDeviceID: uuid.New(), UserGroupID: uuid.New(), AreaID: area, PublicKey: "pk"}
	raw, _ = json.Marshal(device)
	for _, field := range []string{"accessCodeId", "codeHash", "salt"} {
		if strings.Contains(string(raw), field) {
			t.Fatalf("a device entry encodes %s: %s", field, raw)
		}
	}
	if !strings.HasPrefix(string(raw), `{"accessKeyId":`) || !strings.Contains(string(raw), `"publicKey":"pk","schedule":null}`) {
		t.Fatalf("device entry shape changed: %s", raw)
	}
}
