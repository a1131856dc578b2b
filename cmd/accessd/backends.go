package main

import (
	"fmt"
	"net/url"
	"strings"
)

// Backend kinds a URL setting can name.
const (
	kindSQLite    = "sqlite"
	kindKurrent   = "kurrent"
	kindPostgres  = "postgres"
	kindGoChannel = "gochannel"
	kindNATS      = "nats"
)

// eventStoreKind tells which event store a --eventstore URL names.
func eventStoreKind(setting string) (string, error) {
	switch scheme := schemeOf(setting); scheme {
	case "sqlite":
		return kindSQLite, sqlitePathOf(setting)
	case "esdb", "esdb+discover", "kurrentdb", "kurrentdb+discover", "kurrent", "kurrent+discover":
		return kindKurrent, hostOf(setting)
	case "postgres", "postgresql":
		return kindPostgres, hostOf(setting)
	default:
		return "", fmt.Errorf("%q: want sqlite:PATH, kurrentdb://HOST:PORT, esdb://HOST:PORT or postgres://HOST/DB", redact(setting))
	}
}

// readModelsKind tells which database a --readmodels URL names.
func readModelsKind(setting string) (string, error) {
	switch schemeOf(setting) {
	case "sqlite":
		return kindSQLite, sqlitePathOf(setting)
	case "postgres", "postgresql":
		return kindPostgres, hostOf(setting)
	default:
		return "", fmt.Errorf("%q: want sqlite:PATH or postgres://HOST/DB", redact(setting))
	}
}

// busKind tells which broker a --bus setting names.
func busKind(setting string) (string, error) {
	switch {
	case setting == "gochannel":
		return kindGoChannel, nil
	case schemeOf(setting) == "nats":
		return kindNATS, hostOf(setting)
	default:
		return "", fmt.Errorf("%q: want gochannel or nats://HOST:PORT", redact(setting))
	}
}

func schemeOf(setting string) string {
	scheme, _, ok := strings.Cut(setting, ":")
	if !ok {
		return ""
	}
	return strings.ToLower(scheme)
}

// sqlitePath is the file a sqlite:PATH setting names.
func sqlitePath(setting string) string {
	path := strings.TrimPrefix(setting[len("sqlite:"):], "//")
	return path
}

func sqlitePathOf(setting string) error {
	if sqlitePath(setting) == "" {
		return fmt.Errorf("%q: sqlite: needs a file path", setting)
	}
	return nil
}

func hostOf(setting string) error {
	u, err := url.Parse(setting)
	if err != nil {
		return fmt.Errorf("%q: %v", redact(setting), err)
	}
	if u.Host == "" {
		return fmt.Errorf("%q: no host", redact(setting))
	}
	return nil
}

// redact hides a URL's password, for errors and logs.
func redact(setting string) string {
	u, err := url.Parse(setting)
	if err != nil || u.User == nil {
		return setting
	}
	return u.Redacted()
}
