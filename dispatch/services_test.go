package dispatch

import (
	"testing"

	"github.com/exmigrate/exmigrate/internal/forecast"
	"github.com/exmigrate/exmigrate/mailbox"
)

func TestServices(t *testing.T) {
	onprem := &presenceSide{loc: mailbox.LocationOnPrem}
	cloud := &presenceSide{loc: mailbox.LocationCloud}
	hybrid := &Dispatcher{OnPrem: onprem, Cloud: cloud}
	// Two Exchange Servers: an on-prem to on-prem migration.
	servers := &Dispatcher{OnPrem: onprem, Endpoints: map[string]Side{"ex2019": &presenceSide{loc: mailbox.LocationOnPrem}}}
	mixed := &Dispatcher{OnPrem: onprem, Cloud: cloud, Endpoints: map[string]Side{"ex2019": &presenceSide{loc: mailbox.LocationOnPrem}}}
	tests := []struct {
		name     string
		d        *Dispatcher
		endpoint string
		from, to forecast.Service
		why      bool
	}{
		{"on-prem is onboarded", hybrid, "onprem", forecast.ExchangeServer, forecast.Online, false},
		{"cloud is offboarded", hybrid, "cloud", forecast.Online, forecast.ExchangeServer, false},
		{"between Exchange Servers", servers, "onprem", forecast.ExchangeServer, forecast.ExchangeServer, false},
		{"from a named server", servers, "ex2019", forecast.ExchangeServer, forecast.ExchangeServer, false},
		// --to decides between the cloud and the other server.
		{"target named at copy time", mixed, "ex2019", forecast.ExchangeServer, "", true},
		{"nothing to copy to", &Dispatcher{OnPrem: onprem}, "onprem", forecast.ExchangeServer, "", true},
		{"not located", hybrid, "", "", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from, to, why := tc.d.Services(Route{Endpoint: tc.endpoint})
			if from != tc.from || to != tc.to || (why != "") != tc.why {
				t.Errorf("Services = %q, %q, %q; want %q, %q (a reason: %v)", from, to, why, tc.from, tc.to, tc.why)
			}
		})
	}
}
