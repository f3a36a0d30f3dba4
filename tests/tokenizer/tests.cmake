# Script-based tokenizer tests: exact comparison with Hugging Face tokenizers (npm) on the corpus.
find_program(WHALE_NODE node)
if(WHALE_NODE AND EXISTS ${CMAKE_SOURCE_DIR}/tools/npm/node_modules/tokenizers)
  add_test(NAME tokenizer_compare_hf
           COMMAND ${WHALE_NODE} ${CMAKE_SOURCE_DIR}/tests/tokenizer/compare.mjs ${CMAKE_BINARY_DIR}/whale)
  set_tests_properties(tokenizer_compare_hf PROPERTIES TIMEOUT 170)
endif()
if(WHALE_NODE AND EXISTS ${CMAKE_SOURCE_DIR}/tools/npm/node_modules/tokenizers)
  # Pre-tokenizer variants (Split behaviors, Digits, GPT-2 ByteLevel, strip flags) vs HF.
  add_test(NAME tokenizer_variants_hf
           COMMAND ${WHALE_NODE} ${CMAKE_SOURCE_DIR}/tests/tokenizer/variants.mjs ${CMAKE_BINARY_DIR}/whale)
  # 300 seeded random strings over hostile character pools vs HF.
  add_test(NAME tokenizer_random_hf
           COMMAND ${WHALE_NODE} ${CMAKE_SOURCE_DIR}/tests/tokenizer/random_compare.mjs ${CMAKE_BINARY_DIR}/whale 300 7)
  set_tests_properties(tokenizer_variants_hf tokenizer_random_hf PROPERTIES TIMEOUT 170)
endif()
if(WHALE_NODE AND EXISTS ${CMAKE_SOURCE_DIR}/tools/npm/node_modules/tokenizers)
  # NFC (Qwen's normalizer) around every decomposable / combining code point vs HF.
  add_test(NAME tokenizer_nfc_hf
           COMMAND ${WHALE_NODE} ${CMAKE_SOURCE_DIR}/tests/tokenizer/compare.mjs ${CMAKE_BINARY_DIR}/whale
                   ${CMAKE_SOURCE_DIR}/tests/data/tokenizer/nfc_corpus.jsonl)
  set_tests_properties(tokenizer_nfc_hf PROPERTIES TIMEOUT 170)
endif()
