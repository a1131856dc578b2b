package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Operation names, as the API's operation ids; the report has a row each.
const (
	opAddMember    = "addUserToUserGroup"
	opRemoveMember = "removeUserFromUserGroup"
	opUpdateLock   = "updateLock"
	opCreateUser   = "createUser"
	opUpdateUser   = "updateUser"
	opUpdateDevice = "updateUserDevice"
	opGetLock      = "getLock"
	opListMembers  = "listUsersForGroup"
	opLockLogs     = "listLockAccessLogs"
	opListEvents   = "listEvents"
	opGetKeyMap    = "getLockKeyMap"
	opAuditAccess  = "auditLockAccess"
	opSyncLock     = "syncLock"
	// opVisible is not a request: the time from a membership command's
	// answer to the first key-map read (another key's) that shows it.
	opVisible = "keyMapVisible"
)

// writeOps are the write commands; their sum is the "all writes" row.
var writeOps = []string{opAddMember, opRemoveMember, opUpdateLock, opCreateUser, opUpdateUser, opUpdateDevice}

// scenarios names every scenario.
var scenarios = []string{"writes", "reads", "mix", "visibility", "pages"}

// weighted picks among kinds of step by weight.
type weighted struct {
	weight int
	step   func(w *worker) (string, error)
}

// The write mix: cheap commands an operator's integration issues all day.
// A membership step adds one of the worker's users to a group it is not in,
// or ends a membership the worker added earlier (the oldest), so adds and
// removes alternate about evenly and group sizes stay near the seeded ones.
var writeMix = []weighted{
	{40, (*worker).changeMembership},
	{25, (*worker).renameLock},
	{15, (*worker).createUser},
	{10, (*worker).updateUser},
	{10, (*worker).renameDevice},
}

// readMix: a lock read by an app or an operator's screen.
var readMix = []weighted{{100, (*worker).getLock}}

// mixedMix: what a deployment's day looks like, reads dominating (70 in
// 100 steps), then lock syncs (15) and the write mix (15):
//   - 40 a lock read (an app or an operator's screen), GET /locks/{lockId};
//   - 8 a key-map read (an operator checking who opens a door),
//     GET /locks/{lockId}/keymap;
//   - 8 the first page of a lock's access logs, GET /locks/{lockId}/logs;
//   - 7 a group's members, GET /properties/{propertyId}/groups/{id}/users;
//   - 7 a point-in-time audit question, who could open a lock 5 s ago,
//     GET /audit/locks/{lockId}/access?at=;
//   - 15 a lock's sync (PUT /locks/{lockId}/sync, with the lock's own key
//     and signature, as locks poll; every lock synced once at seeding, so
//     most find their key map unchanged; one in four carries an access
//     attempt);
//   - 15 a write command from the write mix.
var mixedMix = []weighted{
	{40, (*worker).getLock},
	{8, (*worker).getKeyMap},
	{8, (*worker).lockLogsFirstPage},
	{7, (*worker).listMembers},
	{7, (*worker).auditAccess},
	{15, (*worker).syncLock},
	{15, (*worker).write},
}

// visibilityMix: add a user to a group that opens a lock, wait until the
// lock's key map shows the user's phone, remove the membership again.
var visibilityMix = []weighted{{100, (*worker).visibility}}

// pageMix: the first page of lists that grow with history, a lock's access
// logs and the account's events, as an operator's screen reads them.
var pageMix = []weighted{
	{50, (*worker).lockLogsPage},
	{50, (*worker).eventsPage},
}

func mixOf(scenario string) ([]weighted, error) {
	switch scenario {
	case "writes":
		return writeMix, nil
	case "reads":
		return readMix, nil
	case "mix":
		return mixedMix, nil
	case "visibility":
		return visibilityMix, nil
	case "pages":
		return pageMix, nil
	}
	return nil, fmt.Errorf("--scenario: %q is not one of %v", scenario, scenarios)
}

