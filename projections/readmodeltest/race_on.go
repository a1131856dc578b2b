//go:build race

package readmodeltest

// RaceDetector is true in a build with -race, which runs tests 5 to 10
// times slower: long randomised tests take fewer steps there, and their
// full length in the run without it (make test's PostgreSQL pass).
const RaceDetector = true
