package entities

func lockHandlers() map[string]Handler {
	return map[string]Handler{}
}