// worker is one client of the run. It owns a disjoint share of the seeded
// users and locks, so that the writes of two workers never race for the
// same membership or lock (shared groups still see concurrent appends,
// which the server resolves by retrying).
type worker struct {
	ctx  context.Context
	c    *client
	d    *dataset
	rng  *rand.Rand
	rec  *recorder
	errs *errorLog
	id   int

	users  []seededUser // the users this worker writes, its own share and those it made
	phones []int        // indexes into users of the users with a device
	locks  []int        // indexes into d.Locks this worker renames
	member map[int]bool // user*len(d.Groups)+group (user: index into users): a member
	// pending lists the memberships this worker added, oldest first.
	pending []membership
	seq     int
	// vis is what the visibility step acts on (that scenario only).
	vis *visTarget
}

func newWorker(ctx context.Context, c *client, d *dataset, id, of int, errs *errorLog) *worker {
	w := &worker{
		ctx: ctx, c: c, d: d, id: id, errs: errs, rec: newRecorder(),
		rng:    rand.New(rand.NewPCG(uint64(id)+1, 0x5eed)),
		member: map[int]bool{},
	}
	for u := id; u < len(d.Users); u += of {
		for _, g := range d.Members[u] {
			w.member[w.key(len(w.users), g)] = true
		}
		w.addUser(d.Users[u])
	}
	for l := id; l < len(d.Locks); l += of {
		w.locks = append(w.locks, l)
	}
	return w
}

func (w *worker) key(user, group int) int { return user*len(w.d.Groups) + group }

func (w *worker) addUser(u seededUser) {
	if u.DeviceID != "" {
		w.phones = append(w.phones, len(w.users))
	}
	w.users = append(w.users, u)
}

// prepare gives a worker with no user or lock of its own one of each, so
// that every worker can run every step (the data set may be smaller than
// the concurrency). It is not timed.
func (w *worker) prepare(mu *sync.Mutex) error {
	if len(w.users) == 0 {
		u, err := seedUser(w.ctx, w.c, 100000+w.id)
		if err != nil {
			return err
		}
		w.addUser(u)
	}
	if len(w.locks) == 0 {
		id, creds, err := provisionLock(w.ctx, w.c, fmt.Sprintf("Spare door %d", w.id))
		if err != nil {
			return err
		}
		mu.Lock()
		w.d.Locks = append(w.d.Locks, id)
		w.d.LockCreds = append(w.d.LockCreds, creds)
		w.d.KeyMapVersions = append(w.d.KeyMapVersions, 0) // never synced
		w.locks = append(w.locks, len(w.d.Locks)-1)
		mu.Unlock()
	}
	if w.d.Reader != nil {
		v, err := w.prepareVisibility()
		if err != nil {
			return err
		}
		w.vis = v
	}
	return nil
}

// run takes steps from mix until the deadline.
func (w *worker) run(mix []weighted, deadline time.Time) {
	total := 0
	for _, s := range mix {
		total += s.weight
	}
	for w.ctx.Err() == nil && time.Now().Before(deadline) {
		n := w.rng.IntN(total)
		for _, s := range mix {
			if n < s.weight {
				w.timed(s.step)
				break
			}
			n -= s.weight
		}
	}
}

// timed runs one step and records its outcome. A step that records its
// own operations returns no name.
func (w *worker) timed(step func(*worker) (string, error)) {
	start := time.Now()
	op, err := step(w)
	if op != "" {
		w.note(op, time.Since(start), err)
	}
}

// note records an operation's outcome.
func (w *worker) note(op string, d time.Duration, err error) {
	if err != nil && w.ctx.Err() != nil {
		return // interrupted: neither a success nor the server's failure
	}
	w.rec.record(op, d, err != nil)
	if err != nil {
		w.errs.add(op + ": " + err.Error())
	}
}

