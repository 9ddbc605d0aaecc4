package mailbox

import (
	"fmt"
	"time"

	// Zone rules travel with the binary: a migration host may have no
	// zoneinfo, and the wall-clock times of series depend on them.
	_ "time/tzdata"
)

// windowsZones maps the Windows zone ids Exchange and Graph use to IANA
// names (after CLDR's windowsZones.xml, territory 001). The zones a
// mailbox is likely to hold; an id outside it is refused by
// ZoneLocation, so that a writer says what it cannot place instead of
// moving an item by hours.
var windowsZones = map[string]string{
	"UTC":                             "UTC",
	"GMT Standard Time":               "Europe/London",
	"Greenwich Standard Time":         "Atlantic/Reykjavik",
	"W. Europe Standard Time":         "Europe/Berlin",
	"Central Europe Standard Time":    "Europe/Budapest",
	"Romance Standard Time":           "Europe/Paris",
	"Central European Standard Time":  "Europe/Warsaw",
	"E. Europe Standard Time":         "Europe/Chisinau",
	"FLE Standard Time":               "Europe/Kiev",
	"GTB Standard Time":               "Europe/Bucharest",
	"Russian Standard Time":           "Europe/Moscow",
	"Turkey Standard Time":            "Europe/Istanbul",
	"Israel Standard Time":            "Asia/Jerusalem",
	"South Africa Standard Time":      "Africa/Johannesburg",
	"Egypt Standard Time":             "Africa/Cairo",
	"Arabian Standard Time":           "Asia/Dubai",
	"Arab Standard Time":              "Asia/Riyadh",
	"India Standard Time":             "Asia/Calcutta",
	"SE Asia Standard Time":           "Asia/Bangkok",
	"China Standard Time":             "Asia/Shanghai",
	"Singapore Standard Time":         "Asia/Singapore",
	"Tokyo Standard Time":             "Asia/Tokyo",
	"Korea Standard Time":             "Asia/Seoul",
	"AUS Eastern Standard Time":       "Australia/Sydney",
	"E. Australia Standard Time":      "Australia/Brisbane",
	"W. Australia Standard Time":      "Australia/Perth",
	"New Zealand Standard Time":       "Pacific/Auckland",
	"Eastern Standard Time":           "America/New_York",
	"Central Standard Time":           "America/Chicago",
	"Mountain Standard Time":          "America/Denver",
	"US Mountain Standard Time":       "America/Phoenix",
	"Pacific Standard Time":           "America/Los_Angeles",
	"Alaskan Standard Time":           "America/Anchorage",
	"Hawaiian Standard Time":          "Pacific/Honolulu",
	"Atlantic Standard Time":          "America/Halifax",
	"Canada Central Standard Time":    "America/Regina",
	"Central Standard Time (Mexico)":  "America/Mexico_City",
	"E. South America Standard Time":  "America/Sao_Paulo",
	"Argentina Standard Time":         "America/Buenos_Aires",
	"SA Pacific Standard Time":        "America/Bogota",
	"Pacific SA Standard Time":        "America/Santiago",
	"Newfoundland Standard Time":      "America/St_Johns",
	"Morocco Standard Time":           "Africa/Casablanca",
	"W. Central Africa Standard Time": "Africa/Lagos",
	"E. Africa Standard Time":         "Africa/Nairobi",
	"Pakistan Standard Time":          "Asia/Karachi",
	"Bangladesh Standard Time":        "Asia/Dhaka",
	"Taipei Standard Time":            "Asia/Taipei",
}

// ZoneLocation is the zone rules of a Windows zone id; the empty id is
// UTC. An id the table does not hold fails: a writer reports it rather
// than guessing.
func ZoneLocation(windowsID string) (*time.Location, error) {
	if windowsID == "" {
		return time.UTC, nil
	}
	name, ok := windowsZones[windowsID]
	if !ok {
		return nil, fmt.Errorf("time zone %q is not one exmigrate knows", windowsID)
	}
	return time.LoadLocation(name)
}

// KnownZone reports whether ZoneLocation places the Windows zone id.
func KnownZone(windowsID string) bool {
	_, err := ZoneLocation(windowsID)
	return err == nil
}
