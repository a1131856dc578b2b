package queries

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/domain/booking"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/group"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/auditindex"
)

// Decision reasons.
const (
	ReasonAllowed          = "allowed"
	ReasonLockNotInstalled = "lockNotInstalled"
	ReasonNoDevice         = "deviceNotProvisioned"
	ReasonDeprovisioned    = "deviceDeprovisioned"
	// ReasonNoMembership: the user is in no group granted on the lock's
	// area or its ancestors (never was, or was removed from one, or the
	// group was deleted; a user in no group of the lock's property at all).
	// ReasonNoGrant: the user is in groups of the lock's property, but none
	// of them has an entry in the access list of the lock's area or its
	// ancestors (nor is the area's own group of one of them): a grant was
	// removed, or never made.
	ReasonNoMembership    = "noMembership"
	ReasonNoGrant         = "noGrant"
	ReasonOutsideSchedule = "outsideSchedule"
	// ReasonNoCode: no such code was created by then; ReasonCodeRevoked:
	// it was revoked (or its booking cancelled); ReasonCodeElsewhere: it
	// opens another area's locks, not this one's.
	ReasonNoCode        = "codeNotCreated"
	ReasonCodeRevoked   = "codeRevoked"
	ReasonCodeElsewhere = "codeNotForThisLock"
)

// AuditLink is one link of a decision's path, with the event that made
// it (or, for a missing link, Missing and no event).
type AuditLink struct {
	// Link is install, grant, membership, device or accessCode.
	Link    string `json:"link"`
	Missing bool   `json:"missing,omitempty"`
	// The event: its id, type, place in the log, when it was recorded,
	// who appended it (API key or user) and why (correlation, causation).
	EventID       string     `json:"eventId,omitempty"`
	EventType     string     `json:"eventType,omitempty"`
	Position      uint64     `json:"position,omitempty"`
	RecordedAt    *time.Time `json:"recordedAt,omitempty"`
	APIKeyID      string     `json:"apiKeyId,omitempty"`
	ActorUserID   string     `json:"actorUserId,omitempty"`
	CorrelationID string     `json:"correlationId,omitempty"`
	CausationID   string     `json:"causationId,omitempty"`
	// What the link says.
	LockID       string           `json:"lockId,omitempty"`
	AreaID       string           `json:"areaId,omitempty"`
	AccessType   string           `json:"accessType,omitempty"`
	UserGroupID  string           `json:"userGroupId,omitempty"`
	UserID       string           `json:"userId,omitempty"`
	UserDeviceID string           `json:"userDeviceId,omitempty"`
	AccessCodeID string           `json:"accessCodeId,omitempty"`
	BookingID    string           `json:"bookingId,omitempty"`
	ValidFrom    *time.Time       `json:"validFrom,omitempty"`
	ValidUntil   *time.Time       `json:"validUntil,omitempty"`
	Schedule     *domain.Schedule `json:"schedule,omitempty"`
}

// Decision says whether a device or an access code could open a lock at
// an instant, and why.
type Decision struct {
	LockID string `json:"lockId"`
	// PropertyID is the property the lock was in at At (see LockAccess).
	PropertyID   string      `json:"propertyId,omitempty"`
	UserDeviceID string      `json:"userDeviceId,omitempty"`
	AccessCodeID string      `json:"accessCodeId,omitempty"`
	At           time.Time   `json:"at"`
	Allowed      bool        `json:"allowed"`
	Reason       string      `json:"reason"`
	Path         []AuditLink `json:"path"`
}

func linkOf(name string, env *eventstore.Envelope) AuditLink {
	l := AuditLink{Link: name}
	if env == nil {
		return l
	}
	at := env.RecordedAt.UTC()
	l.EventID, l.EventType, l.Position, l.RecordedAt = env.ID.String(), env.Type, env.Position, &at
	l.APIKeyID, l.ActorUserID = env.Metadata.APIKeyID, env.Metadata.UserID
	l.CorrelationID, l.CausationID = env.Metadata.CorrelationID, env.Metadata.CausationID
	return l
}

