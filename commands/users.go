package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/user"
)

// PersonalData seals a user's personal data with a key of that user's own,
// opens it again, and erases the key (crypto-shredding). Open and Seal
// fail with personaldata.ErrErased once the key is erased.
type PersonalData interface {
	Seal(ctx context.Context, subjectID uuid.UUID, plaintext []byte) (string, error)
	Open(ctx context.Context, subjectID uuid.UUID, sealed string) ([]byte, error)
	Erase(ctx context.Context, subjectID uuid.UUID) error
}

// UserDevices finds a user's active devices in the read model, for the
// cascade of a user's deletion.
type UserDevices interface {
	// UserDeviceIDs lists the user's active devices once the read model
	// reflects the log up to position at least.
	UserDeviceIDs(ctx context.Context, accountID, userID uuid.UUID, position uint64) ([]uuid.UUID, error)
}

// UserAPIKeys finds, in the read model, the API keys that may act as a
// user, for the cascade of the user's deletion.
type UserAPIKeys interface {
	// MeAPIKeyIDs lists the account's live keys holding `me` for the
	// user, once the read model reflects the log up to position at
	// least. Which of them go is the keys' own decision
	// (apikey.DeleteWithUser).
	MeAPIKeyIDs(ctx context.Context, accountID, userID uuid.UUID, position uint64) ([]uuid.UUID, error)
}

// UserDeletionHook is a further step of a user's deletion (ending their
// group memberships, say), run after UserDeleted is recorded and the
// user's devices are deprovisioned (UserDevices has waited for the read
// model to reach the deletion), before their key is erased (a step may
// still open the user's personal data). It must be idempotent: an
// interrupted deletion runs it again. Its result joins the deletion's for
// read-your-writes.
type UserDeletionHook func(ctx context.Context, userID uuid.UUID) (Result, error)

// SetPersonalData supplies the per-user key store. Call it while wiring,
// before the service takes commands.
func (s *Service) SetPersonalData(pd PersonalData) { s.personal = pd }

// SetUserDevices supplies the read model DeleteUser consults. Call it while
// wiring, before the service takes commands.
func (s *Service) SetUserDevices(d UserDevices) { s.userDevices = d }

// SetUserAPIKeys supplies the read model DeleteUser consults for the keys
// acting as the user. Call it while wiring, before the service takes
// commands.
func (s *Service) SetUserAPIKeys(k UserAPIKeys) { s.userAPIKeys = k }

// OnUserDeleted adds a step to every user deletion. Call it while wiring,
// before the service takes commands.
func (s *Service) OnUserDeleted(h UserDeletionHook) { s.userDeleted = append(s.userDeleted, h) }

var (
	errNoPersonalData = errors.New("commands: no personal data store wired (Service.SetPersonalData)")
	errNoUserDevices  = errors.New("commands: no user devices reader wired (Service.SetUserDevices)")
	errNoUserAPIKeys  = errors.New("commands: no user API keys reader wired (Service.SetUserAPIKeys)")
	// ErrOwnerGrant refuses to give or take the `owner` permission to a
	// user by a caller that is not an account-wide owner.
	ErrOwnerGrant = domain.NewError(domain.ErrForbidden, "only an account-wide owner may give or take a user's owner permission")
)

// UserPrivate is a user's personal data (the reference's `private`). It
// never enters an event in the clear: it is JSON-encoded and sealed with
// the user's own key.
type UserPrivate struct {
	FirstName   string `json:"firstName"`
	LastName    string `json:"lastName"`
	Email       string `json:"email"`
	PhoneNumber string `json:"phoneNumber"`
}

// Personal-data field limits, in characters.
const (
	maxEmailLength = 254
	maxPhoneLength = 32
)

// Validate checks every field: optional text without control characters;
// an e-mail address of the form local@domain; a phone number of digits,
// spaces and `+-().`.
func (p UserPrivate) Validate() error {
	for _, f := range []struct{ name, value string }{
		{"private.firstName", p.FirstName}, {"private.lastName", p.LastName},
	} {
		if err := domain.ValidateText(f.name, f.value, domain.MaxNameLength); err != nil {
			return err
		}
	}
	if err := validateEmail("private.email", p.Email); err != nil {
		return err
	}
	return validatePhone("private.phoneNumber", p.PhoneNumber)
}

