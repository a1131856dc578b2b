// Package invitation is a property's membership: the invitations to join
// it and the members who accepted one, each with a role and overrides. One
// aggregate per property (stream `members-<propertyId>`), so a second
// pending invitation for the same e-mail is refused consistently.
package invitation

import (
	"bytes"
	"crypto/subtle"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

// Category names the aggregate's streams: `members-<propertyId>`.
const Category = "members"

// Errors of the aggregate's decisions.
var (
	ErrNotFound       = domain.NewError(domain.ErrNotFound, "invitation not found")
	ErrMemberNotFound = domain.NewError(domain.ErrNotFound, "member not found")
	ErrPending        = domain.NewError(domain.ErrInvalid, "a pending invitation for this e-mail exists in this property")
	ErrAlreadyMember  = domain.NewError(domain.ErrInvalid, "this e-mail belongs to a member of this property")
	ErrUserIsMember   = domain.NewError(domain.ErrConflict, "the user is already a member of this property")
	ErrNotPending     = domain.NewError(domain.ErrConflict, "the invitation is no longer pending")
	ErrBadToken       = domain.NewError(domain.ErrForbidden, "the invitation token does not match")
	ErrWrongEmail     = domain.NewError(domain.ErrForbidden, "the invitation is for another e-mail address")
	ErrRemoveSelf     = domain.NewError(domain.ErrInvalid, "you cannot remove yourself from a property")
	ErrExists         = domain.NewError(domain.ErrConflict, "invitation already exists")
)

// Status is where an invitation stands.
type Status string

// Invitation statuses.
const (
	StatusPending   Status = "pending"
	StatusAccepted  Status = "accepted"
	StatusWithdrawn Status = "withdrawn"
)

type pendingInvite struct {
	emailHash string
	tokenHash string
	role      Role
	overrides Overrides
	status    Status
}

// Member is one member of the property.
type Member struct {
	Role      Role
	Overrides Overrides
	emailHash string
}

// State is a property's invitations and members as their events left them.
type State struct {
	propertyID  uuid.UUID
	accountID   uuid.UUID
	invitations map[uuid.UUID]pendingInvite
	members     map[uuid.UUID]Member
}

// PropertyID is the property, once anything was recorded.
func (s State) PropertyID() uuid.UUID { return s.propertyID }

// AccountID is the account of the property.
func (s State) AccountID() uuid.UUID { return s.accountID }

// Member returns the user's membership, if any.
func (s State) Member(userID uuid.UUID) (Member, bool) {
	m, ok := s.members[userID]
	return m, ok
}

// InvitationStatus returns an invitation's status, "" if unknown.
func (s State) InvitationStatus(id uuid.UUID) Status { return s.invitations[id].status }

// InvitationGivesOwner reports whether the invitation's role and
// overrides give `owner` (false if unknown).
func (s State) InvitationGivesOwner(id uuid.UUID) bool {
	inv, ok := s.invitations[id]
	return ok && GivesOwner(inv.role, inv.overrides)
}

// Invite invites an e-mail address to the property. The handler hashes the
// e-mail (EmailHash, keyed and normalized), seals it, and makes the token.
type Invite struct {
	InvitationID uuid.UUID
	AccountID    uuid.UUID
	PropertyID   uuid.UUID
	EmailHash    string
	SealedEmail  string
	Role         Role
	Overrides    Overrides
	TokenHash    string
}

// Decide records PropertyInvitationCreated.
func (c Invite) Decide(s State, _ time.Time) ([]domain.Event, error) {
	switch {
	case c.InvitationID == uuid.Nil:
		return nil, domain.InvalidField("invitationId", "is required")
	case c.AccountID == uuid.Nil:
		return nil, domain.InvalidField("accountId", "is required")
	case c.PropertyID == uuid.Nil:
		return nil, domain.InvalidField("propertyId", "is required")
	case c.EmailHash == "":
		return nil, domain.InvalidField("email", "is required")
	case c.TokenHash == "":
		return nil, domain.InvalidField("tokenHash", "is required")
	}
	if err := validRole(c.Role, c.Overrides); err != nil {
		return nil, err
	}
	if _, ok := s.invitations[c.InvitationID]; ok {
		return nil, ErrExists
	}
	for _, inv := range s.invitations {
		if inv.status == StatusPending && inv.emailHash == c.EmailHash {
			return nil, ErrPending.At("email")
		}
	}
	for _, m := range s.members {
		if m.emailHash == c.EmailHash {
			return nil, ErrAlreadyMember.At("email")
		}
	}
	return []domain.Event{PropertyInvitationCreated{
		InvitationID: c.InvitationID, AccountID: c.AccountID, PropertyID: c.PropertyID,
		EmailHash: c.EmailHash, SealedEmail: c.SealedEmail, Role: c.Role, Overrides: cloneOverrides(c.Overrides),
		TokenHash: c.TokenHash,
	}}, nil
}

// Withdraw withdraws a pending invitation.
type Withdraw struct{ InvitationID uuid.UUID }

// Decide records PropertyInvitationWithdrawn.
func (c Withdraw) Decide(s State, _ time.Time) ([]domain.Event, error) {
	inv, ok := s.invitations[c.InvitationID]
	switch {
	case !ok || inv.status == StatusWithdrawn:
		return nil, ErrNotFound
	case inv.status != StatusPending:
		return nil, ErrNotPending
	}
	return []domain.Event{PropertyInvitationWithdrawn{InvitationID: c.InvitationID, AccountID: s.accountID, PropertyID: s.propertyID}}, nil
}

// WithdrawForEmails withdraws every pending invitation to one of the
// e-mail addresses (keyed hashes, as Invite's EmailHash): a step of the
// deletion of the user whose addresses they were. Invitations no longer
// pending (accepted, withdrawn) are left as they are, so a deletion run
// again records nothing twice; none pending records nothing.
type WithdrawForEmails struct{ EmailHashes []string }

// Decide records PropertyInvitationWithdrawn for each pending invitation
// to one of the addresses, in invitation id order.
func (c WithdrawForEmails) Decide(s State, _ time.Time) ([]domain.Event, error) {
	var events []domain.Event
	for _, id := range s.InvitationsFor(c.EmailHashes) {
		if s.invitations[id].status == StatusPending {
			events = append(events, PropertyInvitationWithdrawn{InvitationID: id, AccountID: s.accountID, PropertyID: s.propertyID})
		}
	}
	return events, nil
}

// WithdrawAll withdraws every pending invitation of the property: a step
// of the property's deletion, after which no invitation to it may be
// accepted. Max bounds the invitations one decision withdraws (0: all),
// so a cascade appends a property with many invitations in batches.
// Invitations no longer pending are left as they are, so a deletion run
// again records nothing twice; none pending records nothing.
type WithdrawAll struct{ Max int }

// Decide records PropertyInvitationWithdrawn for each pending invitation,
// in invitation id order (so the event ids under an Idempotency-Key stay
// the same), at most Max.
func (c WithdrawAll) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if c.Max < 0 {
		return nil, domain.InvalidField("max", "must not be negative")
	}
	var events []domain.Event
	for _, id := range s.Invitations() {
		if c.Max > 0 && len(events) == c.Max {
			break
		}
		if s.invitations[id].status == StatusPending {
			events = append(events, PropertyInvitationWithdrawn{InvitationID: id, AccountID: s.accountID, PropertyID: s.propertyID})
		}
	}
	return events, nil
}

