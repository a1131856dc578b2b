package invitation

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
)

var (
	now     = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	invID   = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	inv2ID  = uuid.MustParse("00000000-0000-0000-0000-0000000000a2")
	inv3ID  = uuid.MustParse("00000000-0000-0000-0000-0000000000a0")
	account = uuid.MustParse("00000000-0000-0000-0000-0000000000b1")
	propID  = uuid.MustParse("00000000-0000-0000-0000-0000000000c1")
	userID  = uuid.MustParse("00000000-0000-0000-0000-0000000000d1")
	user2ID = uuid.MustParse("00000000-0000-0000-0000-0000000000d2")
)

type decider interface {
	Decide(State, time.Time) ([]domain.Event, error)
}

func fold(events []domain.Event) State {
	var s State
	for _, e := range events {
		s = Evolve(s, e)
	}
	return s
}

var (
	created = PropertyInvitationCreated{InvitationID: invID, AccountID: account, PropertyID: propID,
		EmailHash: "e1", SealedEmail: "s1", Role: RoleManager, TokenHash: "t1"}
	accepted = PropertyInvitationAccepted{InvitationID: invID, AccountID: account, PropertyID: propID,
		UserID: userID, Role: RoleManager}
	withdrawn = PropertyInvitationWithdrawn{InvitationID: invID, AccountID: account, PropertyID: propID}
	// created2 and created3 invite other addresses; inv3ID sorts before invID.
	created2 = PropertyInvitationCreated{InvitationID: inv2ID, AccountID: account, PropertyID: propID,
		EmailHash: "e2", SealedEmail: "s2", Role: RoleStaff, TokenHash: "t2"}
	created3 = PropertyInvitationCreated{InvitationID: inv3ID, AccountID: account, PropertyID: propID,
		EmailHash: "e3", SealedEmail: "s3", Role: RoleUser, TokenHash: "t3"}
)

func invite(mod func(*Invite)) Invite {
	c := Invite{InvitationID: invID, AccountID: account, PropertyID: propID, EmailHash: "e1", SealedEmail: "s1",
		Role: RoleManager, TokenHash: "t1"}
	if mod != nil {
		mod(&c)
	}
	return c
}

