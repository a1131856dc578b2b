package commands

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"time"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/apikey"
)

// apiKeyPrefix marks accessd secrets so they are recognisable in logs and
// secret scanners.
const apiKeyPrefix = "ak_"

// NewAPIKeySecret makes a random secret (256 bits) for an API key.
func NewAPIKeySecret() string {
	var b [32]byte
	rand.Read(b[:])
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashAPIKey is how a secret is stored and looked up. The secrets carry 256
// random bits, so a plain SHA-256 is safe (no password stretching needed)
// and keeps authentication to one indexed lookup.
func HashAPIKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey registers a key for the actor's account.
type CreateAPIKey struct {
	DisplayName string
	Permissions []domain.Grant
}

// NewAPIKey is a created key; Secret is shown this once.
type NewAPIKey struct {
	APIKeyID uuid.UUID
	Secret   string
	Result
}

// CreateAPIKey makes a secret and registers its hash. Only `owner` may mint
// keys, since a key may carry any permission.
func (s *Service) CreateAPIKey(ctx context.Context, c CreateAPIKey) (NewAPIKey, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermOwner)
	if err != nil {
		return NewAPIKey{}, err
	}
	// The list's own rules first, as a 400 comes before a 422, and so
	// that an oversized list reads no property.
	if err := apikey.ValidateGrants("apiPermissions", c.Permissions); err != nil {
		return NewAPIKey{}, err
	}
	if err := s.requireGrantTargets(ctx, actor.AccountID, "apiPermissions", c.Permissions); err != nil {
		return NewAPIKey{}, err
	}
	keyID, err := s.newRootID(ctx, "apikey", apikey.Category)
	if err != nil {
		return NewAPIKey{}, err
	}
	return s.createAPIKey(ctx, apikey.Create{
		APIKeyID: keyID, AccountID: actor.AccountID,
		DisplayName: c.DisplayName, Permissions: c.Permissions,
	})
}

func (s *Service) createAPIKey(ctx context.Context, c apikey.Create) (NewAPIKey, error) {
	secret := s.secret(ctx, c.APIKeyID)
	c.KeyHash = HashAPIKey(secret)
	res, err := Run(ctx, s.p, apiKeyAgg, c.APIKeyID, "CreateApiKey", c)
	if err != nil {
		return NewAPIKey{}, err
	}
	return NewAPIKey{APIKeyID: c.APIKeyID, Secret: secret, Result: res}, nil
}

// DeleteAPIKey revokes a key of the actor's account at once.
func (s *Service) DeleteAPIKey(ctx context.Context, id uuid.UUID) (Result, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermOwner)
	if err != nil {
		return Result{}, err
	}
	return Execute(ctx, s.p, apiKeyAgg, id, "DeleteApiKey", func(l Loaded[apikey.State], now time.Time) ([]domain.Event, error) {
		if l.State.AccountID() != actor.AccountID {
			return nil, apikey.ErrNotFound
		}
		return apikey.Delete{}.Decide(l.State, now)
	})
}