// DecideDevice works out, from the events recorded up to at, whether the
// device could open the lock at that instant, naming each link of the
// path with its event, or the missing one. A device of another account
// than accountID answers as one never provisioned.
func (a *Audit) DecideDevice(ctx context.Context, accountID, lockID, deviceID uuid.UUID, at time.Time) (Decision, error) {
	out := Decision{LockID: lockID.String(), UserDeviceID: deviceID.String(), At: at.UTC(), Path: []AuditLink{}}
	userID, err := a.deviceUser(ctx, accountID, deviceID, at)
	if err != nil {
		return Decision{}, err
	}
	f := a.newFold(at)
	if err := f.foldLock(ctx, lockID, userID); err != nil {
		return Decision{}, err
	}
	facts := f.facts
	out.PropertyID = facts.propertyOf(lockID)
	install, ok := installLink(facts, lockID)
	out.Path = append(out.Path, install)
	if !ok {
		out.Reason = ReasonLockNotInstalled
		return out, nil
	}

	var dev *auditDevice
	if userID != uuid.Nil {
		dev = facts.devices[userID][deviceID]
	}
	if dev == nil {
		link := AuditLink{Link: "device", Missing: true, UserDeviceID: deviceID.String()}
		out.Reason = ReasonNoDevice
		if env := facts.retired[deviceID]; env != nil {
			link = linkOf("device", env)
			link.Missing, link.UserDeviceID = true, deviceID.String()
			out.Reason = ReasonDeprovisioned
		}
		out.Path = append(out.Path, link)
		return out, nil
	}

	var mine []access.Explained
	for _, e := range facts.explain(lockID) {
		if e.UserDeviceID == deviceID {
			mine = append(mine, e)
		}
	}
	if len(mine) == 0 {
		missing := missingMemberLink(facts, lockID, userID)
		// Is the user in groups of the property that no grant reaches? The
		// cause is the event that ended the path last admitting the user:
		// a removal from a granted group only when no later access-list
		// change took a grant of one of the user's present groups off (an
		// old removal is not the cause once the user was let in again
		// through another group).
		member, grant, ok, err := a.missingGrant(ctx, f, lockID, userID, at)
		if err != nil {
			return Decision{}, err
		}
		if ok && (missing.EventID == "" || grant.Position > missing.Position) {
			out.Reason = ReasonNoGrant
			out.Path = append(out.Path, deviceLink(dev), member, grant)
			return out, nil
		}
		out.Reason = ReasonNoMembership
		out.Path = append(out.Path, deviceLink(dev), missing)
		return out, nil
	}
	chosen := mine[0]
	for _, e := range mine {
		if e.Schedule.Admits(at, time.UTC) {
			chosen, out.Allowed = e, true
			break
		}
	}
	out.Reason = ReasonAllowed
	if !out.Allowed {
		out.Reason = ReasonOutsideSchedule
	}
	out.Path = append(out.Path, grantLink(facts, chosen), memberLink(facts, chosen), deviceLink(dev))
	return out, nil
}

// installLink is the lock's install, or the missing link (false) when the
// lock is not installed in an existing area.
func installLink(facts *auditFacts, lockID uuid.UUID) (AuditLink, bool) {
	l := facts.locks[lockID]
	if l == nil || l.deleted || l.area == uuid.Nil || facts.areas[l.area] == nil {
		link := AuditLink{Link: "install", Missing: true, LockID: lockID.String()}
		if l != nil && l.last != nil {
			link = linkOf("install", l.last)
			link.Missing, link.LockID = true, lockID.String()
		}
		return link, false
	}
	link := linkOf("install", l.last)
	link.LockID, link.AreaID = lockID.String(), l.area.String()
	return link, true
}

func grantLink(facts *auditFacts, e access.Explained) AuditLink {
	ar := facts.areas[e.Grant.AreaID]
	env := ar.created
	if e.Grant.AccessType != "area" || e.Grant.ViaAreaID != uuid.Nil {
		// The access-list entry the grant comes from, and the change that
		// put it there.
		entry := area.AccessEntry{AccessType: e.Grant.AccessType, Schedule: e.Grant.Schedule}
		if e.Grant.AccessType == area.AccessArea {
			entry.AreaID = e.Grant.ViaAreaID
		} else {
			entry.UserGroupID = e.Grant.UserGroupID
		}
		env = nil
		if i := sameEntry(ar.list, entry); i >= 0 {
			env = ar.grantedBy[i]
		}
	}
	l := linkOf("grant", env)
	l.AreaID, l.AccessType, l.UserGroupID, l.Schedule = e.Grant.AreaID.String(), string(e.Grant.AccessType), e.Grant.UserGroupID.String(), e.Grant.Schedule
	return l
}

