# Prints what each failed test logged. With -v, the lines of parallel subtests are
# streamed under "=== RUN/CONT/NAME TEST" headers, far from the "--- FAIL: TEST"
# summary line, so grepping around that line shows no reason. Run it with the log
# twice: the first pass collects the failed tests, the second prints their lines.
FNR == NR {
	if (match($0, /--- FAIL: [^ ]+/)) failed[substr($0, RSTART + 10, RLENGTH - 10)] = 1
	next
}
/^=== (RUN|CONT|NAME|PAUSE) / { cur = $3; next }
/^( *--- |FAIL|ok|PASS)/ { cur = ""; next }
cur in failed {
	if (cur != last) { print "=== " cur; last = cur }
	print
}
