package main

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// Every numeric flag is registered through one of the functions below with
// the range of values it accepts. The range is said in the flag's help, and
// a value outside it is refused while the command line is parsed, before
// anything runs: a usage error (exit 2) that names the flag, the value and
// the range. TestEveryNumericFlagSaysItsRange finds a numeric flag
// registered any other way.

// rangeError is a numeric flag's value outside its range, or no number.
type rangeError struct {
	flag, value string
	why         string // "is out of range", "is not a whole number" ...
	want        string // the range, as the help says it
}

func (e *rangeError) Error() string {
	return fmt.Sprintf("--%s %s %s: use %s", e.flag, e.value, e.why, e.want)
}

// flagValueError turns a numeric flag's refusal into the usage error the
// command prints; ok is false for every other flag error.
func flagValueError(err error) (usage error, ok bool) {
	var re *rangeError
	if errors.As(err, &re) {
		return usageError(re), true
	}
	return nil, false
}

// intFlag is an int flag that accepts min to max, and the special values
// also (each with a meaning its help documents).
type intFlag struct {
	p        *int
	name     string
	min, max int
	also     []int
	text     string
}

func (v *intFlag) String() string    { return strconv.Itoa(*v.p) }
func (v *intFlag) Type() string      { return "int" }
func (v *intFlag) rangeText() string { return v.text }

func (v *intFlag) Set(s string) error {
	n, err := strconv.ParseInt(s, 0, strconv.IntSize)
	if err != nil {
		return &rangeError{flag: v.name, value: strconv.Quote(s), why: "is not a whole number", want: v.text}
	}
	i := int(n)
	ok := i >= v.min && i <= v.max
	for _, a := range v.also {
		ok = ok || i == a
	}
	if !ok {
		return &rangeError{flag: v.name, value: s, why: "is out of range", want: v.text}
	}
	*v.p = i
	return nil
}

// rangedInt registers an int flag that accepts min to max.
func rangedInt(cmd *cobra.Command, p *int, name string, def, min, max int, usage string) {
	text := fmt.Sprintf("%d to %d", min, max)
	*p = def
	cmd.Flags().Var(&intFlag{p: p, name: name, min: min, max: max, text: text}, name, withRange(usage, text))
}

// withRange puts the range into a flag's help: in place of {range}, or at
// the end.
func withRange(usage, text string) string {
	if strings.Contains(usage, "{range}") {
		return strings.Replace(usage, "{range}", text, 1)
	}
	return usage + ", " + text
}

// countOrUnlimited registers an int flag that takes a count from 0, or -1
// for no limit.
func countOrUnlimited(cmd *cobra.Command, p *int, name string, def int, usage string) {
	const text = "0 or more, or -1 for no limit"
	*p = def
	cmd.Flags().Var(&intFlag{p: p, name: name, min: 0, max: math.MaxInt, also: []int{-1}, text: text}, name, withRange(usage, text))
}

// uint64Flag is a uint64 flag; every value parses, so only a value that is
// not a whole number from 0 is refused.
type uint64Flag struct {
	p    *uint64
	name string
}

const uint64Text = "0 to 18446744073709551615"

func (v *uint64Flag) String() string    { return strconv.FormatUint(*v.p, 10) }
func (v *uint64Flag) Type() string      { return "uint64" }
func (v *uint64Flag) rangeText() string { return uint64Text }

func (v *uint64Flag) Set(s string) error {
	n, err := strconv.ParseUint(s, 0, 64)
	if err != nil {
		return &rangeError{flag: v.name, value: strconv.Quote(s), why: "is not a whole number", want: uint64Text}
	}
	*v.p = n
	return nil
}

func rangedUint64(cmd *cobra.Command, p *uint64, name string, def uint64, usage string) {
	*p = def
	cmd.Flags().Var(&uint64Flag{p: p, name: name}, name, withRange(usage, uint64Text))
}

// floatFlag is a float64 flag that accepts min to max; NaN and the
// infinities are out of every range.
type floatFlag struct {
	p        *float64
	name     string
	min, max float64
	text     string
}

func (v *floatFlag) String() string    { return strconv.FormatFloat(*v.p, 'g', -1, 64) }
func (v *floatFlag) Type() string      { return "float64" }
func (v *floatFlag) rangeText() string { return v.text }

func (v *floatFlag) Set(s string) error {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return &rangeError{flag: v.name, value: strconv.Quote(s), why: "is not a number", want: v.text}
	}
	if !(f >= v.min && f <= v.max) { // false for NaN
		return &rangeError{flag: v.name, value: s, why: "is out of range", want: v.text}
	}
	*v.p = f
	return nil
}

func rangedFloat(cmd *cobra.Command, p *float64, name string, def, min, max float64, usage string) {
	text := fmt.Sprintf("%g to %g", min, max)
	*p = def
	cmd.Flags().Var(&floatFlag{p: p, name: name, min: min, max: max, text: text}, name, withRange(usage, text))
}

// durationFlag is a time.Duration flag that accepts min to max.
type durationFlag struct {
	p        *time.Duration
	name     string
	min, max time.Duration
	text     string
}

func (v *durationFlag) String() string {
	if *v.p == 0 {
		return "0" // so that the help shows no "(default 0s)"
	}
	return v.p.String()
}
func (v *durationFlag) Type() string      { return "duration" }
func (v *durationFlag) rangeText() string { return v.text }

func (v *durationFlag) Set(s string) error {
	d, err := time.ParseDuration(s)
	if err != nil {
		return &rangeError{flag: v.name, value: strconv.Quote(s), why: "is not a duration", want: v.text}
	}
	if d < v.min || d > v.max {
		return &rangeError{flag: v.name, value: s, why: "is out of range", want: v.text}
	}
	*v.p = d
	return nil
}

func rangedDuration(cmd *cobra.Command, p *time.Duration, name string, def, min, max time.Duration, usage string) {
	text := fmt.Sprintf("%s to %s", durationText(min), durationText(max))
	*p = def
	cmd.Flags().Var(&durationFlag{p: p, name: name, min: min, max: max, text: text}, name, withRange(usage, text))
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	return d.String()
}