func memberLink(facts *auditFacts, e access.Explained) AuditLink {
	m := facts.members[e.Grant.UserGroupID][e.UserID]
	l := linkOf("membership", m.ev)
	l.UserGroupID, l.UserID, l.ValidFrom, l.ValidUntil, l.Schedule = e.Grant.UserGroupID.String(), e.UserID.String(), m.m.ValidFrom, m.m.ValidUntil, e.Schedule
	return l
}

// missingMemberLink is the missing membership ending a noMembership path:
// with the latest UserRemovedFromGroup that took the user out of a group
// granted on the lock, when there is one.
func missingMemberLink(facts *auditFacts, lockID, userID uuid.UUID) AuditLink {
	var removal *eventstore.Envelope
	var removedFrom uuid.UUID
	for _, g := range facts.grants(facts.chain(lockID)) {
		if env := facts.removed[g.UserGroupID][userID]; env != nil && (removal == nil || env.Position > removal.Position) {
			removal, removedFrom = env, g.UserGroupID
		}
	}
	l := linkOf("membership", removal)
	l.Missing, l.UserID = true, userID.String()
	if removal != nil {
		l.UserGroupID = removedFrom.String()
	}
	return l
}

// missingGrant looks for the groups the user was a member of at the
// instant (the index's member rows up to at, then each group's own events,
// so a later removal or the group's deletion counts). When there is one,
// it answers the membership and the missing grant ending a noGrant path:
// with the AreaAccessListChanged that last took such a group (or an
// `area` entry naming its area) off the access list of the lock's area or
// an ancestor, when there is one. false: the user is in no group.
func (a *Audit) missingGrant(ctx context.Context, f *auditFold, lockID, userID uuid.UUID, at time.Time) (AuditLink, AuditLink, bool, error) {
	if userID == uuid.Nil {
		return AuditLink{}, AuditLink{}, false, nil
	}
	// Only the groups of the lock's property: a group of another property
	// is never granted on this lock, and the caller, who may audit this
	// property only, must not be shown its events.
	var propertyID uuid.UUID
	if l := f.facts.locks[lockID]; l != nil {
		propertyID = l.property
	}
	groups, err := a.memberGroups(ctx, userID, propertyID, at)
	if err != nil || len(groups) == 0 {
		return AuditLink{}, AuditLink{}, false, err
	}
	// The groups' events, and the areas whose `area` entries were taken
	// off the chain's lists (to know their groups).
	ids := append([]uuid.UUID{}, groups...)
	for _, ar := range f.facts.chain(lockID) {
		for g := range f.facts.areas[ar.ID].revoked {
			if g.accessType == area.AccessArea {
				ids = append(ids, g.id)
			}
		}
	}
	if _, err := f.grow(ctx, ids); err != nil {
		return AuditLink{}, AuditLink{}, false, err
	}
	facts := f.facts
	var in []uuid.UUID
	for _, g := range groups {
		if facts.members[g][userID] != nil {
			in = append(in, g)
		}
	}
	if len(in) == 0 {
		return AuditLink{}, AuditLink{}, false, nil
	}
	slices.SortFunc(in, func(x, y uuid.UUID) int { return strings.Compare(x.String(), y.String()) })
	// The latest revocation, on the chain, of a grant to one of them.
	chosen, accessType := in[0], area.AccessGroup
	var revokedBy *eventstore.Envelope
	var revokedOn uuid.UUID
	for _, ar := range facts.chain(lockID) {
		for g, env := range facts.areas[ar.ID].revoked {
			grp := g.id
			if g.accessType == area.AccessArea {
				ref := facts.areas[g.id]
				if ref == nil {
					continue
				}
				grp = ref.group
			}
			if !slices.Contains(in, grp) || revokedBy != nil && !laterRevocation(env, grp, g.accessType, revokedBy, chosen, accessType) {
				continue
			}
			chosen, accessType, revokedBy, revokedOn = grp, g.accessType, env, ar.ID
		}
	}
	m := facts.members[chosen][userID]
	member := linkOf("membership", m.ev)
	member.UserGroupID, member.UserID, member.ValidFrom, member.ValidUntil = chosen.String(), userID.String(), m.m.ValidFrom, m.m.ValidUntil
	grant := linkOf("grant", revokedBy)
	grant.Missing, grant.UserGroupID = true, chosen.String()
	if revokedBy != nil {
		grant.AreaID, grant.AccessType = revokedOn.String(), string(accessType)
	}
	return member, grant, true, nil
}