// InvitationsFor lists, in id order, the invitations to one of the e-mail
// addresses (keyed hashes), whatever their status.
func (s State) InvitationsFor(emailHashes []string) []uuid.UUID {
	return s.invitationsWhere(func(inv pendingInvite) bool {
		return inv.emailHash != "" && slices.Contains(emailHashes, inv.emailHash)
	})
}

// Invitations lists, in id order, every invitation of the property,
// whatever its status.
func (s State) Invitations() []uuid.UUID {
	return s.invitationsWhere(func(pendingInvite) bool { return true })
}

func (s State) invitationsWhere(keep func(pendingInvite) bool) []uuid.UUID {
	var ids []uuid.UUID
	for id, inv := range s.invitations {
		if keep(inv) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// Accept accepts an invitation for a user. TokenHash is the hash of the
// token presented; EmailHash the keyed hash of the user's own e-mail.
type Accept struct {
	InvitationID uuid.UUID
	UserID       uuid.UUID
	TokenHash    string
	EmailHash    string
}

// Decide records PropertyInvitationAccepted: the user becomes a member.
func (c Accept) Decide(s State, _ time.Time) ([]domain.Event, error) {
	inv, ok := s.invitations[c.InvitationID]
	switch {
	case !ok || inv.status == StatusWithdrawn:
		return nil, ErrNotFound
	case c.UserID == uuid.Nil:
		return nil, domain.InvalidField("userId", "is required")
	case subtle.ConstantTimeCompare([]byte(c.TokenHash), []byte(inv.tokenHash)) != 1:
		return nil, ErrBadToken.At("token")
	case inv.status != StatusPending:
		return nil, ErrNotPending
	case c.EmailHash != inv.emailHash:
		return nil, ErrWrongEmail
	}
	if _, member := s.members[c.UserID]; member {
		return nil, ErrUserIsMember
	}
	return []domain.Event{PropertyInvitationAccepted{
		InvitationID: c.InvitationID, AccountID: s.accountID, PropertyID: s.propertyID, UserID: c.UserID,
		Role: inv.role, Overrides: cloneOverrides(inv.overrides),
	}}, nil
}

// UpdateMember replaces a member's role and overrides.
type UpdateMember struct {
	UserID    uuid.UUID
	Role      Role
	Overrides Overrides
}

// Decide records PropertyMemberUpdated, or nothing when nothing changes.
func (c UpdateMember) Decide(s State, _ time.Time) ([]domain.Event, error) {
	m, ok := s.members[c.UserID]
	if !ok {
		return nil, ErrMemberNotFound
	}
	if err := validRole(c.Role, c.Overrides); err != nil {
		return nil, err
	}
	if m.Role == c.Role && slices.Equal(m.Overrides.Add, c.Overrides.Add) && slices.Equal(m.Overrides.Remove, c.Overrides.Remove) {
		return nil, nil
	}
	return []domain.Event{PropertyMemberUpdated{AccountID: s.accountID, PropertyID: s.propertyID, UserID: c.UserID,
		Role: c.Role, Overrides: cloneOverrides(c.Overrides)}}, nil
}

// RemoveMember ends a membership. ActorUserID is the user the caller acts
// as (uuid.Nil for none): nobody removes themself.
type RemoveMember struct {
	UserID      uuid.UUID
	ActorUserID uuid.UUID
}

// Decide records PropertyMemberRemoved.
func (c RemoveMember) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if c.UserID == c.ActorUserID {
		return nil, ErrRemoveSelf
	}
	if _, ok := s.members[c.UserID]; !ok {
		return nil, ErrMemberNotFound
	}
	return []domain.Event{PropertyMemberRemoved{AccountID: s.accountID, PropertyID: s.propertyID, UserID: c.UserID}}, nil
}

// RemoveDeletedUser ends the membership of a user who was deleted: a step
// of the user's deletion. Nobody acts on anyone here, so the rule that
// nobody removes themself (RemoveMember) does not apply; a user who is no
// member (any more) records nothing, so running it again is safe.
type RemoveDeletedUser struct{ UserID uuid.UUID }

// Decide records PropertyMemberRemoved, or nothing.
func (c RemoveDeletedUser) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if _, ok := s.members[c.UserID]; !ok {
		return nil, nil
	}
	return []domain.Event{PropertyMemberRemoved{AccountID: s.accountID, PropertyID: s.propertyID, UserID: c.UserID}}, nil
}

