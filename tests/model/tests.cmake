# Script tests of the model layer: whale's logits against the independent float64 PyTorch
# reference (tools/ref) on tiny generated checkpoints of every family, HF and GGUF, prefill and
# decode, both MLA forms, quantized types. Models are generated into the build directory.
add_test(NAME model_check_logits
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/model/check_logits.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/check_logits)
set_tests_properties(model_check_logits PROPERTIES TIMEOUT 170)
# Quantized types on the trained default model (peaked logits): q8_0 keeps >= 98% top-1.
add_test(NAME model_quant_trained
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/model/check_quant_trained.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/quant_trained)
set_tests_properties(model_quant_trained PROPERTIES TIMEOUT 170)
# deepseek2 GGUF files in the old layout (attn_kv_b whole instead of attn_k_b / attn_v_b).
add_test(NAME model_old_layout
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/model/check_old_layout.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_BINARY_DIR}/test_models/old_layout)