// laterRevocation orders revocations: the later event first; within one
// event (it took several entries off), the smaller group id, then group
// before area, so the answer does not depend on map order.
func laterRevocation(env *eventstore.Envelope, grp uuid.UUID, typ area.AccessType, than *eventstore.Envelope, thanGrp uuid.UUID, thanTyp area.AccessType) bool {
	if env.Position != than.Position {
		return env.Position > than.Position
	}
	if c := strings.Compare(grp.String(), thanGrp.String()); c != 0 {
		return c < 0
	}
	return typ == area.AccessGroup && thanTyp != area.AccessGroup
}

// memberGroups are the groups of the property named by the user's
// membership events recorded at or before at (the index's member rows), in
// log order.
func (a *Audit) memberGroups(ctx context.Context, userID, propertyID uuid.UUID, at time.Time) ([]uuid.UUID, error) {
	rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(`SELECT position FROM `+auditindex.Table+`
		WHERE entity_id = ? AND kind = ? AND recorded_at <= ? ORDER BY recorded_at, position`), userID.String(), auditindex.KindMember, auditindex.FormatTime(at))
	if err != nil {
		return nil, fmt.Errorf("audit index: %w", err)
	}
	var positions []uint64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return nil, err
		}
		positions = append(positions, uint64(p))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(positions)
	envs, err := a.readPositions(ctx, slices.Compact(positions))
	if err != nil {
		return nil, err
	}
	var out []uuid.UUID
	for _, env := range envs {
		var g, p uuid.UUID
		switch e := env.Event.(type) {
		case group.UserAddedToGroup:
			g, p = e.UserGroupID, e.PropertyID
		case group.UserGroupMembershipChanged:
			g, p = e.UserGroupID, e.PropertyID
		}
		if p != propertyID {
			continue
		}
		if g != uuid.Nil && !slices.Contains(out, g) {
			out = append(out, g)
		}
	}
	return out, nil
}

func deviceLink(d *auditDevice) AuditLink {
	l := linkOf("device", d.ev)
	l.UserDeviceID, l.UserID = d.d.DeviceID.String(), d.d.UserID.String()
	return l
}

// deviceUser is the user a device of the account belongs to, from its
// first event recorded at or before at (uuid.Nil: none).
func (a *Audit) deviceUser(ctx context.Context, accountID, deviceID uuid.UUID, at time.Time) (uuid.UUID, error) {
	return a.firstNamed(ctx, accountID, deviceID, at, func(env *eventstore.Envelope) uuid.UUID {
		switch e := env.Event.(type) {
		case device.UserDeviceProvisioned:
			if e.UserDeviceID == deviceID {
				return e.UserID
			}
		case device.UserDeviceDeprovisioned:
			if e.UserDeviceID == deviceID {
				return e.UserID
			}
		}
		return uuid.Nil
	})
}

// codeBooking is the booking an access code of the account belongs to,
// from its creation recorded at or before at, in a property sees lets the
// caller read (uuid.Nil: none).
func (a *Audit) codeBooking(ctx context.Context, accountID, codeID uuid.UUID, at time.Time, sees func(propertyID uuid.UUID) bool) (uuid.UUID, error) {
	return a.firstNamed(ctx, accountID, codeID, at, func(env *eventstore.Envelope) uuid.UUID {
		if e, ok := env.Event.(booking.AccessCodeCreated); ok && e.AccessCodeID == codeID && (sees == nil || sees(e.PropertyID)) {
			return e.BookingID
		}
		return uuid.Nil
	})
}

