# Script tests of the formats layer (HF checkpoints -> GGUF). Models are generated into the
# build directory at test time, never committed.
find_program(WHALE_NODE node)
set(WHALE_PYTHON /usr/bin/python3)  # Debian python with numpy (the pyenv one lacks it)

add_test(NAME formats_convert_check
         COMMAND ${WHALE_PYTHON} ${CMAKE_SOURCE_DIR}/tests/formats/convert_check.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/convert_check)
set_tests_properties(formats_convert_check PROPERTIES TIMEOUT 170)

if(WHALE_NODE)
  add_test(NAME formats_llamacpp_interop
           COMMAND ${WHALE_PYTHON} ${CMAKE_SOURCE_DIR}/tests/formats/llamacpp_interop.py
                   ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/llamacpp_interop)
  set_tests_properties(formats_llamacpp_interop PROPERTIES TIMEOUT 170)
endif()
