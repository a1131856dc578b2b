package entities

func groupHandlers() map[string]Handler {
	return map[string]Handler{}
}