func (w *worker) write() (string, error) {
	total := 0
	for _, s := range writeMix {
		total += s.weight
	}
	n := w.rng.IntN(total)
	for _, s := range writeMix {
		if n < s.weight {
			return s.step(w)
		}
		n -= s.weight
	}
	panic("unreachable")
}

func (w *worker) ownUser() int { return w.rng.IntN(len(w.users)) }

// maxPending bounds the memberships a worker added and has not yet ended.
const maxPending = 4

func (w *worker) changeMembership() (string, error) {
	if n := len(w.pending); n > 0 && (n >= maxPending || w.rng.IntN(2) == 0) {
		m := w.pending[0]
		err := w.c.call(w.ctx, "DELETE", w.memberPath(m), nil)
		if err == nil {
			delete(w.member, w.key(m.user, m.group))
			w.pending = w.pending[1:]
		}
		return opRemoveMember, err
	}
	var m membership
	for range 8 { // a pair not yet a member; the last try is taken anyway
		m = membership{user: w.rng.IntN(len(w.users)), group: w.rng.IntN(len(w.d.Groups))}
		if !w.member[w.key(m.user, m.group)] {
			break
		}
	}
	err := w.c.call(w.ctx, "POST", w.memberPath(m), nil)
	if err == nil && !w.member[w.key(m.user, m.group)] {
		w.member[w.key(m.user, m.group)] = true
		w.pending = append(w.pending, m)
	}
	return opAddMember, err
}

// membership is a user of the worker's (index into users) in a group
// (index into d.Groups).
type membership struct{ user, group int }

func (w *worker) memberPath(m membership) string {
	g := w.d.Groups[m.group]
	return "/properties/" + g.PropertyID + "/groups/" + g.ID + "/users/" + w.users[m.user].ID
}

func (w *worker) renameLock() (string, error) {
	l := w.locks[w.rng.IntN(len(w.locks))]
	w.seq++
	body := []byte(`{"displayName":"Door ` + strconv.Itoa(l+1) + ` rev ` + strconv.Itoa(w.seq) + `"}`)
	return opUpdateLock, w.c.call(w.ctx, "PUT", "/locks/"+w.d.Locks[l], body)
}

func (w *worker) createUser() (string, error) {
	w.seq++
	n := 1000000*(w.id+1) + w.seq
	data, err := w.c.do(w.ctx, "POST", "/users", userBody("Guest "+strconv.Itoa(n), n))
	if err != nil {
		return opCreateUser, err
	}
	id, err := field(data, "userId")
	if err != nil {
		return opCreateUser, err
	}
	// The new user joins this worker's own users, without a device.
	w.addUser(seededUser{ID: id})
	return opCreateUser, nil
}

func (w *worker) updateUser() (string, error) {
	u := w.ownUser()
	w.seq++
	return opUpdateUser, w.c.call(w.ctx, "PUT", "/users/"+w.users[u].ID, userBody("Resident "+strconv.Itoa(u+1)+" rev "+strconv.Itoa(w.seq), u))
}

func (w *worker) renameDevice() (string, error) {
	u := w.users[w.phones[w.rng.IntN(len(w.phones))]]
	w.seq++
	body := []byte(`{"deviceType":"iOS","makeModel":"iPhone 15","displayName":"Phone rev ` + strconv.Itoa(w.seq) + `"}`)
	return opUpdateDevice, w.c.call(w.ctx, "PUT", "/users/"+u.ID+"/devices/"+u.DeviceID, body)
}

func (w *worker) getLock() (string, error) {
	return opGetLock, w.c.call(w.ctx, "GET", "/locks/"+w.d.Locks[w.rng.IntN(len(w.d.Locks))], nil)
}

// getKeyMap reads a lock's key map with the owner key.
func (w *worker) getKeyMap() (string, error) {
	return opGetKeyMap, w.c.call(w.ctx, "GET", "/locks/"+w.d.Locks[w.rng.IntN(len(w.d.Locks))]+"/keymap", nil)
}

