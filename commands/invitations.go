package commands

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/invitation"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
)

// invitationTokenPrefix marks invitation tokens, as apiKeyPrefix does keys.
const invitationTokenPrefix = "inv_"

// ErrOwnerRole refuses to give, change or take a property owner's role by
// a caller that is not an owner of the property.
var ErrOwnerRole = domain.NewError(domain.ErrForbidden, "only an owner of the property may give, change or take the owner permission")

// ErrNotAUser refuses an acceptance by a key that does not act as a user
// (`me` scoped to a user).
var ErrNotAUser = domain.NewError(domain.ErrForbidden, "an invitation is accepted with a `me` key of the invited user")

// InviteToProperty invites an e-mail address to a property with a role.
type InviteToProperty struct {
	PropertyID uuid.UUID
	Email      string
	Role       invitation.Role
	Overrides  invitation.Overrides
}

// NewInvitation is a created invitation; Token is shown this once.
type NewInvitation struct {
	InvitationID uuid.UUID
	Token        string
	Result
}

// InviteToProperty records the invitation: the e-mail as a keyed hash (to
// match the accepting user) and sealed with a key of the invitation's own
// (to show it); the token as its hash. Needs `manage-access` (a manager)
// or `owner` for the property; a role or override that makes an owner
// needs `owner`.
func (s *Service) InviteToProperty(ctx context.Context, c InviteToProperty) (NewInvitation, error) {
	actor, err := s.authorizeMembers(ctx, c.PropertyID)
	if err != nil {
		return NewInvitation{}, err
	}
	email := normalizeEmail(c.Email)
	if err := (UserPrivate{Email: email}).Validate(); err != nil || email == "" {
		return NewInvitation{}, domain.InvalidField("email", "is not an e-mail address")
	}
	if invitation.GivesOwner(c.Role, c.Overrides) && !actor.Can(domain.PermOwner, c.PropertyID) {
		return NewInvitation{}, ErrOwnerRole
	}
	if s.personal == nil {
		return NewInvitation{}, errNoPersonalData
	}
	id := s.newID(ctx, "invitation")
	token := s.invitationToken(ctx, id)
	cmd := invitation.Invite{InvitationID: id, AccountID: actor.AccountID, PropertyID: c.PropertyID,
		EmailHash: s.emailHash(email), Role: c.Role, Overrides: c.Overrides, TokenHash: HashAPIKey(token)}
	res, err := Execute(ctx, s.p, membersAgg, c.PropertyID, "CreatePropertyInvitation", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
		if _, err := cmd.Decide(l.State, now); err != nil {
			return nil, err // checked before a key is made for the e-mail
		}
		if cmd.SealedEmail == "" {
			sealed, err := s.personal.Seal(ctx, id, []byte(email))
			if err != nil {
				return nil, err
			}
			cmd.SealedEmail = sealed
		}
		return cmd.Decide(l.State, now)
	})
	if err != nil {
		return NewInvitation{}, err
	}
	if res.Replayed {
		// The invitation the first run recorded: this id, or the one an
		// earlier build derived from the key alone, whose token is then
		// that id's.
		for _, e := range res.Events {
			if c, ok := e.(invitation.PropertyInvitationCreated); ok && c.InvitationID != id {
				id, token = c.InvitationID, s.invitationToken(ctx, c.InvitationID)
			}
		}
	}
	return NewInvitation{InvitationID: id, Token: token, Result: res}, nil
}

// WithdrawInvitation withdraws a pending invitation of a property (the
// caller found the property through the read model). Needs what inviting
// needs; an owner's invitation needs `owner`. An invitation no longer
// pending (withdrawn or accepted) is not found, as the read model shows
// it, but its e-mail's key is erased again first: a withdrawal or an
// acceptance interrupted before it erased the key is finished so.
func (s *Service) WithdrawInvitation(ctx context.Context, propertyID, invitationID uuid.UUID) (Result, error) {
	actor, err := s.authorizeMembers(ctx, propertyID)
	if err != nil {
		return Result{}, err
	}
	var over bool
	res, err := Execute(ctx, s.p, membersAgg, propertyID, "DeletePropertyInvitation", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
		if over = invitationOver(l.State, invitationID); over {
			return nil, invitation.ErrNotFound
		}
		if l.State.InvitationGivesOwner(invitationID) && !actor.Can(domain.PermOwner, propertyID) {
			return nil, ErrOwnerRole
		}
		return invitation.Withdraw{InvitationID: invitationID}.Decide(l.State, now)
	})
	if err != nil && !over {
		return Result{}, err
	}
	if eerr := s.eraseInvitationEmail(ctx, invitationID); eerr != nil {
		return Result{}, eerr
	}
	return res, err
}

