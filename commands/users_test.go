package commands_test

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/commands/personaldata"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/device"
	"github.com/accessd/accessd/domain/user"
	"github.com/accessd/accessd/eventstore"
	"github.com/accessd/accessd/eventstore/memstore"
)

// fakeDevices is the read model of devices DeleteUser consults: the tests
// tell it which devices a user has, and can make it fail.
type fakeDevices struct {
	mu   sync.Mutex
	ids  map[uuid.UUID][]uuid.UUID
	fail error
}

func (f *fakeDevices) UserDeviceIDs(_ context.Context, _, userID uuid.UUID, _ uint64) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[userID], f.fail
}

func (f *fakeDevices) add(userID, deviceID uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[userID] = append(f.ids[userID], deviceID)
}

// fakeAPIKeys is the read model of API keys DeleteUser consults: the
// tests tell it which keys hold `me` for a user.
type fakeAPIKeys struct {
	mu  sync.Mutex
	ids map[uuid.UUID][]uuid.UUID
}

func (f *fakeAPIKeys) MeAPIKeyIDs(_ context.Context, _, userID uuid.UUID, _ uint64) ([]uuid.UUID, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.ids[userID], nil
}

func (f *fakeAPIKeys) add(userID, keyID uuid.UUID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.ids[userID] = append(f.ids[userID], keyID)
}

type userFixture struct {
	svc      *commands.Service
	store    eventstore.Store
	personal *personaldata.Store
	devices  *fakeDevices
	keys     *fakeAPIKeys
	hooked   []uuid.UUID
}

func newUserFixture(t *testing.T) *userFixture {
	t.Helper()
	return newUserFixtureOn(t, memstore.New())
}

// newUserFixtureOn is newUserFixture over the store given (a wrapper
// that watches the appends, say).
func newUserFixtureOn(t *testing.T, store eventstore.Store) *userFixture {
	t.Helper()
	t.Cleanup(func() { store.Close() })
	p, err := commands.NewPipeline(store, commands.NewRegistry(), func() time.Time { return clock })
	require.NoError(t, err)
	svc, err := commands.NewService(p, bytes.Repeat([]byte{1}, 32))
	require.NoError(t, err)
	personal, err := personaldata.Open(filepath.Join(t.TempDir(), "personal-keys.db"))
	require.NoError(t, err)
	t.Cleanup(func() { personal.Close() })
	f := &userFixture{svc: svc, store: store, personal: personal, devices: &fakeDevices{ids: map[uuid.UUID][]uuid.UUID{}}}
	svc.SetPersonalData(personal)
	svc.SetUserDevices(f.devices)
	f.keys = &fakeAPIKeys{ids: map[uuid.UUID][]uuid.UUID{}}
	svc.SetUserAPIKeys(f.keys)
	svc.OnUserDeleted(func(_ context.Context, userID uuid.UUID) (commands.Result, error) {
		f.hooked = append(f.hooked, userID)
		return commands.Result{}, nil
	})
	return f
}

var (
	userAccount = uuid.MustParse("00000000-0000-0000-0000-0000000000a1")
	anaPrivate  = &commands.UserPrivate{FirstName: "Ana", LastName: "Quintanilla", Email: "ana@example.org", PhoneNumber: "+34 600 000 000"}
)

func userActor(grants ...domain.Grant) context.Context {
	return domain.WithActor(context.Background(), domain.Actor{AccountID: userAccount, APIKeyID: uuid.New(), Grants: grants})
}

var userOwner = userActor(domain.Grant{Permission: domain.PermOwner})

// events reads a stream's payloads.
func (f *userFixture) events(t *testing.T, stream string) []eventstore.RecordedEvent {
	t.Helper()
	recs, err := f.store.ReadStream(context.Background(), stream, eventstore.ReadStreamOptions{})
	require.NoError(t, err)
	return recs
}

func sealedOf(t *testing.T, f *userFixture, userID uuid.UUID) string {
	t.Helper()
	l, err := commands.Load(context.Background(), f.svc.Pipeline(), commands.Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve}, userID)
	require.NoError(t, err)
	return l.State.SealedPrivate()
}

func (f *userFixture) provision(t *testing.T, ctx context.Context, userID uuid.UUID) uuid.UUID {
	t.Helper()
	pub, enc := testDeviceKeys()
	d, err := f.svc.ProvisionDevice(ctx, userID, commands.ProvisionDevice{
		DeviceType: device.Android, MakeModel: "Pixel", DisplayName: "phone", PublicKey: pub, EncryptionPublicKey: enc,
	})
	require.NoError(t, err)
	f.devices.add(userID, d.UserDeviceID)
	return d.UserDeviceID
}

