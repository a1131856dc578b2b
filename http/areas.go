package httpapi

func (a *API) areaRoutes() []route {
	return nil
}