// firstNamed reads the first events naming id recorded at or before at and
// returns the first id pick finds in those of the account (uuid.Nil:
// none). The index is not by account: without the filter another
// account's id would lead the fold into that account's events.
func (a *Audit) firstNamed(ctx context.Context, accountID, id uuid.UUID, at time.Time, pick func(*eventstore.Envelope) uuid.UUID) (uuid.UUID, error) {
	rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(`SELECT position FROM `+auditindex.Table+`
		WHERE entity_id = ? AND kind = ? AND recorded_at <= ? ORDER BY recorded_at, position LIMIT 20`), id.String(), auditindex.KindHistory, auditindex.FormatTime(at))
	if err != nil {
		return uuid.Nil, err
	}
	var positions []uint64
	for rows.Next() {
		var p int64
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return uuid.Nil, err
		}
		positions = append(positions, uint64(p))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return uuid.Nil, err
	}
	envs, err := a.readPositions(ctx, positions)
	if err != nil {
		return uuid.Nil, err
	}
	account := accountID.String()
	for _, env := range envs {
		if env.Metadata.AccountID != account {
			continue
		}
		if found := pick(env); found != uuid.Nil {
			return found, nil
		}
	}
	return uuid.Nil, nil
}

// DecideCode works out, from the events recorded up to at, whether the
// access code could open the lock at that instant: the lock's install, and
// the code's creation on the lock's area or an ancestor, inside its window.
// A code of another account than accountID answers as one never created,
// and so does a code of a property sees says the caller may not read (nil:
// it may read every property of the account), so that an auditor of one
// property learns nothing of another's bookings.
func (a *Audit) DecideCode(ctx context.Context, accountID, lockID, codeID uuid.UUID, at time.Time, sees func(propertyID uuid.UUID) bool) (Decision, error) {
	out := Decision{LockID: lockID.String(), AccessCodeID: codeID.String(), At: at.UTC(), Path: []AuditLink{}}
	bookingID, err := a.codeBooking(ctx, accountID, codeID, at, sees)
	if err != nil {
		return Decision{}, err
	}
	f := a.newFold(at)
	if err := f.foldLock(ctx, lockID, bookingID); err != nil {
		return Decision{}, err
	}
	facts := f.facts
	out.PropertyID = facts.propertyOf(lockID)
	install, ok := installLink(facts, lockID)
	out.Path = append(out.Path, install)
	if !ok {
		out.Reason = ReasonLockNotInstalled
		return out, nil
	}
	c := facts.codes[codeID]
	if rc := facts.revokedCode[codeID]; c == nil && rc != nil && !slices.ContainsFunc(facts.chain(lockID), func(ar access.Area) bool { return ar.ID == rc.area }) {
		// Revoked, but it never opened this lock: the lock comes first.
		out.Reason = ReasonCodeElsewhere
		out.Path = append(out.Path, codeLink(codeID, rc))
		return out, nil
	}
	if c == nil {
		out.Reason = ReasonNoCode
		link := AuditLink{Link: "accessCode", Missing: true}
		if env := facts.revokedCodes[codeID]; env != nil {
			link = linkOf("accessCode", env)
			link.Missing = true
			out.Reason = ReasonCodeRevoked
		}
		link.AccessCodeID = codeID.String()
		out.Path = append(out.Path, link)
		return out, nil
	}
	link := codeLink(codeID, c)
	for _, e := range facts.explain(lockID) {
		if e.AccessCodeID != codeID {
			continue
		}
		link.Schedule = e.Schedule
		out.Path = append(out.Path, link)
		out.Allowed = e.Schedule.Admits(at, time.UTC)
		out.Reason = ReasonAllowed
		if !out.Allowed {
			out.Reason = ReasonOutsideSchedule
		}
		return out, nil
	}
	out.Reason = ReasonCodeElsewhere
	out.Path = append(out.Path, link)
	return out, nil
}

// codeLink is an access code's creation, with its booking, area and
// window.
func codeLink(codeID uuid.UUID, c *auditCode) AuditLink {
	link := linkOf("accessCode", c.created)
	from, until := c.from.UTC(), c.until.UTC()
	link.AccessCodeID, link.BookingID, link.AreaID, link.ValidFrom, link.ValidUntil = codeID.String(), c.booking.String(), c.area.String(), &from, &until
	return link
}
