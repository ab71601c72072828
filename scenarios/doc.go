// Package scenarios holds pyhang's end-to-end tests: each runs a program from testprogs/
// under every interpreter testinterp finds, waits until it has reached its hang, runs the
// pyhang binary (built once by TestMain) on the live process and on its cores, and checks
// the output against what the program recorded about itself in its ready file.
//
// The package has no code of its own; everything is in _test.go files. Useful knobs:
//
//	PYHANG_PYTHONS=3.12,pyenv-3.8.18   run against a few interpreters only
//	PYHANG_BIN=FILE                   test that pyhang binary instead of building cmd/pyhang
//	go test -run TestDump/pyenv-3.12.1/gcore -v ./scenarios/
//	go test -run 'TestTalkExamples/job-queue/pyenv-3.12.1' -v ./scenarios/
//	go test -run '^$' -bench . ./scenarios/
package scenarios