// validateEmail accepts "" or an e-mail address of the form local@domain.
func validateEmail(field, email string) error {
	if err := domain.ValidateText(field, email, maxEmailLength); err != nil {
		return err
	}
	if email != "" {
		local, host, ok := strings.Cut(email, "@")
		if !ok || local == "" || host == "" || strings.ContainsAny(email, " \t") || strings.Contains(host, "@") {
			return domain.InvalidField(field, "is not an e-mail address")
		}
	}
	return nil
}

// validatePhone accepts "" or a phone number of digits, spaces and +-().
func validatePhone(field, phone string) error {
	if err := domain.ValidateText(field, phone, maxPhoneLength); err != nil {
		return err
	}
	if strings.TrimFunc(phone, func(r rune) bool { return strings.ContainsRune("0123456789 +-().", r) }) != "" {
		return domain.InvalidField(field, "may hold only digits, spaces and +-().")
	}
	return nil
}

func (p *UserPrivate) empty() bool { return p == nil || *p == UserPrivate{} }

// CreateUser adds a user to the actor's account.
type CreateUser struct {
	DisplayName  string
	Permissions  []domain.Grant
	ExternalRefs []domain.ExternalRef
	// Private is the personal data, or nil for none.
	Private *UserPrivate
}

// NewUser is a created user.
type NewUser struct {
	UserID uuid.UUID
	Result
}

// CreateUser records a new user, their personal data sealed with a new key
// of theirs. Users belong to the account: it needs `manage-access` (in any
// scope) or `owner`. The command is checked before the key is made, so a
// bad request leaves no key behind.
func (s *Service) CreateUser(ctx context.Context, c CreateUser) (NewUser, error) {
	actor, err := authorizeUserAdmin(ctx)
	if err != nil {
		return NewUser{}, err
	}
	if err := checkOwnerGrants(actor, nil, c.Permissions); err != nil {
		return NewUser{}, err
	}
	if _, err := grantsInScope(actor, nil, c.Permissions); err != nil {
		return NewUser{}, err
	}
	// The list's own rules first, as a 400 comes before a 422, and so
	// that an oversized list reads no property.
	if err := apikey.ValidateGrants("userPermissions", c.Permissions); err != nil {
		return NewUser{}, err
	}
	if err := s.requireGrantTargets(ctx, actor.AccountID, "userPermissions", c.Permissions); err != nil {
		return NewUser{}, err
	}
	id, err := s.newRootID(ctx, "user", user.Category)
	if err != nil {
		return NewUser{}, err
	}
	cmd := user.Create{
		UserID: id, AccountID: actor.AccountID, DisplayName: c.DisplayName,
		Permissions: c.Permissions, ExternalRefs: c.ExternalRefs,
	}
	res, err := Execute(ctx, s.p, userAgg, id, "CreateUser", func(l Loaded[user.State], now time.Time) ([]domain.Event, error) {
		if err := s.checkUser(l.State, now, cmd, c.Private); err != nil {
			return nil, err
		}
		sealed, err := s.sealPrivate(ctx, id, c.Private, "")
		if err != nil {
			return nil, err
		}
		cmd.SealedPrivate = sealed
		return cmd.Decide(l.State, now)
	})
	if err != nil {
		return NewUser{}, err
	}
	return NewUser{UserID: id, Result: res}, nil
}

// UpdateUser replaces every writable field of a user (PUT): a nil Private
// removes the personal data.
type UpdateUser struct {
	DisplayName  string
	Permissions  []domain.Grant
	ExternalRefs []domain.ExternalRef
	Private      *UserPrivate
}

