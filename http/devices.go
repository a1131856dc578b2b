package httpapi

func (a *API) deviceRoutes() []route {
	return nil
}
