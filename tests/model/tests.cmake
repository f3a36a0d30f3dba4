# Script tests of the model layer: whale's logits against the independent float64 PyTorch
# reference (tools/ref) on tiny generated checkpoints of every family, HF and GGUF, prefill and
# decode, both MLA forms, quantized types. Models are generated into the build directory.
add_test(NAME model_check_logits
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/model/check_logits.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/check_logits)
set_tests_properties(model_check_logits PROPERTIES TIMEOUT 170)