// invitationOver reports whether the invitation was withdrawn or
// accepted: its e-mail is needed no longer.
func invitationOver(s invitation.State, invitationID uuid.UUID) bool {
	st := s.InvitationStatus(invitationID)
	return st == invitation.StatusWithdrawn || st == invitation.StatusAccepted
}

// eraseInvitationEmail erases the key of an invitation's sealed e-mail
// once the invitation is withdrawn or accepted: the address is needed no
// longer, and is then unreadable in every old event.
func (s *Service) eraseInvitationEmail(ctx context.Context, invitationID uuid.UUID) error {
	if s.personal == nil {
		return errNoPersonalData
	}
	err := s.personal.Erase(ctx, invitationID)
	if errors.Is(err, personaldata.ErrKeyInWAL) {
		// The key is erased; only its old bytes wait in the key file's
		// write-ahead log for the next erasure's truncation. The
		// withdrawal or acceptance is not failed for them: its repeat
		// answers 404, and an acceptance would not write the member's
		// grants.
		return nil
	}
	if err != nil {
		return fmt.Errorf("erase the e-mail of invitation %s: %w", invitationID, err)
	}
	return nil
}

// AcceptInvitation makes the caller's user a member of the invitation's
// property. The caller is a `me` key of a user of the property's account
// whose own e-mail (opened from their sealed personal data) is the one
// invited, and presents the invitation's token. The membership's grants
// then replace the user's grants for that property. An invitation no
// longer pending (withdrawn or accepted) is not found, as the read model
// shows it, but its e-mail's key is erased again first, as
// WithdrawInvitation does. An invitation of a deleted property still
// pending (a deletion that did not withdraw it, or not yet) is not
// accepted: property.ErrNotFound, as for a property that does not exist.
func (s *Service) AcceptInvitation(ctx context.Context, propertyID, invitationID uuid.UUID, token string) (Result, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return Result{}, ErrNoActor
	}
	if actor.UserID == uuid.Nil || !IsUser(actor, actor.UserID) {
		return Result{}, ErrNotAUser
	}
	if token == "" {
		return Result{}, domain.InvalidField("token", "is required")
	}
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	u, err := Load(ctx, s.p, userAgg, actor.UserID)
	if err != nil {
		return Result{}, err
	}
	if !u.State.Exists() || u.State.AccountID() != actor.AccountID {
		return Result{}, user.ErrNotFound
	}
	private, err := OpenUserPrivate(ctx, s.personal, actor.UserID, u.State.SealedPrivate())
	if err != nil {
		return Result{}, err
	}
	emailHash := "-" // matches no invitation: the user has no e-mail
	if private != nil && normalizeEmail(private.Email) != "" {
		emailHash = s.emailHash(normalizeEmail(private.Email))
	}
	var over, member bool
	res, err := Execute(ctx, s.p, membersAgg, propertyID, "AcceptPropertyInvitation", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
		over = false
		if l.State.AccountID() != actor.AccountID {
			return nil, invitation.ErrNotFound
		}
		if over = invitationOver(l.State, invitationID); over {
			_, member = l.State.Member(actor.UserID)
			member = member && l.State.InvitationStatus(invitationID) == invitation.StatusAccepted
			return nil, invitation.ErrNotFound
		}
		// Read at every attempt, as the members are: an attempt that
		// meets a concurrent change decides again on the property as it
		// is then.
		prop, err := Load(ctx, s.p, propertyAgg, propertyID)
		if err != nil {
			return nil, err
		}
		if !prop.State.Exists() || prop.State.AccountID() != actor.AccountID {
			return nil, property.ErrNotFound
		}
		return invitation.Accept{InvitationID: invitationID, UserID: actor.UserID, TokenHash: HashAPIKey(token), EmailHash: emailHash}.Decide(l.State, now)
	})
	if err != nil && !over {
		return Result{}, err
	}
	if eerr := s.eraseInvitationEmail(ctx, invitationID); eerr != nil {
		return Result{}, eerr
	}
	if err != nil {
		if member {
			// A repeat of an acceptance whose grants were never written
			// (the process stopped after the event) completes them, as
			// syncMemberGrants promises; it still answers not found.
			if _, serr := s.syncMemberGrants(ctx, propertyID, actor.UserID, Result{}); serr != nil {
				return Result{}, serr
			}
		}
		return Result{}, err
	}
	return s.syncMemberGrants(ctx, propertyID, actor.UserID, res)
}

