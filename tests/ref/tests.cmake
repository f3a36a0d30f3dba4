# The independent PyTorch reference (tools/ref) checks itself, and is checked against llama.cpp.
add_test(NAME ref_selftest COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/ref/test_reference.py)
add_test(NAME ref_vs_llamacpp COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/ref/crosscheck_llamacpp.py $<TARGET_FILE:whale>)