// lockLogsFirstPage reads the first page of any lock's access logs (the
// pages scenario reads those of the locks with a long history).
func (w *worker) lockLogsFirstPage() (string, error) {
	return opLockLogs, w.c.call(w.ctx, "GET", "/locks/"+w.d.Locks[w.rng.IntN(len(w.d.Locks))]+"/logs", nil)
}

// auditLag is how far back the audit step asks: a moment the log already
// holds, as an operator looking into what just happened would.
const auditLag = 5 * time.Second

// auditAccess asks who could open a seeded lock auditLag ago.
func (w *worker) auditAccess() (string, error) {
	id := w.d.Locks[w.rng.IntN(len(w.d.LockPlaces))]
	at := time.Now().Add(-auditLag).UTC().Format(time.RFC3339)
	return opAuditAccess, w.c.call(w.ctx, "GET", "/audit/locks/"+id+"/access?at="+url.QueryEscape(at), nil)
}

// lockSyncBody is the body of PUT /locks/{lockId}/sync, as cmd/locksim
// sends it.
type lockSyncBody struct {
	SyncDate               string          `json:"syncDate"`
	CurrentFirmwareVersion string          `json:"currentFirmwareVersion"`
	CurrentKeyMapVersion   int64           `json:"currentKeyMapVersion"`
	AccessLogs             []lockAccessLog `json:"accessLogs"`
}

type lockAccessLog struct {
	LockAccessLogID string `json:"lockAccessLogId"`
	AccessDate      string `json:"accessDate"`
	AccessKeyID     string `json:"accessKeyId"`
	Result          string `json:"result"`
	DenyReason      string `json:"denyReason,omitempty"`
}

// syncLock syncs one of the worker's locks as the lock does (cmd/locksim's
// lock sync): with its own API key, its Ed25519 signature of the body in
// x-lock-signature, and the key-map version it holds (the last answer's:
// the sealed map is not opened, the server's work is the same). Seeding
// synced every lock once, so a sync sends news only when a write changed
// the lock's key map, as a lock in service does. One sync in four carries
// an access attempt, a credential the lock did not know (denied,
// unknownCredential), so the locks' access logs grow.
func (w *worker) syncLock() (string, error) {
	l := w.locks[w.rng.IntN(len(w.locks))]
	var logs []lockAccessLog
	if w.rng.IntN(4) == 0 {
		logs = append(logs, lockAccessLog{
			LockAccessLogID: uuid.NewString(), AccessDate: time.Now().UTC().Format(time.RFC3339), AccessKeyID: uuid.NewString(),
			Result: "denied", DenyReason: "unknownCredential",
		})
	}
	v, err := syncLockOnce(w.ctx, w.c, w.d.Locks[l], w.d.LockCreds[l], w.d.KeyMapVersions[l], logs)
	if err == nil {
		w.d.KeyMapVersions[l] = v // this worker's lock: no other writes it
	}
	return opSyncLock, err
}

// syncLockOnce sends one signed sync of lock id holding key-map version
// held with logs, and returns the version the server answers.
func syncLockOnce(ctx context.Context, c *client, id string, creds lockCreds, held int64, logs []lockAccessLog) (int64, error) {
	if logs == nil {
		logs = []lockAccessLog{}
	}
	raw, err := json.Marshal(lockSyncBody{
		SyncDate: time.Now().UTC().Format(time.RFC3339), CurrentFirmwareVersion: "1.0.0", CurrentKeyMapVersion: held, AccessLogs: logs,
	})
	if err != nil {
		return 0, err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(creds.Sign, raw))
	path := "/locks/" + id + "/sync"
	answer, err := c.sendAs(ctx, creds.APIKey, map[string]string{"x-lock-signature": sig}, "PUT", path, raw, true)
	if err != nil {
		return 0, err
	}
	var env struct {
		Data struct {
			KeyMapVersion        *int64   `json:"keyMapVersion"`
			AcceptedAccessLogIDs []string `json:"acceptedAccessLogIds"`
		} `json:"data"`
	}
	if err := json.Unmarshal(answer, &env); err != nil || env.Data.KeyMapVersion == nil {
		return 0, &apiError{Method: "PUT", Path: path, Status: 200, Message: "unexpected answer: " + string(answer)}
	}
	if len(env.Data.AcceptedAccessLogIDs) != len(logs) {
		return 0, &apiError{Method: "PUT", Path: path, Status: 200, Message: fmt.Sprintf("%d access logs sent, %d accepted", len(logs), len(env.Data.AcceptedAccessLogIDs))}
	}
	return *env.Data.KeyMapVersion, nil
}

