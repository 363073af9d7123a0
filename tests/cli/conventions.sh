# CLI conventions every tool shares: --help/--version, usage errors, exit codes, stderr format.
source "$(dirname "$0")/lib.bash"

for tool in binlog-tail mq-pipe jsonl-to-redis jsonl-to-mongo rowpipe-lines; do
  run_capture "$tool" --help
  expect "$tool --help prints usage on stdout and exits 0" \
    test "$status" -eq 0 -a -n "$out" -a -z "$err"
  expect "$tool --help names the tool" grep -q "$tool" "$TMP/out"
  run_capture "$tool" --version
  expect "$tool --version prints '$tool (rowpipe) VERSION' and exits 0" \
    bash -c "[[ $status -eq 0 && '$out' =~ ^$tool\ \(rowpipe\)\ [^\ ]+$ ]]"
  run_capture "$tool" --no-such-option
  expect_eq "$tool rejects an unknown option with exit 64" "$status" 64
  expect "$tool reports a usage error on stderr as '$tool: error: ...' and nothing on stdout" \
    bash -c "[[ -z '$out' && '${err%%$'\n'*}' == '$tool: error: '* ]]"
  [[ $tool == rowpipe-lines ]] && continue  # a test program, not installed
  expect "the man page of $tool exists with the EXIT STATUS section" \
    grep -qE '^\.SH "?EXIT STATUS"?' "$ROOT/man/$tool.1"
done 2>/dev/null
