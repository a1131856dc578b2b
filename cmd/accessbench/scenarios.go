package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
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
)

// writeOps are the write commands; their sum is the "all writes" row.
var writeOps = []string{opAddMember, opRemoveMember, opUpdateLock, opCreateUser, opUpdateUser, opUpdateDevice}

// scenarios names every scenario.
var scenarios = []string{"writes", "reads", "mix"}

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

// mixedMix: mostly reads, with the write mix one step in five.
var mixedMix = []weighted{
	{70, (*worker).getLock},
	{10, (*worker).listMembers},
	{20, (*worker).write},
}

func mixOf(scenario string) ([]weighted, error) {
	switch scenario {
	case "writes":
		return writeMix, nil
	case "reads":
		return readMix, nil
	case "mix":
		return mixedMix, nil
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
		id, err := provisionLock(w.ctx, w.c, fmt.Sprintf("Spare door %d", w.id))
		if err != nil {
			return err
		}
		mu.Lock()
		w.d.Locks = append(w.d.Locks, id)
		w.locks = append(w.locks, len(w.d.Locks)-1)
		mu.Unlock()
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

// timed runs one step and records its outcome.
func (w *worker) timed(step func(*worker) (string, error)) {
	start := time.Now()
	op, err := step(w)
	d := time.Since(start)
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

func (w *worker) listMembers() (string, error) {
	g := w.d.Groups[w.rng.IntN(len(w.d.Groups))]
	return opListMembers, w.c.call(w.ctx, "GET", "/properties/"+g.PropertyID+"/groups/"+g.ID+"/users", nil)
}