func TestDecide(t *testing.T) {
	t.Parallel()
	staff := Overrides{Add: []domain.Permission{domain.PermInstallLock}}
	tests := []struct {
		name  string
		given []domain.Event
		when  decider
		then  []domain.Event
		err   error
		field string
	}{
		{name: "invite", when: invite(nil), then: []domain.Event{created}},
		{name: "invite with overrides", when: invite(func(c *Invite) { c.Role, c.Overrides = RoleStaff, staff }),
			then: []domain.Event{PropertyInvitationCreated{InvitationID: invID, AccountID: account, PropertyID: propID,
				EmailHash: "e1", SealedEmail: "s1", Role: RoleStaff, Overrides: staff, TokenHash: "t1"}}},
		{name: "invite unknown role", when: invite(func(c *Invite) { c.Role = "boss" }), err: domain.ErrInvalid, field: "role"},
		{name: "invite unknown override", when: invite(func(c *Invite) { c.Overrides.Add = []domain.Permission{"root"} }),
			err: domain.ErrInvalid, field: "overrides.add[0]"},
		{name: "invite added and removed", when: invite(func(c *Invite) {
			c.Overrides = Overrides{Add: []domain.Permission{domain.PermSupport}, Remove: []domain.Permission{domain.PermSupport}}
		}), err: domain.ErrInvalid, field: "overrides.add[0]"},
		{name: "invite without e-mail", when: invite(func(c *Invite) { c.EmailHash = "" }), err: domain.ErrInvalid, field: "email"},
		{name: "invite pending e-mail twice", given: []domain.Event{created},
			when: invite(func(c *Invite) { c.InvitationID = inv2ID }), err: ErrPending, field: "email"},
		{name: "invite a member's e-mail", given: []domain.Event{created, accepted},
			when: invite(func(c *Invite) { c.InvitationID = inv2ID }), err: ErrAlreadyMember, field: "email"},
		{name: "invite again after withdrawal", given: []domain.Event{created, withdrawn},
			when: invite(func(c *Invite) { c.InvitationID = inv2ID }),
			then: []domain.Event{PropertyInvitationCreated{InvitationID: inv2ID, AccountID: account, PropertyID: propID,
				EmailHash: "e1", SealedEmail: "s1", Role: RoleManager, TokenHash: "t1"}}},
		{name: "invite same id", given: []domain.Event{created, withdrawn}, when: invite(nil), err: ErrExists},
		{name: "withdraw", given: []domain.Event{created}, when: Withdraw{InvitationID: invID}, then: []domain.Event{withdrawn}},
		{name: "withdraw twice", given: []domain.Event{created, withdrawn}, when: Withdraw{InvitationID: invID}, err: ErrNotFound},
		{name: "withdraw accepted", given: []domain.Event{created, accepted}, when: Withdraw{InvitationID: invID}, err: ErrNotPending},
		{name: "withdraw unknown", when: Withdraw{InvitationID: invID}, err: ErrNotFound},
		{name: "withdraw for e-mails", given: []domain.Event{created, created2, created3},
			when: WithdrawForEmails{EmailHashes: []string{"e3", "e1", "e9"}},
			then: []domain.Event{PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}, withdrawn}},
		{name: "withdraw for e-mails leaves accepted and withdrawn ones", given: []domain.Event{created, accepted, created2,
			PropertyInvitationWithdrawn{InvitationID: inv2ID, AccountID: account, PropertyID: propID}},
			when: WithdrawForEmails{EmailHashes: []string{"e1", "e2"}}},
		{name: "withdraw for e-mails twice", given: []domain.Event{created, withdrawn},
			when: WithdrawForEmails{EmailHashes: []string{"e1"}}},
		{name: "withdraw for no e-mail", given: []domain.Event{created}, when: WithdrawForEmails{}},
		{name: "withdraw for e-mails of no invitation", when: WithdrawForEmails{EmailHashes: []string{"e1"}}},
		{name: "withdraw all", given: []domain.Event{created, created2, created3},
			when: WithdrawAll{},
			then: []domain.Event{PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}, withdrawn,
				PropertyInvitationWithdrawn{InvitationID: inv2ID, AccountID: account, PropertyID: propID}}},
		{name: "withdraw all leaves accepted and withdrawn ones", given: []domain.Event{created, accepted, created2,
			PropertyInvitationWithdrawn{InvitationID: inv2ID, AccountID: account, PropertyID: propID}, created3},
			when: WithdrawAll{}, then: []domain.Event{PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}}},
		{name: "withdraw all in batches", given: []domain.Event{created, created2, created3},
			when: WithdrawAll{Max: 2},
			then: []domain.Event{PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}, withdrawn}},
		{name: "withdraw all, next batch", given: []domain.Event{created, created2, created3,
			PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}, withdrawn},
			when: WithdrawAll{Max: 2},
			then: []domain.Event{PropertyInvitationWithdrawn{InvitationID: inv2ID, AccountID: account, PropertyID: propID}}},
		{name: "withdraw all with a negative batch", given: []domain.Event{created}, when: WithdrawAll{Max: -1},
			err: domain.ErrInvalid, field: "max"},
		{name: "withdraw all twice", given: []domain.Event{created, withdrawn}, when: WithdrawAll{}},
		{name: "withdraw all of no invitation", when: WithdrawAll{}},
		{name: "accept", given: []domain.Event{created},
			when: Accept{InvitationID: invID, UserID: userID, TokenHash: "t1", EmailHash: "e1"}, then: []domain.Event{accepted}},
		{name: "accept bad token", given: []domain.Event{created},
			when: Accept{InvitationID: invID, UserID: userID, TokenHash: "t2", EmailHash: "e1"}, err: ErrBadToken, field: "token"},
		{name: "accept other e-mail", given: []domain.Event{created},
			when: Accept{InvitationID: invID, UserID: userID, TokenHash: "t1", EmailHash: "e2"}, err: ErrWrongEmail},
		{name: "accept twice", given: []domain.Event{created, accepted},
			when: Accept{InvitationID: invID, UserID: userID, TokenHash: "t1", EmailHash: "e1"}, err: ErrNotPending},
		{name: "accept withdrawn", given: []domain.Event{created, withdrawn},
			when: Accept{InvitationID: invID, UserID: userID, TokenHash: "t1", EmailHash: "e1"}, err: ErrNotFound},
		{name: "accept by a member", given: []domain.Event{created, accepted,
			PropertyInvitationCreated{InvitationID: inv2ID, AccountID: account, PropertyID: propID, EmailHash: "e2", Role: RoleStaff, TokenHash: "t2"}},
			when: Accept{InvitationID: inv2ID, UserID: userID, TokenHash: "t2", EmailHash: "e2"}, err: ErrUserIsMember},
		{name: "update member", given: []domain.Event{created, accepted},
			when: UpdateMember{UserID: userID, Role: RoleStaff, Overrides: staff},
			then: []domain.Event{PropertyMemberUpdated{AccountID: account, PropertyID: propID, UserID: userID, Role: RoleStaff, Overrides: staff}}},
		{name: "update member unchanged", given: []domain.Event{created, accepted},
			when: UpdateMember{UserID: userID, Role: RoleManager}},
		{name: "update member bad role", given: []domain.Event{created, accepted},
			when: UpdateMember{UserID: userID, Role: "x"}, err: domain.ErrInvalid, field: "role"},
		{name: "update non-member", when: UpdateMember{UserID: userID, Role: RoleStaff}, err: ErrMemberNotFound},
		{name: "remove member", given: []domain.Event{created, accepted}, when: RemoveMember{UserID: userID, ActorUserID: user2ID},
			then: []domain.Event{PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}}},
		{name: "remove yourself", given: []domain.Event{created, accepted}, when: RemoveMember{UserID: userID, ActorUserID: userID},
			err: ErrRemoveSelf},
		{name: "remove non-member", when: RemoveMember{UserID: userID}, err: ErrMemberNotFound},
		{name: "remove a deleted user", given: []domain.Event{created, accepted}, when: RemoveDeletedUser{UserID: userID},
			then: []domain.Event{PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}}},
		{name: "remove a deleted user twice", given: []domain.Event{created, accepted, PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}},
			when: RemoveDeletedUser{UserID: userID}},
		{name: "remove a deleted user who was no member", given: []domain.Event{created}, when: RemoveDeletedUser{UserID: userID}},
		{name: "remove all, yourself included", given: []domain.Event{created, accepted, created2,
			PropertyInvitationAccepted{InvitationID: inv2ID, AccountID: account, PropertyID: propID, UserID: user2ID, Role: RoleStaff}},
			when: RemoveAll{}, then: []domain.Event{
				PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID},
				PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: user2ID}}},
		{name: "remove all in batches", given: []domain.Event{created, accepted, created2,
			PropertyInvitationAccepted{InvitationID: inv2ID, AccountID: account, PropertyID: propID, UserID: user2ID, Role: RoleStaff}},
			when: RemoveAll{Max: 1}, then: []domain.Event{PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}}},
		{name: "remove all, next batch", given: []domain.Event{created, accepted, created2,
			PropertyInvitationAccepted{InvitationID: inv2ID, AccountID: account, PropertyID: propID, UserID: user2ID, Role: RoleStaff},
			PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}},
			when: RemoveAll{Max: 1}, then: []domain.Event{PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: user2ID}}},
		{name: "remove all twice", given: []domain.Event{created, accepted, PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}},
			when: RemoveAll{}},
		{name: "remove all leaves invitations", given: []domain.Event{created, created2}, when: RemoveAll{}},
		{name: "remove all of no member", when: RemoveAll{}},
		{name: "remove all with a negative batch", given: []domain.Event{created, accepted}, when: RemoveAll{Max: -1},
			err: domain.ErrInvalid, field: "max"},
		{name: "remove twice", given: []domain.Event{created, accepted, PropertyMemberRemoved{AccountID: account, PropertyID: propID, UserID: userID}},
			when: RemoveMember{UserID: userID}, err: ErrMemberNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tt.when.Decide(fold(tt.given), now)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				var de *domain.Error
				if tt.field != "" && (!errors.As(err, &de) || de.Field != tt.field) {
					t.Fatalf("error %v does not name field %q", err, tt.field)
				}
				if got != nil {
					t.Fatalf("events = %v with an error", got)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if !reflect.DeepEqual(got, tt.then) {
				t.Fatalf("events =\n%#v\nwant\n%#v", got, tt.then)
			}
		})
	}
}