// UpdatePropertyMember replaces a member's role and overrides.
type UpdatePropertyMember struct {
	PropertyID uuid.UUID
	UserID     uuid.UUID
	Role       invitation.Role
	Overrides  invitation.Overrides
}

// UpdatePropertyMember changes a member's role and overrides, and their
// user's grants for the property with it. Needs `manage-access` or
// `owner` for the property; making or unmaking an owner needs `owner`.
func (s *Service) UpdatePropertyMember(ctx context.Context, c UpdatePropertyMember) (Result, error) {
	actor, err := s.authorizeMembers(ctx, c.PropertyID)
	if err != nil {
		return Result{}, err
	}
	res, err := Execute(ctx, s.p, membersAgg, c.PropertyID, "UpdatePropertyMember", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
		m, ok := l.State.Member(c.UserID)
		if ok && (invitation.GivesOwner(m.Role, m.Overrides) || invitation.GivesOwner(c.Role, c.Overrides)) &&
			!actor.Can(domain.PermOwner, c.PropertyID) {
			return nil, ErrOwnerRole
		}
		return invitation.UpdateMember{UserID: c.UserID, Role: c.Role, Overrides: c.Overrides}.Decide(l.State, now)
	})
	if err != nil {
		return Result{}, err
	}
	return s.syncMemberGrants(ctx, c.PropertyID, c.UserID, res)
}

// RemovePropertyMember ends a membership and takes the user's grants for
// the property. Nobody removes themself (400). Needs `manage-access` or
// `owner` for the property; removing an owner needs `owner`.
func (s *Service) RemovePropertyMember(ctx context.Context, propertyID, userID uuid.UUID) (Result, error) {
	actor, err := s.authorizeMembers(ctx, propertyID)
	if err != nil {
		return Result{}, err
	}
	res, err := Execute(ctx, s.p, membersAgg, propertyID, "RemovePropertyMember", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
		if m, ok := l.State.Member(userID); ok && invitation.GivesOwner(m.Role, m.Overrides) && !actor.Can(domain.PermOwner, propertyID) {
			return nil, ErrOwnerRole
		}
		return invitation.RemoveMember{UserID: userID, ActorUserID: actor.UserID}.Decide(l.State, now)
	})
	if err != nil {
		return Result{}, err
	}
	return s.syncMemberGrants(ctx, propertyID, userID, res)
}

// syncMemberGrants makes the user's grants for the property those of
// their membership (none once they left): the membership is the source of
// a member's property-scoped userPermissions. It runs after every
// membership change, also one that recorded nothing, so a change whose
// second step failed is completed by repeating it.
func (s *Service) syncMemberGrants(ctx context.Context, propertyID, userID uuid.UUID, res Result) (Result, error) {
	members, err := Load(ctx, s.p, membersAgg, propertyID)
	if err != nil {
		return Result{}, err
	}
	var want []domain.Grant
	if m, ok := members.State.Member(userID); ok {
		want = invitation.Grants(m.Role, m.Overrides, propertyID, userID)
	}
	ur, err := Execute(ctx, s.p, userAgg, userID, "SyncPropertyMemberPermissions", func(l Loaded[user.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if !st.Exists() {
			return nil, nil
		}
		return user.SetPropertyGrants{PropertyID: propertyID, Grants: want}.Decide(st, now)
	})
	if err != nil {
		return Result{}, err
	}
	out := furthest(res, ur)
	out.Events = append(out.Events, ur.Events...)
	return out, nil
}

// authorizeMembers lets through an owner or manager (`manage-access`) of
// an existing property of the actor's account.
func (s *Service) authorizeMembers(ctx context.Context, propertyID uuid.UUID) (domain.Actor, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return actor, ErrNoActor
	}
	if err := domain.RequireID("propertyId", propertyID); err != nil {
		return actor, err
	}
	prop, err := Load(ctx, s.p, propertyAgg, propertyID)
	if err != nil {
		return actor, err
	}
	if !prop.State.Exists() || prop.State.AccountID() != actor.AccountID {
		return actor, property.ErrNotFound
	}
	return actor, authorizeManageAccess(actor, propertyID, property.ErrNotFound)
}

