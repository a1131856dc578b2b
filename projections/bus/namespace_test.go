package bus

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/google/uuid"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/eventstore/servicetest"
)

// Two deployments on one NATS, each with its own ?namespace=, have
// streams and subjects of their own: a consumer group of one (the webhook
// deliveries' is the same name in every deployment) never takes the
// other's messages.
func TestNamespacesKeepDeploymentsApartOnOneNATS(t *testing.T) {
	server := servicetest.NATSURL(t)
	open := func() (*Bus, string) {
		ns := "t" + strings.ReplaceAll(uuid.NewString(), "-", "")[:12]
		b, err := Open(context.Background(), server+"?"+NamespaceParam+"="+ns, testLogger(t))
		require.NoError(t, err)
		t.Cleanup(func() {
			_ = b.Close()
			if nc, err := nats.Connect(server); err == nil {
				defer nc.Close()
				if js, err := nc.JetStream(); err == nil {
					_ = js.DeleteStream(DefaultStream + "_" + strings.ToUpper(ns))
					_ = js.DeleteStream(DefaultStream + "_" + strings.ToUpper(ns) + InternalStreamSuffix)
				}
			}
		})
		return b, ns
	}
	a, nsA := open()
	b, _ := open()

	nc, err := nats.Connect(server)
	require.NoError(t, err)
	defer nc.Close()
	js, err := nc.JetStream()
	require.NoError(t, err)
	info, err := js.StreamInfo(DefaultStream + "_" + strings.ToUpper(nsA))
	require.NoError(t, err)
	require.Equal(t, []string{nsA + ".accessd.>"}, info.Config.Subjects)

	ofA, ofB := newCollector(), newCollector()
	subA, err := a.Subscriber("webhooks")
	require.NoError(t, err)
	ofA.subscribe(t, subA, "")
	subB, err := b.Subscriber("webhooks")
	require.NoError(t, err)
	ofB.subscribe(t, subB, "")
	for range 5 {
		require.NoError(t, a.Publisher().Publish(TopicPrefix+"lock", message.NewMessage(uuid.NewString(), []byte(`{}`))))
	}
	ofA.waitDistinct(t, 5)
	time.Sleep(200 * time.Millisecond) // what B would have taken would be there by now
	_, n := ofB.snapshot()
	require.Zero(t, n, "the other deployment's consumer took none")
}

func TestNamespaceSettingIsChecked(t *testing.T) {
	for _, setting := range []string{
		"nats://127.0.0.1:4222?namespace=",
		"nats://127.0.0.1:4222?namespace=Site2",
		"nats://127.0.0.1:4222?namespace=a.b",
		"nats://127.0.0.1:4222?namespace=a&namespace=b",
		"nats://127.0.0.1:4222?stream=X",
		"nats://127.0.0.1:4222?namespace=a,nats://127.0.0.1:4223?namespace=b",
	} {
		_, err := Open(context.Background(), setting, testLogger(t))
		require.Error(t, err, setting)
		require.Contains(t, err.Error(), "--bus", setting)
	}
}