// UpdateUser replaces the user's fields. Personal data equal to the stored
// one keeps its sealed text, so a repeated PUT records nothing. Needs
// `manage-access` (in any scope) or `owner`; a user of another account is
// the same 404 as a missing one.
func (s *Service) UpdateUser(ctx context.Context, userID uuid.UUID, c UpdateUser) (Result, error) {
	actor, err := authorizeUserAdmin(ctx)
	if err != nil {
		return Result{}, err
	}
	return Execute(ctx, s.p, userAgg, userID, "UpdateUser", func(l Loaded[user.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if !st.Exists() || st.AccountID() != actor.AccountID {
			return nil, user.ErrNotFound
		}
		perms, err := grantsInScope(actor, st.Grants(), c.Permissions)
		if err != nil {
			return nil, err
		}
		if err := checkOwnerGrants(actor, st.Grants(), perms); err != nil {
			return nil, err
		}
		if err := apikey.ValidateGrants("userPermissions", perms, st.Grants()...); err != nil {
			return nil, err
		}
		if err := s.requireGrantTargets(ctx, actor.AccountID, "userPermissions", perms, st.Grants()...); err != nil {
			return nil, err
		}
		cmd := user.Update{DisplayName: c.DisplayName, Permissions: perms, ExternalRefs: c.ExternalRefs,
			SealedPrivate: st.SealedPrivate()}
		if err := s.checkUser(st, now, cmd, c.Private); err != nil {
			return nil, err
		}
		sealed, err := s.sealPrivate(ctx, userID, c.Private, st.SealedPrivate())
		if err != nil {
			return nil, err
		}
		cmd.SealedPrivate = sealed
		return cmd.Decide(st, now)
	})
}

// DeleteUser removes a user of the actor's account: it records
// UserDeleted, deprovisions every active device of theirs, deletes every
// API key whose only use was to act as them (apikey.DeleteWithUser), runs the
// OnUserDeleted steps (as the server wires them: their bookings ended,
// the guests registered on their bookings erased, their group and
// property memberships ended, the invitations to their addresses
// withdrawn) and erases their key, after which their personal data is
// unreadable in every old event. A deletion interrupted after UserDeleted
// is completed by the next DeleteUser of the same user, which still
// answers 404. A Result with a position may come with an error: what was
// recorded all the same (the start of a deletion that then failed, or what
// a repeat finished), which the caller settles as if it had succeeded.
// Needs `manage-access` (in any scope) or `owner`.
func (s *Service) DeleteUser(ctx context.Context, userID uuid.UUID) (Result, error) {
	actor, err := authorizeUserAdmin(ctx)
	if err != nil {
		return Result{}, err
	}
	if s.userDevices == nil {
		return Result{}, errNoUserDevices
	}
	if s.userAPIKeys == nil {
		return Result{}, errNoUserAPIKeys
	}
	if s.personal == nil {
		return Result{}, errNoPersonalData
	}
	var unfinished bool
	res, err := Execute(ctx, s.p, userAgg, userID, "DeleteUser", func(l Loaded[user.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if st.AccountID() != actor.AccountID {
			return nil, user.ErrNotFound
		}
		if st.Deleted() {
			unfinished = true
			return nil, user.ErrNotFound
		}
		if err := checkOwnerGrants(actor, st.Grants(), nil); err != nil {
			return nil, err
		}
		return user.Delete{}.Decide(st, now)
	})
	if unfinished {
		l, lerr := Load(ctx, s.p, userAgg, userID)
		if lerr != nil {
			return Result{}, lerr
		}
		// Still a 404, with what finishing recorded, for the caller to
		// settle (keys it deleted must stop working at once).
		done, ferr := s.finishUserDeletion(ctx, actor, userID, Result{Position: l.Position})
		if ferr != nil {
			return done, ferr
		}
		return done, err
	}
	if err != nil {
		return Result{}, err
	}
	return s.finishUserDeletion(ctx, actor, userID, res)
}

// deletedUser authorizes a step of DeleteUser's cascade: the actor is a
// user admin, and the user a deleted user of the actor's account
// (anything else is user.ErrNotFound, as for a user that never was).
func (s *Service) deletedUser(ctx context.Context, userID uuid.UUID) (domain.Actor, Loaded[user.State], error) {
	actor, err := authorizeUserAdmin(ctx)
	if err != nil {
		return actor, Loaded[user.State]{}, err
	}
	u, err := Load(ctx, s.p, userAgg, userID)
	if err != nil {
		return actor, u, err
	}
	if !u.State.Deleted() || u.State.AccountID() != actor.AccountID {
		return actor, u, user.ErrNotFound
	}
	return actor, u, nil
}

// finishUserDeletion is the cascade after UserDeleted: every step is
// idempotent. It returns the furthest append, for read-your-writes, with
// an error too: what was recorded before the failure is for the caller to
// settle.
func (s *Service) finishUserDeletion(ctx context.Context, actor domain.Actor, userID uuid.UUID, res Result) (Result, error) {
	ids, err := s.userDevices.UserDeviceIDs(ctx, actor.AccountID, userID, res.Position)
	if err != nil {
		return res, fmt.Errorf("devices of user %s: %w", userID, err)
	}
	for _, id := range ids {
		dr, err := s.deprovisionOf(ctx, actor, userID, id, "DeleteUser")
		if err != nil {
			return res, err
		}
		res = furthest(res, dr)
	}
	keyIDs, err := s.userAPIKeys.MeAPIKeyIDs(ctx, actor.AccountID, userID, res.Position)
	if err != nil {
		return res, fmt.Errorf("api keys of user %s: %w", userID, err)
	}
	for _, id := range keyIDs {
		kr, err := s.deleteKeyWithUser(ctx, actor, userID, id)
		if err != nil {
			return res, err
		}
		res = furthest(res, kr)
		// The deletions travel with the answer, so the HTTP layer forgets
		// the cached keys as it does for DELETE /accounts/keys/{key}.
		res.Events = append(res.Events, kr.Events...)
	}
	for _, hook := range s.userDeleted {
		hr, err := hook(ctx, userID)
		if err != nil {
			return res, err
		}
		res = furthest(res, hr)
	}
	if err := s.personal.Erase(ctx, userID); err != nil {
		return res, fmt.Errorf("erase the key of user %s: %w", userID, err)
	}
	return res, nil
}

// deprovisionOf deprovisions a device of the user if it is still active;
// one already gone is skipped.
func (s *Service) deprovisionOf(ctx context.Context, actor domain.Actor, userID, deviceID uuid.UUID, name string) (Result, error) {
	return Execute(ctx, s.p, deviceAgg, deviceID, name, func(l Loaded[device.State], now time.Time) ([]domain.Event, error) {
		st := l.State
		if !st.Exists() || st.AccountID() != actor.AccountID || st.UserID() != userID {
			return nil, nil
		}
		return device.Deprovision{}.Decide(st, now)
	})
}

// deleteKeyWithUser deletes a key of the account whose only use was to
// act as the user; any other key, or one gone already, records nothing.
func (s *Service) deleteKeyWithUser(ctx context.Context, actor domain.Actor, userID, keyID uuid.UUID) (Result, error) {
	return Execute(ctx, s.p, apiKeyAgg, keyID, "DeleteUser", func(l Loaded[apikey.State], now time.Time) ([]domain.Event, error) {
		if l.State.AccountID() != actor.AccountID {
			return nil, nil
		}
		return apikey.DeleteWithUser{UserID: userID}.Decide(l.State, now)
	})
}

// furthest keeps the result that reaches further in the log.
func furthest(a, b Result) Result {
	if b.Position > a.Position {
		a.Position = b.Position
	}
	return a
}

// checkUser validates a user decision and the personal data before
// anything is sealed (a bad request makes no key).
func (s *Service) checkUser(st user.State, now time.Time, cmd Decider[user.State], p *UserPrivate) error {
	if _, err := cmd.Decide(st, now); err != nil {
		return err
	}
	if p != nil {
		return p.Validate()
	}
	return nil
}

// sealPrivate seals the personal data with the user's key; "" for none. If
// current already holds the same data it is kept as it is.
func (s *Service) sealPrivate(ctx context.Context, userID uuid.UUID, p *UserPrivate, current string) (string, error) {
	if p.empty() {
		return "", nil
	}
	if s.personal == nil {
		return "", errNoPersonalData
	}
	if current != "" {
		if old, err := OpenUserPrivate(ctx, s.personal, userID, current); err == nil && old != nil && *old == *p {
			return current, nil
		}
	}
	plain, err := json.Marshal(p)
	if err != nil {
		return "", err
	}
	sealed, err := s.personal.Seal(ctx, userID, plain)
	if errors.Is(err, personaldata.ErrErased) {
		return "", user.ErrNotFound
	}
	return sealed, err
}

// Opener opens sealed personal data.
type Opener interface {
	Open(ctx context.Context, subjectID uuid.UUID, sealed string) ([]byte, error)
}

// OpenUserPrivate opens a user's sealed personal data. It returns nil, nil
// when there is none, or when the user's key was erased (the person is
// gone from the record).
func OpenUserPrivate(ctx context.Context, o Opener, userID uuid.UUID, sealed string) (*UserPrivate, error) {
	if sealed == "" {
		return nil, nil
	}
	plain, err := o.Open(ctx, userID, sealed)
	if errors.Is(err, personaldata.ErrErased) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("personal data of user %s: %w", userID, err)
	}
	var p UserPrivate
	if err := json.Unmarshal(plain, &p); err != nil {
		return nil, fmt.Errorf("personal data of user %s: %w", userID, err)
	}
	return &p, nil
}

// authorizeUserAdmin lets through an actor holding `manage-access` or
// `owner` in any scope: users belong to the account, not to a property.
func authorizeUserAdmin(ctx context.Context) (domain.Actor, error) {
	a, ok := domain.ActorFrom(ctx)
	if !ok || a.AccountID == uuid.Nil {
		return a, ErrNoActor
	}
	if !holdsAnyScope(a, domain.PermManageAccess, domain.PermOwner) {
		return a, ErrPermission
	}
	return a, nil
}

// authorizeUserSelf lets through a user admin (authorizeUserAdmin) or the
// user themself (`me` for userID): who may manage a user's devices.
func authorizeUserSelf(ctx context.Context, userID uuid.UUID) (domain.Actor, error) {
	a, ok := domain.ActorFrom(ctx)
	if !ok || a.AccountID == uuid.Nil {
		return a, ErrNoActor
	}
	if !holdsAnyScope(a, domain.PermManageAccess, domain.PermOwner) && !IsUser(a, userID) {
		return a, ErrPermission
	}
	return a, nil
}

// CanReadUser reports whether the actor may read a user and their devices:
// `owner`, `manage-access` or `support` in any scope, or `me` for that
// user. Tenancy is checked apart.
func CanReadUser(a domain.Actor, userID uuid.UUID) bool {
	return holdsAnyScope(a, domain.PermOwner, domain.PermManageAccess, domain.PermSupport) || IsUser(a, userID)
}

// SeesUserPrivate reports whether the actor may read a user's personal
// data: `owner` or `manage-access` in any scope, or the user themself.
func SeesUserPrivate(a domain.Actor, userID uuid.UUID) bool {
	return holdsAnyScope(a, domain.PermOwner, domain.PermManageAccess) || IsUser(a, userID)
}

// IsUser reports whether the actor acts as the user (`me` for userID).
func IsUser(a domain.Actor, userID uuid.UUID) bool {
	if userID == uuid.Nil {
		return false
	}
	for _, g := range a.Grants {
		if g.Permission == domain.PermMe && g.UserID == userID {
			return true
		}
	}
	return false
}

// holdsAnyScope reports whether the actor holds one of perms for the
// account or for any property.
func holdsAnyScope(a domain.Actor, perms ...domain.Permission) bool {
	for _, g := range a.Grants {
		if slices.Contains(perms, g.Permission) {
			return true
		}
	}
	return false
}

// checkOwnerGrants keeps `owner` from being given or taken by anyone but
// an account-wide owner: a `manage-access` key must not mint owners.
func checkOwnerGrants(a domain.Actor, before, after []domain.Grant) error {
	owners := func(gs []domain.Grant) []domain.Grant {
		var out []domain.Grant
		for _, g := range gs {
			if g.Permission == domain.PermOwner {
				out = append(out, g)
			}
		}
		return out
	}
	if slices.Equal(owners(before), owners(after)) || a.Can(domain.PermOwner, uuid.Nil) {
		return nil
	}
	return ErrOwnerGrant
}