func (w *worker) listMembers() (string, error) {
	g := w.d.Groups[w.rng.IntN(len(w.d.Groups))]
	return opListMembers, w.c.call(w.ctx, "GET", "/properties/"+g.PropertyID+"/groups/"+g.ID+"/users", nil)
}

// visTarget is a visibility worker's own user (with a phone, in no group),
// the staff group of a property and a lock in that property's building,
// whose access list admits the staff group.
type visTarget struct {
	memberPath string
	lockID     string
	deviceID   string
}

// prepareVisibility makes the worker's user and finds (or installs) a lock
// in the building of property id mod the properties.
func (w *worker) prepareVisibility() (*visTarget, error) {
	pi := w.id % len(w.d.Properties)
	p := w.d.Properties[pi]
	var building []string
	for i, pl := range w.d.LockPlaces {
		if pl == (lockPlace{Property: pi, Area: 0}) {
			building = append(building, w.d.Locks[i])
		}
	}
	var lockID string
	if len(building) > 0 {
		lockID = building[(w.id/len(w.d.Properties))%len(building)]
	} else {
		id, _, err := provisionLock(w.ctx, w.c, fmt.Sprintf("Entrance %d", w.id))
		if err != nil {
			return nil, err
		}
		if err := w.c.call(w.ctx, "PUT", "/properties/"+p.ID+"/areas/"+p.Areas[0].ID+"/install/"+id, nil); err != nil {
			return nil, err
		}
		lockID = id
	}
	u, err := seedUser(w.ctx, w.c, 200000+w.id)
	if err != nil {
		return nil, err
	}
	return &visTarget{
		memberPath: "/properties/" + p.ID + "/groups/" + p.StaffGroupID + "/users/" + u.ID,
		lockID:     lockID, deviceID: u.DeviceID,
	}, nil
}

// Visibility polling: the pause between two key-map reads, and how long a
// membership may take to show before the step fails.
const (
	pollInterval = time.Millisecond
	pollTimeout  = 10 * time.Second
)

// visibility adds the worker's user to the staff group (timed as the
// command, with its retries after a 409), then reads the lock's key map with the reader's key, which has
// written nothing and so never waits on the server for this write, every
// pollInterval until the user's phone is in it: the time from the
// command's answer to the answer of the first read that shows it is
// opVisible (its resolution is one read plus pollInterval). The membership
// is then removed and the step waits, untimed, until the key map drops it,
// so the next addition starts from a map without it.
func (w *worker) visibility() (string, error) {
	v := w.vis
	start := time.Now()
	err := w.retried("POST", v.memberPath)
	answered := time.Now()
	w.note(opAddMember, answered.Sub(start), err)
	if err != nil {
		return "", nil
	}
	err = w.awaitKeyMap(v, true)
	w.note(opVisible, time.Since(answered), err)

	start = time.Now()
	err = w.retried("DELETE", v.memberPath)
	w.note(opRemoveMember, time.Since(start), err)
	if err == nil {
		if err := w.awaitKeyMap(v, false); err != nil && w.ctx.Err() == nil {
			w.errs.add("key map after removal: " + err.Error())
		}
	}
	return "", nil
}

