# compare.sh — compare a table replicated into DuckDB with its PostgreSQL source, value by
# value and independently of row order.  Sourced by tests/lib/common.sh (works on its own too,
# given psql on PATH, the PG* variables of a cluster and DDBQ pointing at build/ddbq).
#
#   compare_table PGDB PGSCHEMA PGTABLE DUCKFILE DUCKSCHEMA DUCKTABLE
#       0 when both hold the same multiset of rows; 1 when they differ, with a report on stdout
#       (row counts, checksums, the first rows found on one side only); 2 when they cannot be
#       compared (a table missing, a query failed), with the reason on stdout.  Every source
#       column must exist in DuckDB (same name, or the same name lower-cased); DuckDB columns
#       named _dlt_* are ignored, any other extra column is a difference.
#
# How: every row becomes one line of canonical text, computed by SQL on each side: a
# per-type expression in PostgreSQL (pg_temp functions, created per session) and the
# corresponding one in DuckDB (TEMP macros with the same names and the same meaning), so that
# equal values give identical text and different values give different text.  Rows travel as
# COPY text format (psql COPY TO STDOUT on one side, ddbq on the other, which print the same
# escapes and \N for NULL), are sorted with LC_ALL=C and compared as multisets (comm).
#
# Canonical forms (the source type decides; NULL stays NULL = \N):
#   bool                    t / f
#   int2 int4 int8 oid      decimal text
#   float4 float8           the exact binary value as a hex float: [-]0x1.<13 hex digits>p<exp>
#                           ([-]0x0.<13 hex>p-1022 when subnormal, [-]0x0p+0 for ±0), NaN,
#                           Infinity, -Infinity; float4 widened to float8 first (exact).
#                           PostgreSQL derives it from float8send's bits, DuckDB from exact
#                           power-of-two arithmetic (log2 guess corrected, then divisions by
#                           powers of two, which are exact).  Comparing shortest decimal texts
#                           does not work: PostgreSQL's ryu sometimes prints 17 digits where
#                           DuckDB prints the 16-digit shortest form (9.999999999999999e+22 vs
#                           1e+23, same double).  NaN payloads and the sign of NaN are not
#                           compared (PostgreSQL prints every NaN as NaN).
#   numeric                 PostgreSQL's text (scale digits kept: 1.50 and 1.5 differ);
#                           DuckDB's '.5' for DECIMAL(p,p) gets its leading 0.  Held as
#                           DOUBLE (numeric_fallback = "double"; inside LISTs and STRUCTs
#                           when CMP_NUMERIC_FALLBACK=double and the typmod does not fit
#                           DECIMAL(38)): the float form of the double nearest to the value,
#                           decided exactly where PostgreSQL's cast refuses (beyond
#                           2^1024 - 2^970: ±Infinity; at most 2^-1075: ±0)
#   numeric (no typmod)     held as a measured DECIMAL: the text without the fraction's
#                           trailing zeros on both sides (a DECIMAL has one scale per column)
#   text varchar name       the text as PostgreSQL outputs it
#   bpchar                  value::text, without the pad blanks (CMP_CHAR_PADDING=keep: padded)
#   date                    days since 1970-01-01, or infinity / -infinity
#   timestamp timestamptz   microseconds since 1970-01-01 00:00 (UTC for timestamptz), or
#                           infinity / -infinity
#   time                    microseconds since midnight (24:00:00 = 86400000000)
#   timetz                  local microseconds since midnight @ UTC offset in seconds east
#   interval                <months>m<days>d<microseconds>us (fields as stored, not justified)
#   bytea                   lower-case hex of the bytes
#   uuid                    lower-case 8-4-4-4-12
#   json jsonb              PostgreSQL's text (json as written, jsonb normalised)
#   arrays                  when DuckDB holds a LIST: [e1,e2,…] with each element in its own
#                           canonical form (\ and , escaped, NULL as \N); an array of n
#                           dimensions held as n nested LISTs: [[e11,e12],[e21,e22]] (the
#                           PostgreSQL side walks generate_subscripts per dimension); when
#                           DuckDB holds text: PostgreSQL's array text
#   composites              when DuckDB holds a STRUCT: {f1,f2,…}, each field in its own
#                           canonical form (escaped, NULL as \N), recursively (arrays of
#                           composites, composites holding arrays); a NULL composite is \N,
#                           a composite whose fields are all NULL is {\N,…}
#   anything else           PostgreSQL's text output (the type's output function), compared
#                           with DuckDB's CAST(v AS VARCHAR) (VARCHAR, JSON, ENUM columns)
# Any text longer than 200 bytes is replaced by md5:<md5 of the text>:<byte length>.
# Array lower bounds other than 1 are not compared.

