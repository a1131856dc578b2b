package domain

// Address is a postal address (the reference's Address).
type Address struct {
	Line1      string `json:"line1"`
	Line2      string `json:"line2,omitempty"`
	Line3      string `json:"line3,omitempty"`
	City       string `json:"city"`
	State      string `json:"state,omitempty"`
	Country    string `json:"country"`
	PostalCode string `json:"postalCode"`
}

// Validate checks a given address under field (`address.line1`, ...):
// line1, city and country required, every part bounded, no control
// characters. Nil (no address) is valid.
func (a *Address) Validate(field string) error {
	if a == nil {
		return nil
	}
	parts := []struct {
		name     string
		value    string
		max      int
		required bool
	}{
		{"line1", a.Line1, 200, true},
		{"line2", a.Line2, 200, false},
		{"line3", a.Line3, 200, false},
		{"city", a.City, 100, true},
		{"state", a.State, 100, false},
		{"country", a.Country, 100, true},
		{"postalCode", a.PostalCode, 20, false},
	}
	for _, p := range parts {
		at := field + "." + p.name
		if p.required {
			if err := ValidateName(at, p.value); err != nil {
				return err
			}
		}
		if err := ValidateText(at, p.value, p.max); err != nil {
			return err
		}
	}
	return nil
}

// Clone copies the address; nil stays nil.
func (a *Address) Clone() *Address {
	if a == nil {
		return nil
	}
	c := *a
	return &c
}

// EqualAddress reports whether a and b are both absent or the same address.
func EqualAddress(a, b *Address) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}
