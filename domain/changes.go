package domain

// Changes collects the events a decision records, applying each to the state
// as it is recorded, so a decision that raises two events decides the second
// against the state after the first.
type Changes[S any] struct {
	state  S
	evolve func(S, Event) S
	events []Event
}

// NewChanges starts recording on top of state.
func NewChanges[S any](state S, evolve func(S, Event) S) *Changes[S] {
	return &Changes[S]{state: state, evolve: evolve}
}

// Record applies e to the state and keeps it.
func (c *Changes[S]) Record(e Event) {
	c.state = c.evolve(c.state, e)
	c.events = append(c.events, e)
}

// State is the state after every recorded event.
func (c *Changes[S]) State() S { return c.state }

// Events are the recorded events, in order.
func (c *Changes[S]) Events() []Event { return c.events }
