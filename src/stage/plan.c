/* plan.c — cutting tables into page-range tasks (see plan.h). */
#include "stage/plan.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

void
plan_column(pg2md_buf *b, const pg2md_column *c)
{
	if (schema_column_synthetic(c)) {
		/* not at the source: the statement reading the scan writes the load id or row id */
		buf_puts(b, "NULL::pg_catalog.text");
	} else if (c->src_expr) {
		/* a data_type override: the server casts (source/colhints.h) */
		buf_puts(b, c->src_expr);
	} else if (c->as_text) {
		/* The output function, not a cast: inet::text adds a netmask that inet's output has not.
		 * An array's (array_out: each element through its own output function) is parsed
		 * back as text[], dimensions and NULLs kept; one whose elements are not separated
		 * by commas (box, geometry) is cast element by element, as text[] could not split it. */
		if (c->text_array_cast) {
			buf_ident(b, c->name);
			buf_puts(b, "::pg_catalog.text[]");
		} else {
			buf_printf(b, "pg_catalog.textin(%s(", c->text_out);
			buf_ident(b, c->name);
			buf_puts(b, c->dec == DEC_LIST ? "))::pg_catalog.text[]" : "))");
		}
	} else {
		buf_ident(b, c->name);
	}
}

char *
plan_copy_sql(const pg2md_table *t, int leaf, int64_t lo, int64_t hi, const char *filter)
{
	/* plain tables only (leaf_pages is -1 for views, materialized views and foreign tables) */
	bool where = false, plain = lo < 0 && !(filter && *filter) && t->relkind != 'v' && t->leaf_pages[leaf] >= 0;
	pg2md_buf b = PG2MD_BUF_INIT;

	for (int i = 0; i < t->ncols; i++)
		if (t->cols[i].as_text || t->cols[i].src_expr || schema_column_synthetic(&t->cols[i]))
			plain = false;
	if (plain && t->ncols > 0) {
		/* A whole table with nothing to compute: COPY reads it without an executor plan. */
		buf_printf(&b, "COPY %s (", t->leaf_names[leaf]);
		for (int i = 0; i < t->ncols; i++) {
			if (i)
				buf_puts(&b, ", ");
			buf_ident(&b, t->cols[i].name);
		}
		buf_puts(&b, ") TO STDOUT (FORMAT binary)");
		return buf_detach(&b);
	}
	buf_puts(&b, "COPY (SELECT ");
	for (int i = 0; i < t->ncols; i++) {
		if (i)
			buf_puts(&b, ", ");
		plan_column(&b, &t->cols[i]);
	}
	/* a query table's leaf is the query as a subquery (source/query.h) */
	buf_printf(&b, " FROM %s%s", t->relkind == 'v' || t->relkind == 'q' ? "" : "ONLY ", t->leaf_names[leaf]);
	if (lo >= 0) {
		buf_printf(&b, " WHERE ctid >= '(%lld,0)'::tid", (long long)lo);
		if (hi >= 0)
			buf_printf(&b, " AND ctid < '(%lld,0)'::tid", (long long)hi);
		where = true;
	}
	if (filter && *filter)
		buf_printf(&b, " %s %s", where ? "AND" : "WHERE", filter);
	if (t->order_by)
		buf_printf(&b, " %s", t->order_by);
	buf_puts(&b, ") TO STDOUT (FORMAT binary)");
	return buf_detach(&b);
}

static int64_t
task_pages(const pg2md_task *t, int64_t pages_per_task)
{
	if (t->table->relkind == 'q')
		return INT64_MAX; /* a query cannot be split and its size is unknown: it starts first */
	if (t->page_lo < 0)
		return t->table->leaf_pages[t->leaf];
	if (t->page_hi < 0)
		return t->table->leaf_pages[t->leaf] - t->page_lo;
	(void)pages_per_task;
	return t->page_hi - t->page_lo;
}

static int
task_cmp(const void *a, const void *b)
{
	const pg2md_task *x = a, *y = b;
	int64_t px = task_pages(x, 0), py = task_pages(y, 0);
	if (px != py)
		return px > py ? -1 : 1;
	return x->id - y->id;
}

int
plan_tasks(pg2md_table *tables, int ntables, const char *const *filters, int64_t pages_per_task, pg2md_task **out)
{
	int cap = 16, n = 0;
	pg2md_task *tasks = xcalloc((size_t)cap, sizeof(pg2md_task));

	*out = NULL;
	if (!tasks)
		return -1;
	if (pages_per_task < 1)
		pages_per_task = PAGES_PER_TASK_DEFAULT;
	for (int ti = 0; ti < ntables; ti++) {
		pg2md_table *t = &tables[ti];
		/* A partitioned table without partitions has no task: its destination table is still created. */
		for (int l = 0; l < t->nleaves; l++) {
			int64_t pages = t->leaf_pages[l];
			int64_t nparts = 1;
			if (pages > pages_per_task + pages_per_task / 2)
				nparts = (pages + pages_per_task - 1) / pages_per_task;
			for (int64_t k = 0; k < nparts; k++) {
				if (n == cap) {
					pg2md_task *more = xrealloc(tasks, (size_t)cap * 2 * sizeof(pg2md_task));
					if (!more) {
						free(tasks); /* no strings in them yet */
						return -1;
					}
					tasks = more;
					cap *= 2;
				}
				pg2md_task *task = &tasks[n];
				memset(task, 0, sizeof(*task));
				task->table_idx = ti;
				task->table = t;
				task->leaf = l;
				task->page_lo = nparts > 1 ? k * pages_per_task : -1;
				/* the last range is open-ended: the table may have grown since it was measured */
				task->page_hi = nparts > 1 && k + 1 < nparts ? (k + 1) * pages_per_task : -1;
				task->id = n++;
			}
		}
	}
	qsort(tasks, (size_t)n, sizeof(pg2md_task), task_cmp);
	for (int i = 0; i < n; i++) {
		pg2md_task *task = &tasks[i];
		task->id = i;
		task->copy_sql = plan_copy_sql(task->table, task->leaf, task->page_lo, task->page_hi,
					       filters ? filters[task->table_idx] : NULL);
		task->file = xasprintf("%s.%d.parquet", task->table->dest_name, i);
		task->scan.table = task->table;
		task->scan.copy_sql = task->copy_sql;
		pg2md_error_init(&task->scan.err);
	}
	for (int i = 0; i < n; i++)
		if (!tasks[i].copy_sql || !tasks[i].file) {
			plan_free(tasks, n);
			return -1;
		}
	*out = tasks;
	return n;
}

void
plan_free(pg2md_task *tasks, int ntasks)
{
	for (int i = 0; i < ntasks; i++) {
		free(tasks[i].copy_sql);
		free(tasks[i].file);
		for (int p = 0; p < tasks[i].nparts; p++)
			free(tasks[i].parts[p]);
		free(tasks[i].parts);
		free(tasks[i].part_rows);
	}
	free(tasks);
}
