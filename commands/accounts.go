package commands

import (
	"context"
	"errors"

	"github.com/google/uuid"

	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
)

// MinBootstrapKeyLength is the shortest ACCESSD_BOOTSTRAP_KEY accepted.
const MinBootstrapKeyLength = 32

var bootstrapAccountID = uuid.NewSHA1(idempotencyNamespace, []byte("bootstrap-account"))

// Bootstrap creates the first account and registers secret as its `owner`
// key, when the store has no account yet. It is safe to run at every start:
// with an account in place it changes nothing. The key is registered before
// the account, with an id derived from its hash, so a crash between the two
// appends is completed by the next start.
func (s *Service) Bootstrap(ctx context.Context, secret string) (created bool, err error) {
	if len(secret) < MinBootstrapKeyLength {
		return false, domain.InvalidField("ACCESSD_BOOTSTRAP_KEY", "must be at least 32 characters")
	}
	existing, err := Load(ctx, s.p, accountAgg, bootstrapAccountID)
	if err != nil || existing.Exists {
		return false, err
	}
	hash := HashAPIKey(secret)
	keyID := uuid.NewSHA1(idempotencyNamespace, []byte("bootstrap-key\x00"+hash))
	// The bootstrap's events belong to the account they create, by the key
	// they register, and share a correlation id, as a command's would: an
	// audit of the account then finds them with an actor and a cause.
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: bootstrapAccountID, APIKeyID: keyID})
	ctx = WithCorrelationID(ctx, uuid.NewSHA1(idempotencyNamespace, []byte("bootstrap-correlation\x00"+hash)).String())
	_, err = Run(ctx, s.p, apiKeyAgg, keyID, "Bootstrap", apikey.Create{
		APIKeyID: keyID, AccountID: bootstrapAccountID, DisplayName: "bootstrap", KeyHash: hash,
		Permissions: []domain.Grant{{Permission: domain.PermOwner}},
	})
	if err != nil && !errors.Is(err, apikey.ErrExists) {
		return false, err
	}
	_, err = Run(ctx, s.p, accountAgg, bootstrapAccountID, "Bootstrap", account.Create{
		AccountID: bootstrapAccountID, DisplayName: "accessd",
	})
	if errors.Is(err, account.ErrExists) {
		return false, nil
	}
	return err == nil, err
}

// UpdateAccount replaces the caller's account's writable fields.
func (s *Service) UpdateAccount(ctx context.Context, c account.Update) (Result, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermOwner)
	if err != nil {
		return Result{}, err
	}
	return Run(ctx, s.p, accountAgg, actor.AccountID, "UpdateAccount", c)
}

// RegisteredAccount is a child account and its first `owner` key, whose
// secret is shown this once.
type RegisteredAccount struct {
	AccountID uuid.UUID
	Key       NewAPIKey
}

// RegisterChildAccount opens an account under the caller's (the reseller
// pattern) with a first `owner` key. The parent's keys do not reach into the
// child's data: they belong to another account.
func (s *Service) RegisterChildAccount(ctx context.Context, displayName string) (RegisteredAccount, error) {
	actor, err := authorize(ctx, uuid.Nil, domain.PermOwner)
	if err != nil {
		return RegisteredAccount{}, err
	}
	childID, err := s.newRootID(ctx, "account", account.Category)
	if err != nil {
		return RegisteredAccount{}, err
	}
	if _, err := Run(ctx, s.p, accountAgg, childID, "RegisterAccount", account.Create{
		AccountID: childID, DisplayName: displayName, ParentAccountID: actor.AccountID,
	}); err != nil {
		return RegisteredAccount{}, err
	}
	key, err := s.createAPIKey(ctx, apikey.Create{
		APIKeyID: s.rootChildID(ctx, "account-owner-key"), AccountID: childID, DisplayName: displayName + " owner",
		Permissions: []domain.Grant{{Permission: domain.PermOwner}},
	})
	if err != nil {
		return RegisteredAccount{}, err
	}
	return RegisteredAccount{AccountID: childID, Key: key}, nil
}
