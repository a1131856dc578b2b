package httpapi_test

// A model-based test of the key maps: random command sequences go through
// the real HTTP API, and after each one every lock's key map is compared
// with a deliberately simple reference evaluator of the access rules
// (DESIGN.md "Access rules", README "Key maps"), written from those texts
// and not from projections/keymaps or domain/access; so is its version
// (one more per change of content, none without), and a sample of the
// devices' access maps (through a signed phone sync). The point-in-time
// audit, its key-map version in force and a device's decision are compared
// with the reference at instants between steps and at instants around the
// next daylight-saving changes. At the end the whole log is replayed into
// a new key-map read model (the batches of a rebuild), which must equal the
// live one, and every key-map version of the audit history must match the
// log's fold and differ from the version before.
//
// Reproduce a failure with the seed it names:
//
//	ACCESSD_KEYMAP_MODEL_SEED=123 ACCESSD_KEYMAP_MODEL_STEPS=400 go test -run TestKeyMapModel -v ./http/
//
// or explore more seeds with go test -run '^$' -fuzz FuzzKeyMapModel ./http/.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/projections"
	"github.com/accessd/accessd/projections/keymaps"
	"github.com/accessd/accessd/projections/readmodeltest"
	"github.com/accessd/accessd/queries"
)

// ---- the reference model ------------------------------------------------

type mSched struct {
	tz          string
	from, until *time.Time
	weekly      []mWin
}

type mWin struct {
	days     []string
	from, to string
}

type mProp struct {
	id string
	tz string // the effective zone: "UTC" when none was given
}

type mListEntry struct {
	typ   string // "group" or "area"
	group string // for "group"
	area  string // for "area"
	sched *mSched
}

type mArea struct {
	id, prop, parent, group string
	list                    []mListEntry
	deleted                 bool
}

type mMember struct {
	from, until *time.Time
	booking     string
}

type mGroup struct {
	id, prop string
	area     string // set for an area's own group
	deleted  bool
	members  map[string]*mMember
}

type mUser struct {
	id      string
	deleted bool
}

type mDevice struct {
	id, user, key, pub string
	active             bool
	// The phone's own keys, to sign its syncs and open its access map.
	sign            ed25519.PrivateKey
	encPub, encPriv *[32]byte
}

type mLock struct {
	id, area, prop string
	deleted        bool
}

type mBooking struct {
	id, prop, area, guest string
	start, end            time.Time
	status                string
}

type mCode struct {
	id, booking, code string
	active            bool
}

type kmModel struct {
	props    []*mProp
	areas    []*mArea
	groups   []*mGroup
	users    []*mUser
	devices  []*mDevice
	locks    []*mLock
	bookings []*mBooking
	codes    []*mCode
}