func TestCreateUserSealsPersonalData(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	u, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Ana", Private: anaPrivate})
	require.NoError(t, err)
	recs := f.events(t, "user-"+u.UserID.String())
	require.Len(t, recs, 1)
	assert.NotContains(t, string(recs[0].Data), "Quintanilla")
	sealed := sealedOf(t, f, u.UserID)
	require.True(t, strings.HasPrefix(sealed, "v1."), sealed)
	got, err := commands.OpenUserPrivate(context.Background(), f.personal, u.UserID, sealed)
	require.NoError(t, err)
	assert.Equal(t, anaPrivate, got)

	// The same data again keeps the sealed text: nothing is recorded.
	res, err := f.svc.UpdateUser(userOwner, u.UserID, commands.UpdateUser{DisplayName: "Ana", Private: anaPrivate})
	require.NoError(t, err)
	assert.Empty(t, res.Events)
	// Other data is sealed anew.
	changed := *anaPrivate
	changed.Email = "ana@example.com"
	res, err = f.svc.UpdateUser(userOwner, u.UserID, commands.UpdateUser{DisplayName: "Ana", Private: &changed})
	require.NoError(t, err)
	require.Len(t, res.Events, 1)
	assert.NotEqual(t, sealed, sealedOf(t, f, u.UserID))

	// A user without personal data has no sealed text.
	bo, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Bo", Private: &commands.UserPrivate{}})
	require.NoError(t, err)
	assert.Empty(t, sealedOf(t, f, bo.UserID))
}

func TestCreateUserRefusedMakesNoKey(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	ctx := commands.WithIdempotencyKey(userOwner, "bad-1")
	_, err := f.svc.CreateUser(ctx, commands.CreateUser{DisplayName: "", Private: anaPrivate})
	require.ErrorIs(t, err, domain.ErrInvalid)
	_, err = f.svc.CreateUser(ctx, commands.CreateUser{DisplayName: "Ana", Private: &commands.UserPrivate{Email: "nope"}})
	require.ErrorIs(t, err, domain.ErrInvalid)
	// The refused requests had the same (keyed) user id: had either made a
	// key, Open would find one.
	good, err := f.svc.CreateUser(ctx, commands.CreateUser{DisplayName: "Ana"})
	require.NoError(t, err)
	_, err = f.personal.Open(context.Background(), good.UserID, "v1."+strings.Repeat("A", 40))
	assert.ErrorIs(t, err, personaldata.ErrErased)
}

func TestCreateUserIdempotent(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	ctx := commands.WithIdempotencyKey(userOwner, "create-anaPrivate")
	first, err := f.svc.CreateUser(ctx, commands.CreateUser{DisplayName: "Ana", Private: anaPrivate})
	require.NoError(t, err)
	again, err := f.svc.CreateUser(ctx, commands.CreateUser{DisplayName: "Ana", Private: anaPrivate})
	require.NoError(t, err)
	assert.Equal(t, first.UserID, again.UserID)
	assert.True(t, again.Replayed)
	assert.Len(t, f.events(t, "user-"+first.UserID.String()), 1)

	d1, err := f.svc.ProvisionDevice(ctx, first.UserID, userDeviceCmd())
	require.NoError(t, err)
	d2, err := f.svc.ProvisionDevice(ctx, first.UserID, userDeviceCmd())
	require.NoError(t, err)
	assert.Equal(t, d1.UserDeviceID, d2.UserDeviceID)
	assert.Equal(t, d1.AccessKeyID, d2.AccessKeyID)
	assert.Len(t, f.events(t, "device-"+d1.UserDeviceID.String()), 1)
}

var devicePub, deviceEnc = testDeviceKeys()

func userDeviceCmd() commands.ProvisionDevice {
	return commands.ProvisionDevice{DeviceType: device.IOS, MakeModel: "iPhone", DisplayName: "phone", PublicKey: devicePub, EncryptionPublicKey: deviceEnc}
}

