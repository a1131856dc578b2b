package commands

import (
	"github.com/accessd/accessd/domain/account"
	"github.com/accessd/accessd/domain/apikey"
)

// The aggregates commands load, by stream category.
var (
	accountAgg = Aggregate[account.State]{Category: account.Category, Evolve: account.Evolve}
	apiKeyAgg  = Aggregate[apikey.State]{Category: apikey.Category, Evolve: apikey.Evolve}
)
