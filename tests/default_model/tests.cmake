# The built-in default model (models/whale-kjv-tiny*, trained by tools/train): whale against the
# trainer's PyTorch model (perplexity on a held-out book, greedy continuations, a chat answer),
# and the committed PyTorch numbers against the committed checkpoint. CI never retrains.
add_test(NAME default_model_whale
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/default_model/check_default_model.py
                 $<TARGET_FILE:whale>)
add_test(NAME default_model_pytorch
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/default_model/check_pytorch_expected.py)
set_tests_properties(default_model_whale default_model_pytorch PROPERTIES TIMEOUT 170)
