package entities

func areaHandlers() map[string]Handler {
	return map[string]Handler{}
}
