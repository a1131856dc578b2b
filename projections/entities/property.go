package entities

func propertyHandlers() map[string]Handler {
	return map[string]Handler{}
}