func TestGrants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		role Role
		o    Overrides
		want []domain.Permission
	}{
		{RoleOwner, Overrides{}, []domain.Permission{domain.PermOwner}},
		{RoleManager, Overrides{}, []domain.Permission{domain.PermManageAccess, domain.PermInstallLock, domain.PermSupport}},
		{RoleManager, Overrides{Remove: []domain.Permission{domain.PermInstallLock}}, []domain.Permission{domain.PermManageAccess, domain.PermSupport}},
		{RoleStaff, Overrides{}, []domain.Permission{domain.PermSupport}},
		{RoleStaff, Overrides{Add: []domain.Permission{domain.PermInstallLock, domain.PermSupport}}, []domain.Permission{domain.PermSupport, domain.PermInstallLock}},
		{RoleUser, Overrides{}, []domain.Permission{domain.PermMe}},
	}
	for _, tt := range tests {
		if got := Permissions(tt.role, tt.o); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Permissions(%s, %+v) = %v, want %v", tt.role, tt.o, got, tt.want)
		}
	}
	gs := Grants(RoleUser, Overrides{Add: []domain.Permission{domain.PermSupport}}, propID, userID)
	want := []domain.Grant{{Permission: domain.PermMe, PropertyID: propID, UserID: userID}, {Permission: domain.PermSupport, PropertyID: propID}}
	if !reflect.DeepEqual(gs, want) {
		t.Fatalf("Grants = %v, want %v", gs, want)
	}
	if !GivesOwner(RoleStaff, Overrides{Add: []domain.Permission{domain.PermOwner}}) || GivesOwner(RoleOwner, Overrides{Remove: []domain.Permission{domain.PermOwner}}) {
		t.Fatal("GivesOwner disagrees with the overrides")
	}
}

