package httpapi

import (
	"fmt"
	"net/http"

	"github.com/google/uuid"

	"github.com/accessd/accessd/commands"
	"github.com/accessd/accessd/domain"
	"github.com/accessd/accessd/domain/area"
	"github.com/accessd/accessd/projections/entities"
)

func (a *API) areaRoutes() []route {
	return []route{
		{method: "POST", path: "/properties/{propertyId}/areas", operation: "createArea", summary: "Create an area, with its own user group (owner, manage-access).", handler: a.createArea},
		{method: "GET", path: "/properties/{propertyId}/areas", operation: "listAreas", summary: "List a property's areas.", handler: a.listInProperty(entities.KindArea, "areas")},
		{method: "GET", path: "/properties/{propertyId}/areas/{areaId}", operation: "getArea", summary: "One area.", handler: a.getArea},
		{method: "PUT", path: "/properties/{propertyId}/areas/{areaId}", operation: "updateArea", summary: "Replace an area's name, type, parent and access list (owner, manage-access).", handler: a.updateArea},
		{method: "DELETE", path: "/properties/{propertyId}/areas/{areaId}", operation: "deleteArea", summary: "Delete an area with no locks and no sub-areas, and its user group (owner, manage-access).", handler: a.deleteArea},
	}
}

// createAreaInput is the body of createArea.
type createAreaInput struct {
	DisplayName  string  `json:"displayName"`
	AreaType     string  `json:"areaType"`
	ParentAreaID *string `json:"parentAreaId"`
}

// updateAreaInput is the body of updateArea: every writable field.
type updateAreaInput struct {
	DisplayName  string             `json:"displayName"`
	AreaType     string             `json:"areaType"`
	ParentAreaID *string            `json:"parentAreaId"`
	AccessList   []accessEntryInput `json:"accessList"`
}

// parentAreaOf reads parentAreaId: left out (or null) is the top of the
// property; anything else must be a UUID, `""` included, which would
// otherwise pass for no parent. given reports a parent named: the nil
// UUID, given, names no area (errNoParentArea).
func parentAreaOf(s *string) (id uuid.UUID, given bool, err error) {
	if s == nil {
		return uuid.Nil, false, nil
	}
	if id, err = uuid.Parse(*s); err != nil || len(*s) != 36 {
		return uuid.Nil, true, domain.InvalidField("parentAreaId", "must be a UUID")
	}
	return id, true, nil
}

// errNoParentArea answers a parentAreaId given as the nil UUID: an area
// that does not exist, as any unknown id is (after the body's 400s).
var errNoParentArea = area.ErrParentNotFound.At("parentAreaId")

// accessEntryInput is one accessList entry as sent; the domain checks its
// shape and its schedule, naming accessList[i]....
type accessEntryInput struct {
	AccessType  string         `json:"accessType"`
	UserGroupID string         `json:"userGroupId"`
	AreaID      string         `json:"areaId"`
	Schedule    *scheduleInput `json:"schedule"`
}

// scheduleInput is a schedule as sent (null: always); its instants are
// read here so a bad one is named.
type scheduleInput struct {
	Timezone   string                `json:"timezone"`
	ValidFrom  *string               `json:"validFrom"`
	ValidUntil *string               `json:"validUntil"`
	Weekly     []domain.WeeklyWindow `json:"weekly"`
}

func (in *scheduleInput) schedule(field string) (*domain.Schedule, error) {
	if in == nil {
		return nil, nil
	}
	s := &domain.Schedule{Timezone: in.Timezone, Weekly: in.Weekly}
	var err error
	if s.ValidFrom, err = optionalInstant(field+".validFrom", in.ValidFrom); err != nil {
		return nil, err
	}
	if s.ValidUntil, err = optionalInstant(field+".validUntil", in.ValidUntil); err != nil {
		return nil, err
	}
	return s, nil
}

