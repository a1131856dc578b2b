package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBackendSettings(t *testing.T) {
	none := func(string) string { return "" }
	c, err := parseConfig([]string{"--data-dir", "/d"}, none)
	require.NoError(t, err)
	assert.Equal(t, "sqlite:/d/events.db", c.EventStore, "the embedded default lives in the data directory")
	assert.Equal(t, "sqlite:/d/readmodels.db", c.ReadModels)
	assert.Equal(t, "gochannel", c.Bus)

	env := map[string]string{
		"ACCESSD_EVENTSTORE": "kurrentdb://127.0.0.1:2113?tls=false",
		"ACCESSD_READMODELS": "postgres://u:secret@db:5432/x",
		"ACCESSD_BUS":        "nats://127.0.0.1:4222",
	}
	c, err = parseConfig(nil, func(k string) string { return env[k] })
	require.NoError(t, err)
	assert.Equal(t, env["ACCESSD_EVENTSTORE"], c.EventStore)
	assert.Equal(t, env["ACCESSD_READMODELS"], c.ReadModels)
	assert.Equal(t, env["ACCESSD_BUS"], c.Bus)

	for _, tc := range []struct{ args []string }{
		{[]string{"--eventstore", "mysql://x"}},
		{[]string{"--eventstore", "sqlite:"}},
		{[]string{"--eventstore", "postgres://"}},
		{[]string{"--readmodels", "esdb://127.0.0.1:2113"}},
		{[]string{"--bus", "kafka://x"}},
		{[]string{"--bus", ""}},
		// Empty on purpose (an unset variable in a template) is not the
		// data directory's own file.
		{[]string{"--eventstore", ""}},
		{[]string{"--readmodels", ""}},
	} {
		_, err := parseConfig(tc.args, none)
		require.Error(t, err, tc.args)
		assert.Contains(t, err.Error(), tc.args[0], "the error names the setting")
	}
	_, err = parseConfig([]string{"--readmodels", "mysql://u:hunter2@h/x"}, none)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "hunter2", "passwords stay out of errors")
}

// --bus takes a NATS cluster as comma-separated nats:// URLs, as the bus
// connects to it; each URL is checked, and a bad one fails naming --bus
// with its password hidden.
func TestBusSettingTakesANATSCluster(t *testing.T) {
	none := func(string) string { return "" }
	for _, setting := range []string{
		"nats://127.0.0.1:4222,nats://127.0.0.1:4223",
		"nats://u:s3cret@a:4222, nats://u:s3cret@b:4222,nats://c",
		"tls://nats.example.com:4222,nats://127.0.0.1:4222", // as the bus accepts
		"GoChannel",
	} {
		c, err := parseConfig([]string{"--bus", setting}, none)
		require.NoError(t, err, setting)
		assert.Equal(t, setting, c.Bus)
	}
	for _, setting := range []string{
		"nats://127.0.0.1:4222,",
		"nats://127.0.0.1:4222,kafka://b:9092",
		"nats://127.0.0.1:4222,nats://u:s3cret@b:x",
		"nats://127.0.0.1:4222,nats://u:s3cret@",
		"nats://u:s3cret@a:4222,gochannel",
		"tls://",
	} {
		_, err := parseConfig([]string{"--bus", setting}, none)
		require.Error(t, err, setting)
		assert.Contains(t, err.Error(), "--bus", setting)
		assert.NotContains(t, err.Error(), "s3cret", setting)
	}
}
