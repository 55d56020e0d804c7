# embed.cmake — turn a file into a C array at build time (no xxd needed):
#   cmake -DIN=src/cli/report.html -DOUT=build/report_template.c -DNAME=pg2md_report_template -P scripts/embed.cmake
# defines  const char NAME[] (the bytes and a terminating NUL) and  const size_t NAME_len.
file(READ "${IN}" hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" bytes "${bytes}")
file(WRITE "${OUT}.tmp" "/* generated from ${IN} by scripts/embed.cmake; do not edit */\n#include <stddef.h>\n"
  "const char ${NAME}[] = {\n${bytes}0x00};\nconst size_t ${NAME}_len = sizeof(${NAME}) - 1;\n")
file(RENAME "${OUT}.tmp" "${OUT}")
