# Script tests of CLI commands against independent references.
# whale perplexity vs the float64 PyTorch reference (tools/ref), llama.cpp's windowing.
add_test(NAME cli_perplexity_check
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/cli/perplexity_check.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/perplexity_check)
set_tests_properties(cli_perplexity_check PROPERTIES TIMEOUT 120)

# CLI-level interop: llama.cpp must tokenize whale's GGUF files exactly as whale does.
add_test(NAME cli_llamacpp_tokenize
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/cli/llamacpp_tokenize.py
                 $<TARGET_FILE:whale> ${CMAKE_BINARY_DIR}/test_models/llamacpp_tokenize)
set_tests_properties(cli_llamacpp_tokenize PROPERTIES TIMEOUT 300)