// RemoveAll ends the memberships of the property: a step of the
// property's deletion, after which nobody is a member of it. Nobody acts
// on anyone here, so the rule that nobody removes themself (RemoveMember)
// does not apply: the owner who deletes the property stops being its
// member too. Max bounds the members one decision removes (0: all), so a
// cascade appends a property with many members in batches; members already
// removed are not members any more, so running it again records nothing
// twice, and a run with no member left records nothing.
type RemoveAll struct{ Max int }

// Decide records PropertyMemberRemoved for each member, in user id order
// (so the event ids under an Idempotency-Key stay the same), at most Max.
func (c RemoveAll) Decide(s State, _ time.Time) ([]domain.Event, error) {
	if c.Max < 0 {
		return nil, domain.InvalidField("max", "must not be negative")
	}
	ids := s.Members()
	if c.Max > 0 && len(ids) > c.Max {
		ids = ids[:c.Max]
	}
	var events []domain.Event
	for _, id := range ids {
		events = append(events, PropertyMemberRemoved{AccountID: s.accountID, PropertyID: s.propertyID, UserID: id})
	}
	return events, nil
}

// Members lists, in id order, the users who are members of the property.
func (s State) Members() []uuid.UUID {
	ids := slices.Collect(maps.Keys(s.members))
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

func cloneOverrides(o Overrides) Overrides {
	return Overrides{Add: slices.Clone(o.Add), Remove: slices.Clone(o.Remove)}
}

// Evolve applies one event to the state. Copy on write: a state may be
// shared (the pipeline caches states), so the maps of the state given are
// never changed.
func Evolve(s State, e domain.Event) State {
	return apply(ownMaps(s), e)
}

// Fold applies events in order, as Evolve would one by one, but copies
// the maps once, not once per event: loading a property of n invitations
// and members costs n, not n². The state given is never altered.
func Fold(s State, events []domain.Event) State {
	if len(events) == 0 {
		return s
	}
	s = ownMaps(s)
	for _, e := range events {
		s = apply(s, e)
	}
	return s
}

// ownMaps gives s maps of its own, copies of those it shares.
func ownMaps(s State) State {
	s.invitations, s.members = maps.Clone(s.invitations), maps.Clone(s.members)
	if s.invitations == nil {
		s.invitations = map[uuid.UUID]pendingInvite{}
	}
	if s.members == nil {
		s.members = map[uuid.UUID]Member{}
	}
	return s
}

// apply applies one event to a state whose maps it owns, in place.
func apply(s State, e domain.Event) State {
	switch e := e.(type) {
	case PropertyInvitationCreated:
		s.propertyID, s.accountID = e.PropertyID, e.AccountID
		s.invitations[e.InvitationID] = pendingInvite{emailHash: e.EmailHash, tokenHash: e.TokenHash, role: e.Role,
			overrides: e.Overrides, status: StatusPending}
	case PropertyInvitationWithdrawn:
		inv := s.invitations[e.InvitationID]
		inv.status = StatusWithdrawn
		s.invitations[e.InvitationID] = inv
	case PropertyInvitationAccepted:
		inv := s.invitations[e.InvitationID]
		inv.status = StatusAccepted
		s.invitations[e.InvitationID] = inv
		s.members[e.UserID] = Member{Role: e.Role, Overrides: e.Overrides, emailHash: inv.emailHash}
	case PropertyMemberUpdated:
		m := s.members[e.UserID]
		m.Role, m.Overrides = e.Role, e.Overrides
		s.members[e.UserID] = m
	case PropertyMemberRemoved:
		delete(s.members, e.UserID)
	}
	return s
}