func TestDeleteUserCascades(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	u, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Ana", Private: anaPrivate})
	require.NoError(t, err)
	sealed := sealedOf(t, f, u.UserID)
	d1 := f.provision(t, userOwner, u.UserID)
	d2 := f.provision(t, userOwner, u.UserID)
	_, err = f.svc.DeprovisionDevice(userOwner, u.UserID, d2)
	require.NoError(t, err)

	res, err := f.svc.DeleteUser(userOwner, u.UserID)
	require.NoError(t, err)
	recs := f.events(t, "device-"+d1.String())
	assert.Equal(t, "UserDeviceDeprovisioned", recs[len(recs)-1].Type)
	assert.Equal(t, recs[len(recs)-1].Position, res.Position, "the result reaches the cascade's last append")
	assert.Len(t, f.events(t, "device-"+d2.String()), 2, "a device already gone is left alone")
	assert.Equal(t, []uuid.UUID{u.UserID}, f.hooked)
	_, err = f.personal.Open(context.Background(), u.UserID, sealed)
	assert.ErrorIs(t, err, personaldata.ErrErased)

	_, err = f.svc.DeleteUser(userOwner, u.UserID)
	assert.ErrorIs(t, err, user.ErrNotFound)
	_, err = f.svc.ProvisionDevice(userOwner, u.UserID, userDeviceCmd())
	assert.ErrorIs(t, err, user.ErrNotFound)
	_, err = f.svc.UpdateUser(userOwner, u.UserID, commands.UpdateUser{DisplayName: "Ana", Private: anaPrivate})
	assert.ErrorIs(t, err, user.ErrNotFound)
}

// DeleteUser deletes the keys the read model lists whose only use was to
// act as the user, and answers their deletions (for the key cache); a
// key holding another permission besides is left alone.
func TestDeleteUserDeletesTheKeysActingOnlyAsThem(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	u, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Ana"})
	require.NoError(t, err)
	me := domain.Grant{Permission: domain.PermMe, UserID: u.UserID}
	phone, err := f.svc.CreateAPIKey(userOwner, commands.CreateAPIKey{DisplayName: "phone", Permissions: []domain.Grant{me}})
	require.NoError(t, err)
	desk, err := f.svc.CreateAPIKey(userOwner, commands.CreateAPIKey{DisplayName: "desk",
		Permissions: []domain.Grant{me, {Permission: domain.PermSupport}}})
	require.NoError(t, err)
	f.keys.add(u.UserID, phone.APIKeyID)
	f.keys.add(u.UserID, desk.APIKeyID)

	res, err := f.svc.DeleteUser(userOwner, u.UserID)
	require.NoError(t, err)
	recs := f.events(t, "apikey-"+phone.APIKeyID.String())
	require.Len(t, recs, 2)
	assert.Equal(t, "ApiKeyDeleted", recs[1].Type)
	assert.Equal(t, recs[1].Position, res.Position, "the result reaches the cascade's last append")
	var types []string
	for _, e := range res.Events {
		types = append(types, e.EventType())
	}
	assert.Equal(t, []string{"UserDeleted", "ApiKeyDeleted"}, types)
	assert.Len(t, f.events(t, "apikey-"+desk.APIKeyID.String()), 1, "a key that does more is kept")
}

func TestInterruptedDeletionIsCompleted(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	u, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Ana", Private: anaPrivate})
	require.NoError(t, err)
	sealed := sealedOf(t, f, u.UserID)
	d := f.provision(t, userOwner, u.UserID)

	f.devices.fail = errors.New("read model down")
	_, err = f.svc.DeleteUser(userOwner, u.UserID)
	require.Error(t, err)
	_, err = f.personal.Open(context.Background(), u.UserID, sealed)
	require.NoError(t, err, "the key outlives a failed cascade")

	f.devices.fail = nil
	_, err = f.svc.DeleteUser(userOwner, u.UserID)
	assert.ErrorIs(t, err, user.ErrNotFound, "the user is already deleted")
	_, err = f.personal.Open(context.Background(), u.UserID, sealed)
	assert.ErrorIs(t, err, personaldata.ErrErased, "the retry completed the deletion")
	recs := f.events(t, "device-"+d.String())
	assert.Equal(t, "UserDeviceDeprovisioned", recs[len(recs)-1].Type)
}

