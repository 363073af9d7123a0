# MariaDB and Redis through the real C client libraries (Connector/C, hiredis) via lib/clients/.
# services: mariadb redis
# budget: 120
"${ROWPIPE_TEST_BIN:-build/tests}/client-smoke"
