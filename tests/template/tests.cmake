# Byte-for-byte comparison of `whale template` with Python jinja2 configured as transformers
# does, over every committed template x conversation x generation prompt on/off.
add_test(NAME template_compare_jinja2
         COMMAND /usr/bin/python3 ${CMAKE_SOURCE_DIR}/tests/template/compare.py
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_SOURCE_DIR})
# Second opinion from @huggingface/jinja (informational: prints where it differs from whale;
# its own departures from Python jinja2 are listed in tests/data/templates/README.md).
add_test(NAME template_second_opinion_hf_jinja
         COMMAND node ${CMAKE_SOURCE_DIR}/tests/template/hf_jinja_second_opinion.mjs
                 ${CMAKE_BINARY_DIR}/whale ${CMAKE_SOURCE_DIR})