func accessListOf(in []accessEntryInput) ([]area.AccessEntry, error) {
	out := make([]area.AccessEntry, len(in))
	for i, e := range in {
		at := fmt.Sprintf("accessList[%d]", i)
		out[i] = area.AccessEntry{AccessType: area.AccessType(e.AccessType)}
		var err error
		if out[i].UserGroupID, err = optionalUUID(at+".userGroupId", e.UserGroupID); err != nil {
			return nil, err
		}
		if out[i].AreaID, err = optionalUUID(at+".areaId", e.AreaID); err != nil {
			return nil, err
		}
		if out[i].Schedule, err = e.Schedule.schedule(at + ".schedule"); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// areaPath reads the property and area ids of an area's path.
func areaPath(r *http.Request) (propertyID, areaID uuid.UUID, err error) {
	if propertyID, err = pathID(r, "propertyId"); err != nil {
		return
	}
	areaID, err = pathID(r, "areaId")
	return
}

// answerArea answers an area of a property the caller may read; an area
// of another property answers 404.
func (a *API) answerArea(w http.ResponseWriter, r *http.Request, status int, propertyID, areaID uuid.UUID) {
	if _, err := a.readProperty(r, propertyID); err != nil {
		writeErr(w, r, err)
		return
	}
	doc, err := a.entities.Get(r.Context(), entities.KindArea, actorOf(r).AccountID.String(), areaID.String(), false)
	if err == nil && doc.PropertyID != propertyID.String() {
		err = entityNotFound(entities.KindArea, areaID)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeRaw(w, status, doc.JSON)
}

func (a *API) createArea(w http.ResponseWriter, r *http.Request) {
	propertyID, err := pathID(r, "propertyId")
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in createAreaInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	parentID, given, err := parentAreaOf(in.ParentAreaID)
	if err == nil && given && parentID == uuid.Nil {
		err = errNoParentArea
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	created, err := a.cmd.CreateArea(r.Context(), commands.CreateArea{
		PropertyID: propertyID, DisplayName: in.DisplayName, AreaType: area.Type(in.AreaType), ParentAreaID: parentID,
	})
	if err == nil {
		err = a.settle(r.Context(), created.Result)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerArea(w, r, http.StatusCreated, propertyID, created.AreaID)
}

func (a *API) getArea(w http.ResponseWriter, r *http.Request) {
	propertyID, areaID, err := areaPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerArea(w, r, http.StatusOK, propertyID, areaID)
}

func (a *API) updateArea(w http.ResponseWriter, r *http.Request) {
	propertyID, areaID, err := areaPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	var in updateAreaInput
	if err := decodeBody(r, &in); err != nil {
		writeErr(w, r, err)
		return
	}
	c := commands.UpdateArea{DisplayName: in.DisplayName, AreaType: area.Type(in.AreaType)}
	var parentGiven bool
	if c.ParentAreaID, parentGiven, err = parentAreaOf(in.ParentAreaID); err != nil {
		writeErr(w, r, err)
		return
	}
	if c.AccessList, err = accessListOf(in.AccessList); err != nil {
		writeErr(w, r, err)
		return
	}
	if parentGiven && c.ParentAreaID == uuid.Nil {
		writeErr(w, r, errNoParentArea)
		return
	}
	res, err := a.cmd.UpdateArea(r.Context(), propertyID, areaID, c)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	a.answerArea(w, r, http.StatusOK, propertyID, areaID)
}

func (a *API) deleteArea(w http.ResponseWriter, r *http.Request) {
	propertyID, areaID, err := areaPath(r)
	if err != nil {
		writeErr(w, r, err)
		return
	}
	res, err := a.cmd.DeleteArea(r.Context(), propertyID, areaID)
	if err == nil {
		err = a.settle(r.Context(), res)
	}
	if err != nil {
		writeErr(w, r, err)
		return
	}
	writeData(w, http.StatusOK, map[string]string{"areaId": areaID.String()})
}
