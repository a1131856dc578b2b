package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/domain/user"
)

// permissions are the names --permission accepts, for the help and errors.
var permissions = []domain.Permission{
	domain.PermOwner, domain.PermProvisionLock, domain.PermInstallLock, domain.PermManageAccess,
	domain.PermManageFirmware, domain.PermSupport, domain.PermMe,
}

func permissionNames() string {
	names := make([]string, len(permissions))
	for i, p := range permissions {
		names[i] = string(p)
	}
	return strings.Join(names, ", ")
}

// listFlag is a flag that may be given more than once.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(s string) error {
	*l = append(*l, s)
	return nil
}

func keysCreateCommand() command {
	return command{
		name:     "keys create",
		synopsis: "--account ID --permission P [--permission P ...] [--property ID] [--user ID] [--name NAME] [--json] [--data-dir DIR] [--eventstore URL]",
		summary:  "mint an API key of an account offline and print its secret once",
		flags:    keysCreateFlags,
	}
}

// newKey is a validated `keys create`.
type newKey struct {
	dataDir    string
	eventStore string
	accountID  uuid.UUID
	propertyID uuid.UUID
	userID     uuid.UUID
	name       string
	grants     []domain.Grant
}

func keysCreateFlags(fs *flag.FlagSet, e env) action {
	dataDir := dataDirFlag(fs, e)
	eventStore := eventStoreFlag(fs, e)
	accountID := fs.String("account", "", "the `ID` of the account the key belongs to (required)")
	var perms listFlag
	fs.Var(&perms, "permission", "a `permission` the key holds, repeated for more (at least one): "+permissionNames())
	propertyID := fs.String("property", "", "scope every permission to the property with this `ID`, in the account")
	userID := fs.String("user", "", "the `ID` of the user, in the account, that the me permission is for (required with me)")
	name := fs.String("name", "accessctl", "the key's display `name`")
	asJSON := fs.Bool("json", false, "print a JSON object instead of key=value lines")
	return func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return usagef("unexpected argument %q", args[0])
		}
		k, err := parseNewKey(*dataDir, *accountID, *propertyID, *userID, *name, perms)
		if err != nil {
			return err
		}
		k.eventStore = *eventStore
		key, err := createKey(ctx, k)
		if err != nil {
			return err
		}
		if err := printKey(e, k, key, *asJSON); err != nil {
			return fmt.Errorf("key %s was created but its secret could not be printed; delete it (DELETE /accounts/keys/%s): %w", key.APIKeyID, key.APIKeyID, err)
		}
		return nil
	}
}

// parseNewKey checks the flags; every error names its flag and exits 2.
func parseNewKey(dataDir, accountID, propertyID, userID, name string, perms []string) (newKey, error) {
	k := newKey{dataDir: dataDir, name: name}
	if dataDir == "" {
		return k, usagef("--data-dir: must not be empty")
	}
	var err error
	if k.accountID, err = domain.ParseID("--account", accountID); err != nil {
		return k, usageError{err.Error()}
	}
	if propertyID != "" {
		if k.propertyID, err = domain.ParseID("--property", propertyID); err != nil {
			return k, usageError{err.Error()}
		}
	}
	if userID != "" {
		if k.userID, err = domain.ParseID("--user", userID); err != nil {
			return k, usageError{err.Error()}
		}
	}
	if err := domain.ValidateName("--name", name); err != nil {
		return k, usageError{err.Error()}
	}
	if len(perms) == 0 {
		return k, usagef("--permission: at least one is required (%s)", permissionNames())
	}
	me := false
	for i, p := range perms {
		perm := domain.Permission(p)
		switch {
		case !perm.Valid():
			return k, usagef("--permission: unknown permission %q (one of: %s)", p, permissionNames())
		case i > 0 && slices.Contains(perms[:i], p):
			return k, usagef("--permission: %q is given twice", p)
		}
		g := domain.Grant{Permission: perm, PropertyID: k.propertyID}
		if perm == domain.PermMe {
			me, g.UserID = true, k.userID
		}
		k.grants = append(k.grants, g)
	}
	switch {
	case me && k.userID == uuid.Nil:
		return k, usagef("--user: the `me` permission needs --user, the user it is for")
	case !me && k.userID != uuid.Nil:
		return k, usagef("--user: only the `me` permission is scoped to a user")
	}
	return k, nil
}

// The aggregates `keys create` checks before it mints.
var (
	accountAgg  = commands.Aggregate[account.State]{Category: account.Category, Evolve: account.Evolve}
	propertyAgg = commands.Aggregate[property.State]{Category: property.Category, Evolve: property.Evolve}
	userAgg     = commands.Aggregate[user.State]{Category: user.Category, Evolve: user.Evolve}
)

// createKey mints the key through the server's command, as an `owner` of
// the account. The account, and the property and user the key is scoped
// to, must exist in it: a key scoped to a mistyped id would be useless.
func createKey(ctx context.Context, k newKey) (key commands.NewAPIKey, err error) {
	if err := refuseReplayCopy(k.dataDir); err != nil {
		return key, err
	}
	dir, err := openEventStoreAt(ctx, k.dataDir, k.eventStore)
	if err != nil {
		return key, err
	}
	defer func() {
		if cerr := dir.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	p := dir.pipeline
	if ok, err := existsIn(ctx, p, accountAgg, k.accountID, k.accountID); err != nil || !ok {
		return key, notFound(err, "account %s not found", k.accountID)
	}
	if k.propertyID != uuid.Nil {
		if ok, err := existsIn(ctx, p, propertyAgg, k.propertyID, k.accountID); err != nil || !ok {
			return key, notFound(err, "property %s not found in account %s", k.propertyID, k.accountID)
		}
	}
	if k.userID != uuid.Nil {
		if ok, err := existsIn(ctx, p, userAgg, k.userID, k.accountID); err != nil || !ok {
			return key, notFound(err, "user %s not found in account %s", k.userID, k.accountID)
		}
	}
	svc, err := dir.service()
	if err != nil {
		return key, err
	}
	ctx = domain.WithActor(ctx, domain.Actor{AccountID: k.accountID, Grants: []domain.Grant{{Permission: domain.PermOwner}}})
	// The events carry where they came from: the audit trail shows the CLI.
	ctx = commands.WithCorrelationID(ctx, "accessctl-"+uuid.NewString())
	return svc.CreateAPIKey(ctx, commands.CreateAPIKey{DisplayName: k.name, Permissions: k.grants})
}

// notFound is err if loading failed, else a not-found message (exit 1).
func notFound(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}

// keyOutput is the --json output: the key as the API shows it, and the
// secret, shown this once.
type keyOutput struct {
	APIKeyID       string              `json:"apiKeyId"`
	AccountID      string              `json:"accountId"`
	DisplayName    string              `json:"displayName"`
	APIPermissions []apikey.Permission `json:"apiPermissions"`
	APIKey         string              `json:"apiKey"`
}

func printKey(e env, k newKey, key commands.NewAPIKey, asJSON bool) error {
	if !asJSON {
		_, err := fmt.Fprintf(e.stdout, "apiKeyId=%s\napiKey=%s\n", key.APIKeyID, key.Secret)
		return err
	}
	return json.NewEncoder(e.stdout).Encode(keyOutput{
		APIKeyID: key.APIKeyID.String(), AccountID: k.accountID.String(), DisplayName: k.name,
		APIPermissions: apikey.FromGrants(k.grants), APIKey: key.Secret,
	})
}
