# Script-based tokenizer tests: exact comparison with Hugging Face tokenizers (npm) on the corpus.
find_program(WHALE_NODE node)
if(WHALE_NODE AND EXISTS ${CMAKE_SOURCE_DIR}/tools/npm/node_modules/tokenizers)
  add_test(NAME tokenizer_compare_hf
           COMMAND ${WHALE_NODE} ${CMAKE_SOURCE_DIR}/tests/tokenizer/compare.mjs ${CMAKE_BINARY_DIR}/whale)
  set_tests_properties(tokenizer_compare_hf PROPERTIES TIMEOUT 170)
endif()
