# make install puts the four tools and every man page under PREFIX, and the pages render.
source "$(dirname "$0")/lib.bash"

make --no-print-directory -C "$ROOT" install PREFIX="$TMP/prefix" >"$TMP/log" 2>&1
expect_eq "make install PREFIX=... succeeds" "$?" 0
for tool in binlog-tail mq-pipe jsonl-to-redis jsonl-to-mongo; do
  expect "$tool is installed in PREFIX/bin and runs" bash -c "'$TMP/prefix/bin/$tool' --version >/dev/null"
  expect "$tool(1) is installed and renders" \
    bash -c "MANWIDTH=80 man -l '$TMP/prefix/share/man/man1/$tool.1' 2>/dev/null | grep -q '^NAME' || groff -man -Tutf8 '$TMP/prefix/share/man/man1/$tool.1' | grep -q 'NAME'"
done
for page in rowpipe-events rowpipe-checkpoint; do
  expect "$page(5) is installed" test -s "$TMP/prefix/share/man/man5/$page.5"
done
make --no-print-directory -C "$ROOT" uninstall PREFIX="$TMP/prefix" >"$TMP/log" 2>&1
expect_eq "make uninstall removes what install put there" "$(find "$TMP/prefix" -type f | wc -l)" 0