// InvitationsFor finds an address's invitations whatever their status,
// which a deletion run again needs to erase the e-mails' keys.
func TestInvitationsFor(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{created, accepted, created2, created3, PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}})
	if got, want := s.InvitationsFor([]string{"e1", "e3", ""}), []uuid.UUID{inv3ID, invID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("InvitationsFor = %v, want %v", got, want)
	}
	if got := s.InvitationsFor(nil); got != nil {
		t.Fatalf("InvitationsFor(nil) = %v", got)
	}
}

// Invitations lists every invitation whatever its status, which a
// property deletion run again needs to erase the e-mails' keys.
func TestInvitations(t *testing.T) {
	t.Parallel()
	s := fold([]domain.Event{created, accepted, created2, created3, PropertyInvitationWithdrawn{InvitationID: inv3ID, AccountID: account, PropertyID: propID}})
	if got, want := s.Invitations(), []uuid.UUID{inv3ID, invID, inv2ID}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Invitations = %v, want %v", got, want)
	}
	if got := (State{}).Invitations(); got != nil {
		t.Fatalf("Invitations of no invitation = %v", got)
	}
}

func TestEvolveLeavesTheGivenStateAlone(t *testing.T) {
	t.Parallel()
	before := fold([]domain.Event{created})
	after := Evolve(before, accepted)
	if _, ok := before.Member(userID); ok || before.InvitationStatus(invID) != StatusPending {
		t.Fatal("Evolve changed the state it was given")
	}
	if _, ok := after.Member(userID); !ok || after.InvitationStatus(invID) != StatusAccepted {
		t.Fatal("Evolve did not apply the acceptance")
	}
}
