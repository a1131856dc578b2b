package backends

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSettingErrorsHidePasswords: a setting's password appears neither in
// Redact's form of it (the server logs that at start) nor in the error of a
// setting that does not parse.
func TestSettingErrorsHidePasswords(t *testing.T) {
	for _, setting := range []string{
		"postgres://u:s3cret@127.0.0.1:5432/test",
		"postgres://127.0.0.1:5432/test?password=s3cret",
		"postgresql://127.0.0.1/test?sslmode=disable&password=s3cret",
		"postgres://u:s3cret@127.0.0.1:x/test",
		"esdb://admin:s3cret@[::1",
		"host=127.0.0.1 port=5432 password=s3cret dbname=test",
		"host=127.0.0.1 password='s3 cret' dbname=test",
	} {
		require.NotContains(t, Redact(setting), "s3", setting)
		_, err := EventStoreKind(setting)
		if err != nil {
			require.NotContains(t, err.Error(), "s3", setting)
		}
		_, err = ReadModelsKind(setting)
		if err != nil {
			require.NotContains(t, err.Error(), "s3", setting)
		}
	}
	require.Equal(t, "postgres://u:xxxxx@127.0.0.1:5432/test", Redact("postgres://u:s3cret@127.0.0.1:5432/test"))
	require.Equal(t, "postgres://127.0.0.1:5432/test?password=xxxxx", Redact("postgres://127.0.0.1:5432/test?password=s3cret"))
	for _, setting := range []string{"sqlite:/var/lib/accessd/events.db", "gochannel", "nats://127.0.0.1:4222", "esdb://127.0.0.1:2113?tls=false"} {
		require.Equal(t, setting, Redact(setting), "nothing to hide")
	}
}

// Redact hides the password of every URL of a NATS cluster setting, the
// form the server logs at start.
func TestRedactHidesEveryPasswordOfACluster(t *testing.T) {
	for _, setting := range []string{
		"nats://a:4222,nats://u:s3cret@b:4222",
		"nats://a,nats://u:s3cret@b",
		"nats://u:s3cret@a:4222,nats://u:s3cret@b:4222",
		// A cluster whose first URL is tls:// (a NATS server that
		// requires TLS) is a cluster too.
		"tls://a:4222,tls://u:s3cret@b:4222",
		"tls://a:4222,nats://u:s3cret@b:4222",
	} {
		require.NotContains(t, Redact(setting), "s3", setting)
	}
	require.Equal(t, "nats://u:xxxxx@a:4222,nats://b:4222", Redact("nats://u:s3cret@a:4222,nats://b:4222"))
	require.Equal(t, "nats://a:4222,nats://b:4222", Redact("nats://a:4222,nats://b:4222"), "nothing to hide")
}
