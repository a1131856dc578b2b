package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
)

// TypedEvent is an event payload that names its own stable type string
// (`LockInstalled`). The name is chosen once and never derived from the Go
// type, so renaming a struct cannot break stored streams.
type TypedEvent interface {
	EventType() string
}

// Upcaster turns the JSON of one schema version of an event into the next.
type Upcaster func(data json.RawMessage) (json.RawMessage, error)

// ErrUnknownEventType is returned by Encode for a payload that was never
// registered. Decode never returns it: unknown stored types decode as raw.
var ErrUnknownEventType = errors.New("unknown event type")

type registered struct {
	name      string
	schema    int
	goType    reflect.Type
	upcasters []Upcaster // upcasters[i] turns schema i+1 into schema i+2
}

// Registry maps event type names to Go payload types, with the current
// schema number of each and the upcasters that bring old schemas up to it.
// It is built once at start and passed to whoever encodes or decodes.
type Registry struct {
	byName map[string]*registered
	byType map[reflect.Type]*registered
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*registered{}, byType: map[reflect.Type]*registered{}}
}

// Register adds a payload type at schema 1.
func (r *Registry) Register(prototype TypedEvent) {
	r.RegisterSchema(prototype, 1)
}

// RegisterSchema adds a payload type whose current shape is schema; it needs
// schema-1 upcasters, the first turning schema 1 into 2. It panics on a
// programming error (duplicate name, wrong number of upcasters), which only
// start-up wiring can make.
func (r *Registry) RegisterSchema(prototype TypedEvent, schema int, upcasters ...Upcaster) {
	name := prototype.EventType()
	t := reflect.TypeOf(prototype)
	switch {
	case name == "":
		panic("eventstore: event type with empty name")
	case schema < 1 || len(upcasters) != schema-1:
		panic(fmt.Sprintf("eventstore: %s schema %d needs %d upcasters, got %d", name, schema, schema-1, len(upcasters)))
	case r.byName[name] != nil:
		panic("eventstore: event type registered twice: " + name)
	case t.Kind() == reflect.Pointer:
		panic("eventstore: register event payloads as values: " + name)
	}
	e := &registered{name: name, schema: schema, goType: t, upcasters: upcasters}
	r.byName[name] = e
	r.byType[t] = e
}

// Types lists every registered event type name.
func (r *Registry) Types() []string {
	names := make([]string, 0, len(r.byName))
	for n := range r.byName {
		names = append(names, n)
	}
	return names
}

// Guard is a payload that changes no state: an event a command appends
// only so that a concurrent command on the same stream fails its append at
// the revision it read (see the area and lock guards). Lists and histories
// of what happened leave guards out (RecordTypes).
type Guard interface {
	TypedEvent
	Guard()
}

// RecordTypes lists the registered event types that record a change: every
// type but the guards.
func (r *Registry) RecordTypes() []string {
	guard := reflect.TypeFor[Guard]()
	names := make([]string, 0, len(r.byName))
	for n, e := range r.byName {
		if !e.goType.Implements(guard) {
			names = append(names, n)
		}
	}
	return names
}

// Known reports whether name is registered.
func (r *Registry) Known(name string) bool { return r.byName[name] != nil }