func TestUserAuthorization(t *testing.T) {
	t.Parallel()
	f := newUserFixture(t)
	prop := uuid.New()
	scopedManager := userActor(domain.Grant{Permission: domain.PermManageAccess, PropertyID: prop})
	support := userActor(domain.Grant{Permission: domain.PermSupport})

	u, err := f.svc.CreateUser(scopedManager, commands.CreateUser{DisplayName: "Ana"})
	require.NoError(t, err, "manage-access in any scope manages users")
	_, err = f.svc.CreateUser(support, commands.CreateUser{DisplayName: "Bo"})
	assert.ErrorIs(t, err, domain.ErrForbidden)
	_, err = f.svc.CreateUser(context.Background(), commands.CreateUser{DisplayName: "Bo"})
	assert.ErrorIs(t, err, domain.ErrUnauthenticated)
	_, err = f.svc.CreateUser(scopedManager, commands.CreateUser{DisplayName: "Boss", Permissions: []domain.Grant{{Permission: domain.PermOwner}}})
	assert.ErrorIs(t, err, commands.ErrOwnerGrant)

	me := userActor(domain.Grant{Permission: domain.PermMe, UserID: u.UserID})
	d, err := f.svc.ProvisionDevice(me, u.UserID, userDeviceCmd())
	require.NoError(t, err, "a user provisions their own device")
	other, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Cy"})
	require.NoError(t, err)
	_, err = f.svc.ProvisionDevice(me, other.UserID, userDeviceCmd())
	assert.ErrorIs(t, err, domain.ErrForbidden)
	_, err = f.svc.DeprovisionDevice(userOwner, other.UserID, d.UserDeviceID)
	assert.ErrorIs(t, err, device.ErrNotFound, "a device of another user is not found")
	_, err = f.svc.UpdateUser(me, u.UserID, commands.UpdateUser{DisplayName: "Ana"})
	assert.ErrorIs(t, err, domain.ErrForbidden)

	// Another account's owner finds nothing.
	stranger := domain.WithActor(context.Background(), domain.Actor{AccountID: uuid.New(), Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	_, err = f.svc.UpdateUser(stranger, u.UserID, commands.UpdateUser{DisplayName: "x"})
	assert.ErrorIs(t, err, user.ErrNotFound)
	_, err = f.svc.DeleteUser(stranger, u.UserID)
	assert.ErrorIs(t, err, user.ErrNotFound)
	_, err = f.svc.ProvisionDevice(stranger, u.UserID, userDeviceCmd())
	assert.ErrorIs(t, err, user.ErrNotFound)
	_, err = f.svc.UpdateDevice(stranger, u.UserID, d.UserDeviceID, commands.UpdateDevice{DeviceType: device.IOS, MakeModel: "x", DisplayName: "x"})
	assert.ErrorIs(t, err, device.ErrNotFound)
	_, err = f.svc.DeprovisionDevice(stranger, u.UserID, d.UserDeviceID)
	assert.ErrorIs(t, err, device.ErrNotFound)
}

// testDeviceKeys makes a phone's public keys, standard base64.
func testDeviceKeys() (signing, encryption string) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		panic(err)
	}
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes())
}

// TestDeviceProvisionedAsItsUserIsDeleted: the user's whole deletion
// runs between ProvisionDevice's check of the user and its append of the
// device, so the deletion's cascade finds no device to retire. The
// provisioning's second look at the user retires the device and answers
// 404: no active device outlives its user. (The other order, the device
// recorded before UserDeleted, is the cascade's: the read model lists
// it, TestDeleteUserCascades.)
func TestDeviceProvisionedAsItsUserIsDeleted(t *testing.T) {
	t.Parallel()
	store := &interleavingStore{Store: memstore.New(), eventType: (device.UserDeviceProvisioned{}).EventType()}
	f := newUserFixtureOn(t, store)
	u, err := f.svc.CreateUser(userOwner, commands.CreateUser{DisplayName: "Ana"})
	require.NoError(t, err)
	var delErr error
	store.before = func() { _, delErr = f.svc.DeleteUser(userOwner, u.UserID) }
	d, err := f.svc.ProvisionDevice(userOwner, u.UserID, userDeviceCmd())
	require.NoError(t, delErr)
	require.ErrorIs(t, err, user.ErrNotFound)
	require.Equal(t, uuid.Nil, d.UserDeviceID)

	head, err := f.store.HeadPosition(context.Background())
	require.NoError(t, err)
	recs, err := f.store.ReadAll(context.Background(), 0, int(head)+1, eventstore.Filter{StreamPrefixes: []string{device.Category + "-"}})
	require.NoError(t, err)
	var types []string
	for _, r := range recs {
		types = append(types, r.Type)
	}
	assert.Equal(t, []string{"UserDeviceProvisioned", "UserDeviceDeprovisioned"}, types, "the device recorded after the deletion is retired")
}