// normalizeEmail is how e-mail addresses are compared: trimmed, lower case.
func normalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// emailHash is an e-mail's keyed hash: equal addresses match, and the log
// alone does not reveal an address (a plain hash of a guessable address
// would).
func (s *Service) emailHash(email string) string {
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte("email\x00"))
	mac.Write([]byte(email))
	return hex.EncodeToString(mac.Sum(nil))
}

// invitationToken is an invitation's one-time token: random, or for a
// keyed request an HMAC of the invitation id under the server's key, so a
// repeated request answers the same token.
func (s *Service) invitationToken(ctx context.Context, id uuid.UUID) string {
	if idempotencyKeyFrom(ctx) == "" {
		return invitationTokenPrefix + NewAPIKeySecret()[len(apiKeyPrefix):]
	}
	mac := hmac.New(sha256.New, s.secretKey)
	mac.Write([]byte("invitation\x00"))
	mac.Write(id[:])
	return invitationTokenPrefix + base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// RemoveUserFromAllProperties ends every property membership of a user of
// the actor's account: a step of DeleteUser (OnUserDeleted), which has
// already authorized the deletion. The properties are those the user's
// grants are scoped to and those the read model shows them a member of
// (it has reached the deletion when the step runs); memberships already
// ended are skipped. The result is the furthest
// append, for read-your-writes.
func (s *Service) RemoveUserFromAllProperties(ctx context.Context, userID uuid.UUID) (Result, error) {
	actor, ok := domain.ActorFrom(ctx)
	if !ok || actor.AccountID == uuid.Nil {
		return Result{}, ErrNoActor
	}
	if !holdsAnyScope(actor, domain.PermManageAccess, domain.PermOwner) {
		return Result{}, ErrPermission
	}
	if s.invitationProperties == nil {
		return Result{}, errNoInvitationProperties
	}
	u, err := Load(ctx, s.p, userAgg, userID)
	if err != nil {
		return Result{}, err
	}
	if u.State.AccountID() != actor.AccountID {
		return Result{}, user.ErrNotFound
	}
	// The properties the user's grants name, and those the read model
	// shows them a member of: a PUT /users may have taken a membership's
	// grants away, never the membership.
	memberOf, err := s.invitationProperties.PropertiesOfMember(ctx, actor.AccountID, userID)
	if err != nil {
		return Result{}, fmt.Errorf("memberships of user %s: %w", userID, err)
	}
	var props []uuid.UUID
	seen := map[uuid.UUID]bool{}
	for _, g := range u.State.Grants() {
		if g.PropertyID != uuid.Nil && !seen[g.PropertyID] {
			seen[g.PropertyID] = true
			props = append(props, g.PropertyID)
		}
	}
	for _, id := range memberOf {
		if !seen[id] {
			seen[id] = true
			props = append(props, id)
		}
	}
	var out Result
	for _, propertyID := range props {
		res, err := Execute(ctx, s.p, membersAgg, propertyID, "RemoveUserFromAllProperties", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
			if l.State.AccountID() != actor.AccountID {
				return nil, nil
			}
			return invitation.RemoveDeletedUser{UserID: userID}.Decide(l.State, now)
		})
		if err != nil {
			return Result{}, err
		}
		out = furthest(out, res)
	}
	return out, nil
}

// InvitationProperties finds, in the read model, where the invitations to
// a deleted user's addresses and their memberships may be, for the cascade
// of their deletion.
type InvitationProperties interface {
	// PropertiesWithInvitations lists the properties of the account that
	// hold an invitation, whatever its status.
	PropertiesWithInvitations(ctx context.Context, accountID uuid.UUID) ([]uuid.UUID, error)
	// PropertiesOfMember lists the properties of the account where the
	// user is a member.
	PropertiesOfMember(ctx context.Context, accountID, userID uuid.UUID) ([]uuid.UUID, error)
}

