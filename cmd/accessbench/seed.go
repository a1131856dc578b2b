package main

import (
	"context"
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Shape of each seeded property: one common area (the building) holding
// residentAreas resident areas, and customGroups custom groups, the first of
// which the building's access list admits on weekdays.
const (
	residentAreas = 3
	customGroups  = 2
)

// seedConfig sizes the data set made before a run.
type seedConfig struct {
	Properties int `json:"properties"`
	Locks      int `json:"locks"`
	Users      int `json:"users"`
}

// dataset is what the seeding made: the ids the scenarios act on.
type dataset struct {
	Properties []seededProperty
	// Groups is every group of every property, area groups included.
	Groups []seededGroup
	Locks  []string
	// LockCreds is each lock's own API key and signing key, as the lock
	// keeps them from its provisioning (for its syncs); parallel to Locks.
	LockCreds []lockCreds
	// KeyMapVersions is the key-map version each lock holds, from its
	// last sync's answer (0: never synced); parallel to Locks.
	KeyMapVersions []int64
	// LockPlaces is where each seeded lock is installed (the spare locks
	// workers provision later are not listed).
	LockPlaces []lockPlace
	Users      []seededUser
	// Members is each user's seeded memberships: Members[u] lists indexes
	// into Groups.
	Members [][]int

	// Bookings and CheckIns count each property's seeded bookings and
	// the checked-in ones among them.
	Bookings, CheckIns []int

	// Reader is a client with a second key that wrote nothing (visibility
	// scenario only).
	Reader *client
	// PageLocks are the locks whose access logs the pages scenario reads.
	PageLocks []string
}

type seededProperty struct {
	ID string
	// Areas[0] is the building; the others are in it.
	Areas []seededArea
	// StaffGroupID is the custom group the building's access list admits.
	StaffGroupID string
}

// lockPlace is the area a lock is installed in: indexes into Properties
// and that property's Areas.
type lockPlace struct{ Property, Area int }

type seededArea struct {
	ID, GroupID string
}

type seededGroup struct {
	PropertyID, ID string
}

// lockCreds is what a lock holds to sync: its own API key (the answer's
// private.apiKey at provisioning) and its Ed25519 private key.
type lockCreds struct {
	APIKey string
	Sign   ed25519.PrivateKey
}

type seededUser struct {
	ID, DeviceID string
}

// counts summarizes the data set for the report.
func (d *dataset) counts() map[string]int {
	areas := 0
	for _, p := range d.Properties {
		areas += len(p.Areas)
	}
	members := 0
	for _, m := range d.Members {
		members += len(m)
	}
	bookings, checkIns := 0, 0
	for i := range d.Bookings {
		bookings += d.Bookings[i]
		checkIns += d.CheckIns[i]
	}
	return map[string]int{
		"properties": len(d.Properties), "areas": areas, "groups": len(d.Groups),
		"locks": len(d.Locks), "users": len(d.Users), "devices": len(d.Users), "memberships": members,
		"bookings": bookings, "checkIns": checkIns,
	}
}

// seed makes the data set through the API: properties with their areas,
// groups and an access list; locks provisioned and installed; bookings;
// users, each with a phone and a membership; then every lock's first sync.
// workers requests run at a time.
func seed(ctx context.Context, c *client, cfg seedConfig, workers int) (*dataset, error) {
	if cfg.Properties < 1 || cfg.Locks < 1 || cfg.Users < 1 {
		return nil, fmt.Errorf("seeding needs at least one property, lock and user")
	}
	d := &dataset{Properties: make([]seededProperty, cfg.Properties)}
	err := parallel(ctx, cfg.Properties, workers, func(i int) error {
		p, err := seedProperty(ctx, c, i)
		d.Properties[i] = p
		return err
	})
	if err != nil {
		return nil, err
	}
	for i := range d.Properties {
		if err := seedGroups(ctx, c, d, i); err != nil {
			return nil, err
		}
	}

	d.Locks = make([]string, cfg.Locks)
	d.LockCreds = make([]lockCreds, cfg.Locks)
	d.LockPlaces = make([]lockPlace, cfg.Locks)
	err = parallel(ctx, cfg.Locks, workers, func(i int) error {
		id, creds, err := provisionLock(ctx, c, fmt.Sprintf("Door %d", i+1))
		if err != nil {
			return err
		}
		d.Locks[i], d.LockCreds[i] = id, creds
		pl := lockPlace{Property: i % len(d.Properties)}
		p := d.Properties[pl.Property]
		pl.Area = (i / len(d.Properties)) % len(p.Areas)
		d.LockPlaces[i] = pl
		return c.call(ctx, "PUT", "/properties/"+p.ID+"/areas/"+p.Areas[pl.Area].ID+"/install/"+id, nil)
	})
	if err != nil {
		return nil, err
	}

	d.Bookings = make([]int, len(d.Properties))
	d.CheckIns = make([]int, len(d.Properties))
	err = parallel(ctx, len(d.Properties), workers, func(i int) error {
		return seedBookings(ctx, c, d, i)
	})
	if err != nil {
		return nil, err
	}

	d.Users = make([]seededUser, cfg.Users)
	d.Members = make([][]int, cfg.Users)
	err = parallel(ctx, cfg.Users, workers, func(i int) error {
		u, err := seedUser(ctx, c, i)
		if err != nil {
			return err
		}
		d.Users[i] = u
		g := i % len(d.Groups)
		grp := d.Groups[g]
		if err := c.call(ctx, "POST", "/properties/"+grp.PropertyID+"/groups/"+grp.ID+"/users/"+u.ID, nil); err != nil {
			return err
		}
		d.Members[i] = []int{g}
		return nil
	})
	if err != nil {
		return nil, err
	}

	// Each lock syncs once, as an installed lock does on going online: it
	// fetches its key map and the server records its first LockSynced.
	d.KeyMapVersions = make([]int64, len(d.Locks))
	err = parallel(ctx, len(d.Locks), workers, func(i int) error {
		v, err := syncLockOnce(ctx, c, d.Locks[i], d.LockCreds[i], 0, nil)
		d.KeyMapVersions[i] = v
		return err
	})
	if err != nil {
		return nil, err
	}
	return d, nil
}

// seedBookings books each resident area of property i twice, for a guest
// registered by name: a stay starting in ten minutes for two days, and one
// a week later for two days. The first apartment's current stay is checked
// in (manually) and gets a generated access code, which joins the key maps
// of the apartment's locks (a guest by name has no user, so check-in adds
// no membership: the code serves).
func seedBookings(ctx context.Context, c *client, d *dataset, i int) error {
	p := d.Properties[i]
	now := time.Now().UTC().Truncate(time.Minute)
	stays := []struct{ start, end time.Time }{
		{now.Add(10 * time.Minute), now.Add(48 * time.Hour)},
		{now.Add(7 * 24 * time.Hour), now.Add(9 * 24 * time.Hour)},
	}
	for r, a := range p.Areas[1:] {
		for s, stay := range stays {
			data, err := c.do(ctx, "POST", "/properties/"+p.ID+"/bookings", map[string]any{
				"areaId": a.ID, "source": "publicApi",
				"guest": map[string]any{
					"displayName": fmt.Sprintf("Guest %d-%d-%d", i+1, r+1, s+1),
					"email":       fmt.Sprintf("guest%d.%d.%d@example.org", i+1, r+1, s+1),
				},
				"startDateTime": stay.start.Format(time.RFC3339), "endDateTime": stay.end.Format(time.RFC3339),
			})
			if err != nil {
				return err
			}
			d.Bookings[i]++
			if r == 0 && s == 0 {
				id, err := field(data, "bookingId")
				if err != nil {
					return err
				}
				if err := c.call(ctx, "POST", "/bookings/"+id+"/check-in", map[string]any{"method": "manual"}); err != nil {
					return err
				}
				d.CheckIns[i]++
				if err := c.call(ctx, "POST", "/bookings/"+id+"/access-codes", map[string]any{}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// seedProperty makes a property with its building and the resident areas
// in it.
func seedProperty(ctx context.Context, c *client, i int) (seededProperty, error) {
	var p seededProperty
	data, err := c.do(ctx, "POST", "/properties", map[string]any{
		"displayName": fmt.Sprintf("Bench Residence %d", i+1),
		"timezone":    "Europe/Madrid",
		"address": map[string]string{
			"line1": fmt.Sprintf("Calle Mayor %d", i+1), "city": "Madrid", "country": "ES", "postalCode": "28013",
		},
	})
	if err != nil {
		return p, err
	}
	if p.ID, err = field(data, "propertyId"); err != nil {
		return p, err
	}
	building, err := createArea(ctx, c, p.ID, map[string]any{"displayName": "Building", "areaType": "common"})
	if err != nil {
		return p, err
	}
	p.Areas = append(p.Areas, building)
	for r := range residentAreas {
		a, err := createArea(ctx, c, p.ID, map[string]any{
			"displayName": fmt.Sprintf("Apartment %d", r+1), "areaType": "resident", "parentAreaId": building.ID,
		})
		if err != nil {
			return p, err
		}
		p.Areas = append(p.Areas, a)
	}
	return p, nil
}

func createArea(ctx context.Context, c *client, propertyID string, body map[string]any) (seededArea, error) {
	data, err := c.do(ctx, "POST", "/properties/"+propertyID+"/areas", body)
	if err != nil {
		return seededArea{}, err
	}
	var out struct {
		AreaID          string `json:"areaId"`
		AreaUserGroupID string `json:"areaUserGroupId"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.AreaID == "" || out.AreaUserGroupID == "" {
		return seededArea{}, fmt.Errorf("create area: unexpected answer %s", data)
	}
	return seededArea{ID: out.AreaID, GroupID: out.AreaUserGroupID}, nil
}

// seedGroups makes the property's custom groups, gives the first one the
// building on weekdays, and lists every group of the property in d.Groups.
func seedGroups(ctx context.Context, c *client, d *dataset, i int) error {
	p := d.Properties[i]
	for _, a := range p.Areas {
		d.Groups = append(d.Groups, seededGroup{PropertyID: p.ID, ID: a.GroupID})
	}
	var staff string
	for g := range customGroups {
		data, err := c.do(ctx, "POST", "/properties/"+p.ID+"/groups", map[string]any{
			"displayName": fmt.Sprintf("Staff %d", g+1), "groupType": "staff",
		})
		if err != nil {
			return err
		}
		id, err := field(data, "userGroupId")
		if err != nil {
			return err
		}
		if g == 0 {
			staff = id
			d.Properties[i].StaffGroupID = id
		}
		d.Groups = append(d.Groups, seededGroup{PropertyID: p.ID, ID: id})
	}
	return c.call(ctx, "PUT", "/properties/"+p.ID+"/areas/"+p.Areas[0].ID, map[string]any{
		"displayName": "Building", "areaType": "common",
		"accessList": []any{map[string]any{
			"accessType": "group", "userGroupId": staff,
			"schedule": map[string]any{"weekly": []any{map[string]any{
				"days": []string{"mon", "tue", "wed", "thu", "fri"}, "from": "08:00", "to": "18:00",
			}}},
		}},
	})
}

// provisionLock registers a lock with fresh key pairs, as a lock would,
// and returns its id with what the lock keeps to sync.
func provisionLock(ctx context.Context, c *client, name string) (string, lockCreds, error) {
	var creds lockCreds
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", creds, err
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", creds, err
	}
	data, err := c.do(ctx, "POST", "/locks", map[string]any{
		"displayName": name, "publicKey": base64.StdEncoding.EncodeToString(pub),
		"encryptionPublicKey": base64.StdEncoding.EncodeToString(x.PublicKey().Bytes()), "purchaseDate": "2025-01-15T00:00:00Z",
	})
	if err != nil {
		return "", creds, err
	}
	var out struct {
		LockID  string `json:"lockId"`
		Private struct {
			APIKey string `json:"apiKey"`
		} `json:"private"`
	}
	if err := json.Unmarshal(data, &out); err != nil || out.LockID == "" || out.Private.APIKey == "" {
		return "", creds, fmt.Errorf("POST /locks: no lockId or private.apiKey in %s", data)
	}
	return out.LockID, lockCreds{APIKey: out.Private.APIKey, Sign: priv}, nil
}

// seedUser makes a user with personal data and one phone.
func seedUser(ctx context.Context, c *client, i int) (seededUser, error) {
	var u seededUser
	data, err := c.do(ctx, "POST", "/users", userBody(fmt.Sprintf("Resident %d", i+1), i))
	if err != nil {
		return u, err
	}
	if u.ID, err = field(data, "userId"); err != nil {
		return u, err
	}
	sign, enc, err := keyPairs()
	if err != nil {
		return u, err
	}
	data, err = c.do(ctx, "POST", "/users/"+u.ID+"/devices", map[string]any{
		"deviceType": "iOS", "makeModel": "iPhone 15", "displayName": "Phone", "publicKey": sign, "encryptionPublicKey": enc,
	})
	if err != nil {
		return u, err
	}
	u.DeviceID, err = field(data, "userDeviceId")
	return u, err
}

// userBody is a user's writable part with personal data.
func userBody(name string, i int) map[string]any {
	return map[string]any{
		"displayName": name,
		"private": map[string]string{
			"firstName": "Bench", "lastName": fmt.Sprintf("User %d", i),
			"email": fmt.Sprintf("bench.user%d@example.org", i), "phoneNumber": "+34 600 000 000",
		},
	}
}

// keyPairs makes an Ed25519 and an X25519 key pair and returns the public
// halves in standard base64; the private halves are dropped.
func keyPairs() (signing, encryption string, err error) {
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	x, err := ecdh.X25519().GenerateKey(rand.Reader)
	if err != nil {
		return "", "", err
	}
	return base64.StdEncoding.EncodeToString(pub), base64.StdEncoding.EncodeToString(x.PublicKey().Bytes()), nil
}

// field reads a string field of an answer's data.
func field(data json.RawMessage, name string) (string, error) {
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		return "", fmt.Errorf("answer %s: %w", data, err)
	}
	s, _ := m[name].(string)
	if s == "" {
		return "", fmt.Errorf("answer without %s: %s", name, data)
	}
	return s, nil
}

// parallel runs fn(0..n-1) on up to workers goroutines and returns the
// first error; after one, no new call starts.
func parallel(ctx context.Context, n, workers int, fn func(i int) error) error {
	var (
		next     atomic.Int64
		failed   atomic.Bool
		once     sync.Once
		firstErr error
		wg       sync.WaitGroup
	)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !failed.Load() && ctx.Err() == nil {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := fn(i); err != nil {
					once.Do(func() { firstErr = err })
					failed.Store(true)
				}
			}
		}()
	}
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		return ctx.Err()
	}
	return firstErr
}

// since returns the whole seconds and tenths elapsed since t, for logs.
func since(t time.Time) string { return time.Since(t).Round(100 * time.Millisecond).String() }
