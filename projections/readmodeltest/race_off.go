//go:build !race

package readmodeltest

// RaceDetector is true in a build with -race (see race_on.go).
const RaceDetector = false
