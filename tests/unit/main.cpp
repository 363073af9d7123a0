// The one Catch2 main for all unit tests (Catch2 v2 takes ~9 s per including file: keep few test files).
#define CATCH_CONFIG_MAIN
#include <catch2/catch.hpp>
