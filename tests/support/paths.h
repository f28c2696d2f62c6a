#pragma once

#include <string>

namespace cdc::test {

// The folders of this build, defined in test_environment.cc: the one unit of the tests compiled
// with their paths, so that a test's own code holds none and ccache finds it compiled in another
// clone of the same sources (CI's fresh clones).
// The repository's root (scripts/, deploy/, k8s/ …).
const std::string& sourceDir();
// The build tree (its `cdc`).
const std::string& binaryDir();
// tests/fixtures.
const std::string& fixturesDir();

}  // namespace cdc::test
