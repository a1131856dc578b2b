package queries

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/access"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/projections/auditindex"
)

// Decision reasons.
const (
	ReasonAllowed          = "allowed"
	ReasonLockNotInstalled = "lockNotInstalled"
	ReasonNoDevice         = "deviceNotProvisioned"
	ReasonDeprovisioned    = "deviceDeprovisioned"
	ReasonNoMembership     = "noMembership"
	ReasonOutsideSchedule  = "outsideSchedule"
)

// AuditLink is one link of a decision's path, with the event that made
// it (or, for a missing link, Missing and no event).
type AuditLink struct {
	// Link is install, grant, membership or device.
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
	ValidFrom    *time.Time       `json:"validFrom,omitempty"`
	ValidUntil   *time.Time       `json:"validUntil,omitempty"`
	Schedule     *domain.Schedule `json:"schedule,omitempty"`
}

// Decision says whether a device could open a lock at an instant, and why.
type Decision struct {
	LockID       string      `json:"lockId"`
	UserDeviceID string      `json:"userDeviceId"`
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
// path with its event, or the missing one.
func (a *Audit) DecideDevice(ctx context.Context, lockID, deviceID uuid.UUID, at time.Time) (Decision, error) {
	out := Decision{LockID: lockID.String(), UserDeviceID: deviceID.String(), At: at.UTC(), Path: []AuditLink{}}
	userID, err := a.deviceUser(ctx, deviceID, at)
	if err != nil {
		return Decision{}, err
	}
	f := a.newFold(at)
	if err := f.foldLock(ctx, lockID, userID); err != nil {
		return Decision{}, err
	}
	facts := f.facts
	l := facts.locks[lockID]
	if l == nil || l.deleted || l.area == uuid.Nil || facts.areas[l.area] == nil {
		link := AuditLink{Link: "install", Missing: true, LockID: lockID.String()}
		if l != nil && l.last != nil {
			link = linkOf("install", l.last)
			link.Missing, link.LockID = true, lockID.String()
		}
		out.Reason, out.Path = ReasonLockNotInstalled, append(out.Path, link)
		return out, nil
	}
	install := linkOf("install", l.last)
	install.LockID, install.AreaID = lockID.String(), l.area.String()
	out.Path = append(out.Path, install)

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
		out.Reason = ReasonNoMembership
		out.Path = append(out.Path, AuditLink{Link: "membership", Missing: true, UserID: userID.String()}, deviceLink(dev))
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

func grantLink(facts *auditFacts, e access.Explained) AuditLink {
	ar := facts.areas[e.Grant.AreaID]
	env := ar.created
	if e.Grant.AccessType != "area" || e.Grant.ViaAreaID != uuid.Nil {
		env = ar.listChanged
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

func deviceLink(d *auditDevice) AuditLink {
	l := linkOf("device", d.ev)
	l.UserDeviceID, l.UserID = d.d.DeviceID.String(), d.d.UserID.String()
	return l
}

// deviceUser is the user a device belongs to, from its first event
// recorded at or before at (uuid.Nil: none).
func (a *Audit) deviceUser(ctx context.Context, deviceID uuid.UUID, at time.Time) (uuid.UUID, error) {
	rows, err := a.db.QueryContext(ctx, a.db.Dialect.Rebind(`SELECT position FROM `+auditindex.Table+`
		WHERE entity_id = ? AND kind = ? AND recorded_at <= ? ORDER BY recorded_at, position LIMIT 20`), deviceID.String(), auditindex.KindHistory, auditindex.FormatTime(at))
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
	for _, env := range envs {
		switch e := env.Event.(type) {
		case device.UserDeviceProvisioned:
			if e.UserDeviceID == deviceID {
				return e.UserID, nil
			}
		case device.UserDeviceDeprovisioned:
			if e.UserDeviceID == deviceID {
				return e.UserID, nil
			}
		}
	}
	return uuid.Nil, nil
}
