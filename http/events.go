package httpapi

func (a *API) eventRoutes() []route {
	return nil
}
