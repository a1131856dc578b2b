package entities

func userHandlers() map[string]Handler {
	return map[string]Handler{}
}
