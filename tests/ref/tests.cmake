# The independent PyTorch reference (tools/ref) checks itself, and is checked against llama.cpp.
add_test(NAME ref_selftest COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/ref/test_reference.py)
add_test(NAME ref_vs_llamacpp COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/ref/crosscheck_llamacpp.py $<TARGET_FILE:whale>)
# llama.cpp's greedy continuation (32 tokens after a 64-token prompt) is whale's, token for token.
add_test(NAME ref_greedy_vs_llamacpp COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/ref/greedy_vs_llamacpp.py $<TARGET_FILE:whale> ${CMAKE_BINARY_DIR}/test_models/greedy_vs_llamacpp)
