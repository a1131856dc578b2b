package httpapi

import (
	"encoding/json"
	"regexp"
	"strings"
)

var pathParam = regexp.MustCompile(`\{([A-Za-z]+)\}`)

// openAPI builds the OpenAPI 3 document of the routes.
func openAPI(routes []route) []byte {
	paths := map[string]map[string]any{}
	for _, rt := range routes {
		ops := paths[rt.path]
		if ops == nil {
			ops = map[string]any{}
			paths[rt.path] = ops
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(rt.path, -1) {
			params = append(params, map[string]any{
				"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"},
			})
		}
		responses := map[string]any{"default": map[string]any{"description": "Error", "content": envelopeContent}}
		codes, ok := successCodes[rt.operation]
		if !ok {
			codes = []string{"200"}
		}
		for _, code := range codes {
			responses[code] = map[string]any{"description": "Success", "content": envelopeContent}
		}
		if !rt.public {
			responses["403"] = map[string]any{"$ref": "#/components/responses/Forbidden"}
		}
		for _, q := range queryParams[rt.operation] {
			name, required := strings.CutSuffix(q, "!")
			params = append(params, map[string]any{
				"name": name, "in": "query", "required": required, "schema": map[string]any{"type": "string"},
			})
		}
		op := map[string]any{
			"operationId": rt.operation,
			"summary":     rt.summary,
			"responses":   responses,
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if !rt.public {
			op["security"] = []map[string]any{{"apiKey": []string{}}}
		}
		if perms, ok := routePermissions[rt.operation]; ok && !rt.public {
			op["x-permissions"] = perms
		}
		if rt.lockKey {
			op["x-lock-key"] = true
		}
		if rt.method == "POST" || rt.method == "PUT" || rt.method == "PATCH" {
			op["requestBody"] = map[string]any{"content": map[string]any{"application/json": map[string]any{"schema": map[string]any{"type": "object"}}}}
		}
		ops[strings.ToLower(rt.method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "accessd", "version": "1"},
		"paths":   paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"apiKey": map[string]any{"type": "apiKey", "in": "header", "name": "x-api-key"}},
			"responses": map[string]any{"Forbidden": map[string]any{
				"description": forbiddenDescription, "content": envelopeContent,
			}},
			"schemas": map[string]any{"Envelope": map[string]any{
				"type": "object",
				"properties": map[string]any{
					"success":    map[string]any{"type": "boolean"},
					"data":       map[string]any{},
					"error":      map[string]any{"type": "string"},
					"signatures": map[string]any{"type": "object", "additionalProperties": map[string]any{"type": "string"}},
				},
				"required": []string{"success"},
			}},
		},
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // only maps of strings: cannot fail
	}
	return out
}

// forbiddenDescription is the 403 of every operation that takes a key.
var forbiddenDescription = "Forbidden. The key holds none of the operation's x-permissions for the resource " +
	"(a resource outside the key's scope answers 404 instead), or it is a lock's own key on an operation " +
	"not meant for it. A key whose every grant was scoped to a property since deleted holds no live grant: " +
	"it still exists (not 401) but answers 403 to every operation, with the error `" + errNoLiveGrant.Error() + "`."

var envelopeContent = map[string]any{"application/json": map[string]any{"schema": map[string]any{"$ref": "#/components/schemas/Envelope"}}}

// successCodes are the success statuses of the operations that answer
// other than 200: creates answer 201.
var successCodes = map[string][]string{
	"createProperty": {"201"}, "createArea": {"201"}, "createUserGroup": {"201"}, "createUser": {"201"},
	"provisionUserDevice": {"201"}, "provisionLock": {"201"}, "createApiKey": {"201"}, "registerAccount": {"201"},
	"createWebhook": {"201"}, "createBooking": {"201"}, "createAccessCode": {"201"}, "registerGuest": {"201"},
	"createPropertyInvitation": {"201"},
	"uploadFirmwareVersion":    {"200", "201"}, // 201 for a version first recorded
	"replayWebhookDelivery":    {"202"},
}

// pageParams are the query parameters of a paged list.
var pageParams = []string{"pageSize", "pageToken"}

// queryParams are the query parameters of the core operations; a name
// ending in "!" is required.
var queryParams = map[string][]string{
	"listEvents": append([]string{"eventSource!", "propertyId", "areaId", "userGroupId", "lockId", "userId", "userDeviceId",
		"apiKeyId", "keyId", "firmwareVersion"}, pageParams...),
	"listLocks":                   append([]string{"propertyId", "outOfSync"}, pageParams...),
	"uninstallLock":               {"uninstallMode!"},
	"listProperties":              pageParams,
	"listAreas":                   pageParams,
	"listUserGroups":              pageParams,
	"listUsersForGroup":           pageParams,
	"listGroupsForUser":           pageParams,
	"listGroupsForUserAtProperty": pageParams,
	"listUserDevices":             pageParams,
	"listApiKeys":                 pageParams,
	"listChildAccounts":           pageParams,
}
