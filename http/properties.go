package httpapi

func (a *API) propertyRoutes() []route {
	return nil
}
