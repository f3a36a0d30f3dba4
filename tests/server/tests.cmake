# whale serve against the official openai npm client (node's test runner).
add_test(NAME server_openai_client
         COMMAND node --test ${CMAKE_SOURCE_DIR}/tests/server/openai_client.test.mjs)
set_tests_properties(server_openai_client PROPERTIES TIMEOUT 180
  ENVIRONMENT "WHALE_BIN=${CMAKE_BINARY_DIR}/whale;WHALE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
# Faults: slow senders, garbage, idle connections, dropped streams, kill -9 under keyed load.
add_test(NAME server_faults COMMAND node --test ${CMAKE_SOURCE_DIR}/tests/server/faults.test.mjs)
set_tests_properties(server_faults PROPERTIES TIMEOUT 180
  ENVIRONMENT "WHALE_BIN=${CMAKE_BINARY_DIR}/whale;WHALE_SOURCE_DIR=${CMAKE_SOURCE_DIR}")