CMP_PG_PRELUDE=$(cat <<'SQL'
SET extra_float_digits = 1;
CREATE FUNCTION pg_temp.cmp_long(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN octet_length(t) > 200 THEN 'md5:' || md5(t) || ':' || octet_length(t)::text ELSE t END $$;
CREATE FUNCTION pg_temp.cmp_esc(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT replace(replace(t, '\', '\\'), ',', '\,') $$;
CREATE FUNCTION pg_temp.cmp_out(v anyelement) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN num_nulls(v) = 0 THEN pg_temp.cmp_long(format('%s', v)) END $$;
CREATE FUNCTION pg_temp.cmp_bool(v boolean) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v THEN 't' WHEN NOT v THEN 'f' END $$;
CREATE FUNCTION pg_temp.cmp_num(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_temp.cmp_long(CASE WHEN left(t, 1) = '.' THEN '0' || t
                               WHEN left(t, 2) = '-.' THEN '-0' || substr(t, 2) ELSE t END) $$;
CREATE FUNCTION pg_temp.cmp_numtrim(t text) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_temp.cmp_num(CASE WHEN strpos(t, '.') > 0 THEN rtrim(rtrim(t, '0'), '.') ELSE t END) $$;
CREATE FUNCTION pg_temp.cmp_f8(v float8) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v = 'NaN'::float8 THEN 'NaN' WHEN v = 'Infinity'::float8 THEN 'Infinity'
               WHEN v = '-Infinity'::float8 THEN '-Infinity'
               ELSE CASE WHEN ('x' || encode(float8send(v), 'hex'))::bit(64)::int8 < 0 THEN '-' ELSE '' END
       || CASE WHEN (('x' || encode(float8send(v), 'hex'))::bit(64)::int8 >> 52) & 2047 = 0 AND ('x' || encode(float8send(v), 'hex'))::bit(64)::int8 & 4503599627370495 = 0 THEN '0x0p+0'
               WHEN (('x' || encode(float8send(v), 'hex'))::bit(64)::int8 >> 52) & 2047 = 0 THEN '0x0.' || lpad(to_hex(('x' || encode(float8send(v), 'hex'))::bit(64)::int8 & 4503599627370495), 13, '0') || 'p-1022'
               ELSE '0x1.' || lpad(to_hex(('x' || encode(float8send(v), 'hex'))::bit(64)::int8 & 4503599627370495), 13, '0') || 'p'
                    || CASE WHEN ((('x' || encode(float8send(v), 'hex'))::bit(64)::int8 >> 52) & 2047) >= 1023 THEN '+' ELSE '' END || (((('x' || encode(float8send(v), 'hex'))::bit(64)::int8 >> 52) & 2047) - 1023)::text END
               END $$;
CREATE FUNCTION pg_temp.cmp_numf8(v numeric) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v = 'NaN'::numeric THEN 'NaN'
               WHEN v >= 2::numeric ^ 970 * (2::numeric ^ 54 - 1) THEN 'Infinity'
               WHEN v <= -(2::numeric ^ 970 * (2::numeric ^ 54 - 1)) THEN '-Infinity'
               WHEN abs(v) * 2::numeric ^ 1075 <= 1 THEN CASE WHEN v < 0 THEN '-0x0p+0' ELSE '0x0p+0' END
               ELSE pg_temp.cmp_f8(v::float8) END $$;
CREATE FUNCTION pg_temp.cmp_date(v date) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v = 'infinity'::date THEN 'infinity' WHEN v = '-infinity'::date THEN '-infinity'
               ELSE (v - DATE '1970-01-01')::text END $$;
CREATE FUNCTION pg_temp.cmp_ts(v timestamp) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v = 'infinity'::timestamp THEN 'infinity' WHEN v = '-infinity'::timestamp THEN '-infinity'
               ELSE trunc(extract(epoch FROM v) * 1000000)::text END $$;
CREATE FUNCTION pg_temp.cmp_tstz(v timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT CASE WHEN v = 'infinity'::timestamptz THEN 'infinity' WHEN v = '-infinity'::timestamptz THEN '-infinity'
               ELSE trunc(extract(epoch FROM v) * 1000000)::text END $$;
CREATE FUNCTION pg_temp.cmp_time(v time) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT trunc(extract(epoch FROM v) * 1000000)::text $$;
CREATE FUNCTION pg_temp.cmp_timetz(v timetz) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_temp.cmp_time(v::time) || '@' || trunc(extract(timezone FROM v))::text $$;
CREATE FUNCTION pg_temp.cmp_interval(v interval) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT trunc(extract(year FROM v) * 12 + extract(month FROM v))::text || 'm'
       || trunc(extract(day FROM v))::text || 'd'
       || trunc(extract(hour FROM v) * 3600000000 + extract(minute FROM v) * 60000000
                + extract(microseconds FROM v))::text || 'us' $$;
CREATE FUNCTION pg_temp.cmp_bytea(v bytea) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT pg_temp.cmp_long(encode(v, 'hex')) $$;
CREATE FUNCTION pg_temp.cmp_uuid(v uuid) RETURNS text LANGUAGE sql IMMUTABLE AS
$$ SELECT v::text $$;
SQL
)

CMP_DUCK_PRELUDE=$(cat <<'SQL'
CREATE TEMP MACRO cmp_long(t) AS CASE WHEN t IS NULL THEN NULL WHEN strlen(t) > 200
    THEN 'md5:' || md5(t) || ':' || CAST(strlen(t) AS VARCHAR) ELSE t END;
CREATE TEMP MACRO cmp_esc(t) AS replace(replace(t, '\', '\\'), ',', '\,');
CREATE TEMP MACRO cmp_out(v) AS cmp_long(CAST(v AS VARCHAR));
CREATE TEMP MACRO cmp_bool(v) AS CASE WHEN v THEN 't' WHEN NOT v THEN 'f' END;
CREATE TEMP MACRO cmp_int(v) AS CAST(v AS VARCHAR);
CREATE TEMP MACRO cmp_num(t) AS cmp_long(CASE WHEN left(t, 1) = '.' THEN '0' || t
    WHEN left(t, 2) = '-.' THEN '-0' || substr(t, 2) ELSE t END);
CREATE TEMP MACRO cmp_numtrim(t) AS cmp_num(CASE WHEN strpos(t, '.') > 0 THEN rtrim(rtrim(t, '0'), '.') ELSE t END);
CREATE TEMP MACRO cmp_f8hex(i, n) AS lpad(lower(hex(CAST(i AS BIGINT))), n, '0');
CREATE TEMP MACRO cmp_f8norm(sg, a, e) AS CASE
    WHEN e < -1022 THEN sg || '0x0.' || cmp_f8hex(a / pow(2.0, -1074), 13) || 'p-1022'
    ELSE sg || '0x1.' || cmp_f8hex((a / pow(2.0, e) - 1.0) * pow(2.0, 52), 13) || 'p'
         || CASE WHEN e >= 0 THEN '+' ELSE '' END || CAST(e AS VARCHAR) END;
CREATE TEMP MACRO cmp_f8exp(a, e0) AS e0 + CASE WHEN a / pow(2.0, e0) >= 2.0 THEN 1
    WHEN a / pow(2.0, e0) < 1.0 THEN -1 ELSE 0 END;
CREATE TEMP MACRO cmp_f8x(x) AS CASE WHEN x IS NULL THEN NULL
    WHEN isnan(x) THEN 'NaN' WHEN x = 'inf'::DOUBLE THEN 'Infinity' WHEN x = '-inf'::DOUBLE THEN '-Infinity'
    WHEN x = 0 THEN CASE WHEN left(CAST(x AS VARCHAR), 1) = '-' THEN '-0x0p+0' ELSE '0x0p+0' END
    ELSE cmp_f8norm(CASE WHEN x < 0 THEN '-' ELSE '' END, abs(x),
                    cmp_f8exp(abs(x), CAST(floor(log2(abs(x))) AS INTEGER))) END;
CREATE TEMP MACRO cmp_f8(v) AS cmp_f8x(CAST(v AS DOUBLE));
CREATE TEMP MACRO cmp_date(v) AS CASE WHEN v = 'infinity'::DATE THEN 'infinity' WHEN v = '-infinity'::DATE THEN '-infinity'
    ELSE CAST(datediff('day', DATE '1970-01-01', v) AS VARCHAR) END;
CREATE TEMP MACRO cmp_ts(v) AS CASE WHEN v = 'infinity'::TIMESTAMP THEN 'infinity' WHEN v = '-infinity'::TIMESTAMP THEN '-infinity'
    ELSE CAST(epoch_us(v) AS VARCHAR) END;
CREATE TEMP MACRO cmp_tstz(v) AS CASE WHEN v = 'infinity'::TIMESTAMPTZ THEN 'infinity' WHEN v = '-infinity'::TIMESTAMPTZ THEN '-infinity'
    ELSE CAST(epoch_us(v) AS VARCHAR) END;
CREATE TEMP MACRO cmp_time(v) AS CAST(epoch_us(CAST(v AS TIME)) AS VARCHAR);
CREATE TEMP MACRO cmp_timetz(v) AS cmp_time(CAST(v AS TIME)) || '@' || CAST(extract('timezone' FROM v) AS VARCHAR);
CREATE TEMP MACRO cmp_interval(v) AS
    CAST(CAST(extract('year' FROM v) AS HUGEINT) * 12 + extract('month' FROM v) AS VARCHAR) || 'm'
    || CAST(extract('day' FROM v) AS VARCHAR) || 'd'
    || CAST(CAST(extract('hour' FROM v) AS HUGEINT) * 3600000000 + CAST(extract('minute' FROM v) AS HUGEINT) * 60000000
            + extract('microsecond' FROM v) AS VARCHAR) || 'us';
CREATE TEMP MACRO cmp_bytea(v) AS cmp_long(lower(hex(v)));
CREATE TEMP MACRO cmp_uuid(v) AS lower(CAST(v AS VARCHAR));
SQL
)

# cmp_kind PGTYPNAME TYPTYPE → the canonical-form family of a PostgreSQL base type
cmp_kind() {
	case $1 in
	bool) echo bool ;;
	int2 | int4 | int8 | oid) echo int ;;
	float4 | float8) echo f8 ;;
	numeric) echo num ;;
	bpchar) if [ "${CMP_CHAR_PADDING:-trim}" = keep ]; then echo out; else echo bpc; fi ;;
	text | varchar | name | json | jsonb) echo out ;;
	date) echo date ;;
	timestamp) echo ts ;;
	timestamptz) echo tstz ;;
	time) echo time ;;
	timetz) echo timetz ;;
	interval) echo interval ;;
	bytea) echo bytea ;;
	uuid) echo uuid ;;
	*) echo out ;;
	esac
}

