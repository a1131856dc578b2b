package httpapi

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/accessd/accessd/domain"
)

// Keys encoding/json would take silently are refused, naming the key: a
// repeated key (the last would win) and a key matching a field only
// case-insensitively, at the top, in nested objects and in arrays.
func TestDecodeJSONRefusesDuplicateAndMiscasedKeys(t *testing.T) {
	for body, field := range map[string]string{
		`{"displayName":"a","displayName":"b"}`: "displayName",
		`{"DisplayName":"x"}`:                   "DisplayName",
		`{"displayname":"x"}`:                   "displayname",
		`{"displayName":"k","apiPermissions":[{"permission":"owner","permission":"me"}]}`:   "apiPermissions[0].permission",
		`{"displayName":"k","apiPermissions":[{"permission":"owner"},{"Permission":"me"}]}`: "apiPermissions[1].Permission",
	} {
		var in createAPIKeyInput
		err := decodeJSON([]byte(body), &in)
		var de *domain.Error
		require.True(t, errors.As(err, &de), "%s: %v", body, err)
		assert.Equal(t, 400, statusOf(err), body)
		assert.Equal(t, field, de.Field, body)
	}

	var in createAPIKeyInput
	require.NoError(t, decodeJSON([]byte(`{"displayName":"k","apiPermissions":[{"permission":"owner"},{"permission":"me"}]}`), &in),
		"the same key in two objects is no duplicate")
	assert.Equal(t, "k", in.DisplayName)

	var m map[string]any
	var de *domain.Error
	require.True(t, errors.As(decodeJSON([]byte(`{"a":{"b":1,"b":2}}`), &m), &de), "duplicates under any type")
	assert.Equal(t, "a.b", de.Field)
	require.NoError(t, decodeJSON([]byte(`{"A":1,"a":2}`), &m), "a map's keys are its own")
}

func TestDecodeJSONRefusesTextThatIsNotUTF8(t *testing.T) {
	var dst struct {
		DisplayName string `json:"displayName"`
	}
	for _, ok := range []string{
		`{"displayName":"Café"}`,
		`{"displayName":"\u00e9 \ud83d\ude00"}`, // a pair is one character
		`{"displayName":"a\\ud800"}`,            // an escaped backslash, then text
		`{"displayName":"\"\n\t"}`,
	} {
		require.NoError(t, decodeJSON([]byte(ok), &dst), ok)
	}
	for _, bad := range []string{
		"{\"displayName\":\"\xff\xfe\"}",
		`{"displayName":"\ud800"}`,
		`{"displayName":"\ud800x"}`,
		`{"displayName":"\ude00"}`,
		`{"displayName":"\ud800\ud800"}`,
		`{"displayName":"\ud800\n"}`,
	} {
		err := decodeJSON([]byte(bad), &dst)
		require.Error(t, err, bad)
		assert.Contains(t, err.Error(), "UTF-8", bad)
	}
}