func (m *kmModel) prop(id string) *mProp {
	for _, p := range m.props {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (m *kmModel) area(id string) *mArea {
	for _, a := range m.areas {
		if a.id == id {
			return a
		}
	}
	return nil
}

func (m *kmModel) group(id string) *mGroup {
	for _, g := range m.groups {
		if g.id == id {
			return g
		}
	}
	return nil
}

func (m *kmModel) booking(id string) *mBooking {
	for _, b := range m.bookings {
		if b.id == id {
			return b
		}
	}
	return nil
}

// dump describes the model, for a failure's message.
func (m *kmModel) dump() string {
	var b strings.Builder
	for _, p := range m.props {
		fmt.Fprintf(&b, "  property %s tz=%s\n", p.id, p.tz)
	}
	for _, a := range m.areas {
		fmt.Fprintf(&b, "  area %s property=%s parent=%s group=%s deleted=%v list=%v\n", a.id, a.prop, a.parent, a.group, a.deleted, len(a.list))
		for _, e := range a.list {
			fmt.Fprintf(&b, "    %s group=%s area=%s sched=%s\n", e.typ, e.group, e.area, e.sched.canon())
		}
	}
	for _, g := range m.groups {
		fmt.Fprintf(&b, "  group %s property=%s area=%s deleted=%v\n", g.id, g.prop, g.area, g.deleted)
		for _, u := range sortedKeys(g.members) {
			mm := g.members[u]
			fmt.Fprintf(&b, "    member %s booking=%s sched=%s\n", u, mm.booking, narrow(nil, mm.from, mm.until, "").canon())
		}
	}
	for _, d := range m.devices {
		fmt.Fprintf(&b, "  device %s user=%s key=%s active=%v\n", d.id, d.user, d.key, d.active)
	}
	for _, l := range m.locks {
		fmt.Fprintf(&b, "  lock %s area=%s property=%s deleted=%v\n", l.id, l.area, l.prop, l.deleted)
	}
	for _, bk := range m.bookings {
		fmt.Fprintf(&b, "  booking %s area=%s guest=%s %s..%s %s\n", bk.id, bk.area, bk.guest, bk.start.Format(time.RFC3339), bk.end.Format(time.RFC3339), bk.status)
	}
	for _, c := range m.codes {
		fmt.Fprintf(&b, "  code %s booking=%s active=%v\n", c.id, c.booking, c.active)
	}
	return b.String()
}

// refEntry is one entry of a lock's key map as the rules make it, with the
// grant it came through (for the audit's `via`).
type refEntry struct {
	accessKey, user, device, group, area, booking, pub string
	codeID, code                                       string
	sched                                              *mSched
	viaType, viaArea                                   string
}

// keyMapLine is the entry as the key map shows it, canonically.
func (e refEntry) keyMapLine() string {
	if e.codeID != "" {
		return "code " + e.codeID + " area=" + e.area + " sched=" + e.sched.canon()
	}
	return fmt.Sprintf("key %s user=%s device=%s group=%s area=%s booking=%s pub=%s sched=%s",
		e.accessKey, e.user, e.device, e.group, e.area, e.booking, e.pub, e.sched.canon())
}

// auditLine is the entry as the audit answers it at instant at.
func (e refEntry) auditLine(at time.Time) string {
	open := e.sched.admits(at)
	if e.codeID != "" {
		return fmt.Sprintf("code %s via=%s/accessCode/booking=%s sched=%s open=%v", e.codeID, e.area, e.booking, e.sched.canon(), open)
	}
	return fmt.Sprintf("key %s user=%s device=%s via=%s/%s/group=%s/viaArea=%s/booking=%s sched=%s open=%v",
		e.accessKey, e.user, e.device, e.area, e.viaType, e.group, e.viaArea, e.booking, e.sched.canon(), open)
}

// chain is an area followed by its ancestors, nearest first.
func (m *kmModel) chain(areaID string) []*mArea {
	var out []*mArea
	for cur := areaID; cur != "" && len(out) < 64; {
		a := m.area(cur)
		if a == nil || a.deleted {
			break
		}
		out = append(out, a)
		cur = a.parent
	}
	return out
}

// narrow bounds a grant's schedule by a membership window and gives it the
// property's zone when it names none.
func narrow(s *mSched, from, until *time.Time, tz string) *mSched {
	if s == nil && from == nil && until == nil {
		return nil
	}
	n := &mSched{}
	if s != nil {
		*n = *s
	}
	if from != nil && (n.from == nil || from.After(*n.from)) {
		n.from = from
	}
	if until != nil && (n.until == nil || until.Before(*n.until)) {
		n.until = until
	}
	if n.tz == "" {
		n.tz = tz
	}
	return n
}

// keyMap is the reference key map of a lock: for every area of its chain,
// the area's own group (always) and each access-list entry (by its
// schedule), each member's every active device; then every active code of
// a booking of an area of the chain. Entries equal as the key map shows
// them count once; the first (nearest grant) is kept, as the audit says.
func (m *kmModel) keyMap(lockID string) []refEntry {
	var l *mLock
	for _, x := range m.locks {
		if x.id == lockID {
			l = x
		}
	}
	out := []refEntry{}
	if l == nil || l.deleted || l.area == "" {
		return out
	}
	chain := m.chain(l.area)
	if len(chain) == 0 {
		return out
	}
	tz := m.prop(chain[0].prop).tz
	seen := map[string]bool{}
	add := func(e refEntry) {
		if k := e.keyMapLine(); !seen[k] {
			seen[k] = true
			out = append(out, e)
		}
	}
	grant := func(a *mArea, groupID, viaType, viaArea string, s *mSched) {
		g := m.group(groupID)
		if g == nil || g.deleted {
			return
		}
		for _, uid := range sortedKeys(g.members) {
			mem := g.members[uid]
			for _, d := range m.devices {
				if d.user != uid || !d.active {
					continue
				}
				add(refEntry{accessKey: d.key, user: uid, device: d.id, group: groupID, area: a.id, booking: mem.booking, pub: d.pub,
					sched: narrow(s, mem.from, mem.until, tz), viaType: viaType, viaArea: viaArea})
			}
		}
	}
	for _, a := range chain {
		grant(a, a.group, "area", "", nil)
		for _, e := range a.list {
			switch e.typ {
			case "group":
				grant(a, e.group, "group", "", e.sched)
			case "area":
				if ref := m.area(e.area); ref != nil {
					grant(a, ref.group, "area", e.area, e.sched)
				}
			}
		}
	}
	for _, c := range m.codes {
		if !c.active {
			continue
		}
		b := m.booking(c.booking)
		for _, a := range chain {
			if a.id == b.area {
				from, until := b.start, b.end
				add(refEntry{codeID: c.id, code: c.code, area: a.id, booking: b.id, sched: &mSched{tz: tz, from: &from, until: &until}})
			}
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (s *mSched) canon() string {
	if s == nil {
		return "null"
	}
	t := func(p *time.Time) string {
		if p == nil {
			return "-"
		}
		return p.UTC().Format(time.RFC3339Nano)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "{%s %s %s [", s.tz, t(s.from), t(s.until))
	for _, w := range s.weekly {
		fmt.Fprintf(&b, "%s %s-%s;", strings.Join(w.days, ","), w.from, w.to)
	}
	b.WriteString("]}")
	return b.String()
}

// admits reads the rules literally: from inclusive, until exclusive, and
// weekly windows on the wall clock of the schedule's zone.
func (s *mSched) admits(t time.Time) bool {
	if s == nil {
		return true
	}
	if s.from != nil && t.Before(*s.from) {
		return false
	}
	if s.until != nil && !t.Before(*s.until) {
		return false
	}
	if len(s.weekly) == 0 {
		return true
	}
	loc, err := time.LoadLocation(s.tz)
	if err != nil {
		return false
	}
	local := t.In(loc)
	day := strings.ToLower(local.Weekday().String()[:3])
	secs := local.Hour()*3600 + local.Minute()*60 + local.Second()
	for _, w := range s.weekly {
		if !slices.Contains(w.days, day) {
			continue
		}
		if secs >= hhmm(w.from) && secs < hhmm(w.to) {
			return true
		}
	}
	return false
}

func hhmm(s string) int {
	h, _ := strconv.Atoi(s[:2])
	m, _ := strconv.Atoi(s[3:])
	return h*3600 + m*60
}

func (s *mSched) json() any {
	if s == nil {
		return nil
	}
	out := map[string]any{}
	if s.tz != "" {
		out["timezone"] = s.tz
	}
	if s.from != nil {
		out["validFrom"] = s.from.UTC().Format(time.RFC3339)
	}
	if s.until != nil {
		out["validUntil"] = s.until.UTC().Format(time.RFC3339)
	}
	weekly := []any{}
	for _, w := range s.weekly {
		weekly = append(weekly, map[string]any{"days": w.days, "from": w.from, "to": w.to})
	}
	out["weekly"] = weekly
	return out
}

// ---- what the server answers ----------------------------------------------

type srvSched struct {
	Timezone   string     `json:"timezone"`
	ValidFrom  *time.Time `json:"validFrom"`
	ValidUntil *time.Time `json:"validUntil"`
	Weekly     []struct {
		Days []string `json:"days"`
		From string   `json:"from"`
		To   string   `json:"to"`
	} `json:"weekly"`
}

func (s *srvSched) model() *mSched {
	if s == nil {
		return nil
	}
	out := &mSched{tz: s.Timezone, from: s.ValidFrom, until: s.ValidUntil}
	for _, w := range s.Weekly {
		out.weekly = append(out.weekly, mWin{days: w.Days, from: w.From, to: w.To})
	}
	return out
}

type srvKeyMapEntry struct {
	AccessKeyID  string    `json:"accessKeyId"`
	UserID       string    `json:"userId"`
	UserDeviceID string    `json:"userDeviceId"`
	UserGroupID  string    `json:"userGroupId"`
	AccessCodeID string    `json:"accessCodeId"`
	BookingID    string    `json:"bookingId"`
	CodeHash     string    `json:"codeHash"`
	Salt         string    `json:"salt"`
	AreaID       string    `json:"areaId"`
	PublicKey    string    `json:"publicKey"`
	Schedule     *srvSched `json:"schedule"`
}

type srvAuditEntry struct {
	UserID       string `json:"userId"`
	UserDeviceID string `json:"userDeviceId"`
	AccessCodeID string `json:"accessCodeId"`
	AccessKeyID  string `json:"accessKeyId"`
	Via          struct {
		AreaID      string `json:"areaId"`
		AccessType  string `json:"accessType"`
		UserGroupID string `json:"userGroupId"`
		ViaAreaID   string `json:"viaAreaId"`
		BookingID   string `json:"bookingId"`
	} `json:"via"`
	Schedule *srvSched `json:"schedule"`
	OpenNow  bool      `json:"openNow"`
}

// ---- the driver -------------------------------------------------------------

// kmRun is one seeded run: the harness, the model, and what was seen.
type kmRun struct {
	t     *testing.T
	h     *harness
	r     *rand.Rand
	seed  int64
	m     *kmModel
	log   []string
	step  int
	kinds map[string][2]int // attempted, succeeded
	// versions and contents are each lock's last seen key-map version and
	// content; snapshots the reference of past steps for the audit.
	versions  map[string]int
	contents  map[string][]string
	snapshots []kmSnapshot
	audits    int
	sched     *commands.BookingScheduler
	// mapVersions and mapContents are each device's last seen access-map
	// version and content.
	mapVersions map[string]int
	mapContents map[string][]string
	mapPending  map[string]int // changes since the device's last check
	mapChecked  map[string]int // the step of that check
}

type kmSnapshot struct {
	at       time.Time
	versions map[string]int
	entries  map[string][]refEntry
	// What a refusal's reason depends on: locks in an area, devices
	// ("active" or "deprovisioned"; absent: none yet) and their users,
	// and how many memberships each user holds.
	installed map[string]bool
	devices   map[string]string
	owners    map[string]string
	groupsOf  map[string]int
}

// zones the schedules and properties use: two with daylight saving in
// opposite halves of the year, one with it in the north.
var kmZones = []string{"Europe/Madrid", "America/New_York", "Australia/Sydney"}

func (k *kmRun) fail(format string, args ...any) {
	k.t.Helper()
	tail := k.log
	if len(tail) > 400 {
		tail = tail[len(tail)-400:]
	}
	k.t.Fatalf("seed %d, step %d: %s\nlast steps:\n  %s\nmodel:\n%s", k.seed, k.step, fmt.Sprintf(format, args...), strings.Join(tail, "\n  "), k.m.dump())
}

func (k *kmRun) note(format string, args ...any) {
	k.log = append(k.log, fmt.Sprintf("%d: ", k.step)+fmt.Sprintf(format, args...))
}

// do sends a request and reports whether it succeeded (2xx); a refusal
// (4xx) leaves the model as it was.
func (k *kmRun) do(kind, method, path string, body any) (reply, bool) {
	k.t.Helper()
	r := k.h.do(method, path, rootKey, body)
	ok := r.Status >= 200 && r.Status < 300
	c := k.kinds[kind]
	c[0]++
	if ok {
		c[1]++
	}
	k.kinds[kind] = c
	if ok {
		k.note("%s %s %s", kind, method, path)
	} else {
		k.note("%s %s %s refused %d: %s", kind, method, path, r.Status, r.Error)
	}
	return r, ok
}

func (k *kmRun) pick(n int) int { return k.r.Intn(n) }

// now is the server's clock (the harness's, which time passing moves).
func (k *kmRun) now() time.Time { return k.h.clock.Now().UTC().Truncate(time.Second) }

func (k *kmRun) instant() *time.Time {
	t := k.now().Add(time.Duration(k.r.Intn(6*24*60)-3*24*60) * time.Minute).Truncate(time.Minute)
	return &t
}

func (k *kmRun) window() (from, until *time.Time) {
	switch k.pick(5) {
	case 0:
		from = k.instant()
	case 1:
		until = k.instant()
	case 2:
		from, until = k.instant(), k.instant()
		if !from.Before(*until) {
			from, until = until, from
			if from.Equal(*until) {
				u := until.Add(time.Hour)
				until = &u
			}
		}
	}
	return from, until
}

func (k *kmRun) schedule() *mSched {
	if k.pick(3) == 0 {
		return nil
	}
	s := &mSched{}
	if i := k.pick(len(kmZones) + 2); i < len(kmZones) {
		s.tz = kmZones[i]
	} else if i == len(kmZones) {
		s.tz = "UTC"
	}
	s.from, s.until = k.window()
	days := []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"}
	for range k.pick(3) {
		var w mWin
		for _, d := range days {
			if k.pick(2) == 0 {
				w.days = append(w.days, d)
			}
		}
		if len(w.days) == 0 {
			w.days = []string{days[k.pick(7)]}
		}
		a, b := k.pick(25), k.pick(25)
		if a == b {
			b = (a + 1) % 25
		}
		if a > b {
			a, b = b, a
		}
		w.from, w.to = fmt.Sprintf("%02d:%02d", a, 0), fmt.Sprintf("%02d:%02d", b, 0)
		if b < 24 && k.pick(3) == 0 {
			w.to = fmt.Sprintf("%02d:30", b)
		}
		s.weekly = append(s.weekly, w)
	}
	return s
}

func liveOf[T any](xs []*T, live func(*T) bool) []*T {
	var out []*T
	for _, x := range xs {
		if live(x) {
			out = append(out, x)
		}
	}
	return out
}

func pickOf[T any](k *kmRun, xs []*T) *T {
	if len(xs) == 0 {
		return nil
	}
	return xs[k.pick(len(xs))]
}

func (k *kmRun) liveAreas(prop string) []*mArea {
	return liveOf(k.m.areas, func(a *mArea) bool { return !a.deleted && (prop == "" || a.prop == prop) })
}

func (k *kmRun) liveGroups(prop string) []*mGroup {
	return liveOf(k.m.groups, func(g *mGroup) bool { return !g.deleted && (prop == "" || g.prop == prop) })
}

func (k *kmRun) liveUsers() []*mUser {
	return liveOf(k.m.users, func(u *mUser) bool { return !u.deleted })
}

// ---- the commands -----------------------------------------------------------

func (k *kmRun) createProperty(tz string) {
	body := map[string]any{"displayName": "Property"}
	if tz != "" {
		body["timezone"] = tz
	}
	r, ok := k.do("createProperty", "POST", "/properties", body)
	require.True(k.t, ok, r.Error)
	if tz == "" {
		tz = "UTC"
	}
	k.m.props = append(k.m.props, &mProp{id: r.field("propertyId"), tz: tz})
}

func (k *kmRun) setTimezone() {
	p := pickOf(k, k.m.props)
	tz := ""
	if i := k.pick(len(kmZones) + 1); i < len(kmZones) {
		tz = kmZones[i]
	}
	body := map[string]any{"displayName": "Property"}
	if tz != "" {
		body["timezone"] = tz
	}
	if _, ok := k.do("setTimezone", "PUT", "/properties/"+p.id, body); ok {
		if tz == "" {
			tz = "UTC"
		}
		p.tz = tz
	}
}

func (k *kmRun) createArea() {
	p := pickOf(k, k.m.props)
	body := map[string]any{"displayName": "Area", "areaType": "resident"}
	parent := ""
	if as := k.liveAreas(p.id); len(as) > 0 && k.pick(4) != 0 {
		parent = pickOf(k, as).id
		body["parentAreaId"] = parent
	}
	r, ok := k.do("createArea", "POST", areasPath(p.id), body)
	if !ok {
		return
	}
	a := &mArea{id: r.field("areaId"), prop: p.id, parent: parent, group: k.h.viewArea(rootKey, p.id, r.field("areaId")).AreaUserGroupID}
	k.m.areas = append(k.m.areas, a)
	k.m.groups = append(k.m.groups, &mGroup{id: a.group, prop: p.id, area: a.id, members: map[string]*mMember{}})
}

func (k *kmRun) putArea(kind string, a *mArea, parent string, list []mListEntry) bool {
	body := map[string]any{"displayName": "Area", "areaType": "resident"}
	if parent != "" {
		body["parentAreaId"] = parent
	}
	entries := []any{}
	for _, e := range list {
		je := map[string]any{"accessType": e.typ, "schedule": e.sched.json()}
		if e.typ == "group" {
			je["userGroupId"] = e.group
		} else {
			je["areaId"] = e.area
		}
		entries = append(entries, je)
	}
	body["accessList"] = entries
	if _, ok := k.do(kind, "PUT", areaPath(a.prop, a.id), body); !ok {
		return false
	}
	a.parent, a.list = parent, list
	return true
}

func (k *kmRun) changeAccessList() {
	a := pickOf(k, k.liveAreas(""))
	if a == nil {
		return
	}
	list := slices.Clone(a.list)
	switch {
	case len(list) > 0 && k.pick(3) == 0:
		i := k.pick(len(list))
		list = slices.Delete(list, i, i+1)
	case len(list) > 0 && k.pick(2) == 0:
		i := k.pick(len(list))
		list[i].sched = k.schedule()
	default:
		if len(list) >= 4 {
			list = list[1:]
		}
		e := mListEntry{sched: k.schedule()}
		if k.pick(2) == 0 {
			g := pickOf(k, k.liveGroups(a.prop))
			e.typ, e.group = "group", g.id
		} else {
			ref := pickOf(k, k.liveAreas(a.prop))
			e.typ, e.area = "area", ref.id
		}
		list = append(list, e)
	}
	k.putArea("accessList", a, a.parent, list)
}

func (k *kmRun) moveArea() {
	a := pickOf(k, k.liveAreas(""))
	if a == nil {
		return
	}
	parent := ""
	if k.pick(4) != 0 {
		var ok []*mArea
		for _, p := range k.liveAreas(a.prop) {
			under := false
			for _, c := range k.m.chain(p.id) {
				if c.id == a.id {
					under = true
				}
			}
			if !under {
				ok = append(ok, p)
			}
		}
		if p := pickOf(k, ok); p != nil {
			parent = p.id
		}
	}
	k.putArea("moveArea", a, parent, a.list)
}

func (k *kmRun) deleteArea() {
	// Mostly an area that may go (no sub-area, no lock), sometimes any.
	a := pickOf(k, liveOf(k.liveAreas(""), func(a *mArea) bool {
		for _, c := range k.liveAreas(a.prop) {
			if c.parent == a.id {
				return false
			}
		}
		for _, l := range k.m.locks {
			if l.area == a.id {
				return false
			}
		}
		return true
	}))
	if a == nil || k.pick(5) == 0 {
		a = pickOf(k, k.liveAreas(""))
	}
	if a == nil {
		return
	}
	if _, ok := k.do("deleteArea", "DELETE", areaPath(a.prop, a.id), nil); ok {
		a.deleted = true
		g := k.m.group(a.group)
		g.deleted, g.members = true, map[string]*mMember{}
	}
}

func (k *kmRun) createGroup() {
	p := pickOf(k, k.m.props)
	r, ok := k.do("createGroup", "POST", grpListPath(p.id), map[string]any{"displayName": "Group", "groupType": "staff"})
	if ok {
		k.m.groups = append(k.m.groups, &mGroup{id: r.field("userGroupId"), prop: p.id, members: map[string]*mMember{}})
	}
}

func (k *kmRun) deleteGroup() {
	g := pickOf(k, liveOf(k.m.groups, func(g *mGroup) bool { return !g.deleted && g.area == "" }))
	if g == nil {
		return
	}
	if _, ok := k.do("deleteGroup", "DELETE", grpPath(g.prop, g.id), nil); ok {
		g.deleted, g.members = true, map[string]*mMember{}
	}
}

// inStay reports whether a membership is a checked-in guest's stay. The
// model leaves those to the bookings: the rules do not say whether a
// stay's membership removed or changed by hand stays so (the
// reconciliation gives it back the first time only, its repair being
// appended once per booking and end).
func (k *kmRun) inStay(g *mGroup, user string) bool {
	for _, b := range k.m.bookings {
		if b.status == "checkedIn" && b.guest == user && k.m.area(b.area).group == g.id {
			return true
		}
	}
	return false
}

func (k *kmRun) addMember() {
	g := pickOf(k, k.liveGroups(""))
	u := pickOf(k, k.m.users)
	if g == nil || u == nil || k.inStay(g, u.id) {
		return
	}
	from, until := k.window()
	body := map[string]any{}
	if from != nil {
		body["validFrom"] = from.Format(time.RFC3339)
	}
	if until != nil {
		body["validUntil"] = until.Format(time.RFC3339)
	}
	if _, ok := k.do("addMember", "POST", grpMemberPath(g.prop, g.id, u.id), body); ok {
		g.members[u.id] = &mMember{from: from, until: until}
	}
}

func (k *kmRun) removeMember() {
	g := pickOf(k, liveOf(k.m.groups, func(g *mGroup) bool { return !g.deleted && len(g.members) > 0 }))
	if g == nil {
		return
	}
	ids := sortedKeys(g.members)
	u := ids[k.pick(len(ids))]
	if k.inStay(g, u) {
		return
	}
	if _, ok := k.do("removeMember", "DELETE", grpMemberPath(g.prop, g.id, u), nil); ok {
		delete(g.members, u)
	}
}

func (k *kmRun) createUser() {
	r, ok := k.do("createUser", "POST", "/users", map[string]any{"displayName": "User", "userPermissions": []any{}})
	require.True(k.t, ok, r.Error)
	k.m.users = append(k.m.users, &mUser{id: r.field("userId")})
}

func (k *kmRun) deleteUser() {
	u := pickOf(k, k.liveUsers())
	if u == nil {
		return
	}
	if _, ok := k.do("deleteUser", "DELETE", "/users/"+u.id, nil); !ok {
		return
	}
	u.deleted = true
	for _, b := range k.m.bookings {
		if b.guest != u.id {
			continue
		}
		switch b.status {
		case "booked":
			b.status = "cancelled"
			k.revokeCodes(b)
		case "checkedIn":
			b.status = "checkedOut"
			k.revokeCodes(b)
		}
	}
	for _, g := range k.m.groups {
		delete(g.members, u.id)
	}
	for _, d := range k.m.devices {
		if d.user == u.id {
			d.active = false
		}
	}
}

// phoneKeys makes a phone's key pairs, keeping the private halves.
func (k *kmRun) phoneKeys() (pub, enc string, sign ed25519.PrivateKey, encPub, encPriv *[32]byte) {
	sigPub, sign, err := ed25519.GenerateKey(cryptorand.Reader)
	require.NoError(k.t, err)
	encPub, encPriv, err = box.GenerateKey(cryptorand.Reader)
	require.NoError(k.t, err)
	return base64.StdEncoding.EncodeToString(sigPub), base64.StdEncoding.EncodeToString(encPub[:]), sign, encPub, encPriv
}

func (k *kmRun) addDevice() {
	u := pickOf(k, k.m.users)
	if u == nil {
		return
	}
	pub, enc, sign, encPub, encPriv := k.phoneKeys()
	r, ok := k.do("addDevice", "POST", "/users/"+u.id+"/devices", deviceBody("phone", pub, enc))
	if !ok {
		return
	}
	d := decodeDevice(k.t, r)
	k.m.devices = append(k.m.devices, &mDevice{id: d.UserDeviceID, user: u.id, key: d.AccessKeyID, pub: d.PublicKey, active: true,
		sign: sign, encPub: encPub, encPriv: encPriv})
}

func (k *kmRun) removeDevice() {
	d := pickOf(k, liveOf(k.m.devices, func(d *mDevice) bool { return d.active }))
	if d == nil {
		return
	}
	if _, ok := k.do("removeDevice", "DELETE", "/users/"+d.user+"/devices/"+d.id, nil); ok {
		d.active = false
	}
}

func (k *kmRun) rotateDevice() {
	d := pickOf(k, liveOf(k.m.devices, func(d *mDevice) bool { return d.active }))
	if d == nil {
		return
	}
	pub, enc, sign, encPub, encPriv := k.phoneKeys()
	switch k.pick(3) {
	case 0: // a new encryption key only: the same access key
		pub = ""
	case 1: // no key: only the name
		pub, enc = "", ""
	}
	r, ok := k.do("rotateDevice", "PUT", "/users/"+d.user+"/devices/"+d.id, deviceBody("phone", pub, enc))
	if !ok {
		return
	}
	out := decodeDevice(k.t, r)
	d.key, d.pub = out.AccessKeyID, out.PublicKey
	if pub != "" {
		d.sign = sign
	}
	if enc != "" {
		d.encPub, d.encPriv = encPub, encPriv
	}
}

func (k *kmRun) provisionLock() {
	pub, enc := lockKeys(k.t)
	r, ok := k.do("provisionLock", "POST", "/locks", map[string]any{"displayName": "door", "publicKey": pub, "encryptionPublicKey": enc})
	require.True(k.t, ok, r.Error)
	k.m.locks = append(k.m.locks, &mLock{id: r.field("lockId")})
}

func (k *kmRun) installLock() {
	l := pickOf(k, liveOf(k.m.locks, func(l *mLock) bool { return !l.deleted }))
	a := pickOf(k, k.liveAreas(""))
	if l == nil || a == nil {
		return
	}
	if _, ok := k.do("installLock", "PUT", installPath(a.prop, a.id, l.id), nil); ok {
		l.area, l.prop = a.id, a.prop
	}
}

func (k *kmRun) uninstallLock() {
	l := pickOf(k, liveOf(k.m.locks, func(l *mLock) bool { return !l.deleted && l.prop != "" }))
	if l == nil {
		return
	}
	mode := []string{"area", "property"}[k.pick(2)]
	if _, ok := k.do("uninstallLock", "PUT", "/locks/"+l.id+"/uninstall?uninstallMode="+mode, nil); ok {
		l.area = ""
		if mode == "property" {
			l.prop = ""
		}
	}
}

func (k *kmRun) deprovisionLock() {
	l := pickOf(k, liveOf(k.m.locks, func(l *mLock) bool { return !l.deleted && l.prop == "" }))
	if l == nil {
		return
	}
	if _, ok := k.do("deprovisionLock", "DELETE", "/locks/"+l.id, nil); ok {
		l.deleted = true
	}
}

func (k *kmRun) createBooking() {
	a := pickOf(k, k.liveAreas(""))
	u := pickOf(k, k.liveUsers())
	if a == nil || u == nil {
		return
	}
	start := k.now().Add(time.Duration(k.pick(100)-50) * time.Minute)
	end := k.now().Add(time.Duration(1+k.pick(72)) * time.Hour)
	r, ok := k.do("createBooking", "POST", "/properties/"+a.prop+"/bookings", map[string]any{
		"areaId": a.id, "guest": map[string]any{"userId": u.id}, "startDateTime": rfc(start), "endDateTime": rfc(end),
	})
	if ok {
		k.m.bookings = append(k.m.bookings, &mBooking{id: r.field("bookingId"), prop: a.prop, area: a.id, guest: u.id, start: start, end: end, status: "booked"})
	}
}

func (k *kmRun) liveBookings() []*mBooking {
	return liveOf(k.m.bookings, func(b *mBooking) bool { return b.status == "booked" || b.status == "checkedIn" })
}

func (k *kmRun) checkIn() {
	b := pickOf(k, liveOf(k.m.bookings, func(b *mBooking) bool { return b.status == "booked" }))
	if b == nil {
		return
	}
	if _, ok := k.do("checkIn", "POST", "/bookings/"+b.id+"/check-in", map[string]any{"method": "manual"}); ok {
		b.status = "checkedIn"
		end := b.end
		k.m.group(k.m.area(b.area).group).members[b.guest] = &mMember{until: &end, booking: b.id}
	}
}

func (k *kmRun) checkOut() {
	b := pickOf(k, liveOf(k.m.bookings, func(b *mBooking) bool { return b.status == "checkedIn" }))
	if b == nil {
		return
	}
	if _, ok := k.do("checkOut", "POST", "/bookings/"+b.id+"/check-out", map[string]any{"method": "manual"}); ok {
		b.status = "checkedOut"
		k.revokeCodes(b)
		delete(k.m.group(k.m.area(b.area).group).members, b.guest)
	}
}

func (k *kmRun) cancelBooking() {
	b := pickOf(k, liveOf(k.m.bookings, func(b *mBooking) bool { return b.status == "booked" }))
	if b == nil {
		return
	}
	if _, ok := k.do("cancel", "POST", "/bookings/"+b.id+"/cancel", map[string]any{"reason": "byUser"}); ok {
		b.status = "cancelled"
		k.revokeCodes(b)
	}
}

func (k *kmRun) revokeCodes(b *mBooking) {
	for _, c := range k.m.codes {
		if c.booking == b.id {
			c.active = false
		}
	}
}

func (k *kmRun) rescheduleBooking() {
	b := pickOf(k, k.liveBookings())
	if b == nil {
		return
	}
	end := k.now().Add(time.Duration(1+k.pick(72)) * time.Hour)
	body := map[string]any{"endDateTime": rfc(end)}
	start := b.start
	if b.status == "booked" && k.pick(2) == 0 {
		start = k.now().Add(time.Duration(k.pick(100)-50) * time.Minute)
		body["startDateTime"] = rfc(start)
	}
	area := b.area
	if b.status == "booked" && k.pick(3) == 0 {
		if a := pickOf(k, k.liveAreas(b.prop)); a != nil {
			area = a.id
			body["areaId"] = area
		}
	}
	if _, ok := k.do("reschedule", "PATCH", "/bookings/"+b.id, body); ok {
		b.start, b.end, b.area = start, end, area
		if b.status == "checkedIn" {
			// The stay's membership follows the end.
			e := end
			k.m.group(k.m.area(b.area).group).members[b.guest] = &mMember{until: &e, booking: b.id}
		}
	}
}

func (k *kmRun) createCode() {
	b := pickOf(k, k.liveBookings())
	if b == nil {
		return
	}
	code := fmt.Sprintf("%08d", k.pick(100000000))
	r, ok := k.do("createCode", "POST", "/bookings/"+b.id+"/access-codes", map[string]any{"code": code})
	if ok {
		k.m.codes = append(k.m.codes, &mCode{id: r.field("accessCodeId"), booking: b.id, code: code, active: true})
	}
}

func (k *kmRun) revokeCode() {
	c := pickOf(k, liveOf(k.m.codes, func(c *mCode) bool { return c.active }))
	if c == nil {
		return
	}
	if _, ok := k.do("revokeCode", "DELETE", "/access-codes/"+c.id, nil); ok {
		c.active = false
	}
}

// timePasses moves the server's clock on and runs a tick of the booking
// scheduler: stays past their end complete (the membership and the codes
// go), bookings nobody checked in by start plus the grace period (120
// minutes by default) become noCheckIn (the codes go).
func (k *kmRun) timePasses() {
	d := time.Duration(10+k.pick(30*60))*time.Minute + time.Duration(k.pick(60))*time.Second
	k.h.clock.Advance(d)
	k.settle()
	n, err := k.sched.Tick(context.Background())
	require.NoError(k.t, err)
	now := k.h.clock.Now()
	k.note("time passes %s; scheduler: %d transitions", d, n)
	for _, b := range k.m.bookings {
		switch {
		case b.status == "booked" && !now.Before(b.start.Add(120*time.Minute)):
			b.status = "noCheckIn"
			k.revokeCodes(b)
		case b.status == "checkedIn" && !now.Before(b.end):
			b.status = "completed"
			k.revokeCodes(b)
			if a := k.m.area(b.area); a != nil {
				delete(k.m.group(a.group).members, b.guest)
			}
		}
	}
}

// reconcile runs the scheduler's reconciliation: a checked-in guest (a
// user not deleted) whose stay is still to end is a member of the booked
// area's group until the end, whatever was done to the membership by hand;
// a guest checked out before the end loses a membership that ends with
// the stay.
func (k *kmRun) reconcile() {
	k.settle()
	n, err := k.sched.Reconcile(context.Background())
	require.NoError(k.t, err)
	now := k.h.clock.Now()
	k.note("reconcile: %d repairs", n)
	for _, b := range k.m.bookings {
		a := k.m.area(b.area)
		if !b.end.After(now) || a == nil || a.deleted {
			continue
		}
		g := k.m.group(a.group)
		switch b.status {
		case "checkedIn":
			guestDeleted := false
			for _, u := range k.m.users {
				if u.id == b.guest && u.deleted {
					guestDeleted = true
				}
			}
			if !guestDeleted {
				end := b.end
				g.members[b.guest] = &mMember{until: &end, booking: b.id}
			}
		case "checkedOut", "completed":
			if mem := g.members[b.guest]; mem != nil && mem.until != nil && mem.until.Equal(b.end) {
				delete(g.members, b.guest)
			}
		}
	}
}

// eventPageItem is one event of GET /events.
type eventPageItem = struct {
	EventID   string `json:"eventId"`
	EventName string `json:"eventName"`
	APIKeyID  string `json:"apiKeyId"`
	CreatedAt string `json:"createdAt"`
}

// kmEventTypes are the events the key maps follow.
var kmEventTypes = keymaps.New().EventTypes()

// reprocess re-delivers one of the latest events to every projection
// (PUT /events/{eventId}/process): the log does not change, so neither may
// any key map.
func (k *kmRun) reprocess() {
	source := []string{"userGroup", "userDevice", "area", "lock", "property", "all"}[k.pick(6)]
	page, r := listEvents(k.t, k.h, rootKey, "eventSource="+source+"&pageSize=200")
	require.Equal(k.t, http.StatusOK, r.Status, r.Error)
	relevant := slices.DeleteFunc(page.Events, func(e eventPageItem) bool { return !slices.Contains(kmEventTypes, e.EventName) })
	if len(relevant) == 0 {
		return
	}
	e := relevant[k.pick(len(relevant))]
	k.do("reprocess "+e.EventName, "PUT", "/events/"+e.EventID+"/process", nil)
}

// kmStep is a kind of command: its weight, and how many key-map changes
// it may make to one lock (several events, each one version).
type kmStep struct {
	weight, changes int
	run             func(*kmRun)
}

var kmSteps = []kmStep{
	{3, 1, (*kmRun).createArea},
	{8, 2, (*kmRun).changeAccessList},
	{4, 2, (*kmRun).moveArea},
	{1, 2, (*kmRun).deleteArea},
	{2, 0, (*kmRun).createGroup},
	{1, 1, (*kmRun).deleteGroup},
	{10, 1, (*kmRun).addMember},
	{4, 1, (*kmRun).removeMember},
	{2, 0, (*kmRun).createUser},
	{1, 100, (*kmRun).deleteUser},
	{5, 1, (*kmRun).addDevice},
	{2, 1, (*kmRun).removeDevice},
	{2, 1, (*kmRun).rotateDevice},
	{1, 0, (*kmRun).provisionLock},
	{5, 1, (*kmRun).installLock},
	{3, 1, (*kmRun).uninstallLock},
	{1, 0, (*kmRun).deprovisionLock},
	{2, 1, (*kmRun).setTimezone},
	{4, 0, (*kmRun).createBooking},
	{3, 1, (*kmRun).checkIn},
	{2, 100, (*kmRun).checkOut},
	{1, 100, (*kmRun).cancelBooking},
	{2, 2, (*kmRun).rescheduleBooking},
	{3, 1, (*kmRun).createCode},
	{1, 1, (*kmRun).revokeCode},
	{2, 100, (*kmRun).timePasses},
	{1, 100, (*kmRun).reconcile},
	{3, 0, (*kmRun).reprocess},
}

// settle waits for every read model and returns an instant after every
// event recorded so far and before any later one.
func (k *kmRun) settle() time.Time {
	ctx := context.Background()
	head, err := k.h.store.HeadPosition(ctx)
	require.NoError(k.t, err)
	require.NoError(k.t, k.h.set.WaitFor(ctx, head))
	time.Sleep(time.Microsecond)
	at := time.Now().UTC()
	time.Sleep(time.Microsecond)
	return at
}

// check compares every live lock's key map with the reference, and its
// version with the content's changes.
func (k *kmRun) check(changes int, all bool) {
	k.t.Helper()
	at := k.settle()
	snap := kmSnapshot{at: at, versions: map[string]int{}, entries: map[string][]refEntry{},
		installed: map[string]bool{}, devices: map[string]string{}, owners: map[string]string{}, groupsOf: map[string]int{}}
	for _, d := range k.m.devices {
		snap.devices[d.id], snap.owners[d.id] = "deprovisioned", d.user
		if d.active {
			snap.devices[d.id] = "active"
		}
	}
	for _, g := range k.m.groups {
		for u := range g.members {
			snap.groupsOf[u]++
		}
	}
	for _, l := range k.m.locks {
		if l.deleted {
			continue
		}
		want := k.m.keyMap(l.id)
		snap.entries[l.id] = want
		snap.installed[l.id] = l.area != ""
		wantLines := make([]string, len(want))
		for i, e := range want {
			wantLines[i] = e.keyMapLine()
		}
		sort.Strings(wantLines)
		r := k.h.do("GET", "/locks/"+l.id+"/keymap", rootKey, nil)
		if r.Status != http.StatusOK {
			k.fail("GET keymap of lock %s: %d %s", l.id, r.Status, r.Error)
		}
		var km struct {
			KeyMapVersion int              `json:"keyMapVersion"`
			KeyMapEntries []srvKeyMapEntry `json:"keyMapEntries"`
		}
		require.NoError(k.t, json.Unmarshal(r.Data, &km))
		gotLines := k.serverLines(km.KeyMapEntries)
		if !slices.Equal(gotLines, wantLines) {
			k.fail("lock %s (area %s): key map differs from the rules\n%s", l.id, l.area, lineDiff(wantLines, gotLines))
		}
		prev, seen := k.versions[l.id]
		delta := km.KeyMapVersion - prev
		changed := !slices.Equal(k.contents[l.id], wantLines)
		if !seen {
			changed = len(wantLines) > 0
		}
		switch {
		case !changed && delta != 0:
			k.fail("lock %s: version moved %d -> %d with no change of content", l.id, prev, km.KeyMapVersion)
		case changed && (delta < 1 || delta > max(changes, 1)):
			k.fail("lock %s: content changed but version moved %d -> %d (at most %d changes)", l.id, prev, km.KeyMapVersion, changes)
		}
		k.versions[l.id], k.contents[l.id] = km.KeyMapVersion, wantLines
		snap.versions[l.id] = km.KeyMapVersion
	}
	k.snapshots = append(k.snapshots, snap)
	// Every device's access map costs a signed sync: a few each step,
	// every one at the end.
	for _, d := range k.m.devices {
		k.mapPending[d.id] += max(changes, 1)
	}
	for _, d := range liveOf(k.m.devices, func(d *mDevice) bool { return d.active }) {
		if all || k.pick(4) == 0 {
			k.checkAccessMap(d, snap.entries)
		}
	}
}

// accessMapLines is the reference user access map of a device: one line
// per (lock, key-map entry of the device), the lock's area, property and
// id with the entry's group, schedule and key; two entries that give the
// same line (one group's grants with one schedule on two areas above the
// lock) are listed once.
func (k *kmRun) accessMapLines(d *mDevice, entries map[string][]refEntry) []string {
	out := []string{}
	if !d.active {
		return out
	}
	for _, l := range k.m.locks {
		for _, e := range entries[l.id] {
			if e.device == d.id {
				out = append(out, fmt.Sprintf("lock %s property=%s area=%s group=%s key=%s sched=%s", l.id, l.prop, l.area, e.group, e.accessKey, e.sched.canon()))
			}
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// checkAccessMap syncs a phone and compares its sealed access map, and
// its version, with the reference.
func (k *kmRun) checkAccessMap(d *mDevice, entries map[string][]refEntry) {
	k.t.Helper()
	want := k.accessMapLines(d, entries)
	body, _ := json.Marshal(map[string]any{"deviceType": "iOS", "makeModel": "iPhone 15", "currentOsVersion": "17.4",
		"currentAppVersion": "2.1.0", "currentUserAccessMapVersion": 1 << 40})
	r := k.h.syncAs(rootKey, "/users/"+d.user+"/devices/"+d.id+"/sync", body, base64.StdEncoding.EncodeToString(ed25519.Sign(d.sign, body)))
	if r.Status != http.StatusOK {
		k.fail("sync of device %s: %d %s", d.id, r.Status, r.Error)
	}
	var out syncOut
	require.NoError(k.t, json.Unmarshal(r.Data, &out))
	raw, err := base64.StdEncoding.DecodeString(out.EncryptedUserAccessMapEntries)
	require.NoError(k.t, err)
	plain, ok := box.OpenAnonymous(nil, raw, d.encPub, d.encPriv)
	if !ok {
		k.fail("the access map of device %s does not open with its key", d.id)
	}
	var es []struct {
		PropertyID  string    `json:"propertyId"`
		AreaID      string    `json:"areaId"`
		LockID      string    `json:"lockId"`
		UserGroupID string    `json:"userGroupId"`
		Schedule    *srvSched `json:"schedule"`
		AccessKeyID string    `json:"accessKeyId"`
	}
	require.NoError(k.t, json.Unmarshal(plain, &es), "%s", plain)
	got := []string{}
	for _, e := range es {
		got = append(got, fmt.Sprintf("lock %s property=%s area=%s group=%s key=%s sched=%s", e.LockID, e.PropertyID, e.AreaID, e.UserGroupID, e.AccessKeyID, e.Schedule.model().canon()))
	}
	sort.Strings(got)
	if !slices.Equal(got, want) {
		k.fail("access map of device %s differs from the rules\n%s", d.id, lineDiff(want, got))
	}
	version := *out.UserAccessMapVersion
	prev, seen := k.mapVersions[d.id]
	changed := !slices.Equal(k.mapContents[d.id], want)
	if !seen {
		changed = len(want) > 0
	}
	// Checked one step after the last check, the version moves exactly
	// when the content did; after several steps, by at most one per
	// change those steps could make.
	delta, changes := version-prev, k.mapPending[d.id]
	switch {
	case !changed && delta != 0 && k.mapChecked[d.id] == k.step-1:
		k.fail("access map of device %s: version moved %d -> %d with no change of content", d.id, prev, version)
	case changed && delta < 1, delta < 0, delta > changes:
		k.fail("access map of device %s: version moved %d -> %d (content changed: %v; at most %d changes)", d.id, prev, version, changed, changes)
	}
	k.mapVersions[d.id], k.mapContents[d.id] = version, want
	k.mapPending[d.id], k.mapChecked[d.id] = 0, k.step
}

// serverLines is the server's key map in the reference's canonical form;
// a code's hash is checked against its code and salt here.
func (k *kmRun) serverLines(es []srvKeyMapEntry) []string {
	out := make([]string, 0, len(es))
	for _, e := range es {
		if e.AccessCodeID != "" {
			var c *mCode
			for _, x := range k.m.codes {
				if x.id == e.AccessCodeID {
					c = x
				}
			}
			if c == nil {
				out = append(out, "code "+e.AccessCodeID+" UNKNOWN")
				continue
			}
			salt, err := hex.DecodeString(e.Salt)
			sum := sha256.Sum256(append(salt, []byte(c.code)...))
			if err != nil || len(salt) != 16 || hex.EncodeToString(sum[:]) != e.CodeHash {
				out = append(out, "code "+e.AccessCodeID+" BAD HASH")
				continue
			}
			out = append(out, refEntry{codeID: e.AccessCodeID, area: e.AreaID, sched: e.Schedule.model()}.keyMapLine())
			continue
		}
		out = append(out, refEntry{accessKey: e.AccessKeyID, user: e.UserID, device: e.UserDeviceID, group: e.UserGroupID,
			area: e.AreaID, booking: e.BookingID, pub: e.PublicKey, sched: e.Schedule.model()}.keyMapLine())
	}
	sort.Strings(out)
	return out
}

func lineDiff(want, got []string) string {
	var b strings.Builder
	for _, w := range want {
		if !slices.Contains(got, w) {
			b.WriteString("  missing: " + w + "\n")
		}
	}
	for _, g := range got {
		if !slices.Contains(want, g) {
			b.WriteString("  extra:   " + g + "\n")
		}
	}
	if b.Len() == 0 {
		fmt.Fprintf(&b, "  (same lines, other counts: want %d, got %d)\n", len(want), len(got))
	}
	return b.String()
}

// checkAudit asks the point-in-time audit about a lock at a past instant
// of the run (or a later one: the current state) and compares its answer,
// and the key-map version in force, with the reference of that instant.
func (k *kmRun) checkAudit(lockID string, snap kmSnapshot, at time.Time) {
	k.t.Helper()
	k.audits++
	want := snap.entries[lockID]
	wantLines := make([]string, len(want))
	for i, e := range want {
		wantLines[i] = e.auditLine(at)
	}
	sort.Strings(wantLines)
	r := k.h.do("GET", "/audit/locks/"+lockID+"/access?at="+url.QueryEscape(at.Format(time.RFC3339Nano)), rootKey, nil)
	if r.Status != http.StatusOK {
		k.fail("audit of lock %s at %s: %d %s", lockID, at.Format(time.RFC3339Nano), r.Status, r.Error)
	}
	var out struct {
		KeyMapVersion int             `json:"keyMapVersion"`
		KeyMapHash    string          `json:"keyMapHash"`
		EntriesHash   string          `json:"entriesHash"`
		Entries       []srvAuditEntry `json:"entries"`
	}
	require.NoError(k.t, json.Unmarshal(r.Data, &out))
	got := make([]string, 0, len(out.Entries))
	for _, e := range out.Entries {
		if e.AccessCodeID != "" {
			got = append(got, fmt.Sprintf("code %s via=%s/%s/booking=%s sched=%s open=%v", e.AccessCodeID, e.Via.AreaID, e.Via.AccessType,
				e.Via.BookingID, e.Schedule.model().canon(), e.OpenNow))
			continue
		}
		got = append(got, fmt.Sprintf("key %s user=%s device=%s via=%s/%s/group=%s/viaArea=%s/booking=%s sched=%s open=%v",
			e.AccessKeyID, e.UserID, e.UserDeviceID, e.Via.AreaID, e.Via.AccessType, e.Via.UserGroupID, e.Via.ViaAreaID, e.Via.BookingID,
			e.Schedule.model().canon(), e.OpenNow))
	}
	sort.Strings(got)
	if !slices.Equal(got, wantLines) {
		k.fail("audit of lock %s at %s differs from the rules\n%s", lockID, at.Format(time.RFC3339Nano), lineDiff(wantLines, got))
	}
	if out.KeyMapVersion != snap.versions[lockID] {
		k.fail("audit of lock %s at %s: key-map version %d in force, the key map had %d", lockID, at.Format(time.RFC3339Nano), out.KeyMapVersion, snap.versions[lockID])
	}
	if out.KeyMapHash != out.EntriesHash {
		k.fail("audit of lock %s at %s: keyMapHash %s, entriesHash %s", lockID, at.Format(time.RFC3339Nano), out.KeyMapHash, out.EntriesHash)
	}
	// One device's decision at that instant: allowed exactly when one of
	// its entries admits the instant; else the reason the rules give.
	if d := pickOf(k, k.m.devices); d != nil {
		allowed, entries := false, 0
		for _, e := range want {
			if e.device == d.id {
				entries++
				allowed = allowed || e.sched.admits(at)
			}
		}
		var reasons []string
		if !snap.installed[lockID] {
			reasons = append(reasons, "lockNotInstalled")
		}
		switch snap.devices[d.id] {
		case "":
			reasons = append(reasons, "deviceNotProvisioned")
		case "deprovisioned":
			reasons = append(reasons, "deviceDeprovisioned")
		}
		switch {
		case len(reasons) > 0:
		case allowed:
			reasons = []string{"allowed"}
		case entries > 0:
			reasons = []string{"outsideSchedule"}
		case snap.groupsOf[d.user] == 0:
			reasons = []string{"noMembership"}
		default:
			// Still a member of some group, none granted here: noGrant,
			// or noMembership when the user was removed from a granted
			// group (the model does not keep removals).
			reasons = []string{"noMembership", "noGrant"}
		}
		r := k.h.do("GET", "/audit/decisions?lockId="+lockID+"&userDeviceId="+d.id+"&at="+url.QueryEscape(at.Format(time.RFC3339Nano)), rootKey, nil)
		if r.Status != http.StatusOK {
			k.fail("decision of device %s on lock %s: %d %s", d.id, lockID, r.Status, r.Error)
		}
		var dec auditDecision
		require.NoError(k.t, json.Unmarshal(r.Data, &dec))
		if dec.Allowed != allowed || !slices.Contains(reasons, dec.Reason) {
			k.fail("decision of device %s on lock %s at %s: allowed %v (%s), the rules say %v (%v)", d.id, lockID, at.Format(time.RFC3339Nano), dec.Allowed, dec.Reason, allowed, reasons)
		}
	}
}

// dstInstants are instants around each zone's next daylight-saving
// changes (found by looking, not by table), where weekly windows move
// against UTC.
func dstInstants(from time.Time) []time.Time {
	var out []time.Time
	for _, name := range kmZones {
		loc, err := time.LoadLocation(name)
		if err != nil {
			continue
		}
		found := 0
		for t := from.Truncate(time.Hour); t.Before(from.AddDate(1, 1, 0)) && found < 2; t = t.Add(time.Hour) {
			_, o1 := t.In(loc).Zone()
			_, o2 := t.Add(time.Hour).In(loc).Zone()
			if o1 == o2 {
				continue
			}
			found++
			// The change is within (t, t+1h]: find the second.
			lo, hi := t, t.Add(time.Hour)
			for hi.Sub(lo) > time.Second {
				mid := lo.Add(hi.Sub(lo) / 2)
				if _, o := mid.In(loc).Zone(); o == o1 {
					lo = mid
				} else {
					hi = mid
				}
			}
			for _, d := range []time.Duration{-3 * time.Hour, -time.Hour, -time.Second, 0, 30 * time.Minute, time.Hour, 90 * time.Minute, 5 * time.Hour, 22 * time.Hour} {
				out = append(out, hi.Add(d))
			}
		}
	}
	return out
}

// checkHistory walks a lock's key-map versions in its audit history: at
// the instant each was recorded, the audit's fold of the log must give
// the entries the projection stored (equal hashes), and each version's
// entries must differ from the one before (a version only for a change).
func (k *kmRun) checkHistory(lockID string) {
	k.t.Helper()
	status, _, body := k.h.rawGet("/audit/locks/"+lockID+"/history?format=json", rootKey)
	if status != http.StatusOK {
		k.fail("history of lock %s: %d %s", lockID, status, body)
	}
	hashes := map[int]string{}
	last := 0
	for _, line := range strings.Split(strings.TrimSpace(body), "\n") {
		if line == "" {
			continue
		}
		var item struct {
			EventType     string    `json:"eventType"`
			RecordedAt    time.Time `json:"recordedAt"`
			KeyMapVersion *int      `json:"keyMapVersion"`
		}
		require.NoError(k.t, json.Unmarshal([]byte(line), &item), line)
		if item.EventType != "KeyMapVersionChanged" || item.KeyMapVersion == nil {
			continue
		}
		v := *item.KeyMapVersion
		if v != last+1 {
			k.fail("history of lock %s: version %d after %d", lockID, v, last)
		}
		last = v
		k.audits++
		r := k.h.do("GET", "/audit/locks/"+lockID+"/access?at="+url.QueryEscape(item.RecordedAt.Format(time.RFC3339Nano)), rootKey, nil)
		require.Equal(k.t, http.StatusOK, r.Status, r.Error)
		var out struct {
			KeyMapVersion int    `json:"keyMapVersion"`
			KeyMapHash    string `json:"keyMapHash"`
			EntriesHash   string `json:"entriesHash"`
		}
		require.NoError(k.t, json.Unmarshal(r.Data, &out))
		if out.KeyMapHash != out.EntriesHash {
			k.fail("lock %s at version %d (%s): the projection's hash %s, the log's %s", lockID, v, item.RecordedAt.Format(time.RFC3339Nano), out.KeyMapHash, out.EntriesHash)
		}
		if out.KeyMapVersion == v { // else a later version was recorded at the same instant
			hashes[v] = out.KeyMapHash
		}
	}
	if last != k.versions[lockID] {
		k.fail("history of lock %s ends at version %d, its key map is at %d", lockID, last, k.versions[lockID])
	}
	for v, h := range hashes {
		if prev, ok := hashes[v-1]; ok && prev == h {
			k.fail("lock %s: version %d has the entries of version %d", lockID, v, v-1)
		}
	}
}

// checkRebuild replays the whole log into a new key-map read model, in
// the large batches of a rebuild, and compares every live lock's version
// and entries with what the run saw.
func (k *kmRun) checkRebuild() {
	k.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := readmodeltest.Open(ctx, k.t, filepath.Join(k.t.TempDir(), "rebuilt.db"))
	defer db.Close()
	r, err := projections.NewRunner(db, k.h.store, commands.NewRegistry(), keymaps.New(), slog.New(slog.DiscardHandler))
	require.NoError(k.t, err)
	set := projections.NewSet(k.h.store, r)
	done := make(chan struct{})
	go func() { defer close(done); _ = set.Run(ctx) }()
	defer func() { cancel(); <-done }()
	head, err := k.h.store.HeadPosition(ctx)
	require.NoError(k.t, err)
	require.NoError(k.t, set.WaitFor(ctx, head))
	q := queries.NewKeyMaps(db)
	for _, l := range k.m.locks {
		if l.deleted {
			continue
		}
		account := decodeLock(k.t, k.h.do("GET", "/locks/"+l.id, rootKey, nil)).OwnerID
		km, err := q.Lock(ctx, account, l.id)
		require.NoError(k.t, err)
		var es []srvKeyMapEntry
		require.NoError(k.t, json.Unmarshal(km.Entries, &es))
		if got := k.serverLines(es); !slices.Equal(got, k.contents[l.id]) {
			k.fail("rebuilt key map of lock %s differs from the live one\n%s", l.id, lineDiff(k.contents[l.id], got))
		}
		if int(km.Version) != k.versions[l.id] {
			k.fail("rebuilt key map of lock %s: version %d, live %d", l.id, km.Version, k.versions[l.id])
		}
	}
}

// runKeyMapModel runs steps random commands from seed and checks after
// each one.
func runKeyMapModel(t *testing.T, seed int64, steps int) *kmRun {
	h := newHarness(t)
	k := &kmRun{t: t, h: h, r: rand.New(rand.NewSource(seed)), seed: seed, m: &kmModel{},
		kinds: map[string][2]int{}, versions: map[string]int{}, contents: map[string][]string{},
		mapVersions: map[string]int{}, mapContents: map[string][]string{}, mapPending: map[string]int{}, mapChecked: map[string]int{}}
	var err error
	k.sched, err = commands.NewBookingScheduler(h.service, h.bookings, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	// Before anything: no lock could be opened by anyone.
	before := kmSnapshot{at: k.settle(), versions: map[string]int{}, entries: map[string][]refEntry{},
		installed: map[string]bool{}, devices: map[string]string{}, owners: map[string]string{}, groupsOf: map[string]int{}}
	// A world to start from: two properties (one in a zone with daylight
	// saving, one in none given, so UTC), areas, users with phones, locks.
	k.createProperty(kmZones[k.pick(len(kmZones))])
	k.createProperty("")
	for range 4 {
		k.createArea()
	}
	for range 4 {
		k.createUser()
		k.addDevice()
	}
	k.createGroup()
	for range 3 {
		k.provisionLock()
		k.installLock()
	}
	k.step = 0
	k.check(100, true)

	total := 0
	for _, s := range kmSteps {
		total += s.weight
	}
	for k.step = 1; k.step <= steps; k.step++ {
		n := k.pick(total)
		var s kmStep
		for _, s = range kmSteps {
			if n < s.weight {
				break
			}
			n -= s.weight
		}
		s.run(k)
		k.check(s.changes, k.step == steps)
		if k.step%6 == 0 && len(k.snapshots) > 1 {
			// A past step's instant, for a lock live then.
			snap := k.snapshots[k.pick(len(k.snapshots))]
			if ids := sortedKeys(snap.entries); len(ids) > 0 {
				k.checkAudit(ids[k.pick(len(ids))], snap, snap.at)
			}
		}
	}
	k.checkRebuild()
	for _, l := range k.m.locks {
		if !l.deleted {
			k.checkHistory(l.id)
		}
	}
	// The current state around the coming daylight-saving changes, and
	// the state before the first command.
	last := k.snapshots[len(k.snapshots)-1]
	if ids := sortedKeys(last.entries); len(ids) > 0 {
		k.checkAudit(ids[k.pick(len(ids))], before, before.at)
		for _, at := range dstInstants(last.at) {
			k.checkAudit(ids[k.pick(len(ids))], last, at)
		}
	}
	return k
}

func kmEnvInt(name string, def int64) int64 {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err == nil {
			return n
		}
	}
	return def
}

// TestKeyMapModel drives random command sequences (areas with parents and
// moves and deletions, access lists with schedules in zones with daylight
// saving, groups and windowed memberships, users and devices added, rotated,
// removed and deleted, locks installed, moved, uninstalled, deprovisioned,
// property zones, bookings checked in and out, cancelled, moved, completed
// or missed as time passes, their codes, the scheduler's reconciliation,
// events re-delivered) through the HTTP API and checks the key maps, their
// versions, access maps and the point-in-time audit against the reference
// rules after each one. ACCESSD_KEYMAP_MODEL_SEED picks one seed;
// ACCESSD_KEYMAP_MODEL_STEPS and ACCESSD_KEYMAP_MODEL_SEEDS run longer.
func TestKeyMapModel(t *testing.T) {
	defaultSteps := int64(90)
	if readmodeltest.RaceDetector {
		defaultSteps = 45 // the PostgreSQL pass, without -race, takes the 90
	}
	steps := int(kmEnvInt("ACCESSD_KEYMAP_MODEL_STEPS", defaultSteps))
	seeds := []int64{1, 2}
	if s := os.Getenv("ACCESSD_KEYMAP_MODEL_SEED"); s != "" {
		seeds = []int64{kmEnvInt("ACCESSD_KEYMAP_MODEL_SEED", 1)}
	} else if n := kmEnvInt("ACCESSD_KEYMAP_MODEL_SEEDS", 0); n > 0 {
		seeds = nil
		for i := range n {
			seeds = append(seeds, i+1)
		}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			k := runKeyMapModel(t, seed, steps)
			var b bytes.Buffer
			for _, name := range sortedKeys(k.kinds) {
				fmt.Fprintf(&b, " %s=%d/%d", name, k.kinds[name][1], k.kinds[name][0])
			}
			t.Logf("seed %d: %d steps, %d audits; succeeded/tried:%s", seed, steps, k.audits, b.String())
			// The checks compared something: most steps changed the
			// world, and point-in-time audits ran.
			succeeded := 0
			for _, n := range k.kinds {
				succeeded += n[1]
			}
			if succeeded <= steps/2 || k.audits == 0 {
				t.Errorf("seed %d checked too little: %d of %d steps succeeded, %d audits", seed, succeeded, steps, k.audits)
			}
		})
	}
}

// FuzzKeyMapModel explores seeds: go test -run '^$' -fuzz FuzzKeyMapModel ./http/.
func FuzzKeyMapModel(f *testing.F) {
	f.Add(int64(3))
	f.Fuzz(func(t *testing.T, seed int64) {
		runKeyMapModel(t, seed, int(kmEnvInt("ACCESSD_KEYMAP_MODEL_STEPS", 40)))
	})
}
