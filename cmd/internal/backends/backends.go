// Package backends turns the --eventstore, --readmodels and --bus settings
// into open stores, for the server and the operator CLI alike.
package backends

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// Backend kinds a URL setting can name.
const (
	SQLite    = "sqlite"
	Kurrent   = "kurrent"
	Postgres  = "postgres"
	GoChannel = "gochannel"
	NATS      = "nats"
)

// EventStoreKind tells which event store a --eventstore URL names.
func EventStoreKind(setting string) (string, error) {
	switch scheme := schemeOf(setting); scheme {
	case "sqlite":
		return SQLite, sqlitePathOf(setting)
	case "esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kurrent", "kurrent+discover":
		return Kurrent, hostOf(setting)
	case "postgres", "postgresql":
		return Postgres, hostOf(setting)
	default:
		return "", fmt.Errorf("%q: want sqlite:PATH, kurrentdb://HOST:PORT, esdb://HOST:PORT or postgres://HOST/DB", Redact(setting))
	}
}

// ReadModelsKind tells which database a --readmodels URL names.
func ReadModelsKind(setting string) (string, error) {
	switch schemeOf(setting) {
	case "sqlite":
		return SQLite, sqlitePathOf(setting)
	case "postgres", "postgresql":
		return Postgres, hostOf(setting)
	default:
		return "", fmt.Errorf("%q: want sqlite:PATH or postgres://HOST/DB", Redact(setting))
	}
}

// BusKind tells which broker a --bus setting names: gochannel, or NATS at
// one nats:// (or tls://) URL or a cluster's, comma-separated, each
// checked: what the bus itself accepts.
func BusKind(setting string) (string, error) {
	switch {
	case strings.EqualFold(setting, "gochannel"):
		return GoChannel, nil
	case isNATSScheme(schemeOf(setting)):
		for _, u := range strings.Split(setting, ",") {
			u = strings.TrimSpace(u)
			if !isNATSScheme(schemeOf(u)) {
				return "", fmt.Errorf("%q: want nats://HOST:PORT, several comma-separated for a cluster", Redact(u))
			}
			if err := hostOf(u); err != nil {
				return "", err
			}
		}
		return NATS, nil
	default:
		return "", fmt.Errorf("%q: want gochannel or nats://HOST:PORT", Redact(setting))
	}
}

// isNATSScheme: nats, or tls for a NATS server that requires TLS.
func isNATSScheme(scheme string) bool { return scheme == "nats" || scheme == "tls" }

func schemeOf(setting string) string {
	scheme, _, ok := strings.Cut(setting, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// sqlitePath is the file a sqlite:PATH setting names.
// SQLitePath is the file a sqlite:PATH setting names.
func SQLitePath(setting string) string {
	path := strings.TrimPrefix(setting[len("sqlite:"):], "//")
	return path
}

func sqlitePathOf(setting string) error {
	if SQLitePath(setting) == "" {
		return fmt.Errorf("%q: sqlite: needs a file path", setting)
	}
	return nil
}

func hostOf(setting string) error {
	u, err := url.Parse(setting)
	if err != nil {
		// url.Parse's error quotes the setting, password and all.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return fmt.Errorf("%q: %v", Redact(setting), err)
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", Redact(setting))
	}
	return nil
}

var (
	// keywordPassword finds the password of a keyword/value connection
	// string (host=… password=…).
	keywordPassword = regexp.MustCompile(`password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)`)
	// userPassword finds the password of a URL that net/url cannot parse.
	userPassword = regexp.MustCompile(`(://[^:/@]*:)[^@]*@`)
)

// Redact hides a setting's password, for errors and logs: the URL's own,
// a password query parameter (which pgx reads too), or that of a setting
// that is not a URL net/url parses. A NATS cluster's URLs are each redacted.
func Redact(setting string) string {
	if urls := strings.Split(setting, ","); len(urls) > 1 && isNATSScheme(schemeOf(setting)) {
		for i, u := range urls {
			urls[i] = Redact(u)
		}
		return strings.Join(urls, ",")
	}
	u, err := url.Parse(setting)
	if err != nil || u.Scheme == "" {
		return userPassword.ReplaceAllString(keywordPassword.ReplaceAllString(setting, "password=xxxxx"), "${1}xxxxx@")
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	} else if u.User == nil {
		return setting
	}
	return u.Redacted()
}
