package entities

func deviceHandlers() map[string]Handler {
	return map[string]Handler{}
}
