package httpapi

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/property"
	"github.com/accessd/accessd/projections/entities"
	"github.com/accessd/accessd/queries"
)

func (a *API) propertyRoutes() []route {
	return []route{
		{method: "POST", path: "/properties", operation: "createProperty", summary: "Create a property (owner, or manage-access for the whole account).", handler: a.createProperty},
		{method: "GET", path: "/properties", operation: "listProperties", summary: "List the properties the key may read.", handler: a.listProperties},
		{method: "GET", path: "/properties/{propertyId}", operation: "getProperty", summary: "One property.", handler: a.getProperty},
		{method: "PUT", path: "/properties/{propertyId}", operation: "updateProperty", summary: "Replace a property's writable fields (owner, manage-access).", handler: a.updateProperty},
		{method: "DELETE", path: "/properties/{propertyId}", operation: "deleteProperty", summary: "Delete a property no lock is in; its pending invitations are withdrawn and their e-mails erased (owner, manage-access).", handler: a.deleteByID("propertyId", "propertyId", a.cmd.DeleteProperty)},
	}
}

// propertyInput is the body of createProperty and updateProperty.
type propertyInput struct {
	DisplayName      string             `json:"displayName"`
	Address          *domain.Address    `json:"address"`
	Timezone         string             `json:"timezone"`
	AccessManagerIDs []string           `json:"accessManagerIds"`
	ExternalRefs     []externalRefInput `json:"externalRefs"`
	// BookingSettings: absent means the defaults (PUT replaces them too).
	BookingSettings *bookingSettingsInput `json:"bookingSettings"`
}

// bookingSettingsInput is a property's bookingSettings: a field left out
// takes its default, as the whole object does when it is left out, so
// `{"guestRegistrationRequired": true}` keeps the default grace and
// opening rather than turning them to 0.
type bookingSettingsInput struct {
	NoCheckInGraceMinutes     *int  `json:"noCheckInGraceMinutes"`
	CheckInOpensMinutesBefore *int  `json:"checkInOpensMinutesBefore"`
	GuestRegistrationRequired *bool `json:"guestRegistrationRequired"`
}

// settings fills the fields left out with the defaults; nil for nil.
func (in *bookingSettingsInput) settings() *property.BookingSettings {
	if in == nil {
		return nil
	}
	out := property.DefaultBookingSettings
	if in.NoCheckInGraceMinutes != nil {
		out.NoCheckInGraceMinutes = *in.NoCheckInGraceMinutes
	}
	if in.CheckInOpensMinutesBefore != nil {
		out.CheckInOpensMinutesBefore = *in.CheckInOpensMinutesBefore
	}
	if in.GuestRegistrationRequired != nil {
		out.GuestRegistrationRequired = *in.GuestRegistrationRequired
	}
	return &out
}

// fields parses the input into the writable fields of a property.
func (in propertyInput) fields() (property.Update, error) {
	out := property.Update{
		DisplayName: in.DisplayName, Address: in.Address, Timezone: in.Timezone,
		AccessManagerIDs: make([]uuid.UUID, len(in.AccessManagerIDs)),
		BookingSettings:  in.BookingSettings.settings(),
	}
	for i, s := range in.AccessManagerIDs {
		id, err := requiredUUID(fmt.Sprintf("accessManagerIds[%d]", i), s)
		if err != nil {
			return out, err
		}
		out.AccessManagerIDs[i] = id
	}
	var err error
	out.ExternalRefs, err = externalRefsOf(in.ExternalRefs)
	return out, err
}

// readProperty returns a property the caller may read; one outside its
// scope answers 404 as one of another account does.
func (a *API) readProperty(r *http.Request, id uuid.UUID) (queries.Document, error) {
	actor := actorOf(r)
	if err := commands.AuthorizeRead(actor, id, property.ErrNotFound); err != nil {
		return queries.Document{}, err
	}
	return a.entities.Get(r.Context(), entities.KindProperty, actor.AccountID.String(), id.String(), false)
}

// answerProperty answers the property's document as the read model has it.
func (a *API) answerProperty(w http.ResponseWriter, r *http.Request, status int, id uuid.UUID) {
	doc, err := a.readProperty(r, id)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, status, doc.JSON)
}

func (a *API) createProperty(w http.ResponseWriter, r *http.Request) {
	var in propertyInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	f, err := in.fields()
	if err != nil {
		writeErr(w, r, err)
		return
	}
	created, err := a.cmd.CreateProperty(r.Context(), commands.CreateProperty{
		DisplayName: f.DisplayName, Address: f.Address, Timezone: f.Timezone,
		AccessManagerIDs: f.AccessManagerIDs, ExternalRefs: f.ExternalRefs, BookingSettings: f.BookingSettings,
	})
	if err == nil {
		err = a.settle(r.Context(), created.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerProperty(w, r, http.StatusCreated, created.PropertyID)
}

func (a *API) listProperties(w http.ResponseWriter, r *http.Request) {
	actor := actorOf(r)
	scope, ok := readScope(actor)
	if !ok {
		writeErr(w, r, commands.ErrPermission)
		return
	}
	page, err := a.pageOf(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	docs, next, err := a.entities.List(r.Context(), entities.KindProperty, actor.AccountID.String(),
		queries.ListFilter{PropertyIDs: scope}, page, false)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeList(w, "properties", docs, next)
}

func (a *API) getProperty(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerProperty(w, r, http.StatusOK, id)
}

func (a *API) updateProperty(w http.ResponseWriter, r *http.Request) {
	id, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in propertyInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	f, err := in.fields()
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.UpdateProperty(r.Context(), id, f)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerProperty(w, r, http.StatusOK, id)
}
