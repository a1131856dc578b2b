package httpapi

func (a *API) lockRoutes() []route {
	return nil
}