// retried sends a membership command again while it is answered 409 (the
// group changed concurrently: the workers share each property's staff
// group), as an integration would, after a random pause of up to 5 ms, up
// to 50 times.
func (w *worker) retried(method, path string) error {
	var err error
	for range 50 {
		err = w.c.call(w.ctx, method, path, nil)
		var api *apiError
		if !errors.As(err, &api) || api.Status != http.StatusConflict {
			return err
		}
		time.Sleep(time.Duration(w.rng.IntN(5000)) * time.Microsecond)
	}
	return err
}

// awaitKeyMap reads the lock's key map with the reader's key until the
// device is in it (present) or out of it (!present). The reads while
// waiting for presence are recorded as opGetKeyMap: as many of them as
// opVisible means every first read showed the membership.
func (w *worker) awaitKeyMap(v *visTarget, present bool) error {
	deadline := time.Now().Add(pollTimeout)
	want := []byte(`"` + v.deviceID + `"`)
	for {
		start := time.Now()
		data, err := w.d.Reader.do(w.ctx, "GET", "/locks/"+v.lockID+"/keymap", nil)
		if present { // the polls of the timed wait, each a row of its own
			w.note(opGetKeyMap, time.Since(start), err)
		}
		if err != nil {
			return err
		}
		if bytes.Contains(data, want) == present {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lock %s: device %s present=%v not seen in the key map within %s", v.lockID, v.deviceID, present, pollTimeout)
		}
		select {
		case <-w.ctx.Done():
			return w.ctx.Err()
		case <-time.After(pollInterval):
		}
	}
}

func (w *worker) lockLogsPage() (string, error) {
	id := w.d.PageLocks[w.rng.IntN(len(w.d.PageLocks))]
	return opLockLogs, w.c.call(w.ctx, "GET", "/locks/"+id+"/logs", nil)
}

func (w *worker) eventsPage() (string, error) {
	return opListEvents, w.c.call(w.ctx, "GET", "/events?eventSource=all", nil)
}

// prepareScenario gets what a scenario needs beyond the seeded data set,
// untimed: the visibility scenario a second key, with manage-access only
// (what an operator's door screen holds), for its key-map reads; the pages
// scenario the first locks the server lists (in a data directory seeded by
// `accessctl seed`, locks with a long history of access logs), preferring
// those with at least one access log.
func prepareScenario(ctx context.Context, c *client, cfg config, d *dataset) error {
	switch cfg.Scenario {
	case "visibility":
		data, err := c.do(ctx, "POST", "/accounts/keys", map[string]any{
			"displayName":    "accessbench key-map reader",
			"apiPermissions": []any{map[string]any{"permission": "manage-access"}},
		})
		if err != nil {
			return fmt.Errorf("creating the reader's key: %w", err)
		}
		secret, err := field(data, "apiKey")
		if err != nil {
			return err
		}
		d.Reader = newClient(cfg.URL, secret, cfg.Concurrency)
	case "pages":
		data, err := c.do(ctx, "GET", "/locks?pageSize=100", nil)
		if err != nil {
			return err
		}
		var page struct {
			Locks []struct {
				LockID string `json:"lockId"`
			} `json:"locks"`
		}
		if err := json.Unmarshal(data, &page); err != nil {
			return fmt.Errorf("GET /locks: %w", err)
		}
		var all []string
		for _, l := range page.Locks {
			all = append(all, l.LockID)
			logs, err := c.do(ctx, "GET", "/locks/"+l.LockID+"/logs?pageSize=1", nil)
			if err != nil {
				return err
			}
			var first struct {
				AccessLogs []json.RawMessage `json:"accessLogs"`
			}
			if err := json.Unmarshal(logs, &first); err != nil {
				return fmt.Errorf("GET /locks/%s/logs: %w", l.LockID, err)
			}
			if len(first.AccessLogs) > 0 {
				d.PageLocks = append(d.PageLocks, l.LockID)
			}
		}
		if len(d.PageLocks) == 0 {
			d.PageLocks = all
		}
		if len(d.PageLocks) == 0 {
			return errors.New("pages: the server lists no lock")
		}
	}
	return nil
}
