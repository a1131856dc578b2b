package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

// keyMapReaders may read a lock's plain key map.
var keyMapReaders = []domain.Permission{domain.PermManageAccess, domain.PermSupport}

func (a *API) keyMapRoutes() []route {
	return []route{
		{method: "GET", path: "/locks/{lockId}/keymap", operation: "getLockKeyMap", handler: a.getLockKeyMap,
			summary: "The lock's plain key map and its version (owner, manage-access, support)."},
	}
}

func (a *API) getLockKeyMap(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "lockId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.lockDoc(r, id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	propertyID, _ := uuid.Parse(doc.PropertyID)
	if !actorOf(r).CanAny(propertyID, keyMapReaders...) {
		writeErr(w, r, domain.NewError(domain.ErrForbidden, "reading a key map needs owner, manage-access or support"))
		return
	}
	km, err := a.keyMaps.Lock(r.Context(), actorOf(r).AccountID.String(), id.String())
	if err != nil {
		writeErr(w, r, err)
		return
	}
	entries := km.Entries
	if !actorOf(r).CanAny(propertyID, domain.PermManageAccess) {
		if entries, err = withoutCodeHashes(entries); err != nil {
			writeErr(w, r, err)
			return
		}
	}
	writeData(w, http.StatusOK, map[string]any{"lockId": id.String(), "keyMapVersion": km.Version, "keyMapEntries": entries})
}

// withoutCodeHashes drops codeHash and salt from a key map's access-code
// entries. A code is 4 to 10 digits, so its salted hash gives the code back
// in a moment: a reader who may not manage access (support) would read the
// door codes that are shown only once, to those who made them.
func withoutCodeHashes(entries json.RawMessage) (json.RawMessage, error) {
	if !bytes.Contains(entries, []byte(`"codeHash"`)) {
		return entries, nil
	}
	var list []map[string]json.RawMessage
	if err := json.Unmarshal(entries, &list); err != nil {
		return nil, fmt.Errorf("key map entries: %w", err)
	}
	for _, e := range list {
		delete(e, "codeHash")
		delete(e, "salt")
	}
	return json.Marshal(list)
}

// withKeyMapVersion sets private.keyMapVersion of a lock document that has
// a private part to the version the key-map projection computed. The
// entities read model always stores 0 there, so the common case is a byte
// substitution on the stored JSON instead of a decode and re-encode.
func withKeyMapVersion(doc queries.Document, version uint64) (queries.Document, error) {
	if version == 0 {
		return doc, nil
	}
	if i := bytes.Index(doc.JSON, storedVersion); i >= 0 {
		out := make([]byte, 0, len(doc.JSON)+20)
		out = append(out, doc.JSON[:i]...)
		out = append(out, `"private":{"keyMapVersion":`...)
		out = strconv.AppendUint(out, version, 10)
		out = append(out, doc.JSON[i+len(storedVersion)-1:]...)
		doc.JSON = out
		return doc, nil
	}
	var l entities.Lock
	if err := json.Unmarshal(doc.JSON, &l); err != nil || l.Private == nil {
		return doc, err
	}
	l.Private.KeyMapVersion = int(version)
	raw, err := json.Marshal(l)
	if err != nil {
		return doc, err
	}
	doc.JSON = raw
	return doc, nil
}

// storedVersion is how the entities read model writes a lock's private part.
var storedVersion = []byte(`"private":{"keyMapVersion":0,`)
