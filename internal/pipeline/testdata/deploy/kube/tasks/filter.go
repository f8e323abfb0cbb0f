//go:build ignore

package main

import (
	"encoding/json"
	"strconv"
	"strings"
)

// reading is what the filter publishes for every temperature it receives.
type reading struct {
	Kelvin float64 `json:"kelvin"`
	Valid  bool    `json:"valid"`
	Reason string  `json:"reason,omitempty"`
}

// Plausible indoor temperatures, in kelvin: anything outside is a sensor error.
const (
	minKelvin = 263.15 // -10 °C
	maxKelvin = 323.15 // 50 °C
)

// exec_task marks a kelvin reading (text such as "294.65") as valid or not and
// returns it as JSON: {"kelvin":294.65,"valid":true}.
func exec_task(arg string) string {
	r := reading{}
	k, err := strconv.ParseFloat(strings.TrimSpace(arg), 64)
	switch {
	case err != nil:
		r.Reason = "not a number"
	case k < minKelvin || k > maxKelvin:
		r.Kelvin, r.Reason = k, "outside the plausible range"
	default:
		r.Kelvin, r.Valid = k, true
	}
	out, _ := json.Marshal(r)
	return string(out)
}