// SetInvitationProperties supplies the read model WithdrawInvitationsOfUser
// consults. Call it while wiring, before the service takes commands.
func (s *Service) SetInvitationProperties(p InvitationProperties) { s.invitationProperties = p }

var errNoInvitationProperties = errors.New("commands: no invitation properties reader wired (Service.SetInvitationProperties)")

// WithdrawInvitationsOfUser withdraws every pending invitation to an
// e-mail address a deleted user's personal data held, the current one or
// one they had before, in every property of the actor's account, and
// erases the keys of the e-mails of every invitation to those addresses
// (withdrawn, or accepted, which erased it already): a step of DeleteUser
// (OnUserDeleted), which must run it before it erases the user's key, as
// the addresses are read from the user's sealed personal data. The user
// must be a deleted user of the actor's account (anything else is 404).
// It is idempotent: a deletion interrupted after a withdrawal and before
// its key's erasure is finished by the next DeleteUser, which records
// nothing more and erases the keys again. The result is the furthest
// append, for read-your-writes.
func (s *Service) WithdrawInvitationsOfUser(ctx context.Context, userID uuid.UUID) (Result, error) {
	if s.invitationProperties == nil {
		return Result{}, errNoInvitationProperties
	}
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	actor, u, err := s.deletedUser(ctx, userID)
	if err != nil {
		return Result{}, err
	}
	hashes, err := s.emailHashesOf(ctx, userID, u.State.SealedPrivateHistory())
	if err != nil || len(hashes) == 0 {
		return Result{}, err
	}
	props, err := s.invitationProperties.PropertiesWithInvitations(ctx, actor.AccountID)
	if err != nil {
		return Result{}, fmt.Errorf("invitations of user %s: %w", userID, err)
	}
	var out Result
	for _, propertyID := range props {
		res, err := Execute(ctx, s.p, membersAgg, propertyID, "WithdrawInvitationsOfDeletedUser", func(l Loaded[invitation.State], now time.Time) ([]domain.Event, error) {
			if l.State.AccountID() != actor.AccountID {
				return nil, nil
			}
			return invitation.WithdrawForEmails{EmailHashes: hashes}.Decide(l.State, now)
		})
		if err != nil {
			return Result{}, fmt.Errorf("withdraw the invitations of deleted user %s in property %s: %w", userID, propertyID, err)
		}
		out = furthest(out, res)
		// One pending now was made after the withdrawal, by someone who
		// typed the address.
		if err := s.eraseEmailsOfOverInvitations(ctx, actor, propertyID, func(st invitation.State) []uuid.UUID {
			return st.InvitationsFor(hashes)
		}); err != nil {
			return Result{}, err
		}
	}
	return out, nil
}

// eraseEmailsOfOverInvitations erases the key of the e-mail of every
// invitation of the property that pick names and that is over (withdrawn,
// or accepted, which erased it already), judged on the members stream as
// stored: a replay under the request's Idempotency-Key decides nothing,
// and an interrupted cascade erases again what it withdrew before. A
// pending invitation keeps its e-mail.
func (s *Service) eraseEmailsOfOverInvitations(ctx context.Context, actor domain.Actor, propertyID uuid.UUID, pick func(invitation.State) []uuid.UUID) error {
	members, err := Load(ctx, s.p, membersAgg, propertyID)
	if err != nil {
		return err
	}
	if members.State.AccountID() != actor.AccountID {
		return nil // no invitation was ever made to the property
	}
	for _, id := range pick(members.State) {
		if !invitationOver(members.State, id) {
			continue
		}
		if err := s.personal.Erase(ctx, id); err != nil {
			return fmt.Errorf("erase the e-mail of invitation %s: %w", id, err)
		}
	}
	return nil
}

// emailHashesOf is the keyed hash of every e-mail address the user's
// sealed personal data held, each once; none once the user's key is
// erased.
func (s *Service) emailHashesOf(ctx context.Context, userID uuid.UUID, sealed []string) ([]string, error) {
	var hashes []string
	for _, text := range sealed {
		p, err := OpenUserPrivate(ctx, s.personal, userID, text)
		if err != nil {
			return nil, err
		}
		if p == nil || normalizeEmail(p.Email) == "" {
			continue
		}
		if h := s.emailHash(normalizeEmail(p.Email)); !slices.Contains(hashes, h) {
			hashes = append(hashes, h)
		}
	}
	return hashes, nil
}
