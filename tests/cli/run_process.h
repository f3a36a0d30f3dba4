// Runs a child process and captures its exit status, stdout and stderr (for CLI tests).
#pragma once

#include <string>
#include <vector>

namespace whale::test {

struct ProcessResult {
  int exit_code = -1;    // -1 when killed by a signal
  int signal = 0;        // the signal that ended it, 0 if it exited
  std::string out, err;  // captured stdout / stderr
};

// argv[0] is the program path; `input` is written to its stdin.
ProcessResult run_process(const std::vector<std::string>& argv, const std::string& input = "");

// The whale binary under test (env WHALE_BIN, set by CMake).
std::string whale_bin();

}  // namespace whale::test