# cmp_pg_expr PGTYPNAME SQLEXPR → PostgreSQL SQL computing the canonical text of SQLEXPR
cmp_pg_expr() {
	local k
	k=$(cmp_kind "$1")
	case $k in
	int) echo "($2)::text" ;;
	num) echo "pg_temp.cmp_num(($2)::text)" ;;
	out) echo "pg_temp.cmp_out($2)" ;;
	bpc) echo "pg_temp.cmp_out(($2)::text)" ;;
	*) echo "pg_temp.cmp_$k($2)" ;;
	esac
}

# cmp_duck_expr PGTYPNAME DUCKTYPE SQLEXPR → DuckDB SQL computing the canonical text of
# SQLEXPR (a DuckDB value of type DUCKTYPE replicated from a PostgreSQL PGTYPNAME)
cmp_duck_expr() {
	local k
	k=$(cmp_kind "$1")
	case $k in
	num) echo "cmp_num(CAST(($3) AS VARCHAR))" ;;
	bpc) echo "cmp_out($3)" ;;
	*) echo "cmp_$k($3)" ;;
	esac
}

# cmp_qi NAME → a double-quoted SQL identifier (same rules in PostgreSQL and DuckDB)
cmp_qi() {
	printf '"%s"' "${1//\"/\"\"}"
}

