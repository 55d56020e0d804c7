#!/usr/bin/env bash
# motherduck.sh [SRC] — two things MotherDuck forbids a client (docs/motherduck.md, issue 18),
# checked on the code of src/ (SRC: the repository, default the one this script is in), comments
# left out, string literals kept (a setting in SQL text counts):
#   - no prepared statements: MotherDuck fails a SET with prepared parameters, so pg2md inlines
#     literals; no call of duckdb_prepare or duckdb_prepare_extracted_statement;
#   - saas_mode is never set (nor named at all): it stops local file access, and the staged
#     load reads its Parquet files on the client.
# One line per violation, FILE:LINE: the code, then the rule; exit 1 if there is any.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
[ -d src ] || { echo "motherduck.sh: no folder $root/src" >&2; exit 2; }

# every C/C++ file of src/, as FILE:LINE:CODE with the comments blanked out (line numbers kept;
# string and character literals kept as they are)
code_lines() {
	find src -type f \( -name '*.c' -o -name '*.h' -o -name '*.cpp' \) -print0 | sort -z |
		xargs -0 awk '
		FNR == 1 { incomment = 0 }
		{
			out = ""; s = $0; n = length(s); i = 1; q = ""
			while (i <= n) {
				c = substr(s, i, 1); c2 = substr(s, i, 2)
				if (incomment) {
					if (c2 == "*/") { incomment = 0; i += 2 } else i++
					continue
				}
				if (q != "") {
					out = out c
					if (c == "\\") { out = out substr(s, i + 1, 1); i += 2; continue }
					if (c == q) q = ""
					i++; continue
				}
				if (c2 == "/*") { incomment = 1; out = out " "; i += 2; continue }
				if (c2 == "//") break
				if (c == "\"" || c == "\047") q = c
				out = out c; i++
			}
			print FILENAME ":" FNR ":" out
		}'
}

bad=0
while IFS= read -r hit; do
	[ -n "$hit" ] || continue
	file=${hit%%:*}
	rest=${hit#*:}
	line=${rest%%:*}
	text=${rest#*:}
	if [[ ${text,,} == *saas_mode* ]]; then
		echo "$file:$line: ${text#"${text%%[![:space:]]*}"}  -- saas_mode must never be set: it stops the local file reads of the staged load (docs/motherduck.md)"
		bad=1
	fi
	if [[ $text =~ duckdb_prepare(_extracted_statement)?[[:space:]]*\( ]]; then
		echo "$file:$line: ${text#"${text%%[![:space:]]*}"}  -- no prepared statements: MotherDuck fails a prepared SET; inline literals (buf_literal)"
		bad=1
	fi
done < <(code_lines | grep -iE 'saas_mode|duckdb_prepare')
exit $bad
