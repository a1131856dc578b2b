package httpapi

func (a *API) groupRoutes() []route {
	return nil
}