# cmp_ql TEXT → a single-quoted SQL literal
cmp_ql() {
	printf "'%s'" "${1//\'/\'\'}"
}

cmp_psql() {
	PGOPTIONS="${PGOPTIONS:-} -c extra_float_digits=1" psql -X -q -v ON_ERROR_STOP=1 "$@"
}

cmp_ddbq() {
	"${DDBQ:?DDBQ must point at the ddbq tool}" "$@"
}

# cmp_nested PGDB TYPOID NDIM PGEXPR DUCKEXPR DEPTH [TYPMOD] → sets CMP_PE and CMP_DE, the
# canonical text of a value of PostgreSQL type TYPOID (domains resolved) held by DuckDB as LISTs
# (NDIM of them for an array; 0 means 1), a STRUCT, or a scalar; TYPMOD (an array's is its
# element's) tells numerics that fit DECIMAL from the others
cmp_nested() {
	local db=$1 oid=$2 ndim=$3 pe=$4 de=$5 depth=$6 typmod=${7:--1}
	local info tname ttype tcat telem trel tlen dtm
	info=$(cmp_psql -d "$db" -At -F $'\t' -c "WITH RECURSIVE d AS (
	    SELECT oid, typbasetype, typtype, 0 AS depth FROM pg_type WHERE oid = $oid
	  UNION ALL
	    SELECT t.oid, t.typbasetype, t.typtype, d.depth + 1 FROM d JOIN pg_type t ON t.oid = d.typbasetype
	    WHERE d.typtype = 'd')
	  SELECT t.typname, t.typtype, t.typcategory, t.typelem, t.typrelid, t.typlen,
	    coalesce((SELECT t2.typtypmod FROM d d2 JOIN pg_type t2 ON t2.oid = d2.oid WHERE t2.typtypmod >= 0
	              ORDER BY d2.depth LIMIT 1), -1)
	  FROM d JOIN pg_type t ON t.oid = d.oid ORDER BY d.depth DESC LIMIT 1") || return 1
	IFS=$'\t' read -r tname ttype tcat telem trel tlen dtm <<<"$info"
	[ "${dtm:--1}" -ge 0 ] && typmod=$dtm
	if [ "$tcat" = A ] && [ "$telem" != 0 ] && [ "$tlen" = -1 ]; then
		[ "$ndim" -gt 0 ] 2>/dev/null || ndim=1
		local k subs="" pv dv ppart dpart
		for ((k = 1; k <= ndim; k++)); do subs+="[s${depth}_$k]"; done
		cmp_nested "$db" "$telem" 0 "($pe)$subs" "x${depth}_$ndim" $((depth + 1)) "$typmod" || return 1
		ppart="coalesce(pg_temp.cmp_esc($CMP_PE), '\\N')"
		dpart="coalesce(cmp_esc($CMP_DE), '\\N')"
		for ((k = ndim; k >= 1; k--)); do
			ppart="'[' || coalesce((SELECT string_agg($ppart, ',' ORDER BY s${depth}_$k) FROM generate_subscripts($pe, $k) AS s${depth}_$k), '') || ']'"
			if [ "$k" = 1 ]; then dv=$de; else dv="x${depth}_$((k - 1))"; fi
			dpart="'[' || coalesce(array_to_string(list_transform($dv, lambda x${depth}_$k: $dpart), ','), '') || ']'"
		done
		CMP_PE="CASE WHEN num_nulls($pe) = 1 THEN NULL ELSE $ppart END"
		CMP_DE="CASE WHEN ($de) IS NULL THEN NULL ELSE $dpart END"
	elif [ "$ttype" = c ]; then
		local fields fname ftyp fdims pl="" dl="" sep=""
		local ftm
		fields=$(cmp_psql -d "$db" -At -F $'\t' -c "SELECT attname, atttypid, attndims, atttypmod FROM pg_attribute
		    WHERE attrelid = $trel AND attnum > 0 AND NOT attisdropped ORDER BY attnum") || return 1
		while IFS=$'\t' read -r fname ftyp fdims ftm; do
			[ -n "$fname" ] || continue
			cmp_nested "$db" "$ftyp" "$fdims" "($pe).$(cmp_qi "$fname")" "struct_extract($de, $(cmp_ql "$fname"))" $((depth + 1)) "$ftm" || return 1
			pl+="$sep coalesce(pg_temp.cmp_esc($CMP_PE), '\\N')"
			dl+="$sep coalesce(cmp_esc($CMP_DE), '\\N')"
			sep=" || ',' ||"
		done <<<"$fields"
		CMP_PE="CASE WHEN num_nulls($pe) = 1 THEN NULL ELSE '{' ||$pl || '}' END"
		CMP_DE="CASE WHEN ($de) IS NULL THEN NULL ELSE '{' ||$dl || '}' END"
	elif [ "$tname" = numeric ] && [ "${CMP_NUMERIC_FALLBACK:-varchar}" = double ] && ! cmp_fits_decimal "$typmod"; then
		CMP_PE="pg_temp.cmp_numf8($pe)"
		CMP_DE="cmp_f8($de)"
	else
		CMP_PE=$(cmp_pg_expr "$tname" "$pe")
		CMP_DE=$(cmp_duck_expr "$tname" "" "$de")
	fi
}

# cmp_fits_decimal TYPMOD — a numeric typmod that pg2md holds as DECIMAL(p,s): 1 <= p <= 38, 0 <= s <= p
cmp_fits_decimal() {
	local tm=$1 p s
	[ "$tm" -ge 4 ] 2>/dev/null || return 1
	tm=$((tm - 4))
	p=$(((tm >> 16) & 65535))
	s=$((((tm & 2047) ^ 1024) - 1024))
	[ "$p" -ge 1 ] && [ "$p" -le 38 ] && [ "$s" -ge 0 ] && [ "$s" -le "$p" ]
}

# compare_table PGDB PGSCHEMA PGTABLE DUCKFILE DUCKSCHEMA DUCKTABLE (see top of file)
compare_table() {
	local pgdb=$1 ps=$2 pt=$3 dfile=$4 ds=$5 dt=$6
	local work rc=0
	work=$(mktemp -d "${TMPDIR:-/tmp}/pg2md-cmp.XXXXXX") || return 2

	# source columns with their base types (domains resolved, arrays with their element)
	local catalog
	catalog=$(cmp_psql -d "$pgdb" -At -F $'\t' <<SQL
WITH RECURSIVE base(attnum, attname, t, elem, orig, tm) AS (
    SELECT a.attnum, a.attname, a.atttypid, 0::oid, a.atttypid, a.atttypmod FROM pg_attribute a
    WHERE a.attrelid = (quote_ident($(cmp_ql "$ps")) || '.' || quote_ident($(cmp_ql "$pt")))::regclass
      AND a.attnum > 0 AND NOT a.attisdropped
  UNION ALL
    SELECT b.attnum, b.attname, ty.typbasetype, 0::oid, b.orig, CASE WHEN ty.typtypmod >= 0 THEN ty.typtypmod ELSE b.tm END
    FROM base b JOIN pg_type ty ON ty.oid = b.t
    WHERE ty.typtype = 'd'
)
SELECT b.attname, ty.typname, ty.typcategory, b.t, ty.typtype, b.tm,
       coalesce((SELECT CASE WHEN et.typtype = 'd' THEN bt.typname ELSE et.typname END
                 FROM pg_type et LEFT JOIN pg_type bt ON bt.oid = et.typbasetype
                 WHERE et.oid = ty.typelem AND ty.typcategory = 'A'), '')
FROM base b JOIN pg_type ty ON ty.oid = b.t
WHERE ty.typtype <> 'd'
ORDER BY b.attnum
SQL
	) || { echo "compare: cannot read the columns of $ps.$pt in database $pgdb"; rm -rf "$work"; return 2; }
	[ -n "$catalog" ] || { echo "compare: $ps.$pt has no columns"; rm -rf "$work"; return 2; }

	# destination columns and types
	local dcols
	dcols=$(cmp_ddbq "$dfile" "SELECT column_name, data_type FROM information_schema.columns
		WHERE table_schema = $(cmp_ql "$ds") AND table_name = $(cmp_ql "$dt") ORDER BY ordinal_position" 2>"$work/err") || {
		echo "compare: cannot read the columns of $ds.$dt in $dfile: $(cat "$work/err")"; rm -rf "$work"; return 2; }
	[ -n "$dcols" ] || { echo "compare: table $ds.$dt not found in $dfile"; rm -rf "$work"; return 2; }

	local pg_sel="" dk_sel="" name name_d typ cat elem dname dtype found sep="" matched=$'\n'
	local toid ttype tmod
	while IFS=$'\t' read -r name typ cat toid ttype tmod elem; do
		found=""
		while IFS=$'\t' read -r dname dtype; do
			if [ "$dname" = "$name" ]; then found=$dtype; break; fi
		done <<<"$dcols"
		if [ -z "$found" ]; then
			local lname=${name,,}
			while IFS=$'\t' read -r dname dtype; do
				if [ "$dname" = "$lname" ]; then found=$dtype; name_d=$dname; break; fi
			done <<<"$dcols"
			[ -n "$found" ] || { echo "compare: column \"$name\" of $ps.$pt is missing from $ds.$dt"; rc=1; continue; }
		else
			name_d=$name
		fi
		local pcol dcol pe de
		pcol=$(cmp_qi "$name")
		dcol=$(cmp_qi "$name_d")
		matched+="$name_d"$'\n'
		if { [ "$cat" = "A" ] && [ -n "$elem" ] && [[ "$found" == *"[]" ]]; } ||
			{ [ "$ttype" = "c" ] && [[ "$found" == STRUCT\(* ]]; }; then
			# PostgreSQL array held as DuckDB LISTs (one per dimension: the trailing [] of its
			# type) or composite held as a STRUCT: compare element by element, field by field
			local dims=0 ft=$found
			while [[ "$ft" == *"[]" ]]; do dims=$((dims + 1)); ft=${ft%\[\]}; done
			cmp_nested "$pgdb" "$toid" "$dims" "$pcol" "$dcol" 1 "$tmod" ||
				{ echo "compare: cannot read the type of column \"$name\" of $ps.$pt"; rm -rf "$work"; return 2; }
			pe=$CMP_PE
			de=$CMP_DE
		elif [ "$typ" = numeric ] && [ "$found" = DOUBLE ]; then
			pe="pg_temp.cmp_numf8($pcol)"
			de="cmp_f8($dcol)"
		elif [ "$typ" = numeric ] && [ "${tmod:--1}" -lt 0 ] && [[ "$found" == DECIMAL* ]]; then
			# a plain numeric held as a measured DECIMAL: the value, not each value's own scale
			pe="pg_temp.cmp_numtrim(($pcol)::text)"
			de="cmp_numtrim(CAST($dcol AS VARCHAR))"
		else
			pe=$(cmp_pg_expr "$typ" "$pcol")
			de=$(cmp_duck_expr "$typ" "$found" "$dcol")
		fi
		pg_sel+="$sep$pe"
		dk_sel+="$sep$de"
		sep=", "
	done <<<"$catalog"
	while IFS=$'\t' read -r dname dtype; do
		case $dname in _dlt_*) continue ;; esac
		if [[ "$matched" != *$'\n'"$dname"$'\n'* ]]; then
			echo "compare: column \"$dname\" of $ds.$dt has no source column in $ps.$pt"
			rc=1
		fi
	done <<<"$dcols"
	if [ $rc -ne 0 ]; then rm -rf "$work"; return 1; fi

	local pq dq
	pq="COPY (SELECT $pg_sel FROM $(cmp_qi "$ps").$(cmp_qi "$pt")) TO STDOUT"
	dq="SELECT $dk_sel FROM $(cmp_qi "$ds").$(cmp_qi "$dt")"
	printf '%s\n%s;\n' "$CMP_PG_PRELUDE" "$pq" >"$work/pg.sql"
	printf '%s\n' "$dq" >"$work/duck.sql"

	if ! cmp_psql -d "$pgdb" -f "$work/pg.sql" >"$work/pg.txt" 2>"$work/pg.err"; then
		echo "compare: reading $ps.$pt from PostgreSQL failed: $(head -c 2000 "$work/pg.err")"
		rm -rf "$work"; return 2
	fi
	if ! cmp_ddbq "$dfile" "$CMP_DUCK_PRELUDE" - <"$work/duck.sql" >"$work/dk.txt" 2>"$work/dk.err"; then
		echo "compare: reading $ds.$dt from DuckDB failed: $(head -c 2000 "$work/dk.err")"
		echo "compare: query was: $(head -c 2000 "$work/duck.sql")"
		rm -rf "$work"; return 2
	fi
	LC_ALL=C sort "$work/pg.txt" >"$work/pg.sorted"
	LC_ALL=C sort "$work/dk.txt" >"$work/dk.sorted"

	local np nd
	np=$(wc -l <"$work/pg.sorted")
	nd=$(wc -l <"$work/dk.sorted")
	if cmp -s "$work/pg.sorted" "$work/dk.sorted"; then
		CMP_LAST_ROWS=$np
		CMP_LAST_MD5=$(md5sum <"$work/pg.sorted" | cut -d' ' -f1)
		[ -n "${CMP_KEEP:-}" ] && cp "$work/pg.sorted" "$CMP_KEEP"
		rm -rf "$work"
		return 0
	fi
	echo "compare: $ps.$pt (PostgreSQL) and $ds.$dt (DuckDB $dfile) differ"
	echo "  rows: $np in PostgreSQL, $nd in DuckDB"
	echo "  md5 of sorted canonical rows: $(md5sum <"$work/pg.sorted" | cut -d' ' -f1) vs $(md5sum <"$work/dk.sorted" | cut -d' ' -f1)"
	echo "  columns: $(cut -f1 <<<"$catalog" | paste -sd, -)"
	local only_pg only_dk
	only_pg=$(LC_ALL=C comm -23 "$work/pg.sorted" "$work/dk.sorted" | wc -l)
	only_dk=$(LC_ALL=C comm -13 "$work/pg.sorted" "$work/dk.sorted" | wc -l)
	echo "  $only_pg row(s) only in PostgreSQL, $only_dk row(s) only in DuckDB; first ones:"
	LC_ALL=C comm -23 "$work/pg.sorted" "$work/dk.sorted" | head -n "${CMP_SHOW:-5}" | cut -c1-400 | sed 's/^/    PG  < /'
	LC_ALL=C comm -13 "$work/pg.sorted" "$work/dk.sorted" | head -n "${CMP_SHOW:-5}" | cut -c1-400 | sed 's/^/    DDB > /'
	rm -rf "$work"
	return 1
}
