package httpapi

func (a *API) userRoutes() []route {
	return nil
}
